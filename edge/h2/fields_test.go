package h2

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestPresetFields: fields a handler presets go out once, beside the
// header map's, and count as the response's own: their Content-Length
// bounds the body (no second one is added), their Content-Type is not
// sniffed over, a field the map also has is sent once (Override), and
// connection-specific fields are left out. A HEAD gets them without a body.
func TestPresetFields(t *testing.T) {
	pre := NewFields(http.Header{
		"Content-Type":   {"application/x-test"},
		"Content-Length": {"5"},
		"Via":            {"1.1 origin", "1.1 edge"},
		"Date":           {"Tue, 01 Dec 2026 10:00:00 GMT"},
		"Connection":     {"close"},
	})
	if pre.Len() != 5 {
		t.Fatalf("NewFields kept %d field lines, want 5 (Connection left out)", pre.Len())
	}
	overrun := make(chan error, 2)
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = []string{"Wed, 02 Dec 2026 10:00:00 GMT"}
		w.Header().Set("Age", "7")
		pre.Override(w.Header())
		w.(interface{ Preset(*Fields) }).Preset(pre)
		_, _ = io.WriteString(w, "hello")
		_, err := io.WriteString(w, "!")
		overrun <- err
	}))
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, ts.URL, nil)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		want := "hello"
		if method == "HEAD" {
			want = ""
		}
		if string(body) != want || resp.ContentLength != 5 || len(h.Values("Content-Length")) > 1 {
			t.Errorf("%s: body %q, length %d, Content-Length %q", method, body, resp.ContentLength, h.Values("Content-Length"))
		}
		if h.Get("Content-Type") != "application/x-test" || h.Get("Age") != "7" ||
			!slices.Equal(h.Values("Via"), []string{"1.1 origin", "1.1 edge"}) ||
			!slices.Equal(h.Values("Date"), []string{"Tue, 01 Dec 2026 10:00:00 GMT"}) || h.Get("Connection") != "" {
			t.Errorf("%s: header %v", method, h)
		}
		if err := <-overrun; method == "GET" && !errors.Is(err, http.ErrContentLength) {
			t.Errorf("%s: a byte past the preset Content-Length: %v, want ErrContentLength", method, err)
		}
	}
}

// TestFieldsBlockDecodes: the lines NewFields encodes decode, with any
// dynamic table, to the fields it was given: names from the static table
// and new ones, Huffman-coded and raw values, a value longer than an
// integer's prefix, Set-Cookie never indexed; and they leave the decoder's
// dynamic table empty.
func TestFieldsBlockDecodes(t *testing.T) {
	long := strings.Repeat("~", 300) // Huffman makes it longer: sent raw
	h := http.Header{
		"Cache-Control": {"public, max-age=3600"},
		"X-Cache":       {"HIT"},
		"Set-Cookie":    {"a=b", "c=d"},
		"X-Long":        {long},
		"Etag":          {`"abc"`},
	}
	f := NewFields(h)
	var got []hpack.HeaderField
	dec := hpack.NewDecoder(4096, func(hf hpack.HeaderField) { got = append(got, hf) })
	// A table entry first, as on a connection that sent responses before.
	var warm bytes.Buffer
	_ = hpack.NewEncoder(&warm).WriteField(hpack.HeaderField{Name: "x-old", Value: "1"})
	if _, err := dec.Write(warm.Bytes()); err != nil {
		t.Fatal(err)
	}
	got = nil
	if _, err := dec.Write(f.block); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(got) != f.Len() || f.Len() != 6 {
		t.Fatalf("%d fields decoded, Len %d, want 6", len(got), f.Len())
	}
	for _, hf := range got {
		want := h[http.CanonicalHeaderKey(hf.Name)]
		if !slices.Contains(want, hf.Value) {
			t.Errorf("%s: %.40q not among %.40q", hf.Name, hf.Value, want)
		}
		if hf.Sensitive != (hf.Name == "set-cookie") {
			t.Errorf("%s: sensitive %v", hf.Name, hf.Sensitive)
		}
	}
	// Only x-old is in the table: NewFields' lines added nothing.
	var probe []hpack.HeaderField
	d2 := hpack.NewDecoder(4096, func(hf hpack.HeaderField) { probe = append(probe, hf) })
	_, _ = d2.Write(warm.Bytes())
	_, _ = d2.Write(f.block)
	if _, err := d2.Write([]byte{0x80 | 63}); err == nil { // index 62 is x-old; 63 must not exist
		t.Errorf("a second dynamic table entry exists: the preset lines indexed something")
	}
}
