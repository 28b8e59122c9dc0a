package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// TestGuestFetchC runs the compiled C example of modules/examples/fetch-c
// (edge_fetch of modules/sdk/c/edge.h) with its own edge.toml, pointed at
// a loopback API that counts requests: the first call is a MISS that
// reaches the API, the second is served from the node's cache (the API
// still at 1), a host not in allowed_outbound_hosts is refused with the
// host's explanation, which the guest passes on, and a URL that would
// smuggle a header line into the fetch request never leaves the guest.
func TestGuestFetchC(t *testing.T) {
	api := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Smuggled") != "" {
			t.Errorf("the API got a smuggled header: %v", r.Header)
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"quote":"cache me"}`)
	})
	unlisted := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") })

	n, hc := startFetchExample(t, "fetch-c", api.URL)
	proxy := func(u string) (*http.Response, string) {
		return get(t, http.DefaultClient, "http://"+n.srv.HTTPAddr()+"/proxy?url="+url.QueryEscape(u))
	}

	for i, want := range []string{"MISS", "HIT"} {
		resp, body := proxy(api.URL + "/quote.json")
		if resp.StatusCode != 200 || body != `{"quote":"cache me"}` || resp.Header.Get("X-Upstream-Cache") != want ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("fetch %d: %d %q %v", i, resp.StatusCode, body, resp.Header)
		}
		if h := api.hits.Load(); h != 1 {
			t.Errorf("after fetch %d the API saw %d requests, want 1", i, h)
		}
	}
	if s := hc.Stats(); s.Hits.Load() != 1 || s.Misses.Load() != 1 {
		t.Errorf("cache hits %d, misses %d; want 1 and 1", s.Hits.Load(), s.Misses.Load())
	}

	resp, body := proxy(unlisted.URL + "/secret")
	if want := unlisted.URL + " is not in the route's allowed_outbound_hosts"; resp.StatusCode != 403 || !strings.Contains(body, want) {
		t.Errorf("host not listed: %d %q, want 403 and %q", resp.StatusCode, body, want)
	}
	if h := unlisted.hits.Load(); h != 0 {
		t.Errorf("the unlisted host saw %d requests", h)
	}

	resp, body = proxy(api.URL + "/quote.json\nX-Smuggled: 1\n")
	if resp.StatusCode != 400 || !strings.Contains(body, "control character") {
		t.Errorf("URL with a line feed: %d %q, want 400", resp.StatusCode, body)
	}
	resp, body = proxy("")
	if resp.StatusCode != 400 || !strings.Contains(body, "give ?url=") {
		t.Errorf("no url: %d %q, want 400", resp.StatusCode, body)
	}
	if h := api.hits.Load(); h != 1 {
		t.Errorf("the API saw %d requests in all, want 1", h)
	}
}

// startFetchExample starts a node with an HTTP cache serving the fetch
// example of modules/examples/<name> (its checked-in fetch.wasm, built by
// make examples), its edge.toml's allowed host pointed at apiURL; and
// the node's cache.
func startFetchExample(t *testing.T, name, apiURL string) (*node, *httpcache.Cache) {
	t.Helper()
	dir := "../modules/examples/" + name
	wasm, err := os.ReadFile(dir + "/fetch.wasm")
	if err != nil {
		t.Fatalf("the example is built by make examples: %v", err)
	}
	toml, err := os.ReadFile(dir + "/edge.toml")
	if err != nil {
		t.Fatal(err)
	}
	toml = []byte(strings.Replace(string(toml), `"http://127.0.0.1:8081"`, fmt.Sprintf("%q", apiURL), 1))
	a, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: toml}, "fetch.wasm": {Data: wasm}}, name, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return nodeWithCache(t, nil, a)
}
