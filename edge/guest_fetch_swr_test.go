package edge_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// TestGuestFetchStaleWhileRevalidate: a guest's cached answer past its
// max-age but inside stale-while-revalidate is given at once (STALE)
// while one background request revalidates it: 10 guests asking while
// the origin holds that request all get the stale copy, the origin sees
// one request, and once it answers the next guest gets the new version
// from the cache.
func TestGuestFetchStaleWhileRevalidate(t *testing.T) {
	var version atomic.Int64
	hold := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		v := version.Add(1)
		if v > 1 {
			<-hold
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
		_, _ = io.WriteString(w, "v"+strconv.FormatInt(v, 10))
	})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before the origin closes, which waits for its handlers
	var mu sync.Mutex
	now := time.Now()
	hc, err := httpcache.New(httpcache.Config{Log: quietLog, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"fetch.wasm": {Data: fetchGuestWasm(t)},
		"edge.toml": {Data: []byte("name = \"fetcher\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\n" +
			"module = \"fetch.wasm\"\nexecutor = \"edge\"\ntimeout = \"5s\"\n" + allowed(o.URL) + "\n")},
	}
	a, err := app.LoadApp(fsys, "fetcher", app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, a)
	// The concurrent posts may leave connections never used: close them
	// before the node shuts down, which would wait for them.
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	fetch := "GET " + o.URL + "/api\n\n"

	if status, body := guestFetch(t, n, "/", fetch); status != 200 || !strings.Contains(body, "X-Cache: MISS") || !strings.HasSuffix(body, "v1") {
		t.Fatalf("first fetch: %d %q", status, body)
	}
	mu.Lock()
	now = now.Add(20 * time.Second) // past max-age, inside stale-while-revalidate
	mu.Unlock()
	var wg sync.WaitGroup
	var stale atomic.Int32
	for range 10 {
		wg.Go(func() {
			status, body := guestFetch(t, n, "/", fetch)
			if status == 200 && strings.Contains(body, "X-Cache: STALE") && strings.HasSuffix(body, "v1") {
				stale.Add(1)
			} else {
				t.Errorf("fetch while revalidating: %d %q, want the stale v1 at once", status, body)
			}
		})
	}
	wg.Wait() // every guest answered while the origin still holds the revalidation
	if s := stale.Load(); s != 10 {
		t.Fatalf("%d of 10 guests got the stale copy", s)
	}
	release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := guestFetch(t, n, "/", fetch)
		if status == 200 && strings.Contains(body, "X-Cache: HIT") && strings.HasSuffix(body, "v2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the revalidation: %d %q, want v2 from the cache", status, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h := o.hits.Load(); h != 2 {
		t.Errorf("origin saw %d requests, want 2 (the fill and one revalidation)", h)
	}
}
