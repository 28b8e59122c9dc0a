package ops_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/ops"
)

// TestCompileAndLoadTimesAreHistograms: the cache's compile and artifact
// load times reach /metrics as Prometheus histograms (a slow compile is
// seen as such, not averaged into a running total), with the bucket each
// one fell in.
func TestCompileAndLoadTimesAreHistograms(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	admin, err := ops.NewAdmin(ops.AdminConfig{Addr: "127.0.0.1:0", Token: token, Cache: c, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Shutdown(context.Background()) })
	c.Counters().ObserveCompile(3 * time.Second)
	c.Counters().ObserveCompile(20 * time.Millisecond)
	c.Counters().ObserveDeserialize(300 * time.Microsecond)

	fams := scrape(t, admin.Addr())
	for name, want := range map[string]struct {
		count uint64
		le    float64 // a bound
		below uint64  // observations at or below it
	}{
		"edge_cache_compile_seconds":     {2, 0.025, 1},
		"edge_cache_deserialize_seconds": {1, 0.0005, 1},
	} {
		mf := fams[name]
		if mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.GetMetric()) != 1 {
			t.Errorf("%s: %v, want one histogram", name, mf)
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != want.count {
			t.Errorf("%s: count %d, want %d", name, h.GetSampleCount(), want.count)
		}
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == want.le && b.GetCumulativeCount() != want.below {
				t.Errorf("%s: le=%v holds %d, want %d", name, want.le, b.GetCumulativeCount(), want.below)
			}
		}
	}
}
