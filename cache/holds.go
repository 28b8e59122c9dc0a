package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Holds keep blobs alive for owners other than apps: the HTTP cache keeps
// each stored response body as a blob held under the response's key. GC
// counts a held blob as referenced; releasing the last hold on a blob no
// app references removes it at once, so an evicted or purged response
// leaves nothing behind.

// PutHeldBlob stores what r yields (at most maxSize bytes, 0: no limit)
// and holds it for owner in one step that GC cannot come between.
func (c *Cache) PutHeldBlob(r io.Reader, maxSize int64, owner string) (Digest, int64, error) {
	defer c.Hold()()
	d, n, err := c.PutBlob(r, maxSize)
	if err != nil {
		return d, n, err
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHolds).Put(holdKey(d, owner), nil)
	})
	if err != nil {
		return d, n, fmt.Errorf("cache: hold blob %s: %w", d, err)
	}
	return d, n, nil
}

// ReleaseBlob drops owner's hold on d, and the blob itself when no other
// owner holds it and no app references it. Releasing a hold that does not
// exist is not an error.
func (c *Cache) ReleaseBlob(d Digest, owner string) error {
	c.gcMu.Lock() // no import may be about to reference d while it goes
	defer c.gcMu.Unlock()
	var chunkID []byte
	err := c.db.Update(func(tx *bolt.Tx) error {
		holds := tx.Bucket(bucketHolds)
		if err := holds.Delete(holdKey(d, owner)); err != nil {
			return err
		}
		if k, _ := holds.Cursor().Seek(d[:]); k != nil && bytes.HasPrefix(k, d[:]) {
			return nil // another owner still holds it
		}
		if referenced(tx)[d] {
			return nil
		}
		blobs := tx.Bucket(bucketBlobs)
		var meta blobMeta
		if v := blobs.Get(d[:]); v == nil || json.Unmarshal(v, &meta) != nil {
			return nil
		}
		chunkID = meta.ChunkID
		return blobs.Delete(d[:])
	})
	if err != nil {
		return fmt.Errorf("cache: release blob %s: %w", d, err)
	}
	if chunkID != nil {
		c.deleteChunks(chunkID)
	}
	return nil
}

func holdKey(d Digest, owner string) []byte { return append(d[:], owner...) }

// heldRefs adds every held blob to refs.
func heldRefs(tx *bolt.Tx, refs map[Digest]bool) {
	b := tx.Bucket(bucketHolds)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, _ []byte) error {
		if len(k) >= len(Digest{}) {
			var d Digest
			copy(d[:], k)
			refs[d] = true
		}
		return nil
	})
}
