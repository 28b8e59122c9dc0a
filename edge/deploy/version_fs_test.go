package deploy

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/cache"
)

// TestVersionFS checks the deployed-version file system against the
// fs.FS contract (Open, Stat, ReadDir, ReadFile, directories implied by
// file paths) with testing/fstest.
func TestVersionFS(t *testing.T) {
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{ChunkSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	created := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	m := &cache.Manifest{App: "site", Created: created, Files: map[string]cache.FileRef{}}
	files := map[string]string{
		"edge.toml":              "name = \"site\"\n",
		"public/index.html":      "<html>" + strings.Repeat("x", 100) + "</html>",
		"public/css/site.css":    "body{}",
		"public/css/deep/a/b.js": "",
		"bin/m.wasm":             "\x00asm",
		"public/copy.html":       "body{}", // same blob as site.css
	}
	for p, content := range files {
		d, n, err := c.PutBlob(strings.NewReader(content), 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Files[p] = cache.FileRef{Digest: d.String(), Size: n}
	}
	vfs := newVersionFS(c, m)
	var names []string
	for p := range files {
		names = append(names, p)
	}
	if err := fstest.TestFS(vfs, names...); err != nil {
		t.Fatal(err)
	}
	info, err := vfs.Stat("public/index.html")
	if err != nil || !info.ModTime().Equal(created) || info.Size() != int64(len(files["public/index.html"])) {
		t.Errorf("Stat = %v, %v", info, err)
	}
	if _, err := vfs.Open("missing"); err == nil {
		t.Error("Open of a file not in the manifest succeeded")
	}
}
