package edge_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// TestServesFromCacheNotSource loads an app into the cache, deletes its
// directory, and still serves its static and dynamic routes.
func TestServesFromCacheNotSource(t *testing.T) {
	dir := writeApp(t, "name = \"gone\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/good\"\nmodule = \"good.wasm\"\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", map[string]string{"good": watGood})
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "index.html"), []byte("<p>from the cache</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openCache(t, t.TempDir())
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Loader: app.NewModuleLoader(newTestEngine(t), c, quietLog), Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, ap)
	cl := n.clients(t)["plain"]
	if resp, body := get(t, cl.c, cl.base+"/"); resp.StatusCode != 200 || body != "<p>from the cache</p>" {
		t.Errorf("/ = %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, cl.c, cl.base+"/good"); resp.StatusCode != 200 || body != "good" {
		t.Errorf("/good = %d %q", resp.StatusCode, body)
	}
}

// TestLargeFileBoundedMemory serves a 200 MiB file stored in the cache, in
// full and by ranges over HTTP, and checks the content and that the heap
// stays far below the file's size.
func TestLargeFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and serves 200 MiB")
	}
	const size = 200 << 20
	dir := writeApp(t, "name = \"big\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", nil)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "public", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	src := rand.NewChaCha8([32]byte{42})
	if _, err := io.CopyN(io.MultiWriter(f, want), src, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := openCache(t, t.TempDir())
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	heapAfterLoad := heapInUse()
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, ap)
	cl := n.clients(t)["plain"]

	resp, err := cl.c.Get(cl.base + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	peak := uint64(0)
	buf := make([]byte, 1<<20)
	for read := 0; ; read++ {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if read%64 == 0 {
			peak = max(peak, heapInUse())
		}
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if fmt.Sprintf("%x", got.Sum(nil)) != fmt.Sprintf("%x", want.Sum(nil)) {
		t.Fatal("the 200 MiB file came back different")
	}
	if peak > 64<<20 {
		t.Errorf("heap in use peaked at %d MiB serving a 200 MiB file (after load: %d MiB)", peak>>20, heapAfterLoad>>20)
	}
	t.Logf("heap in use: %d MiB after load, peak %d MiB while serving 200 MiB", heapAfterLoad>>20, peak>>20)

	for _, r := range [][2]int64{{0, 9}, {size - 10, size - 1}, {123_456_789, 123_456_789 + 3<<20}} {
		req, _ := http.NewRequest("GET", cl.base+"/big.bin", nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		exp := make([]byte, r[1]-r[0]+1)
		regen := rand.NewChaCha8([32]byte{42})
		if _, err := io.CopyN(io.Discard, regen, r[0]); err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadFull(regen, exp)
		if resp.StatusCode != http.StatusPartialContent || string(body) != string(exp) {
			t.Errorf("range %v: %d, %d bytes, content match %v", r, resp.StatusCode, len(body), string(body) == string(exp))
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func openCache(t testing.TB, dir string) *cache.Cache {
	t.Helper()
	c, err := cache.Open(filepath.Join(dir, "edge.db"), cache.Options{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
