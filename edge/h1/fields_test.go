package h1

import (
	"net/http"
	"strings"
	"testing"
)

// TestFields: prepared fields leave out what a response's head must not
// carry from them (invalid names, framing fields, an invalid length),
// clean values as net/http does, and Override drops the map's copies.
func TestFields(t *testing.T) {
	f := NewFields(http.Header{
		"Content-Type":      {"text/plain"},
		"X-Ok":              {" a\r\nb "},
		"Bad Name":          {"x"},
		"Transfer-Encoding": {"chunked"},
		"Connection":        {"close"},
	})
	block := string(f.block)
	for _, want := range []string{"Content-Type: text/plain\r\n", "X-Ok: a  b\r\n"} {
		if !strings.Contains(block, want) {
			t.Errorf("block %q lacks %q", block, want)
		}
	}
	for _, bad := range []string{"Bad Name", "Transfer-Encoding", "Connection"} {
		if strings.Contains(block, bad) {
			t.Errorf("block %q has %s", block, bad)
		}
	}
	if !f.typed || f.length != -1 {
		t.Errorf("typed %v, length %d", f.typed, f.length)
	}
	if g := NewFields(http.Header{"Content-Length": {"12x"}}); g.length != -1 || len(g.block) != 0 {
		t.Errorf("an invalid Content-Length was kept: %q", g.block)
	}
	if g := NewFields(http.Header{"Content-Length": {"4096"}}); g.length != 4096 {
		t.Errorf("length %d", g.length)
	}
	h := http.Header{"Content-Type": {"a/b"}, "Age": {"3"}}
	f.Override(h)
	if _, ok := h["Content-Type"]; ok || h.Get("Age") != "3" {
		t.Errorf("after Override: %v", h)
	}
}
