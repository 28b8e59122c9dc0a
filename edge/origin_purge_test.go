package edge_test

import (
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/httpcache"
)

// TestHardPurgeByTagLeavesNoStaleCopy is the regression test for the bug
// users of Caddy's cache handler hit: after a purge by surrogate key, the
// stale copy kept being served (there, as stale-if-error). Here a purged
// object is gone from both tiers: with the origin failing the client gets
// 502, not the purged body; with the origin back it is refetched; and a
// restart does not bring it back.
func TestHardPurgeByTagLeavesNoStaleCopy(t *testing.T) {
	var mu sync.Mutex
	version, down := "v1", false
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60, stale-if-error=86400, stale-while-revalidate=86400")
		w.Header().Set("Surrogate-Key", "product-7 all")
		_, _ = io.WriteString(w, version)
	})
	dbPath := filepath.Join(t.TempDir(), "edge.db")
	store, hc := openDiskCache(t, dbPath)
	n := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, originApp(t, o.URL, "", nil))
	base := "http://" + n.srv.HTTPAddr()
	get(t, http.DefaultClient, base+"/p/7")
	get(t, http.DefaultClient, base+"/p/7?x=1")
	hc.Close() // disk writes done
	if got := hc.Purge(httpcache.Purge{Tag: "product-7"}); got != 2 {
		t.Fatalf("purge hit %d entries, want 2", got)
	}
	mu.Lock()
	version, down = "v2", true
	mu.Unlock()
	if resp, body := get(t, http.DefaultClient, base+"/p/7"); resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable || body == "v1" {
		t.Errorf("after a hard purge with the origin failing: %d %q, want an error, not the purged copy", resp.StatusCode, body)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if _, body := get(t, http.DefaultClient, base+"/p/7"); body != "v2" {
		t.Errorf("after a hard purge: %q, want the origin's v2", body)
	}
	hc.Close()
	store.Close()
	_, hc2 := openDiskCache(t, dbPath)
	if e := hc2.Lookup("127.0.0.1/p/7?x=1", http.Header{}); e != nil {
		t.Errorf("a restart brought back a purged entry: %+v", e)
	}
}

// TestSoftPurgeRevalidatesOnce: after a soft purge 100 concurrent requests
// are served the stale copy while exactly one revalidates it.
func TestSoftPurgeRevalidatesOnce(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	revalidations := 0
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"e1"`)
		w.Header().Set("Surrogate-Key", "home")
		if r.Header.Get("If-None-Match") == `"e1"` {
			mu.Lock()
			revalidations++
			mu.Unlock()
			<-release
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, "home")
	})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	n, hc := cachedNode(t, o, "", &clock{})
	base := "http://" + n.srv.HTTPAddr()
	get(t, http.DefaultClient, base+"/")
	if got := hc.Purge(httpcache.Purge{Tag: "home", Soft: true}); got != 1 {
		t.Fatalf("soft purge hit %d", got)
	}
	// A client of its own, its idle connections closed before the node
	// shuts down (a dialled but unused connection would hold Shutdown).
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := get(t, cl, base+"/")
			if body != "home" || resp.Header.Get("X-Cache") != "STALE" {
				t.Errorf("during revalidation: %q X-Cache %q, want the stale copy", body, resp.Header.Get("X-Cache"))
			}
		}()
	}
	wg.Wait()
	open()
	waitFor(t, "the revalidation to land", func() bool { return hc.Stats().Revalidated.Load() == 1 })
	resp, _ := get(t, http.DefaultClient, base+"/")
	if resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("after revalidation: X-Cache %q, want HIT", resp.Header.Get("X-Cache"))
	}
	mu.Lock()
	defer mu.Unlock()
	if revalidations != 1 || o.hits.Load() != 2 {
		t.Errorf("origin saw %d revalidations and %d requests, want 1 and 2", revalidations, o.hits.Load())
	}
}

// TestDiskTierSurvivesRestart: an object stored before a restart is served
// after it without asking the origin; a large one comes from a blob.
func TestDiskTierSurvivesRestart(t *testing.T) {
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		if r.URL.Path == "/big" {
			_, _ = w.Write(big)
			return
		}
		_, _ = io.WriteString(w, "small")
	})
	dbPath := filepath.Join(t.TempDir(), "edge.db")
	store, hc := openDiskCache(t, dbPath)
	n := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, originApp(t, o.URL, "", nil))
	get(t, http.DefaultClient, "http://"+n.srv.HTTPAddr()+"/small")
	get(t, http.DefaultClient, "http://"+n.srv.HTTPAddr()+"/big")
	hc.Close()
	if _, err := store.GC(); err != nil { // held bodies survive a GC
		t.Fatal(err)
	}
	store.Close()

	_, hc2 := openDiskCache(t, dbPath)
	n2 := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc2}, originApp(t, o.URL, "", nil))
	before := o.hits.Load()
	for path, want := range map[string]string{"/small": "small", "/big": string(big)} {
		resp, body := get(t, http.DefaultClient, "http://"+n2.srv.HTTPAddr()+path)
		if body != want || resp.Header.Get("X-Cache") != "HIT" {
			t.Errorf("%s after restart: %d bytes, X-Cache %q", path, len(body), resp.Header.Get("X-Cache"))
		}
	}
	if h := o.hits.Load() - before; h != 0 {
		t.Errorf("origin asked %d times after the restart", h)
	}
}

// openDiskCache opens a real bbolt store at path and an HTTP cache on it.
func openDiskCache(t *testing.T, path string) (*cache.Cache, *httpcache.Cache) {
	t.Helper()
	store, err := cache.Open(path, cache.Options{Log: quietLog, LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := httpcache.New(httpcache.Config{Store: store, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hc.Close(); store.Close() })
	return store, hc
}
