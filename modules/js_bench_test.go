package modules_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/js"
)

// helloJS answers like the demo's guests.
const helloJS = `addEventListener("fetch", (e) => {
  const name = new URL(e.request.url).searchParams.get("name") || "world";
  e.respondWith(new Response("Hello, " + name + "! (from JavaScript)\n"));
});`

// BenchmarkRunEdgeHelloJS is the JavaScript hello per request, from the
// node's snapshot of the engine with the script parsed and its top level
// run, next to the C edge ABI hello in the same run. Its requests write
// ~170 pages spread over the Go heap, more separate runs than Wasmtime's
// dirty-page reset keeps, so it also runs on an engine without page
// plans (warm.c: every request faults ~140 pages in again) and on one
// that keeps only 64 KiB per slot resident (too little for a plan). It
// reports, once, how long deriving the snapshot (instrument, compile for
// init, init, rewrite) and compiling it took, and per request how long
// instantiating it took.
//
//	go test -run '^$' -bench RunEdgeHelloJS ./modules/
func BenchmarkRunEdgeHelloJS(b *testing.B) {
	e := newEngine(b)
	src, err := js.Wasm()
	if err != nil {
		b.Fatal(err)
	}
	c := preinitDemo(b, e, "hello-edge.wasm")
	r := httptest.NewRequest(http.MethodGet, "/api/hello-edge?name=bench", nil)
	req := modules.EdgeRequest(r, nil)
	lim := modules.Limits{Timeout: 5 * time.Second}
	run := func(b *testing.B, e *modules.Engine, m *modules.Module, want string) {
		b.ReportAllocs()
		faults := minorFaults()
		var inst time.Duration
		for b.Loop() {
			resp, out, err := e.RunEdge(context.Background(), m, req, lim)
			if err != nil || string(resp.Body) != want {
				b.Fatalf("%v %v (log %q)", resp, err, out.Stderr)
			}
			inst += out.Instantiate
		}
		b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
		// A fresh store and a ready instance, the plan's pages written.
		b.ReportMetric(float64(inst.Nanoseconds())/1e3/float64(b.N), "instantiate-µs/op")
	}
	b.Run("c", func(b *testing.B) { run(b, e, c, "Hello, bench! (from C, edge ABI)\n") })

	start := time.Now()
	p, err := e.Preinit("hello.js", src, modules.Recipe{Init: "_initialize", Args: []string{"hello.js", "134217728"}, Stdin: []byte(helloJS), Limits: lim})
	if err != nil {
		b.Fatal(err)
	}
	derive := time.Since(start)
	start = time.Now()
	m, err := e.Compile("hello.js", p.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(start)
	b.Cleanup(m.Close)
	art, err := m.Serialize()
	if err != nil {
		b.Fatal(err)
	}
	const want = "Hello, bench! (from JavaScript)\n"
	b.Run("js", func(b *testing.B) {
		run(b, e, m, want)
		b.ReportMetric(derive.Seconds(), "derive-s")
		b.ReportMetric(compile.Seconds(), "compile-s")
	})
	engines := []struct {
		name string
		new  func() (*modules.Engine, error)
	}{
		{"js-no-plan", modules.NewEngineNoWarm},
		{"js-keep-64KiB", func() (*modules.Engine, error) {
			return modules.NewEngineWith(modules.EngineConfig{KeepResident: 64 << 10})
		}},
	}
	for _, v := range engines {
		b.Run(v.name, func(b *testing.B) {
			e2, err := v.new()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(e2.Close)
			m2, err := e2.Deserialize("hello.js", art)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(m2.Close)
			run(b, e2, m2, want)
		})
	}
}
