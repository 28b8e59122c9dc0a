package wasmbin_test

import (
	"bytes"
	"testing"

	"github.com/edgecdn/edge/modules/wasmbin"
)

// FuzzParse feeds arbitrary bytes to the parser and the section decoders:
// no panic, no allocation beyond the input's size, and whatever parses
// writes back byte for byte and decodes to the same items again.
func FuzzParse(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wasmbin.Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Bytes(), b) {
			t.Fatal("Parse then Bytes changed the module")
		}
		checkSections(t, m, false)
	})
}

// FuzzRewrite instruments and rewrites arbitrary modules with a state
// derived from the input: errors are fine, panics are not, and a rewrite
// that succeeds parses again.
func FuzzRewrite(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b, []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, b, fill []byte) {
		init, err := wasmbin.FindInit(b)
		if err != nil || init == "" {
			return
		}
		inst, plan, err := wasmbin.Instrument(b, init)
		if err != nil {
			return
		}
		if _, err := wasmbin.Parse(inst); err != nil {
			t.Fatalf("instrumented module does not parse: %v", err)
		}
		st := &wasmbin.State{Globals: make([]wasmbin.Value, len(plan.Globals))}
		for i := range st.Globals {
			copy(st.Globals[i][:], fill)
		}
		if plan.MemoryExport != "" {
			st.Memory = make([]byte, wasmbin.PageSize)
			copy(st.Memory[100:], fill)
		}
		out, err := wasmbin.Rewrite(b, plan, st)
		if err != nil {
			return
		}
		if _, err := wasmbin.Parse(out); err != nil {
			t.Fatalf("rewritten module does not parse: %v", err)
		}
	})
}
