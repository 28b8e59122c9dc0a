package cache

import (
	"sync/atomic"
	"time"
)

// DurationBuckets are the upper bounds of a DurationHistogram: from a
// small artifact's load (~100 µs) to a large module's compile (tens of
// seconds).
var DurationBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// DurationHistogram counts durations into DurationBuckets without a lock,
// so metrics can show compile and load times as histograms read at scrape
// time while the cache itself knows nothing of Prometheus.
type DurationHistogram struct {
	counts [len(DurationBuckets) + 1]atomic.Uint64 // the last: above every bound
	sum    atomic.Int64                            // nanoseconds
}

// Observe counts one duration.
func (h *DurationHistogram) Observe(d time.Duration) {
	i := 0
	for i < len(DurationBuckets) && d > DurationBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot returns the count, the sum and the cumulative count at or
// below each of DurationBuckets, as a Prometheus histogram reports them.
// Taken while others observe, the parts may differ by those observations.
func (h *DurationHistogram) Snapshot() (count uint64, sum time.Duration, cumulative []uint64) {
	cumulative = make([]uint64, len(DurationBuckets))
	for i := range DurationBuckets {
		count += h.counts[i].Load()
		cumulative[i] = count
	}
	count += h.counts[len(DurationBuckets)].Load()
	return count, time.Duration(h.sum.Load()), cumulative
}
