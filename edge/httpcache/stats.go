package httpcache

import "sync/atomic"

// Stats counts what the cache did, for /metrics.
type Stats struct {
	Hits, Misses, Stale, Bypass  atomic.Uint64
	Revalidated, Collapsed       atomic.Uint64
	Stored, Evicted, Purged      atomic.Uint64
	OriginBytes, CacheBytes      atomic.Uint64
	OriginErrors, StaleIfErrored atomic.Uint64
}

// Stats exposes the counters.
func (c *Cache) Stats() *Stats { return &c.stats }
