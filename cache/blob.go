package cache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// blobMeta is the record that makes a blob visible. It is written last, in
// one transaction, after every chunk is stored.
type blobMeta struct {
	Size      int64     `json:"size"`
	ChunkID   []byte    `json:"chunk_id"`
	ChunkSize int       `json:"chunk_size"`
	Created   time.Time `json:"created"`
}

func chunkKey(id []byte, i uint32) []byte {
	k := make([]byte, len(id)+4)
	copy(k, id)
	binary.BigEndian.PutUint32(k[len(id):], i)
	return k
}

// PutBlob stores what r yields as a blob and returns its digest and size.
// Each chunk is written in its own short transaction and the blob becomes
// visible only in the last one. Identical content is stored once. More
// than maxSize bytes (0: no limit) is refused with ErrTooLarge.
func (c *Cache) PutBlob(r io.Reader, maxSize int64) (Digest, int64, error) {
	return c.putBlob(r, maxSize, nil)
}

// PutBlobVerified is PutBlob for bytes that must hash to want (a fetch by
// digest): anything else is refused with ErrDigestMismatch and not kept.
func (c *Cache) PutBlobVerified(r io.Reader, want Digest, maxSize int64) (int64, error) {
	_, n, err := c.putBlob(r, maxSize, &want)
	return n, err
}

func (c *Cache) putBlob(r io.Reader, maxSize int64, want *Digest) (Digest, int64, error) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	c.uploads.Lock()
	c.uploads.active[string(id)] = true
	c.uploads.Unlock()
	defer func() {
		c.uploads.Lock()
		delete(c.uploads.active, string(id))
		c.uploads.Unlock()
	}()

	meta := &blobMeta{ChunkID: id, ChunkSize: c.opt.ChunkSize, Created: c.now().UTC()}
	d, err := c.writeChunks(r, meta, maxSize)
	if err == nil && want != nil && d != *want {
		err = fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, d, *want)
	}
	if err != nil {
		c.deleteChunks(id)
		return d, 0, err
	}
	stored, err := c.commitBlob(d, meta)
	if err != nil || !stored {
		c.deleteChunks(id) // an error, or the same content was already there
	}
	if err == nil && stored {
		c.stats.BlobsStored.Add(1)
		c.stats.BlobBytesStored.Add(meta.Size)
	}
	return d, meta.Size, err
}

// writeChunks streams r into chunks under meta.ChunkID, hashing as it goes.
func (c *Cache) writeChunks(r io.Reader, meta *blobMeta, maxSize int64) (Digest, error) {
	h := sha256.New()
	buf := make([]byte, meta.ChunkSize)
	for i := uint32(0); ; i++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			meta.Size += int64(n)
			if maxSize > 0 && meta.Size > maxSize {
				return Digest{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxSize)
			}
			h.Write(buf[:n])
			if perr := c.putChunk(chunkKey(meta.ChunkID, i), buf[:n]); perr != nil {
				return Digest{}, perr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return Digest{}, fmt.Errorf("cache: read blob: %w", err)
		}
	}
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// putChunk stores one chunk followed by its CRC-32C, so a damaged chunk
// is caught when it is read instead of being served.
func (c *Cache) putChunk(key, data []byte) error {
	val := binary.BigEndian.AppendUint32(append(make([]byte, 0, len(data)+4), data...), checksum(data))
	err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketChunks).Put(key, val)
	})
	if err != nil {
		return fmt.Errorf("cache: store chunk: %w", err)
	}
	return nil
}

// commitBlob makes the blob visible unless it already exists.
func (c *Cache) commitBlob(d Digest, meta *blobMeta) (stored bool, err error) {
	enc, err := json.Marshal(meta)
	if err != nil {
		return false, err
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		if b.Get(d[:]) != nil {
			return nil
		}
		stored = true
		return b.Put(d[:], enc)
	})
	if err != nil {
		return false, fmt.Errorf("cache: commit blob %s: %w", d, err)
	}
	return stored, nil
}

// deleteChunks removes every chunk of one upload, a bounded batch per
// transaction so a huge blob never makes one huge transaction.
func (c *Cache) deleteChunks(id []byte) {
	for {
		n := 0
		err := c.db.Update(func(tx *bolt.Tx) error {
			cur := tx.Bucket(bucketChunks).Cursor()
			for k, _ := cur.Seek(id); k != nil && bytes.HasPrefix(k, id) && n < 256; k, _ = cur.Next() {
				if err := cur.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			c.log.Warn("could not delete chunks; gc will retry", "err", err)
			return
		}
		if n < 256 {
			return
		}
	}
}

// BlobInfo is what is known about a stored blob without reading it.
type BlobInfo struct {
	Digest  Digest
	Size    int64
	Created time.Time
}

// StatBlob reports a blob's size, or ErrNotFound.
func (c *Cache) StatBlob(d Digest) (BlobInfo, error) {
	meta, err := c.blobMeta(d)
	if err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: d, Size: meta.Size, Created: meta.Created}, nil
}

// HasBlob reports whether the blob is stored.
func (c *Cache) HasBlob(d Digest) bool {
	_, err := c.blobMeta(d)
	return err == nil
}

func (c *Cache) blobMeta(d Digest) (*blobMeta, error) {
	var meta blobMeta
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBlobs).Get(d[:])
		if v == nil {
			return fmt.Errorf("%w: blob %s", ErrNotFound, d)
		}
		return json.Unmarshal(v, &meta)
	})
	if err != nil {
		return nil, err
	}
	if meta.ChunkSize <= 0 {
		return nil, fmt.Errorf("cache: blob %s: corrupt record (chunk size %d)", d, meta.ChunkSize)
	}
	return &meta, nil
}

// DropBlob forgets a blob found damaged, so the next load of an app that
// uses it imports it again from its source. Its chunks become garbage.
func (c *Cache) DropBlob(d Digest) error {
	return c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketBlobs).Delete(d[:]) })
}

// ReadBlob returns a private copy of a whole blob, checked against its
// digest: for modules and other small blobs needed in full.
func (c *Cache) ReadBlob(d Digest) ([]byte, error) {
	r, err := c.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	data := make([]byte, r.Size())
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("cache: read blob %s: %w", d, err)
	}
	if Sum(data) != d {
		return nil, fmt.Errorf("%w: stored blob %s is corrupt", ErrDigestMismatch, d)
	}
	return data, nil
}
