package modules_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
	"github.com/edgecdn/edge/modules/js"
)

// watPattern is an edge ABI reactor whose init copies its environment
// (the recipe's) to address 70000 and sets globals; its handler answers
// with that memory, the global, how often init ran, and whether a previous
// request's write is visible, then dirties all of it.
const watPattern = `(module
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (import "edge_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $g (mut i32) (i32.const 0))
  (global $inits (mut i32) (i32.const 0))
  (global $wide (mut i64) (i64.const 0))
  (func (export "_initialize")
    (drop (call $environ_get (i32.const 1000) (i32.const 70000)))
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (global.set $g (i32.const 0x41424344))
    (global.set $wide (i64.const -2)))
  (func (export "edge_handle") (result i32)
    (i32.store (i32.const 70100) (global.get $g))
    (i32.store8 (i32.const 70104) (i32.add (i32.const 48) (global.get $inits)))
    (i32.store8 (i32.const 70105) (i32.add (i32.const 48) (i32.load8_u (i32.const 80000))))
    (i32.store8 (i32.const 70106) (i32.add (i32.const 48) (i32.wrap_i64 (i64.add (global.get $wide) (i64.const 3)))))
    (i32.store8 (i32.const 80000) (i32.const 1))
    (global.set $g (i32.const 0))
    (global.set $inits (i32.const 7))
    (drop (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 70000) (i32.const 19)))
    (drop (call $body_write (i32.const 70100) (i32.const 7)))
    (i32.const 0)))`

var patternRecipe = modules.Recipe{Env: [][2]string{{"K", "pattern-from-init"}}}

func edgeGet(t testing.TB) []byte {
	t.Helper()
	return modules.EdgeRequest(httptest.NewRequest(http.MethodGet, "/", nil), nil)
}

// TestPreinitPattern: a fresh instance of the snapshot sees what init
// wrote to memory and globals without init running again (the request
// has no environment, so a second init would find no pattern), and a
// request's own writes are gone for the next one.
func TestPreinitPattern(t *testing.T) {
	e := newEngine(t)
	src := wasm(t, watPattern)
	p, err := e.Preinit("pattern.wasm", src, patternRecipe)
	if err != nil {
		t.Fatal(err)
	}
	if p.Init != "_initialize" {
		t.Errorf("init %q, want _initialize", p.Init)
	}
	m, err := e.Compile("pattern.wasm", p.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if m.Exports("_initialize") {
		t.Error("the snapshot still exports _initialize")
	}
	// g is "DCBA" little endian; init ran once; nothing from a previous
	// request; the i64 global is -2, plus 3 is 1.
	want := "K=pattern-from-init" + "DCBA" + "1" + "0" + "1"
	for i := range 3 {
		resp, out, err := e.RunEdge(context.Background(), m, edgeGet(t), modules.Limits{})
		if err != nil {
			t.Fatalf("request %d: %v (log %q)", i, err, out.Stderr)
		}
		if string(resp.Body) != want {
			t.Fatalf("request %d: body %q, want %q", i, resp.Body, want)
		}
	}
}

// TestPreinitDeterministic derives each snapshot twice in two engines (two
// nodes): the same bytes, also for the Go guest, whose runtime reads the
// clock and random bytes during init.
func TestPreinitDeterministic(t *testing.T) {
	type guest struct {
		src    []byte
		recipe modules.Recipe
	}
	rc := modules.Recipe{Limits: modules.Limits{Memory: 64 << 20}}
	guests := map[string]guest{"pattern.wasm": {wasm(t, watPattern), rc}}
	if !testing.Short() {
		b, err := fs.ReadFile(examples.Demo(), "hello-edge-go.wasm")
		if err != nil {
			t.Fatal(err)
		}
		guests["hello-edge-go.wasm"] = guest{b, rc}
		// The JavaScript engine with a script, as a js route derives it
		// (edge/app/js.go): goja's and the Go runtime's state, the
		// parsed script and its top level (issue 14: two nodes, one
		// digest).
		engine, err := js.Wasm()
		if err != nil {
			t.Fatal(err)
		}
		guests["hello.js"] = guest{engine, modules.Recipe{Init: "_initialize", Args: []string{"hello.js", "134217728"},
			Stdin: []byte(helloJS), Env: [][2]string{{"GREETING", "Hi"}}, Limits: modules.Limits{Timeout: 10 * time.Second}}}
	}
	a, b := newEngine(t), newEngine(t)
	for name, g := range guests {
		t.Run(name, func(t *testing.T) {
			p1, err := a.Preinit(name, g.src, g.recipe)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := b.Preinit(name, g.src, g.recipe)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p1.Wasm, p2.Wasm) {
				t.Fatal("two derivations differ")
			}
			t.Logf("%s: %d bytes, snapshot %d bytes (sha256 %x), derived in %v", name, len(g.src), len(p1.Wasm), sha256.Sum256(p1.Wasm), p1.Took)
		})
	}
}

// TestPreinitGoGuest serves the demo's Go edge ABI guest from its
// snapshot: the runtime started once, at derivation, and every request
// still answers like TestRunEdgeSDKGuests wants.
func TestPreinitGoGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the Go guest twice")
	}
	e := newEngine(t)
	m := preinitDemo(t, e, "hello-edge-go.wasm")
	for _, q := range []string{"name=one", "name=two", ""} {
		r := httptest.NewRequest(http.MethodGet, "/api/hello-edge-go?"+q, nil)
		want := wantGreeting(q, " (from Go, edge ABI)\n")
		checkHello(t, e, m, edgeGuests[1].lim, modules.EdgeRequest(r, nil), want)
	}
}

func preinitDemo(t testing.TB, e *modules.Engine, file string) *modules.Module {
	t.Helper()
	src, err := fs.ReadFile(examples.Demo(), file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Preinit(file, src, modules.Recipe{Limits: modules.Limits{Memory: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile(file, p.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestPreinitRefusals(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name, wat string
		want      error
	}{
		{"no init", `(module (memory (export "memory") 1) (func (export "edge_handle") (result i32) (i32.const 0)))`, modules.ErrNoInit},
		{"init traps", `(module (memory 1) (func (export "_initialize") unreachable))`, modules.ErrPreinit},
		{"init loops", `(module (memory 1) (func (export "_initialize") (loop (br 0))))`, modules.ErrPreinit},
		{"imported memory", `(module (import "env" "m" (memory 1)) (func (export "_initialize")))`, modules.ErrPreinit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := modules.Recipe{Limits: modules.Limits{Timeout: 50 * time.Millisecond}}
			_, err := e.Preinit("bad.wasm", wasm(t, tt.wat), rc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := e.Preinit("junk.wasm", []byte("junk"), modules.Recipe{}); !errors.Is(err, modules.ErrInvalidModule) {
		t.Fatalf("junk: err %v, want ErrInvalidModule", err)
	}
}

// BenchmarkRunEdgeHelloGoPreinit is BenchmarkRunEdgeHelloGo on the
// snapshot: the per-request cost left once the runtime's start-up is gone.
func BenchmarkRunEdgeHelloGoPreinit(b *testing.B) {
	e := newEngine(b)
	m := preinitDemo(b, e, "hello-edge-go.wasm")
	benchEdgeModule(b, e, m, edgeGuests[1])
}
