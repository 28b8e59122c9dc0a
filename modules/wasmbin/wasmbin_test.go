package wasmbin_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/modules/wasmbin"
)

// testWATs are held-in guests with the shapes the rewriter must handle:
// a start function, passive segments and a data count, every numeric
// global type, a module without memory.
var testWATs = map[string]string{
	"start.wat": `(module
  (memory (export "memory") 1 4)
  (global $g (mut i32) (i32.const 7))
  (data (i32.const 100) "abc")
  (func $s (global.set $g (i32.const 9)))
  (start $s)
  (func (export "_initialize") (i32.store (i32.const 200) (i32.const 0x01020304))))`,
	"passive.wat": `(module
  (memory 1)
  (data $p "passive")
  (data (i32.const 8) "active")
  (func (export "wizer.initialize") (memory.init $p (i32.const 64) (i32.const 0) (i32.const 7)) (data.drop $p)))`,
	"types.wat": `(module
  (import "env" "k" (global $k i32))
  (memory 2)
  (global (mut i64) (i64.const -5))
  (global (mut f32) (f32.const 1.5))
  (global (mut f64) (f64.const -2.25))
  (global (mut v128) (v128.const i32x4 1 2 3 4))
  (global i32 (global.get $k))
  (func (export "_initialize")))`,
	"nomemory.wat": `(module (global (mut i32) (i32.const 0)) (func (export "_initialize")))`,
}

// corpus is every module the rewriter is held to: the held-in guests
// and every module committed under modules/examples.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, wat := range testWATs {
		b, err := wasmtime.Wat2Wasm(wat)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	files, err := filepath.Glob("../examples/demo/*.wasm")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example modules (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestRoundTrip parses every module and writes it back byte for byte, and
// decodes and re-encodes every section the rewriter touches to the same
// items.
func TestRoundTrip(t *testing.T) {
	for name, b := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			m, err := wasmbin.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Bytes(), b) {
				t.Fatal("Parse then Bytes changed the module")
			}
			checkSections(t, m, true)
		})
	}
}

// checkSections round-trips the decoded sections; strict: a section that
// does not decode fails the test (for the fuzzer, it is just not checked).
func checkSections(t *testing.T, m *wasmbin.Module, strict bool) {
	t.Helper()
	roundTrip(t, strict, "import", m.Section(wasmbin.SecImport), wasmbin.Imports, wasmbin.EncodeImports)
	roundTrip(t, strict, "memory", m.Section(wasmbin.SecMemory), wasmbin.Memories, wasmbin.EncodeMemories)
	roundTrip(t, strict, "global", m.Section(wasmbin.SecGlobal), wasmbin.Globals, wasmbin.EncodeGlobals)
	roundTrip(t, strict, "export", m.Section(wasmbin.SecExport), wasmbin.Exports, wasmbin.EncodeExports)
	roundTrip(t, strict, "data", m.Section(wasmbin.SecData), wasmbin.Datas, wasmbin.EncodeDatas)
}

// roundTrip decodes body, encodes the items and decodes them again: the
// same items (the encoding may differ where the original padded a LEB128).
func roundTrip[T any](t *testing.T, strict bool, what string, body []byte, dec func([]byte) ([]T, error), enc func([]T) []byte) {
	t.Helper()
	if body == nil {
		return
	}
	items, err := dec(body)
	if err != nil && !strict {
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	again, err := dec(enc(items))
	if err != nil {
		t.Fatalf("%s re-encoded: %v", what, err)
	}
	if len(items) != len(again) || len(items) > 0 && !reflect.DeepEqual(items, again) {
		t.Fatalf("%s: items changed through encoding", what)
	}
}

// TestInstrumentAndRewriteValidate instruments and rewrites every module
// of the corpus with a zero state and has Wasmtime validate the results.
func TestInstrumentAndRewriteValidate(t *testing.T) {
	engine := wasmtime.NewEngine()
	for name, b := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			init, err := wasmbin.FindInit(b)
			if err != nil {
				t.Fatal(err)
			}
			if init == "" {
				init = "_start" // a command: instrument it the same way
			}
			inst, plan, err := wasmbin.Instrument(b, init)
			if err != nil {
				t.Fatal(err)
			}
			if err := wasmtime.ModuleValidate(engine, inst); err != nil {
				t.Fatalf("instrumented: %v", err)
			}
			st := zeroState(t, b, plan)
			out, err := wasmbin.Rewrite(b, plan, st)
			if err != nil {
				t.Fatal(err)
			}
			if err := wasmtime.ModuleValidate(engine, out); err != nil {
				t.Fatalf("rewritten: %v", err)
			}
			again, err := wasmbin.Rewrite(b, plan, st)
			if err != nil || !bytes.Equal(out, again) {
				t.Fatalf("two rewrites differ (%v)", err)
			}
		})
	}
}

