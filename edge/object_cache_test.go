package edge_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

const cachedPage = "<p>the page as deployed</p>"

// loadCachedSite loads a one-page static app into a cache file at path.
func loadCachedSite(t *testing.T, dir, path string) *app.App {
	t.Helper()
	c, err := cache.Open(path, cache.Options{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func cachedSiteDir(t *testing.T) string {
	dir := writeApp(t, "name = \"page\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\ncache_control = \"public, max-age=60\"\n", nil)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "index.html"), []byte(cachedPage), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDamagedBlobWithValidChecksumIsRefused rewrites a stored page with
// other bytes and a chunk checksum that matches them, as a bad copy or a
// bug could. The chunk checks pass; only the content's sha256 does not.
// The node must answer 500 on every protocol and never send those bytes.
func TestDamagedBlobWithValidChecksumIsRefused(t *testing.T) {
	dir := cachedSiteDir(t)
	path := filepath.Join(t.TempDir(), "edge.db")
	c, err := cache.Open(path, cache.Options{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.LoadAppDir(dir, app.LoadOptions{Cache: c}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	rewriteChunks(t, path, func(v []byte) []byte {
		data := bytes.ToUpper(v[:len(v)-4])
		return binary.BigEndian.AppendUint32(data, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	})
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadCachedSite(t, dir, path))
	for proto, cl := range n.clients(t) {
		resp, body := get(t, cl.c, cl.base+"/")
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(strings.ToLower(body), "the page") {
			t.Errorf("%s: damaged page answered %d %q, want 500", proto, resp.StatusCode, body)
		}
	}
}

// TestObjectCacheHeadersMatchServeContent: a plain GET answered from the
// object cache carries the same headers as a conditional one that goes
// through http.ServeContent, and the cache holds the page after it.
func TestObjectCacheHeadersMatchServeContent(t *testing.T) {
	dir := cachedSiteDir(t)
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadCachedSite(t, dir, filepath.Join(t.TempDir(), "edge.db")))
	cl := n.clients(t)["HTTP/1.1"]
	hot, body := get(t, cl.c, cl.base+"/")
	if hot.StatusCode != 200 || body != cachedPage {
		t.Fatalf("GET / = %d %q", hot.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", cl.base+"/", nil)
	req.Header.Set("If-None-Match", `"not-this-one"`)
	slow, err := cl.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	slow.Body.Close()
	for _, k := range []string{"Content-Type", "Etag", "Last-Modified", "Cache-Control", "Content-Length", "Accept-Ranges", "Alt-Svc"} {
		if hot.Header.Get(k) != slow.Header.Get(k) || hot.Header.Get(k) == "" {
			t.Errorf("%s: %q from the cache, %q from ServeContent", k, hot.Header.Get(k), slow.Header.Get(k))
		}
	}
	if s := n.handler.ObjectCache(); s.Objects != 1 || s.Used != int64(len(cachedPage)) {
		t.Errorf("object cache after serving the page: %+v", s)
	}
}

// rewriteChunks rewrites every chunk of a closed cache file.
func rewriteChunks(t *testing.T, path string, damage func(v []byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("chunks"))
		var keys [][]byte
		_ = b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
		for _, k := range keys {
			if err := b.Put(k, damage(bytes.Clone(b.Get(k)))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
