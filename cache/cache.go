package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. One file, one bucket per kind of record.
var (
	bucketBlobs     = []byte("blobs")     // digest(32) → blobMeta
	bucketChunks    = []byte("chunks")    // chunkID(16) ‖ index(4) → bytes
	bucketArtifacts = []byte("artifacts") // ArtifactKey → artifact bytes
	bucketArtMeta   = []byte("artmeta")   // ArtifactKey → artifactMeta
	bucketApps      = []byte("apps")      // app name → AppRecord (JSON)
	bucketKV        = []byte("kv")        // namespace → nested bucket
	bucketStats     = []byte("stats")     // counter name → uint64
	bucketDeploys   = []byte("deploys")   // app name → nested bucket of versions (versions.go)
	bucketStates    = []byte("states")    // app name → Head (JSON); outlives the app's removal
	bucketHolds     = []byte("holds")     // digest(32) ‖ owner → nothing: blobs kept by a non-app owner (holds.go)
	allBuckets      = [][]byte{bucketBlobs, bucketChunks, bucketArtifacts, bucketArtMeta, bucketApps, bucketKV, bucketStats, bucketDeploys, bucketStates, bucketHolds}
)

// Sentinel errors.
var (
	// ErrNotFound is returned when a blob, artifact or key is not stored.
	ErrNotFound = errors.New("cache: not found")
	// ErrDigestMismatch is returned when bytes do not hash to the digest
	// they were stored or offered under.
	ErrDigestMismatch = errors.New("cache: digest mismatch")
	// ErrTooLarge is returned when a blob exceeds the size it was allowed.
	ErrTooLarge = errors.New("cache: blob too large")
	// ErrCorrupt is returned when stored bytes fail their checksum.
	ErrCorrupt = errors.New("cache: stored data is damaged")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("cache: database is in use by another process")
)

// Options configures Open. The zero value means defaults.
type Options struct {
	// ArtifactBudget caps the bytes of stored AOT artifacts; past it the
	// least recently used are evicted (and recompiled when next needed).
	ArtifactBudget int64
	// ChunkSize is the size of the pieces large blobs are stored in.
	ChunkSize int
	// LockTimeout is how long Open waits for another process's lock.
	LockTimeout time.Duration
	// ReadOnly opens the file without writing (for inspection tools).
	ReadOnly bool
	Log      *slog.Logger
}

// Defaults.
const (
	DefaultArtifactBudget = 1 << 30
	DefaultChunkSize      = 1 << 20
	DefaultLockTimeout    = time.Second
)

// Cache is an open cache file. It is safe for concurrent use.
type Cache struct {
	db    *bolt.DB
	opt   Options
	log   *slog.Logger
	stats *Counters
	now   func() time.Time
	gcMu  sync.RWMutex   // GC (writer) against imports in progress (readers)
	bg    sync.WaitGroup // background bookkeeping writes
	// uploads tracks the chunk IDs of blobs being written, so that GC
	// leaves them alone.
	uploads struct {
		sync.Mutex
		active map[string]bool
	}
}

// Open opens or creates the cache file at path and removes what an
// interrupted upload left behind.
func Open(path string, opt Options) (*Cache, error) {
	if opt.ArtifactBudget <= 0 {
		opt.ArtifactBudget = DefaultArtifactBudget
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = DefaultChunkSize
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = DefaultLockTimeout
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: opt.ReadOnly, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("cache: open %s: %w", path, err)
	}
	c := &Cache{db: db, opt: opt, log: opt.Log.With("component", "cache"), stats: &Counters{}, now: time.Now}
	c.uploads.active = map[string]bool{}
	if opt.ReadOnly {
		return c, nil
	}
	if err := c.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return c, nil
}

// init creates missing buckets. A file that has them all needs no write
// transaction (and no fsync) to open: it matters for a fast restart.
func (c *Cache) init() error {
	complete := true
	_ = c.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			complete = complete && tx.Bucket(name) != nil
		}
		return nil
	})
	if complete {
		return c.cleanOrphans()
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: create buckets: %w", err)
	}
	return c.cleanOrphans()
}

func (c *Cache) cleanOrphans() error {
	c.removeTempFiles()
	n, err := c.removeOrphanChunks()
	if err != nil {
		return err
	}
	if n > 0 {
		c.log.Info("removed chunks of interrupted uploads", "chunks", n)
	}
	return nil
}

// Close closes the file. Safe to call twice.
func (c *Cache) Close() error {
	c.bg.Wait()
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("cache: close: %w", err)
	}
	return nil
}

// Path is the file the cache lives in.
func (c *Cache) Path() string { return c.db.Path() }

// Counters returns this process's live counters.
func (c *Cache) Counters() *Counters { return c.stats }
