package httpcache

import (
	"bytes"
	"container/list"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/edgecdn/edge/cache"
)

// Config configures a Cache. Zero fields take the defaults.
type Config struct {
	// Store is the node's bbolt store for the disk tier; nil: memory only.
	Store *cache.Cache
	// MemoryBytes bounds the bodies held in memory.
	MemoryBytes int64
	// DiskBytes bounds the bodies held in Store.
	DiskBytes int64
	// MemoryObject is the largest body kept in memory once it is on disk.
	MemoryObject int64
	// MaxObject is the largest body stored at all; bigger ones pass through.
	MaxObject int64
	// CollapseWait bounds how long a request waits for another's fetch of
	// the same key before fetching itself.
	CollapseWait time.Duration
	Log          *slog.Logger
	// Now is the clock (a seam for tests).
	Now func() time.Time
}

// Defaults for Config.
const (
	DefaultMemoryBytes  = 256 << 20
	DefaultDiskBytes    = 4 << 30
	DefaultMemoryObject = 1 << 20
	DefaultMaxObject    = 32 << 20
	DefaultCollapseWait = 30 * time.Second
)

// kvNamespace holds the disk tier's entry records in the store's KV area.
const kvNamespace = "httpcache"

// Cache is the shared HTTP cache. It is safe for concurrent use.
type Cache struct {
	cfg Config
	log *slog.Logger

	// mu guards what follows. A hit, the common case, holds it only to find
	// its entry and mark it used: a mark, not a move in the LRU lists (two
	// map lookups and a list's pointer writes), which the evictions read,
	// in CLOCK's way, as a second chance.
	mu       sync.Mutex
	variants map[string][]*Entry // primary key → its variants
	mem      *list.List          // *Entry with a body in memory, most recent first
	memElem  map[*Entry]*list.Element
	memBytes int64
	disk     *list.List // *Entry with a body on disk, most recent first
	diskElem map[*Entry]*list.Element
	onDisk   map[string]*Entry // variant key → the entry whose record is on disk
	dBytes   int64
	flights  map[string]*flight
	epoch    uint64 // bumped by every purge: fetches begun before one are not stored

	diskMu  sync.Mutex // orders disk-tier writes against removals
	pending sync.WaitGroup
	stats   Stats
}

// New builds a cache and, with a Store, loads the disk tier's index.
func New(cfg Config) (*Cache, error) {
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = DefaultMemoryBytes
	}
	if cfg.DiskBytes <= 0 {
		cfg.DiskBytes = DefaultDiskBytes
	}
	if cfg.MemoryObject <= 0 {
		cfg.MemoryObject = DefaultMemoryObject
	}
	if cfg.MaxObject <= 0 {
		cfg.MaxObject = DefaultMaxObject
	}
	if cfg.CollapseWait <= 0 {
		cfg.CollapseWait = DefaultCollapseWait
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{
		cfg: cfg, log: cfg.Log.With("component", "httpcache"),
		variants: map[string][]*Entry{}, mem: list.New(), memElem: map[*Entry]*list.Element{},
		disk: list.New(), diskElem: map[*Entry]*list.Element{}, onDisk: map[string]*Entry{}, flights: map[string]*flight{},
	}
	if cfg.Store != nil {
		if err := c.loadDisk(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Now is the cache's clock.
func (c *Cache) Now() time.Time { return c.cfg.Now() }

// MaxObject is the largest body the cache stores.
func (c *Cache) MaxObject() int64 { return c.cfg.MaxObject }

// Close waits for disk writes in progress. The cache stays usable.
func (c *Cache) Close() { c.pending.Wait() }

// Lookup finds the variant of key that a request with header req selects.
func (c *Cache) Lookup(key string, req http.Header) *Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selectVariant(c.variants[key], req)
}

// LookupBody is Lookup for a key held in bytes (not kept: a hit builds
// its key in a reused buffer), returning also the entry's body when it is
// in memory, read under the same lock; nil when it is on disk only.
func (c *Cache) LookupBody(key []byte, req http.Header) (*Entry, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Indexed with string(key) in place, the map lookup copies nothing.
	if e := c.selectVariant(c.variants[string(key)], req); e != nil {
		return e, e.body
	}
	return nil, nil
}

// selectVariant is the entry of vs that req selects, marked used; nil if
// none. c.mu is held.
func (c *Cache) selectVariant(vs []*Entry, req http.Header) *Entry {
	for _, e := range vs {
		if e.matches(req) {
			e.markUsed()
			return e
		}
	}
	return nil
}

// Body opens e's body. A body lost from the disk tier (damaged, or removed
// behind the cache's back) drops the entry and returns an error: the
// caller treats it as a miss.
func (c *Cache) Body(e *Entry) (io.ReadSeeker, error) {
	c.mu.Lock()
	body, digest := e.body, e.Digest
	c.mu.Unlock()
	if body != nil || e.Size == 0 {
		return bytes.NewReader(body), nil
	}
	r, err := c.openBlob(digest)
	if err != nil {
		c.log.Warn("cached body unreadable; dropping the entry", "key", e.Key, "err", err)
		c.remove([]*Entry{e})
		return nil, err
	}
	return r, nil
}

// Epoch is the purge counter; pass it to Put so that a fetch begun before
// a purge cannot store what the purge meant to remove.
func (c *Cache) Epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}
