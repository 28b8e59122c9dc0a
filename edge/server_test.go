package edge_test

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
	edgetls "github.com/edgecdn/edge/tls"
)

// node is a real server on loopback ports with its own dev CA.
type node struct {
	srv     *edge.Server
	handler *edge.Handler
	pool    *x509.CertPool
}

// startNode serves apps on 127.0.0.1 port 0 for plain HTTP and HTTPS+h3.
func startNode(t testing.TB, cfg edge.HandlerConfig, apps ...*app.App) *node {
	t.Helper()
	return startNodeLimits(t, cfg, edge.Limits{}, apps...)
}

// startNodeLimits is startNode with protocol limits other than the defaults.
func startNodeLimits(t testing.TB, cfg edge.HandlerConfig, lim edge.Limits, apps ...*app.App) *node {
	t.Helper()
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Router == nil {
		cfg.Router = edge.NewRouter()
	}
	if err := cfg.Router.Set(apps); err != nil {
		t.Fatal(err)
	}
	n := &node{pool: ca.Pool()}
	cfg.AltSvc = func(h http.Header) { n.srv.AltSvc(h) }
	n.handler = edge.NewHandler(cfg)
	n.srv = edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", TLS: ca.TLSConfig(nil), Limits: lim}, n.handler)
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v; the server's goroutines:\n%s", err, serverStacks())
		}
	})
	return n
}

// clients returns one client per protocol, each forced to its protocol.
func (n *node) clients(t *testing.T) map[string]struct {
	c    *http.Client
	base string
} {
	t.Helper()
	tlsConf := &ctls.Config{RootCAs: n.pool}
	h1 := &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: false}
	h1.TLSNextProto = map[string]func(string, *ctls.Conn) http.RoundTripper{} // no h2
	h2 := &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: tlsConf.Clone()}
	t.Cleanup(func() { h1.CloseIdleConnections(); h2.CloseIdleConnections(); _ = h3.Close() })
	https := "https://" + n.srv.HTTPSAddr()
	return map[string]struct {
		c    *http.Client
		base string
	}{
		"HTTP/1.1": {&http.Client{Transport: h1}, https},
		"HTTP/2.0": {&http.Client{Transport: h2}, https},
		"HTTP/3.0": {&http.Client{Transport: h3}, https},
		"plain":    {&http.Client{}, "http://" + n.srv.HTTPAddr()},
	}
}

func loadDemo(t testing.TB, e *modules.Engine) *app.App {
	t.Helper()
	ap, err := app.LoadApp(examples.Demo(), "demo", app.LoadOptions{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// newTestEngine is the package's one engine for tests that need nothing
// special of it. A Wasmtime engine's pooling allocator holds a few
// thousand memory mappings until the process exits (a node has one engine
// for its lifetime, so Engine.Close keeps it); an engine per test took the
// test binary past vm.max_map_count (65,530), where Wasmtime aborts the
// process.
func newTestEngine(t testing.TB) *modules.Engine {
	t.Helper()
	e, err := testEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var testEngine = sync.OnceValues(func() (*modules.Engine, error) { return modules.NewEngine(nil) })

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, string(body)
}

// TestDemoOverEveryProtocol fetches the demo's static page and its dynamic
// routes over HTTP/1.1, HTTP/2 and HTTP/3 with TLS, and plain HTTP.
func TestDemoOverEveryProtocol(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{}, loadDemo(t, newTestEngine(t)))
	for proto, cl := range n.clients(t) {
		t.Run(proto, func(t *testing.T) {
			resp, body := get(t, cl.c, cl.base+"/")
			if resp.StatusCode != 200 || !strings.Contains(body, "<html") {
				t.Fatalf("GET / = %d %q", resp.StatusCode, body[:min(len(body), 80)])
			}
			if proto != "plain" && resp.Proto != proto {
				t.Errorf("served over %s, want %s", resp.Proto, proto)
			}
			for path, want := range map[string]string{
				"/api/hello?name=h%C3%A9llo+w": "Hello, héllo w! (from C)",
				"/api/hello-go?name=gopher":    "Hello, gopher! (from Go)",
				"/api/hello-wat":               "Hello from WAT!",
			} {
				resp, body := get(t, cl.c, cl.base+path)
				if resp.StatusCode != 200 || strings.TrimSpace(body) != want {
					t.Errorf("GET %s = %d %q, want %q", path, resp.StatusCode, body, want)
				}
				if resp.Header.Get("X-Request-Id") == "" {
					t.Errorf("GET %s: no X-Request-Id", path)
				}
			}
		})
	}
}

func TestAltSvcAdvertisesHTTP3(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{}, loadDemo(t, newTestEngine(t)))
	cl := n.clients(t)["HTTP/2.0"]
	resp, _ := get(t, cl.c, cl.base+"/")
	want := `h3=":` + n.srv.HTTPSAddr()[strings.LastIndex(n.srv.HTTPSAddr(), ":")+1:] + `"`
	if got := resp.Header.Get("Alt-Svc"); !strings.Contains(got, want) {
		t.Errorf("Alt-Svc = %q, want it to contain %s", got, want)
	}
	plain := n.clients(t)["plain"]
	resp, _ = get(t, plain.c, plain.base+"/")
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("plain HTTP response advertises %q; HTTP/3 needs TLS", got)
	}
}

func TestShutdownIsIdempotent(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{})
	ctx := context.Background()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + n.srv.HTTPAddr() + "/"); err == nil {
		t.Error("plain listener still answers after Shutdown")
	}
}

// serverStacks is the stacks of the goroutines in the node's servers
// (edge, net/http, quic-go), for a test whose shutdown did not finish.
func serverStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "edgecdn/edge/edge") || strings.Contains(g, "net/http.(*") || strings.Contains(g, "quic-go") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
