package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// fetchGuestWasm is modules/testdata/fetchguest/fetch.wat: an edge ABI
// guest that sends its request body as a fetch request and answers 200
// and the encoded answer, or 520 minus the refusal code (525 refused, 526
// too many, 527 too large, 528 failed) and the error text; on /many... it
// fetches until refused.
func fetchGuestWasm(t testing.TB) []byte {
	t.Helper()
	wat, err := os.ReadFile("../modules/testdata/fetchguest/fetch.wat")
	if err != nil {
		t.Fatal(err)
	}
	b, err := wasmtime.Wat2Wasm(string(wat))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fetchNode serves an app "fetcher" whose route /... runs the fetch
// guest with the given outbound lines (allowed_outbound_hosts, ...), with
// a memory HTTP cache.
func fetchNode(t testing.TB, route string) (*node, *httpcache.Cache) {
	t.Helper()
	fsys := fstest.MapFS{
		"fetch.wasm": {Data: fetchGuestWasm(t)},
		"edge.toml": {Data: []byte("name = \"fetcher\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\n" +
			"module = \"fetch.wasm\"\nexecutor = \"edge\"\n" + route + "\n")},
	}
	a, err := app.LoadApp(fsys, "fetcher", app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return nodeWithCache(t, nil, a)
}

// guestFetch asks the node's guest (at path) to make the fetch request
// text, and returns the status and body the guest answered with.
func guestFetch(t testing.TB, n *node, path, fetch string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+n.srv.HTTPAddr()+path, "text/plain", strings.NewReader(fetch))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func allowed(urls ...string) string {
	q := make([]string, len(urls))
	for i, u := range urls {
		q[i] = fmt.Sprintf("%q", u)
	}
	return "allowed_outbound_hosts = [" + strings.Join(q, ", ") + "]"
}

// TestGuestFetchThroughCache: a guest's GET of an allowed host is stored
// by the shared cache and served from it the next time (the origin sees
// one request), and concurrent cold fetches of one URL are collapsed into
// one origin request.
func TestGuestFetchThroughCache(t *testing.T) {
	release := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cold" {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "api:"+r.URL.Path)
	})
	n, hc := fetchNode(t, allowed(o.URL))

	status, body := guestFetch(t, n, "/one", "GET "+o.URL+"/obj\nAccept: text/plain\n\n")
	if status != 200 || !strings.HasPrefix(body, "200\n") || !strings.Contains(body, "X-Cache: MISS") || !strings.HasSuffix(body, "\n\napi:/obj") {
		t.Fatalf("first fetch: %d %q", status, body)
	}
	status, body = guestFetch(t, n, "/one", "GET "+o.URL+"/obj\nAccept: text/plain\n\n")
	if status != 200 || !strings.Contains(body, "X-Cache: HIT") || !strings.HasSuffix(body, "\n\napi:/obj") {
		t.Fatalf("second fetch: %d %q", status, body)
	}
	if h := o.hits.Load(); h != 1 {
		t.Errorf("origin saw %d requests for a cached object, want 1", h)
	}

	// 20 guests fetch /cold at once; the origin holds its answer until
	// every guest is waiting on it (one fetching, the rest collapsed).
	const k = 20
	collapsed := hc.Stats().Collapsed.Load()
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range k {
		wg.Go(func() {
			if status, body := guestFetch(t, n, "/one", "GET "+o.URL+"/cold\n\n"); status == 200 && strings.HasSuffix(body, "api:/cold") {
				ok.Add(1)
			}
		})
	}
	waitFor(t, "the other guests to wait for the first one's fetch", func() bool {
		return hc.Stats().Collapsed.Load()-collapsed == k-1
	})
	close(release)
	wg.Wait()
	if ok.Load() != k {
		t.Errorf("%d of %d guests got the object", ok.Load(), k)
	}
	if h := o.hits.Load(); h != 2 {
		t.Errorf("origin saw %d requests in all, want 2 (one per object)", h)
	}
}

