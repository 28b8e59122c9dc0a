package httpcache_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/httpcache"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T) *cache.Cache {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func response(body string) *httpcache.Response {
	now := time.Now()
	return &httpcache.Response{Status: 200, Header: http.Header{"Cache-Control": {"max-age=600"}}, Body: []byte(body), Requested: now, Received: now}
}

func put(t *testing.T, c *httpcache.Cache, key, body string) *httpcache.Entry {
	t.Helper()
	e := httpcache.NewEntry(key, http.Header{}, response(body))
	if !c.Put(e, c.Epoch()) {
		t.Fatalf("put %s refused", key)
	}
	return e
}

func read(t *testing.T, c *httpcache.Cache, key string) (string, bool) {
	t.Helper()
	e := c.Lookup(key, http.Header{})
	if e == nil {
		return "", false
	}
	r, err := c.Body(e)
	if err != nil {
		return "", false
	}
	b, _ := io.ReadAll(r)
	if cl, ok := r.(io.Closer); ok {
		cl.Close()
	}
	return string(b), true
}

// TestMemoryBudgetEvictsLRU: past the memory budget the least recently
// used entry goes; a recent read keeps an entry.
func TestMemoryBudgetEvictsLRU(t *testing.T) {
	c, _ := httpcache.New(httpcache.Config{MemoryBytes: 250, Log: quiet})
	put(t, c, "h/a", strings.Repeat("a", 100))
	put(t, c, "h/b", strings.Repeat("b", 100))
	read(t, c, "h/a") // a is now more recent than b
	put(t, c, "h/c", strings.Repeat("c", 100))
	if _, ok := read(t, c, "h/b"); ok {
		t.Error("b, least recently used, survived past the budget")
	}
	for _, k := range []string{"h/a", "h/c"} {
		if _, ok := read(t, c, k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
}

// TestDiskTierReleasesWhatItDrops: eviction and purge remove an entry's
// record and its blob; two entries with the same body keep it apart, so
// dropping one leaves the other readable.
func TestDiskTierReleasesWhatItDrops(t *testing.T) {
	store := openStore(t)
	c, _ := httpcache.New(httpcache.Config{Store: store, MemoryObject: 1, DiskBytes: 1 << 20, Log: quiet})
	same := strings.Repeat("s", 1000)
	put(t, c, "h/one", same)
	put(t, c, "h/two", same)
	c.Close()
	d := cache.Sum([]byte(same))
	if !store.HasBlob(d) {
		t.Fatal("body not on disk")
	}
	if n := c.Purge(httpcache.Purge{Key: "h/one"}); n != 1 {
		t.Fatalf("purge hit %d", n)
	}
	if got, ok := read(t, c, "h/two"); !ok || got != same {
		t.Fatalf("purging one entry broke another with the same body: %v", ok)
	}
	if _, err := store.GC(); err != nil {
		t.Fatal(err)
	}
	if got, ok := read(t, c, "h/two"); !ok || got != same {
		t.Fatal("GC removed a held body")
	}
	c.Purge(httpcache.Purge{Prefix: "h/"})
	if store.HasBlob(d) {
		t.Error("body still stored after every entry holding it was purged")
	}
	if keys, _ := store.KV("httpcache").List(""); len(keys) != 0 {
		t.Errorf("records left after purge: %q", keys)
	}

	// Over the disk budget the least recently used go, records and blobs.
	small, _ := httpcache.New(httpcache.Config{Store: store, MemoryObject: 1, DiskBytes: 2500, Log: quiet})
	for _, k := range []string{"a", "b", "c", "d"} {
		put(t, small, "h/"+k, strings.Repeat(k, 1000))
		small.Close()
	}
	if store.HasBlob(cache.Sum(bytes.Repeat([]byte("a"), 1000))) {
		t.Error("evicted body still stored")
	}
	if keys, _ := store.KV("httpcache").List(""); len(keys) != 2 {
		t.Errorf("records after eviction: %q, want 2", keys)
	}
}
