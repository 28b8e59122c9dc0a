package examples_test

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/edgecdn/edge/modules/examples"
)

// TestDemoBundle guards against a demo/ that was not rebuilt or lost a file:
// the node would still start but serve a broken app. Running the guests is
// left to the runtime tests.
func TestDemoBundle(t *testing.T) {
	app := examples.Demo()

	for _, name := range []string{"edge.toml", "public/index.html", "public/style.css"} {
		if _, err := fs.Stat(app, name); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}

	// Every module starts with the magic "\0asm" and binary version 1
	// (little-endian u32); a component or a truncated file would not.
	header := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	for _, name := range []string{"hello.wasm", "hello-go.wasm", "hello-wat.wasm", "hello-edge.wasm", "hello-edge-go.wasm"} {
		data, err := fs.ReadFile(app, name)
		if err != nil {
			t.Errorf("missing %s: %v", name, err)
			continue
		}
		if !bytes.HasPrefix(data, header) {
			n := min(len(data), len(header))
			t.Errorf("%s: header % x, want % x", name, data[:n], header)
		}
	}
}
