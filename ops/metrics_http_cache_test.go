package ops_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/ops"
)

// TestHTTPCacheMetrics: each thing the issue asks the cache to count
// reaches /metrics with what the traffic made of it: hits, misses, stale
// serves, revalidations (a 304), collapsed waits (9 requests waiting on
// one fetch), bytes from the origin and from the cache, and the purge
// latency histogram (one purge observed).
func TestHTTPCacheMetrics(t *testing.T) {
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // the cache's clock is the test's
		switch r.URL.Path {
		case "/swr":
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
		case "/slow":
			<-release
			w.Header().Set("Cache-Control", "max-age=600")
		default:
			w.Header().Set("Cache-Control", "max-age=600")
			w.Header().Set("ETag", `"e"`)
			if r.Header.Get("If-None-Match") == `"e"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		_, _ = io.WriteString(w, "0123456789")
	}))
	defer origin.Close()
	ap, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(fmt.Sprintf(
		"name = \"p\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = %q\n", origin.URL))}}, "p", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{ap}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	hc, _ := httpcache.New(httpcache.Config{Log: slogDiscard(), Now: clock})
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: slogDiscard(), HTTPCache: hc})
	get := func(path string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://cdn.example"+path, nil))
		return w.Header().Get("X-Cache")
	}
	base := startPurgeAdmin(t, ops.AdminConfig{Handler: h})

	if got := get("/a") + get("/a"); got != "MISSHIT" {
		t.Fatalf("X-Cache %s, want MISS then HIT", got)
	}
	advance(700 * time.Second)
	if got := get("/a"); got != "HIT" { // revalidated: the origin said 304
		t.Fatalf("after expiry X-Cache %s, want HIT (revalidated)", got)
	}
	get("/swr")
	advance(20 * time.Second)
	if got := get("/swr"); got != "STALE" {
		t.Fatalf("inside stale-while-revalidate X-Cache %s, want STALE", got)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { get("/slow") })
	}
	for deadline := time.Now().Add(10 * time.Second); hc.Stats().Collapsed.Load() < 9 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if status, body := post(t, base+"/v1/purge", token, `{"url":"http://cdn.example/a"}`); status != 200 {
		t.Fatalf("purge = %d %s", status, body)
	}

	fams := scrape(t, strings.TrimPrefix(base, "http://"))
	for name, want := range map[string]func(float64) bool{
		"edge_http_cache_hits_total":          func(v float64) bool { return v == 10 }, // /a, and the 9 that waited on /slow
		"edge_http_cache_misses_total":        func(v float64) bool { return v == 3 },  // /a, /swr, /slow
		"edge_http_cache_stale_total":         func(v float64) bool { return v == 1 },
		"edge_http_cache_revalidations_total": func(v float64) bool { return v == 1 },
		"edge_http_cache_collapsed_total":     func(v float64) bool { return v == 9 },
		"edge_http_cache_origin_bytes_total":  func(v float64) bool { return v >= 30 },
		"edge_http_cache_served_bytes_total":  func(v float64) bool { return v >= 40 },
		"edge_http_cache_purged_total":        func(v float64) bool { return v == 1 },
	} {
		if v := value(fams, name, nil); !want(v) {
			t.Errorf("%s = %v", name, v)
		}
	}
	lat := fams["edge_http_cache_purge_latency_seconds"].GetMetric()
	if len(lat) != 1 || lat[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("purge latency histogram: %v, want one purge observed", lat)
	}
}
