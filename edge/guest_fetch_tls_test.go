package edge_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
	edgetls "github.com/edgecdn/edge/tls"
)

// TestGuestFetchHTTPSWithOriginCA: a guest fetches from an HTTPS server on
// loopback whose certificate the node's dev CA (tls/) issued, trusted
// through the route's origin_ca file; the answer is cached like any
// other. A server whose certificate no trusted CA signed is refused: the
// guest gets a failure (528) naming the untrusted certificate, and the
// node logs the fetch with the request id.
func TestGuestFetchHTTPSWithOriginCA(t *testing.T) {
	ca, err := edgetls.LoadOrCreateDevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ca.CertPath())
	if err != nil {
		t.Fatal(err)
	}
	// Not httptest's TLS server: it would answer a client without SNI
	// with its own certificate.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trusted := &http.Server{TLSConfig: ca.TLSConfig(func() []string { return nil }), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "secure "+r.Proto)
	})}
	go func() { _ = trusted.ServeTLS(ln, "", "") }()
	defer trusted.Close()
	stranger := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "should not be read")
	}))
	defer stranger.Close()
	_, trustedPort, _ := net.SplitHostPort(ln.Addr().String())
	_, strangerPort, _ := net.SplitHostPort(stranger.Listener.Addr().String())
	trustedURL := "https://127.0.0.1:" + trustedPort
	strangerURL := "https://127.0.0.1:" + strangerPort

	var logs syncBuffer
	fsys := fstest.MapFS{
		"fetch.wasm":    {Data: fetchGuestWasm(t)},
		"certs/dev.pem": {Data: caPEM},
		"edge.toml": {Data: []byte("name = \"fetcher\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\n" +
			"module = \"fetch.wasm\"\nexecutor = \"edge\"\n" + allowed(trustedURL, strangerURL) + "\norigin_ca = \"certs/dev.pem\"\n")},
	}
	a, err := app.LoadApp(fsys, "fetcher", app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := httpcache.New(httpcache.Config{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: slog.New(slog.NewTextHandler(&logs, nil)), HTTPCache: hc}, a)

	for i, want := range []string{"X-Cache: MISS", "X-Cache: HIT"} {
		status, body := guestFetch(t, n, "/tls", "GET "+trustedURL+"/obj\n\n")
		if status != 200 || !strings.HasPrefix(body, "200\n") || !strings.Contains(body, want) || !strings.HasSuffix(body, "secure HTTP/2.0") {
			t.Fatalf("fetch %d from the dev CA's server: %d %q, want 200 over h2, %s", i+1, status, body, want)
		}
	}

	status, body := guestFetch(t, n, "/tls", "GET "+strangerURL+"/obj\n\n")
	if status != 528 || !strings.Contains(body, "certificate is not trusted") {
		t.Errorf("fetch from a server with an untrusted certificate: %d %q, want 528 saying so", status, body)
	}
	logs.mu.Lock()
	log := logs.buf.String()
	logs.mu.Unlock()
	if !strings.Contains(log, "guest fetch refused or failed") || !strings.Contains(log, "certificate is not trusted") || !strings.Contains(log, strangerURL) {
		t.Errorf("no log line for the refused certificate:\n%s", log)
	}

	// Without origin_ca the dev CA's server is not trusted either.
	plain, _ := fetchNode(t, allowed(trustedURL))
	if status, body := guestFetch(t, plain, "/tls", "GET "+trustedURL+"/obj\n\n"); status != 528 || !strings.Contains(body, "not trusted") {
		t.Errorf("without origin_ca: %d %q, want 528", status, body)
	}
	if _, err := app.ParseConfig("edge.toml", []byte("name = \"x\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/x\"\nmodule = \"m.wasm\"\norigin_ca = \"ca.pem\"\n")); err == nil {
		t.Error("origin_ca accepted on a route that fetches nothing")
	}
}
