package edge_test

import (
	"net/http/httptest"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/ops"
)

// The cost of metrics on the request path: the same handler and requests
// with no Observer and with ops.Metrics, in one run. Compare with
//
//	go test -run '^$' -bench 'Observed' -count 6 ./edge | benchstat -col /metrics -
func BenchmarkObserved(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name+"/static", func(b *testing.B) { benchObserved(b, on, "/") })
		b.Run(name+"/wagi", func(b *testing.B) { benchObserved(b, on, "/api/hello-wat") })
	}
}

func benchObserved(b *testing.B, metrics bool, target string) {
	r := edge.NewRouter()
	if err := r.Set([]*app.App{loadDemo(b, newTestEngine(b))}); err != nil {
		b.Fatal(err)
	}
	cfg := edge.HandlerConfig{Router: r, Log: quietLog}
	if metrics {
		cfg.Observer = ops.NewMetrics()
	}
	h := edge.NewHandler(cfg)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != 200 {
			b.Fatalf("%s = %d", target, w.Code)
		}
	}
}
