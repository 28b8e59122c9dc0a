package cache

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Counters count what the cache did in this process, for metrics. The
// artifact hit and miss totals are also kept in the file (see Stats), so
// `edge cache stats` can report them for a stopped node.
type Counters struct {
	ArtifactHits      atomic.Int64
	ArtifactMisses    atomic.Int64
	ArtifactEvictions atomic.Int64
	ArtifactCorrupt   atomic.Int64
	Compiles          atomic.Int64
	Deserializes      atomic.Int64
	BlobsStored       atomic.Int64
	BlobBytesStored   atomic.Int64
	// CompileTimes and DeserializeTimes time the same events.
	CompileTimes     DurationHistogram
	DeserializeTimes DurationHistogram
}

// ObserveCompile records one compile and how long it took.
func (c *Counters) ObserveCompile(d time.Duration) {
	c.Compiles.Add(1)
	c.CompileTimes.Observe(d)
}

// ObserveDeserialize records one artifact load and how long it took.
func (c *Counters) ObserveDeserialize(d time.Duration) {
	c.Deserializes.Add(1)
	c.DeserializeTimes.Observe(d)
}

// Persistent counter names in the stats bucket.
const (
	statHits   = "artifact_hits"
	statMisses = "artifact_misses"
)

// bump adds n to a persistent counter inside tx.
func bump(tx *bolt.Tx, name string, n uint64) error {
	b := tx.Bucket(bucketStats)
	var v uint64
	if cur := b.Get([]byte(name)); len(cur) == 8 {
		v = binary.BigEndian.Uint64(cur)
	}
	var out [8]byte
	binary.BigEndian.PutUint64(out[:], v+n)
	return b.Put([]byte(name), out[:])
}

func readCounter(tx *bolt.Tx, name string) uint64 {
	if b := tx.Bucket(bucketStats); b != nil {
		if cur := b.Get([]byte(name)); len(cur) == 8 {
			return binary.BigEndian.Uint64(cur)
		}
	}
	return 0
}
