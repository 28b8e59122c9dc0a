package modules_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// The allocations of one request, as the node serves it, from the
// request to its parsed response: each is work per request and garbage
// for the collector.

// They run on the engines of TestRunWAGIDemoGuests and
// TestRunEdgeSDKGuests: an engine keeps its pool's mappings until the
// process ends (Engine.Close stops only its ticker), and this package's
// tests are close to the kernel's limit on mappings (vm.max_map_count).

// testRunWAGIAllocs counts them for the demo's C hello over WAGI, with a
// few headers: 27 before the env was laid out for the guest as it was
// built, the response header pointed into the guest's output, and the
// run's C result, its Output and the Go side's copy shared one
// allocation.
func testRunWAGIAllocs(t *testing.T, e *modules.Engine) {
	if raceOn {
		t.Skip("allocation counts differ under the race detector")
	}
	m := compileDemo(t, e, "hello.wasm")
	lim := modules.Limits{Memory: 16 << 20, Timeout: 2 * time.Second}
	r := httptest.NewRequest(http.MethodGet, "/api/hello?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Accept-Encoding", "gzip")
	route := &modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{"GREETING": "Howdy"}}
	const want = 8
	allocs := testing.AllocsPerRun(200, func() {
		resp, out, err := e.RunWAGI(context.Background(), m, modules.WAGICommand(r, route, nil), lim)
		if err != nil {
			t.Fatalf("RunWAGI: %v (stderr %q)", err, out.Stderr)
		}
		if string(resp.Body) != "Howdy, bench! (from C)\n" {
			t.Fatalf("body %q", resp.Body)
		}
	})
	if allocs > want {
		t.Errorf("%v allocations per request, want at most %d", allocs, want)
	}
}

// testRunEdgeAllocs counts them for the demo's C hello over the edge ABI:
// 13 before the run's C result, Output and copy shared one allocation.
func testRunEdgeAllocs(t *testing.T, e *modules.Engine) {
	if raceOn {
		t.Skip("allocation counts differ under the race detector")
	}
	m := compileDemo(t, e, "hello-edge.wasm")
	lim := modules.Limits{Memory: 16 << 20, Timeout: 2 * time.Second}
	r := httptest.NewRequest(http.MethodGet, "/api/hello-edge?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	const want = 11
	allocs := testing.AllocsPerRun(200, func() {
		resp, out, err := e.RunEdge(context.Background(), m, modules.EdgeRequest(r, nil), lim)
		if err != nil {
			t.Fatalf("RunEdge: %v (log %q)", err, out.Stderr)
		}
		if string(resp.Body) != "Hello, bench! (from C, edge ABI)\n" {
			t.Fatalf("body %q", resp.Body)
		}
	})
	if allocs > want {
		t.Errorf("%v allocations per request, want at most %d", allocs, want)
	}
}
