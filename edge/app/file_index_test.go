package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

// countingFS counts the files opened through it, so a test can tell
// whether a load read a file or trusted the index.
type countingFS struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opened[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }

func loadCounting(t *testing.T, dir string, c *cache.Cache) (*App, map[string]int) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cfs := &countingFS{FS: root.FS(), opened: map[string]int{}}
	abs, _ := filepath.Abs(dir)
	ix := newFileIndex(c, abs)
	app, err := loadApp(cfs, dir, LoadOptions{Cache: c}, ix)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.flush(); err != nil {
		t.Fatal(err)
	}
	return app, cfs.opened
}

func TestFileIndexSkipsUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, age time.Duration) {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	write("edge.toml", "name = \"ix\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", time.Hour)
	write("public/a.txt", "alpha", time.Hour)
	write("public/b.txt", "bravo", time.Hour)
	write("public/fresh.txt", "just written", 0) // inside the racy window
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	_, first := loadCounting(t, dir, c)
	for _, f := range []string{"public/a.txt", "public/b.txt", "public/fresh.txt"} {
		if first[f] == 0 {
			t.Errorf("first load did not read %s", f)
		}
	}
	_, second := loadCounting(t, dir, c)
	if second["public/a.txt"] != 0 || second["public/b.txt"] != 0 {
		t.Errorf("second load read unchanged files: %v", second)
	}
	if second["public/fresh.txt"] == 0 {
		t.Error("a file modified within the racy window was trusted instead of hashed")
	}

	// Same size, same modification time, new content: the change time
	// differs, so the file is hashed again and the new content served.
	info, _ := os.Stat(filepath.Join(dir, "public/a.txt"))
	if err := os.WriteFile(filepath.Join(dir, "public/a.txt"), []byte("ALPHA"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(filepath.Join(dir, "public/a.txt"), info.ModTime(), info.ModTime())
	app, third := loadCounting(t, dir, c)
	if third["public/a.txt"] == 0 {
		t.Fatal("a rewritten file (same size and mtime) was not read again")
	}
	a, _, err := app.Routes[0].Files.Lookup("a.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Open()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := r.Read(got); err != nil || !strings.EqualFold(string(got), "alpha") || string(got) != "ALPHA" {
		t.Errorf("served %q, want the new content ALPHA", got)
	}
}
