package edge

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go/quicvarint"
)

// decodeH3Headers decodes the HEADERS frame at the start of b.
func decodeH3Headers(t *testing.T, b []byte) map[string]string {
	t.Helper()
	typ, n, err := quicvarint.Parse(b)
	if err != nil || typ != h3FrameHeaders {
		t.Fatalf("frame type %d, %v", typ, err)
	}
	l, m, err := quicvarint.Parse(b[n:])
	if err != nil {
		t.Fatal(err)
	}
	next := qpack.NewDecoder().Decode(b[n+m : n+m+int(l)])
	got := map[string]string{}
	for {
		f, err := next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = f.Value
	}
}

// TestH3FieldCacheFollowsValue: a header value's encoded line is cached
// by the identity of its slice, so a shared slice is encoded once; the
// cache must still answer the value the slice holds now, whether it is
// another slice or the same one changed in place, under the name it is
// sent with. The request id, new every time, is a literal of its own.
func TestH3FieldCacheFollowsValue(t *testing.T) {
	etag := []string{`"one"`}
	hdr := http.Header{"Etag": etag, "X-Request-Id": {"0123456789abcdef"}, "Vary": {"a", "b"}}
	var h h3Buf
	h.enc = qpack.NewEncoder(&h)
	for i, want := range []string{`"one"`, `"one"`, `"two"`} {
		if i == 2 {
			etag[0] = `"two"` // in place: same address, new value
		}
		b, ok := h.appendResponse(http.StatusOK, hdr, []byte("body"))
		if !ok {
			t.Fatal("refused")
		}
		got := decodeH3Headers(t, b)
		if got[":status"] != "200" || got["etag"] != want || got["x-request-id"] != "0123456789abcdef" {
			t.Fatalf("response %d: %q, want etag %s", i, got, want)
		}
	}
	hdr["Etag"] = []string{`"three"`}
	if got := decodeH3Headers(t, must(h.appendResponse(http.StatusNotFound, hdr, nil))); got["etag"] != `"three"` || got[":status"] != "404" {
		t.Fatalf("another slice: %q", got)
	}
	delete(hdr, "Etag")
	shared := []string{"same"}
	hdr["X-One"], hdr["X-Two"] = shared, shared
	for range 2 {
		if got := decodeH3Headers(t, must(h.appendResponse(http.StatusOK, hdr, nil))); got["x-one"] != "same" || got["x-two"] != "same" {
			t.Fatalf("one slice under two names: %q", got)
		}
	}
	hdr["Trailer:X"] = []string{"v"}
	if _, ok := h.appendResponse(http.StatusOK, hdr, nil); ok {
		t.Fatal("a trailer field was encoded into the HEADERS frame")
	}
}

func must(b []byte, ok bool) []byte {
	if !ok {
		panic("refused")
	}
	return b
}

// BenchmarkH3AppendResponse encodes a static file's 200 as
// sendWholeH3 does: the asset's fields and the route's Cache-Control
// shared from one response to the next, a new request id each time.
//
//	go test -run '^$' -bench H3AppendResponse -benchmem -count 5 ./edge/
func BenchmarkH3AppendResponse(b *testing.B) {
	hdr := http.Header{
		"Content-Type":   {"application/octet-stream"},
		"Etag":           {`"db83dbcbdbcd2c3aeee7e14165de9b0505df3598bc765b492b32811f42180a46"`},
		"Last-Modified":  {"Wed, 02 Dec 2026 14:58:25 GMT"},
		"Accept-Ranges":  {"bytes"},
		"Content-Length": {"4096"},
		"Cache-Control":  {"public, max-age=60"},
		"Date":           {"Wed, 02 Dec 2026 15:20:00 GMT"},
	}
	body := make([]byte, 4<<10)
	buf := h3Bufs.Get().(*h3Buf)
	defer h3Bufs.Put(buf)
	var rec recorder
	for b.Loop() {
		rec.newID()
		hdr["X-Request-Id"] = rec.idValue[:1:1]
		if _, ok := buf.appendResponse(http.StatusOK, hdr, body); !ok {
			b.Fatal("refused")
		}
	}
}
