package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules/examples"
)

// Benchmarks of one request through the node's handler, no network. The
// native handler writes the same bytes as the C guest: the baseline that a
// guest's cost is read against, measured in the same run.

func benchHandler(b *testing.B) http.Handler {
	b.Helper()
	r := edge.NewRouter()
	if err := r.Set([]*app.App{loadDemo(b, newTestEngine(b))}); err != nil {
		b.Fatal(err)
	}
	return edge.NewHandler(edge.HandlerConfig{Router: r, Log: quietLog})
}

func runHandler(b *testing.B, h http.Handler, target, want string) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != 200 || w.Body.String() != want {
			b.Fatalf("%s = %d %q", target, w.Code, w.Body.String())
		}
	}
}

func BenchmarkHandlerNative(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello, %s! (from C)\n", r.URL.Query().Get("name"))
	})
	runHandler(b, h, "/api/hello?name=bench", "Hello, bench! (from C)\n")
}

func BenchmarkHandlerWAGIC(b *testing.B) {
	runHandler(b, benchHandler(b), "/api/hello?name=bench", "Hello, bench! (from C)\n")
}

func BenchmarkHandlerWAGIWAT(b *testing.B) {
	runHandler(b, benchHandler(b), "/api/hello-wat", "Hello from WAT!\n")
}

func BenchmarkHandlerWAGIGo(b *testing.B) {
	runHandler(b, benchHandler(b), "/api/hello-go?name=bench", "Hello, bench! (from Go)\n")
}

func BenchmarkHandlerEdgeC(b *testing.B) {
	runHandler(b, benchHandler(b), "/api/hello-edge?name=bench", "Hello, bench! (from C, edge ABI)\n")
}

// BenchmarkHandlerEdgeGo serves the demo's Go edge ABI guest as the node
// does, pre-initialised: compare BenchmarkHandlerNative and
// BenchmarkHandlerEdgeC in the same run.
func BenchmarkHandlerEdgeGo(b *testing.B) {
	runHandler(b, benchHandler(b), "/api/hello-edge-go?name=bench", "Hello, bench! (from Go, edge ABI)\n")
}

func BenchmarkHandlerStatic(b *testing.B) {
	h := benchHandler(b)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 {
			b.Fatalf("/ = %d", w.Code)
		}
	}
}

// BenchmarkHandlerWAGICParallel runs the C hello through the handler from
// every core at once, each request with a cancelable context as net/http
// gives it (so the guest's cancellation watch is set up and torn down).
func BenchmarkHandlerWAGICParallel(b *testing.B) {
	h := benchHandler(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithCancel(context.Background())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/api/hello?name=bench", nil).WithContext(ctx))
			cancel()
			if w.Code != 200 {
				b.Fatalf("/api/hello = %d", w.Code)
			}
		}
	})
}

// BenchmarkHandlerStaticCached serves the demo's stylesheet as a node
// does: from the bbolt cache (and, on this branch, its object cache).
func BenchmarkHandlerStaticCached(b *testing.B) {
	r := edge.NewRouter()
	demo, err := app.LoadApp(examples.Demo(), "demo", app.LoadOptions{Engine: newTestEngine(b), Cache: openCache(b, b.TempDir())})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Set([]*app.App{demo}); err != nil {
		b.Fatal(err)
	}
	h := edge.NewHandler(edge.HandlerConfig{Router: r, Log: quietLog})
	req := httptest.NewRequest("GET", "/style.css", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.Len() == 0 {
			b.Fatalf("/style.css = %d", w.Code)
		}
	}
}
