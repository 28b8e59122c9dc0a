package edge_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// TestH1Allocs: over a real HTTP/1.1 conn, a static file and a cache hit
// cost the node's own server fewer allocations than net/http's, and a
// hit no more than a static file plus the hit's own (hitExtraAllocs,
// less the map growth h1's prepared fields avoid). The client is a raw
// conn with its buffers made once, so the counts are the server's.
func TestH1Allocs(t *testing.T) {
	f := newHitFixture(t)
	h := f.handler(t)
	edgeSrv, stdSrv := h1Pair(t, h, nil)
	count := func(srv *edge.Server, host string) float64 {
		c, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := []byte("GET /obj.bin HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: t\r\n\r\n")
		buf := make([]byte, 64<<10)
		var n int
		get := func() {
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			n = 0
			for { // the head, then the 4 KiB body that ends the buffer's content
				m, err := c.Read(buf[n:])
				if err != nil {
					t.Fatal(err)
				}
				n += m
				if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && n-i-4 == len(object4K) {
					return
				}
			}
		}
		get()
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
			t.Fatalf("%s: %q", host, buf[:min(n, 200)])
		}
		return testing.AllocsPerRun(200, get)
	}
	count(edgeSrv, "cdn.example") // the miss that stores it
	edgeFile, edgeHit := count(edgeSrv, "static.example"), count(edgeSrv, "cdn.example")
	stdFile, stdHit := count(stdSrv, "static.example"), count(stdSrv, "cdn.example")
	t.Logf("allocations per request: static file edge %v std %v; cache hit edge %v std %v", edgeFile, stdFile, edgeHit, stdHit)
	if edgeFile >= stdFile || edgeHit >= stdHit {
		t.Errorf("the node's h1 server allocates as much as net/http's")
	}
	if edgeHit > edgeFile+hitExtraAllocs-3 {
		t.Errorf("over h1 a cache hit allocates %v times, a static file %v: want at most %d more", edgeHit, edgeFile, hitExtraAllocs-3)
	}
}
