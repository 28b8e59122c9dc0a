package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCacheServesThousandFromOneFetch: a max-age=60 object is fetched
// once for 1,000 requests over every protocol; Age grows with the clock.
func TestCacheServesThousandFromOneFetch(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "object")
	})
	clk := &clock{}
	n, _ := cachedNode(t, o, "", clk)
	cls := n.clients(t)
	protos := []string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "plain"}
	for i := range 1000 {
		cl := cls[protos[i%len(protos)]]
		resp, body := get(t, cl.c, cl.base+"/obj")
		if resp.StatusCode != 200 || body != "object" {
			t.Fatalf("request %d = %d %q", i, resp.StatusCode, body)
		}
		if want := map[bool]string{true: "MISS", false: "HIT"}[i == 0]; resp.Header.Get("X-Cache") != want {
			t.Fatalf("request %d: X-Cache %q, want %s", i, resp.Header.Get("X-Cache"), want)
		}
	}
	if h := o.hits.Load(); h != 1 {
		t.Errorf("origin saw %d requests, want 1", h)
	}
	clk.Advance(30 * time.Second)
	resp, _ := get(t, http.DefaultClient, cls["plain"].base+"/obj")
	if age, _ := strconv.Atoi(resp.Header.Get("Age")); age < 30 || age >= 60 {
		t.Errorf("Age after 30s = %q", resp.Header.Get("Age"))
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "edge; hit") {
		t.Errorf("Cache-Status = %q", cs)
	}
}

// TestCacheKeepsOutWhatMustNotBeShared: private, no-store, Set-Cookie and
// answers to requests with Authorization are fetched every time; Vary
// keeps variants apart.
func TestCacheKeepsOutWhatMustNotBeShared(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private":
			w.Header().Set("Cache-Control", "private, max-age=60")
		case "/nostore":
			w.Header().Set("Cache-Control", "no-store, max-age=60")
		case "/cookie":
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Set-Cookie", "session=secret")
		case "/auth", "/vary":
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept-Encoding")
		}
		_, _ = io.WriteString(w, r.URL.Path+" "+r.Header.Get("Accept-Encoding")+" "+r.Header.Get("Authorization"))
	})
	n, _ := cachedNode(t, o, "", &clock{})
	base := "http://" + n.srv.HTTPAddr()
	for _, p := range []string{"/private", "/nostore", "/cookie"} {
		before := o.hits.Load()
		for range 3 {
			if resp, _ := get(t, http.DefaultClient, base+p); resp.Header.Get("X-Cache") == "HIT" {
				t.Errorf("%s served from cache", p)
			}
		}
		if got := o.hits.Load() - before; got != 3 {
			t.Errorf("%s: origin saw %d of 3 requests", p, got)
		}
	}
	before := o.hits.Load()
	for _, tok := range []string{"Bearer alice", "Bearer bob"} {
		req, _ := http.NewRequest("GET", base+"/auth", nil)
		req.Header.Set("Authorization", tok)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), tok) {
			t.Errorf("%s got %q: another user's response", tok, body)
		}
	}
	if got := o.hits.Load() - before; got != 2 {
		t.Errorf("requests with Authorization: origin saw %d of 2", got)
	}
	for _, enc := range []string{"gzip", "br", "gzip", "br"} {
		req, _ := http.NewRequest("GET", base+"/vary", nil)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), " "+enc+" ") {
			t.Errorf("Accept-Encoding %s got the variant %q", enc, body)
		}
	}
	if got := o.hits.Load() - before - 2; got != 2 {
		t.Errorf("two variants, four requests: origin saw %d, want 2", got)
	}
}

