package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// BlobReader reads a stored blob one chunk at a time, each chunk copied out
// in a short read transaction. It implements io.ReadSeeker, so
// http.ServeContent can answer Range requests from it; memory stays at one
// chunk per open reader whatever the blob's size. It is not safe for
// concurrent use.
type BlobReader struct {
	c      *Cache
	digest Digest
	meta   *blobMeta
	off    int64
	idx    int64  // index of the chunk in buf, or -1
	buf    []byte // a private copy of chunk idx
}

// OpenBlob opens a blob for reading, or returns ErrNotFound.
func (c *Cache) OpenBlob(d Digest) (*BlobReader, error) {
	meta, err := c.blobMeta(d)
	if err != nil {
		return nil, err
	}
	return &BlobReader{c: c, digest: d, meta: meta, idx: -1}, nil
}

// Prefetch loads the first chunk, so a caller can refuse a damaged blob
// before it writes any response headers.
func (r *BlobReader) Prefetch() error {
	if r.meta.Size == 0 {
		return nil
	}
	return r.load(0)
}

// Digest is the blob's digest.
func (r *BlobReader) Digest() Digest { return r.digest }

// Size is the blob's length in bytes.
func (r *BlobReader) Size() int64 { return r.meta.Size }

// Read implements io.Reader.
func (r *BlobReader) Read(p []byte) (int, error) {
	if r.off >= r.meta.Size {
		return 0, io.EOF
	}
	cs := int64(r.meta.ChunkSize)
	if idx := r.off / cs; idx != r.idx {
		if err := r.load(idx); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off-r.idx*cs:])
	r.off += int64(n)
	return n, nil
}

// load copies chunk idx out of the file.
func (r *BlobReader) load(idx int64) error {
	want := min(int64(r.meta.ChunkSize), r.meta.Size-idx*int64(r.meta.ChunkSize))
	err := r.c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketChunks).Get(chunkKey(r.meta.ChunkID, uint32(idx)))
		if int64(len(v)) != want+4 {
			return fmt.Errorf("%w: blob %s: chunk %d is %d bytes, want %d", ErrCorrupt, r.digest, idx, len(v), want+4)
		}
		data := v[:want]
		if checksum(data) != binary.BigEndian.Uint32(v[want:]) {
			return fmt.Errorf("%w: blob %s: chunk %d fails its checksum", ErrCorrupt, r.digest, idx)
		}
		r.buf = append(r.buf[:0], data...)
		return nil
	})
	if err != nil {
		r.idx = -1
		return err
	}
	r.idx = idx
	return nil
}

// Seek implements io.Seeker.
func (r *BlobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.meta.Size
	default:
		return 0, errors.New("cache: seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("cache: seek: negative position")
	}
	r.off = offset
	return offset, nil
}

var _ io.ReadSeeker = (*BlobReader)(nil)
