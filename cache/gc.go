package cache

import (
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// GCReport says what a collection removed.
type GCReport struct {
	Blobs        int   `json:"blobs"`
	BlobBytes    int64 `json:"blob_bytes"`
	Artifacts    int   `json:"artifacts"`
	OrphanChunks int   `json:"orphan_chunks"`
}

// GC removes blobs no app references, artifacts of modules no app
// references, and chunks of interrupted uploads. Loaders hold Hold while
// they import an app, so GC never removes what is about to be referenced.
func (c *Cache) GC() (GCReport, error) {
	c.gcMu.Lock()
	defer c.gcMu.Unlock()
	var rep GCReport
	var dropped [][]byte // chunk IDs of removed blobs
	var goneArts []ArtifactKey
	err := c.db.Update(func(tx *bolt.Tx) error {
		refs := referenced(tx)
		cur := tx.Bucket(bucketBlobs).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			var d Digest
			copy(d[:], k)
			if refs[d] {
				continue
			}
			var meta blobMeta
			if json.Unmarshal(v, &meta) == nil {
				dropped = append(dropped, meta.ChunkID)
				rep.BlobBytes += meta.Size
			}
			if err := cur.Delete(); err != nil {
				return err
			}
			rep.Blobs++
		}
		all, _ := listArtifacts(tx)
		for _, a := range all {
			if !refs[a.Key.Module] {
				if err := deleteArtifact(tx, a.Key); err != nil {
					return err
				}
				goneArts = append(goneArts, a.Key)
				rep.Artifacts++
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("cache: gc: %w", err)
	}
	c.removeArtifactFiles(goneArts)
	for _, id := range dropped {
		c.deleteChunks(id)
	}
	rep.OrphanChunks, err = c.removeOrphanChunks()
	return rep, err
}

// dropped is what a transaction removed whose bytes are cleaned up after
// it commits: chunks of removed blobs, files of removed artifacts.
type dropped struct {
	chunks    [][]byte
	artifacts []ArtifactKey
}

// dropUnreferenced removes, within tx, the blobs of the given manifests
// that nothing references any more, and their artifacts.
func dropUnreferenced(tx *bolt.Tx, gone []*Manifest) (dropped, error) {
	var drop dropped
	if len(gone) == 0 {
		return drop, nil
	}
	refs := referenced(tx)
	blobs := tx.Bucket(bucketBlobs)
	doomed := map[Digest]bool{}
	for _, m := range gone {
		for _, d := range m.Digests() {
			if refs[d] || doomed[d] {
				continue
			}
			v := blobs.Get(d[:])
			if v == nil {
				continue
			}
			var meta blobMeta
			if json.Unmarshal(v, &meta) == nil {
				drop.chunks = append(drop.chunks, meta.ChunkID)
			}
			if err := blobs.Delete(d[:]); err != nil {
				return drop, err
			}
			doomed[d] = true
		}
	}
	all, _ := listArtifacts(tx)
	for _, a := range all {
		if doomed[a.Key.Module] {
			if err := deleteArtifact(tx, a.Key); err != nil {
				return drop, err
			}
			drop.artifacts = append(drop.artifacts, a.Key)
		}
	}
	return drop, nil
}

// finishDrop removes the bytes behind what a committed transaction dropped.
func (c *Cache) finishDrop(drop dropped) {
	c.removeArtifactFiles(drop.artifacts)
	for _, id := range drop.chunks {
		c.deleteChunks(id)
	}
}

// Hold keeps GC out while the caller imports blobs it is about to
// reference; call the returned function when the app record is written.
func (c *Cache) Hold() (release func()) {
	c.gcMu.RLock()
	var once sync.Once
	return func() { once.Do(c.gcMu.RUnlock) }
}

// removeOrphanChunks deletes chunks whose upload never committed (a crash,
// or an error) and is not in progress now. Bounded transactions.
//
// The uploads registry stays locked while orphans are decided: an upload
// registers before it writes its first chunk and deregisters after its
// blob commits, so every chunk seen here belongs to a committed blob, to
// an upload in the registry, or to nobody.
func (c *Cache) removeOrphanChunks() (int, error) {
	c.uploads.Lock()
	active := map[string]bool{}
	for id := range c.uploads.active {
		active[id] = true
	}
	orphans, n, err := c.scanOrphans(active)
	c.uploads.Unlock()
	if err != nil {
		return 0, err
	}
	for _, id := range orphans {
		c.deleteChunks(id)
	}
	return n, nil
}

// scanOrphans finds the chunks that belong to no committed blob and to no
// upload in live (which it extends). It returns their upload IDs and the
// number of chunks.
func (c *Cache) scanOrphans(live map[string]bool) (ids [][]byte, chunks int, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketBlobs).ForEach(func(_, v []byte) error {
			var meta blobMeta
			if json.Unmarshal(v, &meta) == nil {
				live[string(meta.ChunkID)] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		var last []byte
		return tx.Bucket(bucketChunks).ForEach(func(k, _ []byte) error {
			id := k[:min(len(k), 16)]
			if live[string(id)] {
				return nil
			}
			chunks++
			if string(id) != string(last) {
				last = append([]byte(nil), id...)
				ids = append(ids, last)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cache: scan chunks: %w", err)
	}
	return ids, chunks, nil
}
