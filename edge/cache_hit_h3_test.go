package edge_test

import (
	"context"
	ctls "crypto/tls"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

// TestH3CacheHitLeavesWhole: a small cache hit over HTTP/3 leaves as one
// write to the QUIC stream, HEADERS and body together, as a small static
// file does (TestH3SmallFileLeavesWhole). Through http3's own response
// writer the HEADERS frame went out alone in the hit's first packet, then
// the body, then the FIN: a sendmsg each.
func TestH3CacheHitLeavesWhole(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(object4K)
	})
	n, hc := cachedNode(t, o, "", &clock{})
	rec := &streamFrames{frames: map[int64][]qlog.StreamFrame{}}
	h3 := &http3.Transport{
		TLSClientConfig: &ctls.Config{RootCAs: n.pool},
		QUICConfig:      &quic.Config{Tracer: func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace { return rec }},
	}
	t.Cleanup(func() { _ = h3.Close() })
	cl := &http.Client{Transport: h3}
	url := "https://" + n.srv.HTTPSAddr() + "/obj.bin"
	get(t, cl, url) // stream 0: the miss that stores it
	resp, body := get(t, cl, url)
	if resp.Proto != "HTTP/3.0" || resp.Header.Get("X-Cache") != "HIT" || body != string(object4K) {
		t.Fatalf("second request: %s, X-Cache %q, %d bytes", resp.Proto, resp.Header.Get("X-Cache"), len(body))
	}
	if hc.Stats().Hits.Load() != 1 || o.hits.Load() != 1 {
		t.Fatalf("cache hits %d, origin requests %d: want 1 and 1", hc.Stats().Hits.Load(), o.hits.Load())
	}
	// Stream 4 is the hit. Its first STREAM frame starts with the HEADERS
	// frame (~250 bytes): it must carry body bytes too.
	frames := rec.of(4)
	if len(frames) == 0 {
		t.Fatal("no STREAM frame recorded on stream 4")
	}
	if f := frames[0]; f.Offset != 0 || f.Length < 512 {
		t.Errorf("first STREAM frame of the hit: offset %d, %d bytes; want offset 0 and more than the HEADERS frame", f.Offset, f.Length)
	}
	var total int64
	fin := false
	for _, f := range frames {
		total = max(total, f.Offset+f.Length)
		fin = fin || f.Fin
	}
	if !fin || total < int64(len(object4K)) {
		t.Errorf("stream 4: %d bytes, FIN %v", total, fin)
	}
}
