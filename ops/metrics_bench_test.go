package ops_test

import (
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/ops"
)

// BenchmarkMetricsRequest is what metrics add to one request: the
// Observer call the handler makes once it has answered (a route lookup,
// a counter, a histogram), in parallel as the listeners call it.
func BenchmarkMetricsRequest(b *testing.B) {
	m := ops.NewMetrics()
	a := &app.App{Name: "demo"}
	rt := &app.Route{Pattern: "/api/..."}
	d := edge.RequestDone{App: a, Route: rt, Proto: 2, Status: 200, Bytes: 100, Duration: time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request(d)
		}
	})
}
