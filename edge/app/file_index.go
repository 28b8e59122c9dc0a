package app

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"syscall"
	"time"

	"github.com/edgecdn/edge/cache"
)

// fileIndex remembers the digest of each file of an app directory by the
// file's stat identity (size, modification and change times, inode), as
// git's index does. A restart then neither reads nor hashes files that did
// not change: for a large static site that is most of its start time.
type fileIndex struct {
	kv      *cache.KV
	dir     string
	now     func() time.Time
	pending map[string][]byte
}

// racyWindow: a file modified this recently may still be changing within
// the timestamp's resolution, so it is hashed again next time.
const racyWindow = 2 * time.Second

func newFileIndex(c *cache.Cache, dir string) *fileIndex {
	return &fileIndex{kv: c.KV("fileindex"), dir: dir, now: time.Now, pending: map[string][]byte{}}
}

// identity encodes what must be unchanged for a remembered digest to hold.
// Files without stat data (embedded files) have none and are always hashed.
func identity(info fs.FileInfo) ([]byte, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, false
	}
	id := make([]byte, 0, 48)
	for _, v := range []uint64{uint64(st.Size), uint64(st.Mtim.Nano()), uint64(st.Ctim.Nano()), st.Ino, st.Dev} {
		id = binary.BigEndian.AppendUint64(id, v)
	}
	return id, true
}

func (ix *fileIndex) key(p string) string { return ix.dir + "\x00" + p }

// lookup returns the digest remembered for p if the file is unchanged.
func (ix *fileIndex) lookup(p string, info fs.FileInfo) (cache.Digest, bool) {
	var d cache.Digest
	if ix == nil {
		return d, false
	}
	id, ok := identity(info)
	if !ok {
		return d, false
	}
	v, err := ix.kv.Get(ix.key(p))
	if err != nil || len(v) != len(id)+len(d) || !bytes.Equal(v[:len(id)], id) {
		return d, false
	}
	copy(d[:], v[len(id):])
	return d, true
}

// remember records p's digest, written by flush.
func (ix *fileIndex) remember(p string, info fs.FileInfo, d cache.Digest) {
	if ix == nil || ix.now().Sub(info.ModTime()) < racyWindow {
		return
	}
	if id, ok := identity(info); ok {
		ix.pending[ix.key(p)] = append(id, d[:]...)
	}
}

// flush writes what was remembered in one transaction.
func (ix *fileIndex) flush() error {
	if ix == nil {
		return nil
	}
	return ix.kv.PutMany(ix.pending)
}
