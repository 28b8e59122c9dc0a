package modules_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// BenchmarkFreshStoreLatency times every fresh store + instantiate + call
// of a trivial export and reports the median and 99th percentile, the
// figures the per-request sandbox is judged by.
func BenchmarkFreshStoreLatency(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  modules.EngineConfig
	}{
		{"dirty-reset", modules.EngineConfig{}}, // the default (docs/preinit.md)
		{"full-reset", modules.EngineConfig{FullSlotReset: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, err := modules.NewEngineWith(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			freshStoreLatency(b, e)
		})
	}
}

func freshStoreLatency(b *testing.B, e *modules.Engine) {
	m := compile(b, e, `(module (memory (export "memory") 1) (func (export "_start")))`)
	cmd := &modules.Command{Args: []string{"x"}}
	times := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		start := time.Now()
		if _, err := e.Run(context.Background(), m, cmd, modules.Limits{}); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1000, "p50-us")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1000, "p99-us")
}
