package app

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/edgecdn/edge/cache"
)

// DefaultObjectCache is the memory an ObjectCache holds by default.
const DefaultObjectCache = 256 << 20

// maxObjectLimit caps the largest file an ObjectCache admits: bigger files
// stream from the store one chunk at a time.
const maxObjectLimit = 16 << 20

// hotBody is an asset's content, checked against its digest once, when it
// was read into memory.
type hotBody struct {
	data []byte
	ref  atomic.Bool // set on a hit, cleared by the clock hand
}

// ObjectCache keeps the content of small, hot static files in memory, so
// that a hit costs no bbolt transaction, no chunk copy and no checksum: the
// content was verified against its sha256 digest when it was admitted, and
// a blob that fails that check is never admitted and is dropped from the
// store. It holds at most its budget, evicting by CLOCK (a hit sets a bit,
// the eviction hand clears it and takes the first entry found clear), so a
// hit writes no shared state beyond one bit.
//
// Entries are keyed by digest: assets with the same content (one file
// under two names, or the same file in a redeployed version) share one copy.
type ObjectCache struct {
	budget, maxObject int64

	mu      sync.Mutex
	used    int64
	entries map[cache.Digest]*objectEntry
	ring    []*objectEntry // the clock's circle
	hand    int

	admitted, evicted, refused atomic.Int64
}

type objectEntry struct {
	digest cache.Digest
	body   *hotBody
	assets []*Asset // every asset pointing at body, unhooked on eviction
}

// NewObjectCache returns a cache of budget bytes admitting files of up to
// a quarter of it (at most 16 MiB). A budget of zero or less returns nil:
// a nil *ObjectCache is valid and caches nothing.
func NewObjectCache(budget int64) *ObjectCache {
	if budget <= 0 {
		return nil
	}
	return &ObjectCache{
		budget:    budget,
		maxObject: min(budget/4, maxObjectLimit),
		entries:   map[cache.Digest]*objectEntry{},
	}
}

// ObjectCacheStats is a snapshot of an ObjectCache, for metrics and tests.
type ObjectCacheStats struct {
	Budget, Used, MaxObject int64
	Objects                 int
	// Admitted, Evicted and Refused (damaged) count objects since start.
	Admitted, Evicted, Refused int64
}

// Stats reports the cache's size and counters.
func (c *ObjectCache) Stats() ObjectCacheStats {
	if c == nil {
		return ObjectCacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return ObjectCacheStats{
		Budget: c.budget, Used: c.used, MaxObject: c.maxObject, Objects: len(c.ring),
		Admitted: c.admitted.Load(), Evicted: c.evicted.Load(), Refused: c.refused.Load(),
	}
}

// Content returns the asset's verified content when it is in memory, or
// reads it into the cache on a miss when it fits. ok is false when the
// caller should stream the asset from the store instead (too large, no
// cache, another request is loading it). An error means the stored blob
// is damaged: it has been dropped from the store and must not be served.
func (c *ObjectCache) Content(a *Asset) (data []byte, ok bool, err error) {
	if b := a.hot.Load(); b != nil {
		if !b.ref.Load() { // read first: a hot line stays shared, not written
			b.ref.Store(true)
		}
		return b.data, true, nil
	}
	if c == nil || a.store == nil || a.Size > c.maxObject {
		return nil, false, nil
	}
	if !a.loading.CompareAndSwap(false, true) {
		return nil, false, nil
	}
	defer a.loading.Store(false)
	return c.admit(a)
}

// admit reads a's blob, verifies it against its digest, and keeps it.
func (c *ObjectCache) admit(a *Asset) ([]byte, bool, error) {
	if data, ok := c.share(a); ok {
		return data, true, nil
	}
	data, err := a.store.ReadBlob(a.Digest) // every chunk's crc, then the sha256
	switch {
	case errors.Is(err, cache.ErrCorrupt) || errors.Is(err, cache.ErrDigestMismatch):
		c.refused.Add(1)
		return nil, false, errors.Join(err, a.store.DropBlob(a.Digest))
	case err != nil:
		return nil, false, nil // gone or unreadable: the stream path reports it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[a.Digest]; e != nil { // loaded meanwhile for another asset
		c.hook(e, a)
		return e.body.data, true, nil
	}
	size := int64(len(data))
	c.makeRoom(size)
	e := &objectEntry{digest: a.Digest, body: &hotBody{data: data}}
	c.entries[a.Digest] = e
	c.ring = append(c.ring, e)
	c.used += size
	c.admitted.Add(1)
	c.hook(e, a)
	return data, true, nil
}

// share hooks a to an entry already holding its content.
func (c *ObjectCache) share(a *Asset) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[a.Digest]
	if e == nil {
		return nil, false
	}
	c.hook(e, a)
	return e.body.data, true
}

func (c *ObjectCache) hook(e *objectEntry, a *Asset) {
	e.assets = append(e.assets, a)
	a.hot.Store(e.body)
}

// makeRoom evicts until size more bytes fit the budget. Each turn of the
// hand either clears a bit or evicts, so it ends within two turns of the
// circle.
func (c *ObjectCache) makeRoom(size int64) {
	for c.used+size > c.budget && len(c.ring) > 0 {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if e.body.ref.Load() {
			e.body.ref.Store(false)
			c.hand++
			continue
		}
		c.evict(c.hand)
	}
}

// evict removes ring[i]: its assets go back to streaming from the store.
func (c *ObjectCache) evict(i int) {
	e := c.ring[i]
	for _, a := range e.assets {
		a.hot.CompareAndSwap(e.body, nil)
	}
	last := len(c.ring) - 1
	c.ring[i], c.ring[last] = c.ring[last], nil
	c.ring = c.ring[:last]
	delete(c.entries, e.digest)
	c.used -= int64(len(e.body.data))
	c.evicted.Add(1)
}

// ParseSize reads a size as edge.toml writes one: "256MiB", "512 KiB",
// "1GB" or a plain byte count.
func ParseSize(s string) (int64, error) { return parseSize(s) }
