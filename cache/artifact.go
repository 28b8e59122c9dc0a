package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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

// GetArtifact returns a private copy of an artifact, checked against the
// checksum stored with it. A corrupt one is deleted and reported as
// ErrDigestMismatch: the caller compiles again, as for ErrNotFound.
func (c *Cache) GetArtifact(k ArtifactKey) ([]byte, error) {
	var data []byte
	var info ArtifactInfo
	err := c.db.View(func(tx *bolt.Tx) error {
		mv := tx.Bucket(bucketArtMeta).Get(k.bytes())
		v := tx.Bucket(bucketArtifacts).Get(k.bytes())
		if mv == nil || v == nil {
			return fmt.Errorf("%w: artifact %s", ErrNotFound, k.Module)
		}
		data = bytes.Clone(v)
		return json.Unmarshal(mv, &info)
	})
	if err == nil && (int64(len(data)) != info.Size || checksum(data) != info.CRC) {
		err = fmt.Errorf("%w: artifact of %s is corrupt (size %d, want %d)", ErrDigestMismatch, k.Module, len(data), info.Size)
	}
	if err != nil {
		if !isNotFound(err) {
			c.stats.ArtifactCorrupt.Add(1)
			_ = c.DeleteArtifact(k)
		}
		return nil, err
	}
	c.stats.ArtifactHits.Add(1)
	c.touch(k)
	return data, nil
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
	var evicted int
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
	if evicted > 0 {
		c.stats.ArtifactEvictions.Add(int64(evicted))
		c.log.Info("evicted artifacts over budget", "count", evicted, "budget", c.opt.ArtifactBudget)
	}
	return nil
}

// evict deletes least recently used artifacts until the total fits the
// budget. keep (the one just stored) is never evicted.
func (c *Cache) evict(tx *bolt.Tx, keep ArtifactKey) (int, error) {
	all, total := listArtifacts(tx)
	if total <= c.opt.ArtifactBudget {
		return 0, nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].LastUsed.Before(all[j].LastUsed) })
	n := 0
	for _, a := range all {
		if total <= c.opt.ArtifactBudget {
			break
		}
		if a.Key == keep {
			continue
		}
		if err := deleteArtifact(tx, a.Key); err != nil {
			return n, err
		}
		total -= a.Size
		n++
	}
	return n, nil
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

// DeleteArtifact removes an artifact; a missing one is not an error.
func (c *Cache) DeleteArtifact(k ArtifactKey) error {
	return c.db.Update(func(tx *bolt.Tx) error { return deleteArtifact(tx, k) })
}

func deleteArtifact(tx *bolt.Tx, k ArtifactKey) error {
	if err := tx.Bucket(bucketArtifacts).Delete(k.bytes()); err != nil {
		return err
	}
	return tx.Bucket(bucketArtMeta).Delete(k.bytes())
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
