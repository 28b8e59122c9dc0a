package modules_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// watNop is the cheapest WASI command: _start returns at once, so a run
// measures only the per-request cost of a fresh store.
const watNop = `(module (memory (export "memory") 1) (func (export "_start")))`

// BenchmarkRunFreshStore is the floor of every request: stdio pipes, a new
// store, instantiation and one call.
func BenchmarkRunFreshStore(b *testing.B) {
	e := newEngine(b)
	m := compile(b, e, watNop)
	cmd := &modules.Command{Args: []string{"nop.wasm"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Run(context.Background(), m, cmd, modules.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunWAGIHello adds a real WAGI env, a write to stdout and CGI
// parsing.
func BenchmarkRunWAGIHello(b *testing.B) {
	e := newEngine(b)
	benchWAGI(b, e, compile(b, e, watPrint), modules.Limits{}, "hello")
}

// BenchmarkRunWAGIHelloC runs the demo app's C guest (wasi-libc start-up,
// getenv, printf) as the demo routes it.
func BenchmarkRunWAGIHelloC(b *testing.B) {
	e := newEngine(b)
	lim := modules.Limits{Memory: 16 << 20, Timeout: 2 * time.Second}
	benchWAGI(b, e, compileDemo(b, e, "hello.wasm"), lim, "Howdy, bench! (from C)\n")
}

// BenchmarkRunWAGIHelloCRequest is BenchmarkRunWAGIHelloC with the
// request laid out for the guest in each run (WAGICommand), as the node
// does: compare BenchmarkRunEdgeHelloC, whose request encoding is in
// each run too.
func BenchmarkRunWAGIHelloCRequest(b *testing.B) {
	e := newEngine(b)
	m := compileDemo(b, e, "hello.wasm")
	lim := modules.Limits{Memory: 16 << 20, Timeout: 2 * time.Second}
	r := httptest.NewRequest(http.MethodGet, "/api/hello?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	route := &modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{"GREETING": "Howdy"}}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		resp, _, err := e.RunWAGI(context.Background(), m, modules.WAGICommand(r, route, nil), lim)
		if err != nil {
			b.Fatal(err)
		}
		if string(resp.Body) != "Howdy, bench! (from C)\n" {
			b.Fatalf("body %q", resp.Body)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
}

func benchWAGI(b *testing.B, e *modules.Engine, m *modules.Module, lim modules.Limits, body string) {
	r := httptest.NewRequest(http.MethodGet, "/api/hello?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	route := &modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{"GREETING": "Howdy"}}
	cmd := modules.WAGICommand(r, route, nil)
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		resp, _, err := e.RunWAGI(context.Background(), m, cmd, lim)
		if err != nil {
			b.Fatal(err)
		}
		if string(resp.Body) != body {
			b.Fatalf("body %q, want %q", resp.Body, body)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
}
