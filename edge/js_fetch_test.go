package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// jsFetchScript proxies ?url= with fetch(), passing on the status, the
// body, the upstream X-Cache, and the rejection of a refused host.
const jsFetchScript = `addEventListener("fetch", (event) => {
  const target = new URL(event.request.url).searchParams.get("url");
  event.respondWith(fetch(target, { headers: { "X-From": "js" } }).then(async (r) => {
    const body = await r.text();
    return new Response(body, { status: r.status, headers: {
      "X-Upstream-Cache": r.headers.get("x-cache") || "", "X-Upstream-Type": r.headers.get("content-type") || "", "X-Ok": String(r.ok) } });
  }, (e) => new Response(e.name + ": " + e.message, { status: 502 })));
});`

// TestJSFetch: a JavaScript route's fetch() reaches a host listed in its
// allowed_outbound_hosts through the node's HTTP cache (the origin sees
// one request for two fetches), and a host not listed rejects the
// promise with a TypeError naming the reason (issue 15, point 5).
func TestJSFetch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deriving and compiling the JavaScript engine's snapshot takes 10-100 s on a shared machine")
	}
	var fromJS string
	api := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fromJS = r.Header.Get("X-From")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"quote":"cache me"}`)
	})
	toml := fmt.Sprintf("name = \"jsfetch\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nscript = \"proxy.js\"\nallowed_outbound_hosts = [%q]\n", api.URL)
	a, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(toml)}, "proxy.js": {Data: []byte(jsFetchScript)}}, "jsfetch", app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := httpcache.New(httpcache.Config{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, a)
	base := "http://" + n.srv.HTTPAddr() + "/?url="
	for i, want := range []string{"MISS", "HIT"} {
		resp, body := get(t, http.DefaultClient, base+url.QueryEscape(api.URL+"/quote.json"))
		if resp.StatusCode != 200 || body != `{"quote":"cache me"}` || resp.Header.Get("X-Upstream-Cache") != want ||
			resp.Header.Get("X-Upstream-Type") != "application/json" || resp.Header.Get("X-Ok") != "true" {
			t.Errorf("fetch %d: %d %q %v", i, resp.StatusCode, body, resp.Header)
		}
	}
	if h := api.hits.Load(); h != 1 {
		t.Errorf("the API saw %d requests, want 1", h)
	}
	if fromJS != "js" {
		t.Errorf("the API saw X-From %q, want the script's header", fromJS)
	}
	resp, body := get(t, http.DefaultClient, base+url.QueryEscape("http://127.0.0.1:1/"))
	if resp.StatusCode != 502 || !strings.HasPrefix(body, "TypeError: ") || !strings.Contains(body, "http://127.0.0.1:1 is not in the route's allowed_outbound_hosts") {
		t.Errorf("host not listed: %d %q", resp.StatusCode, body)
	}
	if h := api.hits.Load(); h != 1 {
		t.Errorf("the API saw %d requests after the refusal, want 1", h)
	}
}