// zeroState is a state of the module's initial memory size, all zero but
// for a marker, and zero globals.
func zeroState(t *testing.T, b []byte, plan *wasmbin.Plan) *wasmbin.State {
	t.Helper()
	m, _ := wasmbin.Parse(b)
	mems, err := wasmbin.Memories(m.Section(wasmbin.SecMemory))
	if err != nil {
		t.Fatal(err)
	}
	st := &wasmbin.State{Globals: make([]wasmbin.Value, len(plan.Globals))}
	if len(mems) > 0 {
		st.Memory = make([]byte, max(mems[0].Min, 1)*wasmbin.PageSize)
		st.Memory[5000] = 1
	}
	return st
}

func TestRefusals(t *testing.T) {
	tests := []struct{ name, wat, want string }{
		{"imported memory", `(module (import "env" "m" (memory 1)) (func (export "_initialize")))`, "imports its memory"},
		{"mutable imported global", `(module (import "env" "g" (global (mut i32))) (func (export "_initialize")))`, "mutable global"},
		{"reference global", `(module (global (mut funcref) (ref.null func)) (func (export "_initialize")))`, "reference type"},
		{"no init export", `(module (func (export "other")))`, "no function export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wasmtime.Wat2Wasm(tt.wat)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = wasmbin.Instrument(b, "_initialize")
			if !errors.Is(err, wasmbin.ErrUnsupported) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("err %v, want ErrUnsupported with %q", err, tt.want)
			}
		})
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	good, _ := wasmtime.Wat2Wasm(`(module (memory 1) (func (export "f")))`)
	tests := map[string][]byte{
		"empty":           nil,
		"component":       {0, 'a', 's', 'm', 0x0d, 0, 1, 0},
		"truncated":       good[:len(good)-1],
		"huge section":    append(append([]byte{}, good[:8]...), 1, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"unknown id":      append(append([]byte{}, good[:8]...), 99, 0),
		"out of order":    append(append([]byte{}, good...), 1, 1, 0),
		"long LEB":        append(append([]byte{}, good[:8]...), 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0),
		"bad custom name": append(append([]byte{}, good[:8]...), 0, 2, 5, 'a'),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := wasmbin.Parse(b); !errors.Is(err, wasmbin.ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSegmentsCoverNonZeroPages(t *testing.T) {
	b, _ := wasmtime.Wat2Wasm(`(module (memory 3) (func (export "_initialize")))`)
	_, plan, err := wasmbin.Instrument(b, "_initialize")
	if err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, 3*wasmbin.PageSize)
	mem[10] = 1
	mem[wasmbin.SnapshotPage+7] = 2 // joins the first page's run
	mem[2*wasmbin.PageSize+100] = 3 // a run of its own
	mem[len(mem)-1] = 4
	out, err := wasmbin.Rewrite(b, plan, &wasmbin.State{Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := wasmbin.Parse(out)
	segs, err := wasmbin.Datas(m.Section(wasmbin.SecData))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(mem))
	for _, d := range segs {
		r := d.Offset
		if r[0] != 0x41 {
			t.Fatalf("offset %x", r)
		}
		off := decodeSLEB(r[1 : len(r)-1])
		copy(got[off:], d.Bytes)
	}
	if !bytes.Equal(got, mem) {
		t.Fatal("segments do not rebuild the memory")
	}
	if len(segs) != 3 {
		t.Errorf("%d segments, want 3", len(segs))
	}
}

func decodeSLEB(b []byte) int {
	var v, shift int
	for _, c := range b {
		v |= int(c&0x7f) << shift
		shift += 7
	}
	return v
}
