package edge_test

import (
	"bytes"
	"context"
	ctls "crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

// streamFrames records, from the client's side, the STREAM frames it
// receives on each stream: what the node's packets carried.
type streamFrames struct {
	mu     sync.Mutex
	frames map[int64][]qlog.StreamFrame
}

func (s *streamFrames) AddProducer() qlogwriter.Recorder { return s }
func (s *streamFrames) Close() error                     { return nil }

func (s *streamFrames) RecordEvent(ev qlogwriter.Event) {
	p, ok := ev.(qlog.PacketReceived)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range p.Frames {
		var sf qlog.StreamFrame
		switch v := f.Frame.(type) {
		case qlog.StreamFrame:
			sf = v
		case *qlog.StreamFrame:
			sf = *v
		default:
			continue
		}
		s.frames[int64(sf.StreamID)] = append(s.frames[int64(sf.StreamID)], sf)
	}
}

func (s *streamFrames) of(id int64) []qlog.StreamFrame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames[id])
}

// startCachedFileNode serves public/4k.bin (4 KiB, in the object cache)
// from a route with a Cache-Control of its own.
func startCachedFileNode(t *testing.T, lim edge.Limits) (*node, []byte) {
	t.Helper()
	dir := writeApp(t, "name = \"small\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\ncache_control = \"public, max-age=60\"\n", nil)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 256)
	if err := os.WriteFile(filepath.Join(dir, "public", "4k.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: openCache(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	return startNodeLimits(t, edge.HandlerConfig{Log: quietLog}, lim, ap), body
}

// TestH3SmallFileLeavesWhole: a small static file over HTTP/3 leaves as
// one write to the QUIC stream, HEADERS and body together, with the same
// header fields as over HTTP/2. Through http3's response writer the
// HEADERS frame went out alone in the first packet (the body's write
// blocked while the connection packed what was queued), then the body,
// then the FIN: a sendmsg each.
func TestH3SmallFileLeavesWhole(t *testing.T) {
	n, want := startCachedFileNode(t, edge.Limits{})
	url := "https://" + n.srv.HTTPSAddr() + "/4k.bin"
	rec := &streamFrames{frames: map[int64][]qlog.StreamFrame{}}
	h3 := &http3.Transport{
		TLSClientConfig: &ctls.Config{RootCAs: n.pool},
		QUICConfig:      &quic.Config{Tracer: func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace { return rec }},
	}
	t.Cleanup(func() { _ = h3.Close() })
	h2 := &http.Transport{TLSClientConfig: &ctls.Config{RootCAs: n.pool}, ForceAttemptHTTP2: true}
	t.Cleanup(h2.CloseIdleConnections)

	// The first request's packets also carry the handshake's aftermath
	// (session ticket, connection IDs): the second is the one measured.
	get(t, &http.Client{Transport: h3}, url)
	resp3, body3 := get(t, &http.Client{Transport: h3}, url)
	resp2, _ := get(t, &http.Client{Transport: h2}, url)
	if resp3.Proto != "HTTP/3.0" || resp3.StatusCode != 200 || body3 != string(want) {
		t.Fatalf("h3: %s %d, %d bytes (want 200, %d bytes)", resp3.Proto, resp3.StatusCode, len(body3), len(want))
	}
	for _, k := range []string{"Content-Type", "Etag", "Last-Modified", "Accept-Ranges", "Content-Length", "Cache-Control"} {
		if got, exp := resp3.Header.Values(k), resp2.Header.Values(k); !slices.Equal(got, exp) || len(got) != 1 {
			t.Errorf("%s: h3 %q, h2 %q", k, got, exp)
		}
	}
	if resp3.ContentLength != int64(len(want)) {
		t.Errorf("h3 content length %d, want %d", resp3.ContentLength, len(want))
	}
	if id := resp3.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("X-Request-Id %q", id)
	}
	if _, err := http.ParseTime(resp3.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", resp3.Header.Get("Date"), err)
	}
	var names3, names2 []string
	for k := range resp3.Header {
		names3 = append(names3, k)
	}
	for k := range resp2.Header {
		if k != "Alt-Svc" { // advertised over TCP only
			names2 = append(names2, k)
		}
	}
	slices.Sort(names3)
	slices.Sort(names2)
	if !slices.Equal(names3, names2) {
		t.Errorf("h3 header fields %q, h2 %q", names3, names2)
	}

	// The second request stream is 4. Its first STREAM frame starts with
	// the HEADERS frame (~150 bytes): it must carry body bytes too, as
	// much as the packet holds (at least ~1,200 bytes; 512 leaves room
	// for other frames sharing the packet).
	frames := rec.of(4)
	if len(frames) == 0 {
		t.Fatal("no STREAM frame recorded on stream 4")
	}
	if f := frames[0]; f.Offset != 0 || f.Length < 512 {
		t.Errorf("first STREAM frame of the response: offset %d, %d bytes; want offset 0 and more than the HEADERS frame", f.Offset, f.Length)
	}
	var total int64
	fin := false
	for _, f := range frames {
		total = max(total, f.Offset+f.Length)
		fin = fin || f.Fin
	}
	if !fin || total < int64(len(want)) {
		t.Errorf("stream 4: %d bytes, FIN %v", total, fin)
	}
}

// TestH3SmallFileHead: HEAD over HTTP/3 gets the file's header fields and
// no body.
func TestH3SmallFileHead(t *testing.T) {
	n, want := startCachedFileNode(t, edge.Limits{})
	h3 := &http3.Transport{TLSClientConfig: &ctls.Config{RootCAs: n.pool}}
	t.Cleanup(func() { _ = h3.Close() })
	resp, err := (&http.Client{Transport: h3}).Head("https://" + n.srv.HTTPSAddr() + "/4k.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) != 0 || resp.Header.Get("Content-Length") != "4096" || resp.Header.Get("Etag") == "" {
		t.Fatalf("HEAD: %d, %d body bytes, header %v (file %d bytes)", resp.StatusCode, len(b), resp.Header, len(want))
	}
}

// TestH3SmallFileNarrowWindow: a client whose stream window is smaller
// than the response still gets all of it (the write waits for window
// rather than queueing past it), and the node serves the next request.
func TestH3SmallFileNarrowWindow(t *testing.T) {
	n, want := startCachedFileNode(t, edge.Limits{})
	h3 := &http3.Transport{
		TLSClientConfig: &ctls.Config{RootCAs: n.pool},
		QUICConfig:      &quic.Config{InitialStreamReceiveWindow: 1 << 10, MaxStreamReceiveWindow: 1 << 10},
	}
	t.Cleanup(func() { _ = h3.Close() })
	c := &http.Client{Transport: h3}
	for range 3 {
		resp, body := get(t, c, "https://"+n.srv.HTTPSAddr()+"/4k.bin")
		if resp.StatusCode != 200 || body != string(want) {
			t.Fatalf("%d, %d bytes, want 200 and %d bytes", resp.StatusCode, len(body), len(want))
		}
	}
}
