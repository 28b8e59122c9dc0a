package httpcache

import (
	"sync/atomic"
	"time"
)

// Stats counts what the cache did, for /metrics.
type Stats struct {
	Hits, Misses, Stale, Bypass  atomic.Uint64
	Revalidated, Collapsed       atomic.Uint64
	Stored, Evicted, Purged      atomic.Uint64
	OriginBytes, CacheBytes      atomic.Uint64
	OriginErrors, StaleIfErrored atomic.Uint64
	// PurgeLatency is the time from a purge's issue (its signature, for
	// a mesh purge) to its application on this node.
	PurgeLatency Histogram
}

// Stats exposes the counters.
func (c *Cache) Stats() *Stats { return &c.stats }

// LatencyBuckets are the upper bounds, in seconds, of Histogram's buckets.
var LatencyBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600}

// Histogram counts durations into LatencyBuckets, lock-free.
type Histogram struct {
	counts [16]atomic.Uint64 // per bucket, the last past every bound
	sumNS  atomic.Int64
	total  atomic.Uint64
}

// Observe adds one duration (a negative one, from clock skew, as 0).
func (h *Histogram) Observe(d time.Duration) {
	d = max(d, 0)
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
	h.total.Add(1)
}

// Snapshot is the count, the sum in seconds and the cumulative count
// per bucket bound, as Prometheus histograms report them.
func (h *Histogram) Snapshot() (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(LatencyBuckets))
	var cum uint64
	for i, b := range LatencyBuckets {
		cum += h.counts[i].Load()
		buckets[b] = cum
	}
	return h.total.Load(), time.Duration(h.sumNS.Load()).Seconds(), buckets
}