// TestCacheRevalidatesWithETag: an expired object is revalidated with
// If-None-Match; the origin's 304 refreshes it and Age starts again.
func TestCacheRevalidatesWithETag(t *testing.T) {
	var mu sync.Mutex
	var conds []string
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conds = append(conds, r.Header.Get("If-None-Match"))
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, "body-v1")
	})
	clk := &clock{}
	n, _ := cachedNode(t, o, "", clk)
	base := "http://" + n.srv.HTTPAddr()
	get(t, http.DefaultClient, base+"/r")
	clk.Advance(15 * time.Second)
	resp, body := get(t, http.DefaultClient, base+"/r")
	if resp.StatusCode != 200 || body != "body-v1" {
		t.Fatalf("after 304: %d %q", resp.StatusCode, body)
	}
	if age := resp.Header.Get("Age"); age != "0" {
		t.Errorf("Age after revalidation = %q, want 0", age)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd-status=304") {
		t.Errorf("Cache-Status = %q", cs)
	}
	resp, _ = get(t, http.DefaultClient, base+"/r")
	if resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("after revalidation: X-Cache %q, want HIT", resp.Header.Get("X-Cache"))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conds) != 2 || conds[0] != "" || conds[1] != `"v1"` {
		t.Errorf("origin saw If-None-Match %q, want [\"\" \"v1\"]", conds)
	}
	// The client's own validators are answered from the cache.
	req, _ := http.NewRequest("GET", base+"/r", nil)
	req.Header.Set("If-None-Match", `"v1"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("client If-None-Match: %d, want 304", resp.StatusCode)
	}
}

// TestCacheStaleIfError: with stale-if-error an origin that fails (down
// or 5xx) is covered by the stale copy; without it the client gets 502.
func TestCacheStaleIfError(t *testing.T) {
	for _, tc := range []struct {
		cc     string
		status int
		xcache string
	}{
		{"max-age=10, stale-if-error=300", 200, "STALE"},
		{"max-age=10", 502, ""},
	} {
		t.Run(tc.cc, func(t *testing.T) {
			down := false
			var mu sync.Mutex
			o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if down {
					http.Error(w, "broken", http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Cache-Control", tc.cc)
				_, _ = io.WriteString(w, "good")
			})
			clk := &clock{}
			n, _ := cachedNode(t, o, "", clk)
			base := "http://" + n.srv.HTTPAddr()
			get(t, http.DefaultClient, base+"/s")
			clk.Advance(20 * time.Second)
			mu.Lock()
			down = true
			mu.Unlock()
			resp, body := get(t, http.DefaultClient, base+"/s")
			if tc.status == 200 && (resp.StatusCode != 200 || body != "good" || resp.Header.Get("X-Cache") != tc.xcache) {
				t.Errorf("origin 503 with stale-if-error: %d %q %q", resp.StatusCode, body, resp.Header.Get("X-Cache"))
			}
			if tc.status != 200 && resp.StatusCode == 200 {
				t.Errorf("origin 503 without stale-if-error: served %q from a stale copy", body)
			}
			o.Close() // now the origin is gone altogether
			resp, body = get(t, http.DefaultClient, base+"/s")
			if resp.StatusCode != tc.status {
				t.Errorf("origin down: %d %q, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// TestCacheCollapsesConcurrentMisses: 200 concurrent cold requests for one
// key make one origin request; all get its body.
func TestCacheCollapsesConcurrentMisses(t *testing.T) {
	release := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "shared")
	})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // a failed wait must not leave the origin blocked
	n, hc := cachedNode(t, o, "", &clock{})
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 200}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	const N = 200
	var wg sync.WaitGroup
	errs := make(chan error, N)
	for range N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cl.Get("http://" + n.srv.HTTPAddr() + "/hot")
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "shared" {
				errs <- fmt.Errorf("%d %q", resp.StatusCode, body)
			}
		}()
	}
	waitFor(t, "199 requests waiting on the first", func() bool { return hc.Stats().Collapsed.Load() >= N-1 })
	open()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if h := o.hits.Load(); h != 1 {
		t.Errorf("origin saw %d requests, want 1", h)
	}
}

// TestCacheServesRangesFromFullObject: a Range request is answered from
// the stored object, and the origin is asked for the whole of it.
func TestCacheServesRangesFromFullObject(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			t.Errorf("origin got Range %q", r.Header.Get("Range"))
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "0123456789")
	})
	n, _ := cachedNode(t, o, "", &clock{})
	for i := range 2 {
		req, _ := http.NewRequest("GET", "http://"+n.srv.HTTPAddr()+"/seg", nil)
		req.Header.Set("Range", "bytes=2-5")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || string(body) != "2345" {
			t.Errorf("request %d: %d %q, want 206 \"2345\"", i, resp.StatusCode, body)
		}
	}
	if h := o.hits.Load(); h != 1 {
		t.Errorf("origin saw %d requests, want 1", h)
	}
}

// TestCacheNotPoisonedByUnkeyedHeaders: headers outside the cache key that
// origins commonly reflect (X-Forwarded-Host, X-Original-URL, …) never
// reach the origin as sent, so the shared response cannot carry them.
func TestCacheNotPoisonedByUnkeyedHeaders(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "<script src=//%s/app.js> %s %s %s %s", r.Header.Get("X-Forwarded-Host"),
			r.Header.Get("X-Original-URL"), r.Header.Get("X-Forwarded-Scheme"), r.Header.Get("X-Host"), r.Header.Get("X-Forwarded-Port"))
	})
	n, _ := cachedNode(t, o, "", &clock{})
	url := "http://" + n.srv.HTTPAddr() + "/page"
	req, _ := http.NewRequest("GET", url, nil)
	for _, h := range []string{"X-Forwarded-Host", "X-Original-URL", "X-Forwarded-Scheme", "X-Host", "X-Forwarded-Port"} {
		req.Header.Set(h, "evil.example")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body := get(t, http.DefaultClient, url)
	if strings.Contains(body, "evil") {
		t.Errorf("cached page poisoned: %q", body)
	}
}
