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
// another slice or the same one changed in place.
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
