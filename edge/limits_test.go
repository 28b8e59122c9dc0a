package edge_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// TestHeaderLimitEveryProtocol sends a 100 KB header block over h1, h2
// and h3: every protocol refuses it (HTTP/3 used to accept 900 KB), and a
// header block under the limit is served on every protocol.
func TestHeaderLimitEveryProtocol(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadHostile(t))
	for proto, cl := range n.clients(t) {
		for _, size := range []int{100_000, 900_000} {
			req, _ := http.NewRequest("GET", cl.base+"/good", nil)
			req.Header.Set("X-Big", strings.Repeat("a", size))
			resp, err := cl.c.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 400 {
					t.Errorf("%s: %d-byte header: %d, want it refused", proto, size, resp.StatusCode)
				}
			}
		}
		req, _ := http.NewRequest("GET", cl.base+"/good", nil)
		req.Header.Set("X-Fine", strings.Repeat("a", 16_000))
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatalf("%s: 16 KB header: %v", proto, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: 16 KB header: %d, want 200", proto, resp.StatusCode)
		}
	}
}

// startBigFileNode serves a 32 MiB static file with a short write timeout.
func startBigFileNode(t *testing.T, write time.Duration) (*edge.Handler, string, *node) {
	t.Helper()
	dir := writeApp(t, "name = \"big\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", nil)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "big.bin"), make([]byte, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: openCache(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	n := startNodeLimits(t, edge.HandlerConfig{Log: quietLog}, edge.Limits{WriteTimeout: write}, ap)
	return n.handler, "/big.bin", n
}

// TestSlowReaderCutOff: clients that stop reading a 32 MiB file lose
// the response after the write timeout, on every protocol, instead of
// holding the connection and its handler forever.
func TestSlowReaderCutOff(t *testing.T) {
	// Not shorter: the write timeout also bounds the TLS handshake, which
	// a race-enabled test on a loaded machine must finish.
	h, path, n := startBigFileNode(t, time.Second)
	stalled := 0
	// h1 over plain TCP with a small receive buffer, never read.
	c, err := net.Dial("tcp", n.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stalled++
	// h2 and h3: read the headers, then nothing.
	for _, proto := range []string{"HTTP/2.0", "HTTP/3.0"} {
		cl := n.clients(t)[proto]
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", cl.base+path, nil)
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		defer resp.Body.Close()
		stalled++
	}
	// Each handler returns once its write times out; its status counts.
	// Without the write timeout all three stay blocked for good.
	eventually(t, func() bool { return h.Stats().Responses[1].Load() == int64(stalled) })
}

// TestKeepAliveAfterWriteTimeout: the per-write deadlines of
// writeProgress do not outlive their response. On an HTTP/1.1 connection
// idle for longer than the write timeout, the server's own answer to the
// next request (431 for a header block over the limit) still arrives
// (net/http clears the write deadline after each response).
func TestKeepAliveAfterWriteTimeout(t *testing.T) {
	n := startNodeLimits(t, edge.HandlerConfig{Log: quietLog}, edge.Limits{WriteTimeout: 50 * time.Millisecond}, loadHostile(t))
	c := rawRequest(t, n.srv.HTTPAddr(), "GET /good HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp := readStatus(t, c); resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	time.Sleep(200 * time.Millisecond) // idle past the write timeout: what is tested
	if _, err := io.WriteString(c, "GET /good HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 100_000)+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp := readStatus(t, c); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("second request: %d, want 431", resp.StatusCode)
	}
}
