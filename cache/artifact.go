package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ArtifactKey names a compiled artifact: which module, compiled by which
// engine. A different engine (version, target, CPU features, settings) has
// a different fingerprint, so it misses instead of loading foreign code.
type ArtifactKey struct {
	Module      Digest
	Fingerprint Digest
}

func (k ArtifactKey) bytes() []byte { return append(k.Module[:], k.Fingerprint[:]...) }

func parseArtifactKey(b []byte) (k ArtifactKey, ok bool) {
	if len(b) != 64 {
		return k, false
	}
	copy(k.Module[:], b[:32])
	copy(k.Fingerprint[:], b[32:])
	return k, true
}

// ArtifactInfo describes a stored artifact.
type ArtifactInfo struct {
	Key      ArtifactKey `json:"-"`
	Size     int64       `json:"size"`
	CRC      uint32      `json:"crc32c"` // checksum of the artifact bytes
	Label    string      `json:"label"`
	Target   string      `json:"target"`
	Created  time.Time   `json:"created"`
	LastUsed time.Time   `json:"last_used"`
}

// castagnoli is CRC-32C, computed in hardware on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum guards artifacts against damage at rest (a flipped bit, a torn
// value). Artifacts are produced by this node, not received, so a fast
// CRC suffices where blobs, which arrive from outside, use sha256; it
// keeps the warm start at memory speed (about 1 ms for an 8 MiB artifact).
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// WithArtifact calls use with the artifact's bytes, checked against their
// checksum, inside a read transaction, and returns use's error. The bytes
// are bbolt's memory-mapped pages: valid only during the call, and never
// to be written or kept. bbolt reuses no page while a read transaction is
// open, so a consumer that copies what it needs during the call (as
// Wasmtime's deserialize does) gets the safety of a private copy without
// paying for one: 5 ms saved on an 8 MiB artifact at every warm start.
// A damaged artifact is reported as ErrDigestMismatch, then restored from
// its file or deleted (see dropDamaged).
func (c *Cache) WithArtifact(k ArtifactKey, use func(data []byte) error) error {
	err := c.viewArtifact(k, use)
	if err == nil {
		c.stats.ArtifactHits.Add(1)
		c.touch(k)
	}
	return err
}

// viewArtifact is WithArtifact without counting a hit.
func (c *Cache) viewArtifact(k ArtifactKey, use func(data []byte) error) error {
	var useErr error
	err := c.db.View(func(tx *bolt.Tx) error {
		mv := tx.Bucket(bucketArtMeta).Get(k.bytes())
		v := tx.Bucket(bucketArtifacts).Get(k.bytes())
		if mv == nil || v == nil {
			return fmt.Errorf("%w: artifact %s", ErrNotFound, k.Module)
		}
		var info ArtifactInfo
		if err := json.Unmarshal(mv, &info); err != nil {
			return fmt.Errorf("%w: artifact of %s has a corrupt record", ErrDigestMismatch, k.Module)
		}
		if int64(len(v)) != info.Size || checksum(v) != info.CRC {
			return fmt.Errorf("%w: artifact of %s is corrupt (size %d, want %d)", ErrDigestMismatch, k.Module, len(v), info.Size)
		}
		useErr = use(v)
		return nil
	})
	if err != nil {
		if !isNotFound(err) {
			c.stats.ArtifactCorrupt.Add(1)
			c.dropDamaged(k)
		}
		return err
	}
	return useErr
}

// dropDamaged deletes an artifact whose bbolt copy is damaged, unless its
// file is intact: then the copy is restored from the file instead.
func (c *Cache) dropDamaged(k ArtifactKey) {
	if info, err := c.artifactInfo(k); err == nil {
		if data, err := os.ReadFile(c.artifactPath(k, info.CRC)); err == nil && c.restoreArtifact(k, data) == nil {
			c.log.Warn("artifact damaged in the cache file, restored from its artifact file", "module", k.Module)
			return
		}
	}
	_ = c.DeleteArtifact(k)
}

