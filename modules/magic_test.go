package modules_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// TestCompileNotWasm: a file that is not a WebAssembly binary is refused
// with one line that says what it is, still as ErrInvalidModule. Before,
// the user got Wasmtime's "magic header not detected" with the expected
// and actual bytes printed one per line.
func TestCompileNotWasm(t *testing.T) {
	e := newEngine(t)
	for name, c := range map[string]struct{ src, want string }{
		"text":  {"console.log('hi')\n", `not a WebAssembly module: it starts with "console.log('hi'"`},
		"wat":   {"\n(module (func (export \"_start\")))", "WebAssembly text (WAT)"},
		"empty": {"", `not a WebAssembly module: it starts with ""`},
	} {
		_, err := e.Compile("app.wasm", []byte(c.src))
		if !errors.Is(err, modules.ErrInvalidModule) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", name, err, c.want)
		}
	}
	// A module with the magic goes on to Wasmtime, which explains the rest.
	if _, err := e.Compile("app.wasm", []byte("\x00asm\x01\x00\x00\x00garbage")); !errors.Is(err, modules.ErrInvalidModule) || strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Errorf("truncated module: %v", err)
	}
}
