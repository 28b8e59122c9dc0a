package edge_test

import (
	"context"
	ctls "crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/edgecdn/edge/edge"
	edgetls "github.com/edgecdn/edge/tls"
)

// TestH2ServerSwitch: both HTTP/2 servers serve the TLS listener, and a
// name that is neither is refused before anything binds.
func TestH2ServerSwitch(t *testing.T) {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) })
	for _, name := range []string{edge.H2Edge, edge.H2Std} {
		srv := edge.NewServer(edge.ServerConfig{HTTPSAddr: "127.0.0.1:0", TLS: ca.TLSConfig(nil), H2: name}, h)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &ctls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}}
		resp, err := cl.Get("https://localhost:" + portOf(srv.HTTPSAddr()) + "/")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
			t.Fatalf("%s: %s, body %q", name, resp.Proto, body)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatalf("%s: shutdown: %v", name, err)
		}
	}
	if err := edge.NewServer(edge.ServerConfig{HTTPSAddr: "127.0.0.1:0", TLS: ca.TLSConfig(nil), H2: "nghttp2"}, h).Listen(); err == nil {
		t.Fatal("an unknown h2 server was accepted")
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
