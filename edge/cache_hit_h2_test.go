package edge_test

import (
	"bytes"
	ctls "crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestCacheHitAllocsH2: over the node's own HTTP/2 server a plain hit
// allocates no more than a static file of the same size, counted in the
// same run through the same node (allocations, not time). The client is a
// bare framer that reads the frames without decoding the header blocks,
// so what is counted is the node's work (and the framer's, the same for
// both). It failed with 3 more (a hit copied its 9 prepared fields into
// the response's header map, which past 8 fields grows into a full
// table); they now go beside the map, encoded once (h2.Fields, Preset).
// 1 of slack for the hit's pooled key buffer, which a GC empties and the
// race detector's sync.Pool drops at random (as in TestCacheHitAllocs).
func TestCacheHitAllocsH2(t *testing.T) {
	f := newHitFixture(t)
	o, hc := f.origin, f.cache
	n := startNode(t, edge.HandlerConfig{Log: quietLog, HTTPCache: hc}, f.apps...)
	c := dialH2(t, n)
	hit, file := c.getter("cdn.example"), c.getter("static.example")
	hit() // the miss that stores it
	hit()
	file()
	if o.hits.Load() != 1 || hc.Stats().Hits.Load() != 1 {
		t.Fatalf("origin requests %d, cache hits %d: want 1 and 1", o.hits.Load(), hc.Stats().Hits.Load())
	}
	hitAllocs, fileAllocs := testing.AllocsPerRun(300, hit), testing.AllocsPerRun(300, file)
	if hitAllocs > fileAllocs+1 {
		t.Errorf("over h2 a cache hit allocates %v times, a static file %v: want at most 1 more", hitAllocs, fileAllocs)
	}
	t.Logf("allocations over h2 (node and framer): hit %v, static file %v", hitAllocs, fileAllocs)
}

// h2Conn is a bare HTTP/2 client: GETs on one connection, responses read
// as frames, header blocks not decoded.
type h2Conn struct {
	t    *testing.T
	fr   *http2.Framer
	next uint32
}

func dialH2(t *testing.T, n *node) *h2Conn {
	t.Helper()
	conn, err := ctls.Dial("tcp", n.srv.HTTPSAddr(), &ctls.Config{RootCAs: n.pool, ServerName: "localhost", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(time.Minute)) // fail rather than hang
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c := &h2Conn{t: t, fr: http2.NewFramer(conn, conn), next: 1}
	c.fr.SetReuseFrames()
	// The largest windows: the node never waits for a WINDOW_UPDATE.
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteWindowUpdate(0, 1<<31-1-65535); err != nil {
		t.Fatal(err)
	}
	return c
}

// getter returns a func that GETs /obj.bin from host and reads the
// response to its end, checking a 200 with a 4 KiB body.
func (c *h2Conn) getter(host string) func() {
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", "/obj.bin"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	req := bytes.Clone(blk.Bytes())
	return func() {
		id := c.next
		c.next += 2
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: req, EndStream: true, EndHeaders: true}); err != nil {
			c.t.Fatal(err)
		}
		body := 0
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				c.t.Fatalf("%s: %v", host, err)
			}
			if f.Header().StreamID != id {
				continue // SETTINGS and its ACK, WINDOW_UPDATE
			}
			switch f := f.(type) {
			case *http2.DataFrame:
				body += len(f.Data())
			case *http2.RSTStreamFrame:
				c.t.Fatalf("%s: stream reset %v", host, f.ErrCode)
			}
			if f.Header().Flags.Has(http2.FlagDataEndStream) {
				break
			}
		}
		if body != len(object4K) {
			c.t.Fatalf("%s: %d bytes, want %d", host, body, len(object4K))
		}
	}
}

// TestCacheHitKeepsOriginDate: a hit carries the origin's Date, once,
// over every protocol; over HTTP/2 and HTTP/3 the node sets its own Date
// first, which the stored one must replace rather than join.
func TestCacheHitKeepsOriginDate(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat) // fresh: Age counts from it
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = []string{date}
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(object4K)
	})
	n, _ := cachedNode(t, o, "", &clock{})
	cls := n.clients(t)
	get(t, cls["plain"].c, cls["plain"].base+"/obj.bin")       // the misses that store it:
	get(t, cls["HTTP/1.1"].c, cls["HTTP/1.1"].base+"/obj.bin") // the two ports are two hosts
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "plain"} {
		resp, body := get(t, cls[proto].c, cls[proto].base+"/obj.bin")
		if resp.Header.Get("X-Cache") != "HIT" || body != string(object4K) {
			t.Fatalf("%s: X-Cache %q, %d bytes", proto, resp.Header.Get("X-Cache"), len(body))
		}
		if got := resp.Header.Values("Date"); len(got) != 1 || got[0] != date {
			t.Errorf("%s: Date %q, want [%q]", proto, got, date)
		}
	}
}