// TestGuestFetchHostile: each attack the issue names is refused with a
// clear error in the guest, reaches nothing it must not, and leaves the
// node serving.
func TestGuestFetchHostile(t *testing.T) {
	forbidden := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") })
	var slowGone atomic.Bool
	var self atomic.Value // o.URL, for the redirect by name
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect-out":
			http.Redirect(w, r, forbidden.URL+"/secret", http.StatusFound)
		case "/redirect-by-name":
			// The same server, by a name that resolves to loopback.
			http.Redirect(w, r, strings.Replace(self.Load().(string), "127.0.0.1", "localhost", 1)+"/ok", http.StatusFound)
		case "/redirect-in":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		case "/giant":
			w.Header().Set("Content-Length", fmt.Sprint(64<<20))
			w.Write(make([]byte, 1<<20))
		case "/giant-stream":
			for range 64 {
				w.Write(make([]byte, 1<<20))
			}
		case "/slow":
			w.WriteHeader(200)
			for {
				if _, err := w.Write([]byte("x")); err != nil {
					slowGone.Store(true)
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					slowGone.Store(true)
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		default:
			w.Header().Set("Cache-Control", "no-store")
			io.WriteString(w, "ok")
		}
	})
	self.Store(o.URL)
	localhostURL := strings.Replace(o.URL, "127.0.0.1", "localhost", 1)
	n, _ := fetchNode(t, allowed(o.URL, localhostURL)+"\nmax_fetches = 3\nmax_fetch_size = \"1MiB\"\ntimeout = \"1s\"")
	port := o.URL[strings.LastIndex(o.URL, ":")+1:]

	cases := []struct {
		name, path, fetch string
		status            int
		text              string
	}{
		{"host not listed", "/one", "GET " + forbidden.URL + "/secret\n\n", 525, "is not in the route's allowed_outbound_hosts"},
		{"scheme not listed", "/one", "GET https://127.0.0.1:" + port + "/\n\n", 525, "https://127.0.0.1:" + port + " is not in the route's allowed_outbound_hosts"},
		{"port not listed", "/one", "GET http://127.0.0.1:1/\n\n", 525, "is not in the route's allowed_outbound_hosts"},
		{"name resolving to loopback", "/one", "GET " + localhostURL + "/ok\n\n", 525, "localhost resolves to 127.0.0.1, an internal address"},
		{"redirect to a host not listed", "/one", "GET " + o.URL + "/redirect-out\n\n", 525, "redirect to " + forbidden.URL + "/secret: outbound request refused"},
		{"redirect to a name resolving to loopback", "/one", "GET " + o.URL + "/redirect-by-name\n\n", 525, "an internal address"},
		{"not a URL", "/one", "GET /relative\n\n", 529, "not an absolute http(s) URL"},
		{"other scheme", "/one", "GET file:///etc/passwd\n\n", 529, "not an absolute http(s) URL"},
		{"CONNECT", "/one", "CONNECT " + o.URL + "\n\n", 529, "method CONNECT"},
		{"giant response", "/one", "GET " + o.URL + "/giant\n\n", 527, "over 1048576 (max_fetch_size)"},
		{"giant stream", "/one", "GET " + o.URL + "/giant-stream\n\n", 527, "over 1048576 bytes (max_fetch_size)"},
		{"more fetches than allowed", "/many", "GET " + o.URL + "/count\n\n", 526, "more than 3 in one request (max_fetches)"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			status, body := guestFetch(t, n, tt.path, tt.fetch)
			if status != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("got %d %q, want %d and %q", status, body, tt.status, tt.text)
			}
		})
	}
	if h := forbidden.hits.Load(); h != 0 {
		t.Errorf("the host not listed saw %d requests", h)
	}

	t.Run("slow response past the deadline", func(t *testing.T) {
		status, body := guestFetch(t, n, "/one", "GET "+o.URL+"/slow\n\n")
		if status != http.StatusGatewayTimeout {
			t.Errorf("got %d %q, want 504", status, body)
		}
		waitFor(t, "the slow origin's connection to be dropped", slowGone.Load)
	})

	t.Run("node unaffected", func(t *testing.T) {
		status, body := guestFetch(t, n, "/one", "GET "+o.URL+"/redirect-in\n\n")
		if status != 200 || !strings.HasSuffix(body, "\n\nok") {
			t.Errorf("a redirect inside the allowed host: %d %q", status, body)
		}
		if got := n.handler.Stats().GuestFetchErrors.Load(); got < int64(len(cases)) {
			t.Errorf("GuestFetchErrors = %d, want at least %d", got, len(cases))
		}
	})
}

// TestGuestFetchGoSDK runs the example app of modules/examples/fetch (the
// Go SDK's edgeabi.Get) against a loopback API: a cacheable answer comes
// from the cache the second time, a host not listed is refused with the
// host's explanation.
func TestGuestFetchGoSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go guest")
	}
	api := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"quote":"cache me"}`)
	})
	n, _ := startFetchExample(t, "fetch", api.URL)
	base := "http://" + n.srv.HTTPAddr() + "/proxy?url="
	for i, want := range []string{"MISS", "HIT"} {
		resp, body := get(t, http.DefaultClient, base+api.URL+"/quote.json")
		if resp.StatusCode != 200 || body != `{"quote":"cache me"}` || resp.Header.Get("X-Upstream-Cache") != want ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("fetch %d: %d %q %v", i, resp.StatusCode, body, resp.Header)
		}
	}
	if h := api.hits.Load(); h != 1 {
		t.Errorf("the API saw %d requests, want 1", h)
	}
	resp, body := get(t, http.DefaultClient, base+"http://127.0.0.1:1/")
	if resp.StatusCode != 403 || !strings.Contains(body, "http://127.0.0.1:1 is not in the route's allowed_outbound_hosts") {
		t.Errorf("host not listed: %d %q", resp.StatusCode, body)
	}
}
