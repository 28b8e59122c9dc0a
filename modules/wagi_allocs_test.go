package modules_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// TestRunWAGIAllocs counts what one WAGI request costs the Go heap as the
// node serves it, from the request to its parsed response: the demo's C
// hello, with a browser's few headers. Each allocation is work per
// request and garbage for the collector; 26 before the env was laid out
// for the guest as it was built and the response header pointed into the
// guest's output.
func TestRunWAGIAllocs(t *testing.T) {
	e := newEngine(t)
	m := compileDemo(t, e, "hello.wasm")
	lim := modules.Limits{Memory: 16 << 20, Timeout: 2 * time.Second}
	r := httptest.NewRequest(http.MethodGet, "/api/hello?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Accept-Encoding", "gzip")
	route := &modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{"GREETING": "Howdy"}}
	const want = 10
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
