package httpcache

import (
	"fmt"
	"time"
)

// A node that may have missed purges (away from its mesh for longer than
// the purge statements are kept, docs/cdn.md) cannot tell which of its
// entries were purged meanwhile. RequireRevalidation makes every entry
// stored until now unverified: it is neither fresh nor servable stale
// (not even under stale-if-error or after a soft purge) until its origin
// has confirmed it (a 304) or replaced it. With validators that costs one
// conditional request per object, collapsed as misses are.
//
// The time is persisted once (metaNS), not each record: the disk tier's
// loader marks every record older than it unverified again.

// metaNS holds the cache's own state in the store's KV area (not records).
const metaNS = "httpcache-meta"

// unverifiedKey names the persisted time before which entries are unverified.
const unverifiedKey = "unverified-before"

// RequireRevalidation marks every entry stored until now unverified and
// returns how many there are.
func (c *Cache) RequireRevalidation() (int, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	n := c.unverifyLocked(now)
	c.mu.Unlock()
	if c.cfg.Store == nil {
		return n, nil
	}
	b, _ := now.UTC().MarshalText()
	if err := c.cfg.Store.KV(metaNS).Put(unverifiedKey, b); err != nil {
		return n, fmt.Errorf("httpcache: record the revalidation time: %w", err)
	}
	return n, nil
}

// unverifyLocked republishes every entry received before t unverified.
// c.mu is held.
func (c *Cache) unverifyLocked(t time.Time) int {
	n := 0
	for _, vs := range c.variants {
		for _, e := range vs {
			if e.Unverified || !e.ResponseTime.Before(t) {
				continue
			}
			u := *e
			u.Unverified = true
			c.swap(e, &u)
			n++
		}
	}
	return n
}

// loadUnverified applies the persisted time to the records just loaded.
// c.mu need not be held: the cache is not shared yet.
func (c *Cache) loadUnverified() {
	b, err := c.cfg.Store.KV(metaNS).Get(unverifiedKey)
	var t time.Time
	if err != nil || b == nil || t.UnmarshalText(b) != nil {
		return
	}
	c.unverifyLocked(t)
}
