package h2

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
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