// touch records a hit: last-used time for LRU and the persistent counter.
// It runs in the background so a warm start does not wait for an fsync.
func (c *Cache) touch(k ArtifactKey) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		err := c.db.Batch(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketArtMeta)
			var info ArtifactInfo
			if mv := b.Get(k.bytes()); mv == nil || json.Unmarshal(mv, &info) != nil {
				return nil
			}
			info.LastUsed = c.now().UTC()
			enc, _ := json.Marshal(&info)
			if err := b.Put(k.bytes(), enc); err != nil {
				return err
			}
			return bump(tx, statHits, 1)
		})
		if err != nil {
			c.log.Warn("could not record artifact use", "err", err)
		}
	}()
}

// PutArtifact stores an artifact (compiled because of a miss, which it
// counts), then evicts least recently used artifacts beyond the budget.
// label and target are for humans: the module's name and the target triple.
func (c *Cache) PutArtifact(k ArtifactKey, data []byte, label, target string) error {
	now := c.now().UTC()
	info := ArtifactInfo{Size: int64(len(data)), CRC: checksum(data), Label: label, Target: target, Created: now, LastUsed: now}
	enc, err := json.Marshal(&info)
	if err != nil {
		return err
	}
	c.stats.ArtifactMisses.Add(1)
	var evicted []ArtifactKey
	err = c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketArtifacts).Put(k.bytes(), data); err != nil {
			return err
		}
		if err := tx.Bucket(bucketArtMeta).Put(k.bytes(), enc); err != nil {
			return err
		}
		if err := bump(tx, statMisses, 1); err != nil {
			return err
		}
		evicted, err = c.evict(tx, k)
		return err
	})
	if err != nil {
		return fmt.Errorf("cache: store artifact of %s: %w", k.Module, err)
	}
	// The file Wasmtime maps at the next start is written now, while the
	// compile's cost is being paid anyway, so the first restart is fast.
	c.removeArtifactFiles([]ArtifactKey{k}) // an older artifact under this key
	if err := writeOnce(c.artifactPath(k, info.CRC), data); err != nil {
		c.log.Warn("could not write artifact file; it is written at next use", "err", err)
	}
	if len(evicted) > 0 {
		c.removeArtifactFiles(evicted)
		c.stats.ArtifactEvictions.Add(int64(len(evicted)))
		c.log.Info("evicted artifacts over budget", "count", len(evicted), "budget", c.opt.ArtifactBudget)
	}
	return nil
}

// evict deletes least recently used artifacts until the total fits the
// budget. keep (the one just stored) is never evicted.
func (c *Cache) evict(tx *bolt.Tx, keep ArtifactKey) ([]ArtifactKey, error) {
	all, total := listArtifacts(tx)
	if total <= c.opt.ArtifactBudget {
		return nil, nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].LastUsed.Before(all[j].LastUsed) })
	var gone []ArtifactKey
	for _, a := range all {
		if total <= c.opt.ArtifactBudget {
			break
		}
		if a.Key == keep {
			continue
		}
		if err := deleteArtifact(tx, a.Key); err != nil {
			return gone, err
		}
		total -= a.Size
		gone = append(gone, a.Key)
	}
	return gone, nil
}

func listArtifacts(tx *bolt.Tx) (all []ArtifactInfo, total int64) {
	_ = tx.Bucket(bucketArtMeta).ForEach(func(k, v []byte) error {
		key, ok := parseArtifactKey(k)
		var info ArtifactInfo
		if !ok || json.Unmarshal(v, &info) != nil {
			return nil
		}
		info.Key = key
		all = append(all, info)
		total += info.Size
		return nil
	})
	return all, total
}

// Artifacts lists stored artifacts.
func (c *Cache) Artifacts() ([]ArtifactInfo, error) {
	var all []ArtifactInfo
	err := c.db.View(func(tx *bolt.Tx) error {
		all, _ = listArtifacts(tx)
		return nil
	})
	return all, err
}

// DeleteArtifact removes an artifact and its file; a missing one is not
// an error.
func (c *Cache) DeleteArtifact(k ArtifactKey) error {
	err := c.db.Update(func(tx *bolt.Tx) error { return deleteArtifact(tx, k) })
	if err == nil {
		c.removeArtifactFiles([]ArtifactKey{k})
	}
	return err
}

func deleteArtifact(tx *bolt.Tx, k ArtifactKey) error {
	if err := tx.Bucket(bucketArtifacts).Delete(k.bytes()); err != nil {
		return err
	}
	return tx.Bucket(bucketArtMeta).Delete(k.bytes())
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
