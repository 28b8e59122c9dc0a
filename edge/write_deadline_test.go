package edge_test

import (
	"bytes"
	ctls "crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// startSmallFileNode serves a 4 KiB static file (held in the object
// cache) with a short write timeout.
func startSmallFileNode(t testing.TB, write time.Duration) *node {
	t.Helper()
	dir := writeApp(t, "name = \"small\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", nil)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "4k.bin"), bytes.Repeat([]byte("x"), 4<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: openCache(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	return startNodeLimits(t, edge.HandlerConfig{Log: quietLog}, edge.Limits{WriteTimeout: write}, ap)
}

// TestH2ZeroWindowStreamReset: an HTTP/2 client that grants no flow
// control window and asks for a small file holds the response's DATA in
// the server for good unless a write deadline covers the stream from the
// start. The handler writes 4 KiB into its buffer and returns before
// anything blocks, so the deadline must come from the server's own
// per-stream WriteTimeout, not from a write; the stream is reset once it
// passes.
func TestH2ZeroWindowStreamReset(t *testing.T) {
	n := startSmallFileNode(t, time.Second) // also the TLS handshake's bound: not shorter
	c, err := ctls.Dial("tcp", n.srv.HTTPSAddr(), &ctls.Config{RootCAs: n.pool, ServerName: "localhost", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", "/4k.bin"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	// Fail rather than hang: far past the 1 s write timeout.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no RST_STREAM for the stalled stream: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && len(f.Data()) > 0 {
				t.Fatalf("DATA on a stream with no window: %d bytes", len(f.Data()))
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return // the write deadline fired
			}
		}
	}
}

// TestDateHeaderEveryProtocol: every protocol sends a Date header that
// parses, whether the server formats it (h1) or the node's per-second
// cache does (h2, h3).
func TestDateHeaderEveryProtocol(t *testing.T) {
	n := startSmallFileNode(t, 0)
	for proto, cl := range n.clients(t) {
		before := time.Now().Add(-time.Second).Truncate(time.Second)
		resp, body := get(t, cl.c, cl.base+"/4k.bin")
		if resp.StatusCode != 200 || len(body) != 4<<10 {
			t.Fatalf("%s: %d, %d bytes", proto, resp.StatusCode, len(body))
		}
		if got := resp.Header.Values("Date"); len(got) != 1 {
			t.Fatalf("%s: Date = %q, want one value", proto, got)
		}
		d, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			t.Fatalf("%s: Date %q: %v", proto, resp.Header.Get("Date"), err)
		}
		if d.Before(before) || d.After(time.Now()) {
			t.Errorf("%s: Date %v is not the time of the request (%v)", proto, d, before)
		}
	}
}
