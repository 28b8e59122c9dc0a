package modules

import (
	"bytes"
	"fmt"
)

// wasmMagic starts every binary WebAssembly module.
var wasmMagic = []byte("\x00asm")

// CheckMagic refuses bytes that are not a binary WebAssembly module with
// a short reason a user can act on, where Wasmtime's parser would print
// the expected and actual header bytes one per line: a module route
// pointed at source code, WebAssembly text or a script.
func CheckMagic(wasm []byte) error {
	if bytes.HasPrefix(wasm, wasmMagic) {
		return nil
	}
	head := wasm[:min(len(wasm), 16)]
	if t := bytes.TrimLeft(head, " \t\r\n"); bytes.HasPrefix(t, []byte("(module")) || bytes.HasPrefix(t, []byte(";;")) {
		return fmt.Errorf("not a WebAssembly binary but WebAssembly text (WAT): assemble it first (wat2wasm)")
	}
	return fmt.Errorf("not a WebAssembly module: it starts with %q, a module with %q (point module at the .wasm file your compiler wrote)", head, wasmMagic)
}
