package cache

import (
	"encoding/json"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Stats is a summary of the file's contents, for `edge cache stats`.
type Stats struct {
	File           string `json:"file"`
	FileBytes      int64  `json:"file_bytes"`
	Apps           int    `json:"apps"`
	Blobs          int    `json:"blobs"`
	BlobBytes      int64  `json:"blob_bytes"`
	Artifacts      int    `json:"artifacts"`
	ArtifactBytes  int64  `json:"artifact_bytes"`
	ArtifactBudget int64  `json:"artifact_budget"`
	ArtifactHits   uint64 `json:"artifact_hits"`   // since the file was created
	ArtifactMisses uint64 `json:"artifact_misses"` // compiles stored
	KVNamespaces   int    `json:"kv_namespaces"`
}

// Stats counts what the file holds.
func (c *Cache) Stats() (*Stats, error) {
	s := &Stats{File: c.Path(), ArtifactBudget: c.opt.ArtifactBudget}
	if fi, err := os.Stat(c.Path()); err == nil {
		s.FileBytes = fi.Size()
	}
	err := c.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBlobs) == nil {
			return nil // a read-only open of a file never initialised
		}
		_ = tx.Bucket(bucketApps).ForEach(func(_, _ []byte) error { s.Apps++; return nil })
		_ = tx.Bucket(bucketBlobs).ForEach(func(_, v []byte) error {
			var meta blobMeta
			if json.Unmarshal(v, &meta) == nil {
				s.Blobs++
				s.BlobBytes += meta.Size
			}
			return nil
		})
		all, total := listArtifacts(tx)
		s.Artifacts, s.ArtifactBytes = len(all), total
		s.ArtifactHits, s.ArtifactMisses = readCounter(tx, statHits), readCounter(tx, statMisses)
		_ = tx.Bucket(bucketKV).ForEach(func(_, _ []byte) error { s.KVNamespaces++; return nil })
		return nil
	})
	return s, err
}
