package edge_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// origin is a real HTTP server on loopback that counts the requests it gets.
type origin struct {
	*httptest.Server
	hits atomic.Int64
}

// startOrigin serves h on 127.0.0.1, counting requests. The Date field is
// left out, so that ages come from the cache's clock alone.
func startOrigin(t testing.TB, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		w.Header()["Date"] = nil
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// originApp is an app answering host "*" with one origin route "/..."; extra
// is added to the route's TOML; files are more files of the app.
func originApp(t testing.TB, originURL, extra string, files fstest.MapFS) *app.App {
	t.Helper()
	fsys := fstest.MapFS{"edge.toml": {Data: []byte(fmt.Sprintf(
		"name = \"cdn\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = %q\n%s\n", originURL, extra))}}
	for k, v := range files {
		fsys[k] = v
	}
	a, err := app.LoadApp(fsys, "cdn", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// clock is the cache's clock in tests: real time until advanced.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// cachedNode is a node with a memory-only HTTP cache on clk, serving one
// origin app for o.
func cachedNode(t *testing.T, o *origin, extra string, clk *clock) (*node, *httpcache.Cache) {
	t.Helper()
	return nodeWithCache(t, clk.Now, originApp(t, o.URL, extra, nil))
}

// nodeWithCache is a node with a memory-only HTTP cache serving apps; now
// is the cache's clock (nil: the real one).
func nodeWithCache(t testing.TB, now func() time.Time, apps ...*app.App) (*node, *httpcache.Cache) {
	t.Helper()
	hc, err := httpcache.New(httpcache.Config{Log: quietLog, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, apps...), hc
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
