package cache

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ArtifactFile returns the path of an immutable file holding artifact k,
// writing it from the file's copy on first use. Wasmtime can map such a
// file instead of copying the artifact (the Go guest's 8 MiB artifact
// loads in well under a millisecond that way, against about 8 ms from
// bytes), which is what makes a warm restart fast.
//
// The file is the design's "written once under a new name and renamed
// into place": nothing ever opens it for writing, so no page a module
// runs from can change. Replacing or deleting it only unlinks the name;
// mappings keep the old inode. Its checksum is checked on every call, so
// a damaged file is replaced, not loaded.
//
// A file that checks out against the checksum in the artifact's record is
// used at once; the bbolt copy is then checked in the background and, if
// damaged, restored from the file. A missing or damaged file is rebuilt
// from a checked bbolt copy. Either copy alone is enough to heal the other.
func (c *Cache) ArtifactFile(k ArtifactKey) (string, error) {
	info, err := c.artifactInfo(k)
	if err != nil {
		return "", err
	}
	path := c.artifactPath(k, info.CRC)
	size, crc, ferr := fileChecksum(path)
	if ferr == nil && size == info.Size && crc == info.CRC {
		c.stats.ArtifactHits.Add(1)
		c.touch(k)
		c.checkCopyLater(k)
		return path, nil
	}
	if ferr == nil {
		c.log.Warn("artifact file damaged, rewriting it", "file", path)
	}
	err = c.WithArtifact(k, func(data []byte) error { return writeOnce(path, data) })
	if err != nil {
		return "", err
	}
	return path, nil
}

func (c *Cache) artifactInfo(k ArtifactKey) (ArtifactInfo, error) {
	var info ArtifactInfo
	err := c.db.View(func(tx *bolt.Tx) error {
		mv := tx.Bucket(bucketArtMeta).Get(k.bytes())
		if mv == nil {
			return fmt.Errorf("%w: artifact %s", ErrNotFound, k.Module)
		}
		return json.Unmarshal(mv, &info)
	})
	return info, err
}

// checkCopyLater verifies the bbolt copy of an artifact whose file was
// used, off the start-up path; WithArtifact restores a damaged copy from
// the file (see dropDamaged).
func (c *Cache) checkCopyLater(k ArtifactKey) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		_ = c.viewArtifact(k, func([]byte) error { return nil })
	}()
}

// restoreArtifact puts back an artifact whose record matches data.
func (c *Cache) restoreArtifact(k ArtifactKey, data []byte) error {
	info, err := c.artifactInfo(k)
	if err != nil {
		return err
	}
	if int64(len(data)) != info.Size || checksum(data) != info.CRC {
		return fmt.Errorf("%w: artifact file of %s does not match its record", ErrDigestMismatch, k.Module)
	}
	return c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketArtifacts).Put(k.bytes(), data) })
}

// writeOnce writes an artifact file whole. A damaged file at path is
// replaced by name only: a module mapped from it keeps its pages.
func writeOnce(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cache: artifact dir: %w", err)
	}
	if err := ReplaceFile(path, data, 0o600); err != nil {
		return fmt.Errorf("cache: artifact file: %w", err)
	}
	return nil
}

// removeArtifactFiles unlinks the files of deleted artifacts. Modules
// mapped from them keep running: unlinking never touches mapped pages.
func (c *Cache) removeArtifactFiles(keys []ArtifactKey) {
	for _, k := range keys {
		pattern := filepath.Join(c.artifactDir(), fmt.Sprintf("%s-%s-*.cwasm", hex.EncodeToString(k.Module[:]), hex.EncodeToString(k.Fingerprint[:8])))
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
}

// removeTempFiles clears temporary files a crash left in the artifact dir.
func (c *Cache) removeTempFiles() {
	matches, _ := filepath.Glob(filepath.Join(c.artifactDir(), ".tmp-*"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

func (c *Cache) artifactDir() string { return filepath.Join(filepath.Dir(c.Path()), "artifacts") }

// artifactPath names the file by the full key and the checksum, so a
// different artifact never shares a name.
func (c *Cache) artifactPath(k ArtifactKey, crc uint32) string {
	return filepath.Join(c.artifactDir(), fmt.Sprintf("%s-%s-%08x.cwasm", hex.EncodeToString(k.Module[:]), hex.EncodeToString(k.Fingerprint[:8]), crc))
}

// fileChecksum maps a file read-only and checksums it. Returns size too.
func fileChecksum(path string) (int64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, 0, errors.Join(err, errors.New("empty artifact file"))
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Munmap(b)
	return fi.Size(), checksum(b), nil
}
