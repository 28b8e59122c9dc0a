package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressSaysActivating: on a terminal, the end of the upload says
// the node is compiling, so the wait for its answer (tens of seconds for
// a JavaScript route) is not silent; off a terminal nothing is drawn.
func TestProgressSaysActivating(t *testing.T) {
	for _, files := range []int{0, 2} {
		var buf bytes.Buffer
		p := &progress{w: &buf, tty: true}
		p.Start(files, 10)
		p.Done()
		if !strings.Contains(buf.String(), "activating: the node compiles") {
			t.Errorf("%d files uploaded: terminal shows %q", files, buf.String())
		}
	}
	var buf bytes.Buffer
	p := &progress{w: &buf}
	p.Start(2, 10)
	p.Done()
	if buf.Len() != 0 {
		t.Errorf("not a terminal: wrote %q", buf.String())
	}
}
