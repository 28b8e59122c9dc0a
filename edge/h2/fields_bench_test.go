package h2

import (
	"net/http"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// BenchmarkEncodeHit encodes a cache hit's HEADERS block the two ways: all
// 12 fields from the header map through the connection's HPACK encoder,
// and 4 from the map with the other 8 preset (Fields). The encoder's
// dynamic table is warm, as on a connection that served the object before.
//
//	go test -run XXX -bench EncodeHit -benchmem ./edge/h2/
func BenchmarkEncodeHit(b *testing.B) {
	fixed := http.Header{
		"Cache-Control": {"public, max-age=3600"}, "Content-Type": {"application/octet-stream"},
		"Etag": {`"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`},
		"Date": {"Wed, 02 Dec 2026 09:00:00 GMT"}, "Via": {"1.1 edge"}, "X-Cache": {"HIT"},
		"Accept-Ranges": {"bytes"}, "Content-Length": {"4096"},
	}
	own := func() http.Header {
		return http.Header{"X-Request-Id": {"0123456789abcdef"}, "Alt-Svc": {`h3=":443"; ma=2592000`},
			"Age": {"12"}, "Cache-Status": {"edge; hit; ttl=3588"}}
	}
	all := own()
	for k, v := range fixed {
		all[k] = v
	}
	pre := NewFields(fixed)
	for _, c := range []struct {
		name string
		h    http.Header
		pre  *Fields
	}{{"map", all, nil}, {"preset", own(), pre}} {
		b.Run(c.name, func(b *testing.B) {
			cn := &conn{peerFrame: maxDataPayload}
			cn.henc = hpack.NewEncoder(&cn.hbuf)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				cn.wbuf = cn.wbuf[:0]
				cn.encodeHeaders(uint32(2*i+1), 200, c.h, c.pre, "", "", false)
			}
			b.ReportMetric(float64(len(cn.wbuf)), "bytes/block")
		})
	}
}
