package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// VerifyReport lists what Verify found. Problems are in the *Bad fields
// and Structure; Clean tells whether there were any.
type VerifyReport struct {
	Blobs          int      `json:"blobs"`
	BlobsBad       []string `json:"blobs_bad,omitempty"`
	Artifacts      int      `json:"artifacts"`
	ArtifactsBad   []string `json:"artifacts_bad,omitempty"`
	ArtifactsOther int      `json:"artifacts_other_engine"` // not loadable here, so not test-loaded
	OrphanChunks   int      `json:"orphan_chunks"`          // interrupted uploads: gc removes them
	Structure      []string `json:"structure,omitempty"`    // bbolt consistency errors
}

// errRollback ends a transaction that must change nothing.
var errRollback = errors.New("rollback")

// Clean reports whether nothing is wrong.
func (r *VerifyReport) Clean() bool {
	return len(r.BlobsBad) == 0 && len(r.ArtifactsBad) == 0 && len(r.Structure) == 0
}

// ArtifactChecker test-loads an artifact compiled by this node's engine.
type ArtifactChecker struct {
	Fingerprint Digest
	Load        func(data []byte) error
}

// Verify checks the file's structure, recomputes every blob's sha256, and
// test-loads every artifact of this node's engine (check may be nil). It
// changes nothing.
func (c *Cache) Verify(check *ArtifactChecker) (*VerifyReport, error) {
	rep := &VerifyReport{}
	// bbolt's consistency check is only safe with no writer running, so it
	// runs inside a write transaction, which is then rolled back. A
	// read-only open holds a shared lock that already keeps writers out.
	structure := func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			rep.Structure = append(rep.Structure, err.Error())
		}
		return errRollback
	}
	var err error
	if c.opt.ReadOnly {
		err = c.db.View(structure)
	} else {
		err = c.db.Update(structure)
	}
	if err != nil && !errors.Is(err, errRollback) {
		return nil, fmt.Errorf("cache: verify: %w", err)
	}
	digests, err := c.blobDigests()
	if err != nil {
		return nil, err
	}
	for _, d := range digests {
		rep.Blobs++
		if err := c.verifyBlob(d); err != nil {
			rep.BlobsBad = append(rep.BlobsBad, err.Error())
		}
	}
	if err := c.verifyArtifacts(check, rep); err != nil {
		return nil, err
	}
	rep.OrphanChunks, err = c.countOrphanChunks()
	return rep, err
}

func (c *Cache) blobDigests() ([]Digest, error) {
	var out []Digest
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlobs).ForEach(func(k, _ []byte) error {
			var d Digest
			copy(d[:], k)
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

func (c *Cache) verifyBlob(d Digest) error {
	r, err := c.OpenBlob(d)
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		return fmt.Errorf("blob %s: content hashes to %s", d, got)
	}
	return nil
}

func (c *Cache) verifyArtifacts(check *ArtifactChecker, rep *VerifyReport) error {
	all, err := c.Artifacts()
	if err != nil {
		return err
	}
	for _, a := range all {
		rep.Artifacts++
		var data []byte
		err := c.db.View(func(tx *bolt.Tx) error {
			data = append([]byte(nil), tx.Bucket(bucketArtifacts).Get(a.Key.bytes())...)
			return nil
		})
		if err != nil {
			return err
		}
		name := fmt.Sprintf("artifact %s (%s, %s)", a.Key.Module, a.Label, a.Target)
		switch {
		case int64(len(data)) != a.Size || checksum(data) != a.CRC:
			rep.ArtifactsBad = append(rep.ArtifactsBad, name+": checksum mismatch")
		case c.fileDamaged(a):
			rep.ArtifactsBad = append(rep.ArtifactsBad, name+": its artifact file fails its checksum (rewritten at next use)")
		case check == nil || a.Key.Fingerprint != check.Fingerprint:
			rep.ArtifactsOther++
		default:
			if err := check.Load(data); err != nil {
				rep.ArtifactsBad = append(rep.ArtifactsBad, fmt.Sprintf("%s: does not load: %v", name, err))
			}
		}
	}
	return nil
}

func (c *Cache) countOrphanChunks() (int, error) {
	_, n, err := c.scanOrphans(map[string]bool{})
	return n, err
}

// fileDamaged reports an artifact file that exists but does not match its
// record. A missing file is not damage: it is written at next use.
func (c *Cache) fileDamaged(a ArtifactInfo) bool {
	size, crc, err := fileChecksum(c.artifactPath(a.Key, a.CRC))
	return err == nil && (size != a.Size || crc != a.CRC)
}
