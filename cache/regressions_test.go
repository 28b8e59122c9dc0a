package cache_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	"github.com/edgecdn/edge/cache"
	bolt "go.etcd.io/bbolt"
)

// Regression tests for bugs found while writing the suite: GC racing an
// upload, verify racing writers, duplicate app names in SetApps.
// plantReferencedRecords writes n blob records of size 0 straight into the
// file, all named by one app, so GC keeps them and its scan of the blobs
// bucket takes a while: that scan is the window of the race below.
func plantReferencedRecords(t *testing.T, path string, n int) []string {
	var refs []string
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("blobs"))
		for i := range n {
			d := cache.Sum(fmt.Append(nil, "record ", i))
			id := base64.StdEncoding.EncodeToString(d[:16])
			rec := `{"size":0,"chunk_id":"` + id + `","chunk_size":4096,"created":"2026-01-01T00:00:00Z"}`
			if err := b.Put(d[:], []byte(rec)); err != nil {
				return err
			}
			refs = append(refs, d.String())
		}
		return nil
	})
	return refs
}

// GC must leave an upload alone while it runs (that is what the uploads
// registry is for) and must never remove the chunks of a committed blob.
// gc.go removeOrphanChunks takes the set of committed blobs in one read
// transaction and the set of uploads in progress later; an upload that
// commits in between is in neither set, and its chunks are deleted as
// orphans under a blob record that stays visible.
func TestGCDuringUnheldUpload(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	closeCache(t, c)
	refs := plantReferencedRecords(t, path, 20000)
	c = openCache(t, path, cache.Options{ChunkSize: smallChunks})
	var contents [][]byte
	for i := range 20 {
		data := randomBytes(uint64(900+i), 2*smallChunks+1)
		contents = append(contents, data)
		refs = append(refs, cache.Sum(data).String())
	}
	// Every blob is referenced before it is uploaded (a repair after
	// DropBlob, or a fetch by digest): GC has no reason to touch them.
	if err := c.SetApps([]cache.AppRecord{{Name: "all", Blobs: refs}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.GC(); err != nil {
				t.Errorf("GC: %v", err)
				return
			}
		}
	})
	for _, data := range contents {
		mustPut(t, c, data)
	}
	close(stop)
	wg.Wait()
	damaged := 0
	for _, data := range contents {
		if got, err := c.ReadBlob(cache.Sum(data)); err != nil || !bytes.Equal(got, data) {
			damaged++
			if damaged == 1 {
				t.Errorf("ReadBlob of a referenced blob stored during GC: %v", err)
			}
		}
	}
	if damaged > 0 {
		t.Errorf("%d of %d referenced blobs stored during GC lost chunks", damaged, len(contents))
	}
}

// Verify runs bbolt's Tx.Check in a read-only transaction, which bbolt
// documents as unsafe while writers run ("it is not safe to execute other
// writer transactions at the same time"): it reads the shared freelist
// without a lock. ops/admin.go calls Verify on a live node, and the cache
// writes by itself in the background after every artifact hit. Under -race
// this reports a data race in freelist.(*shared).PendingCount; without it,
// Verify now and then reports a sound file as damaged ("page 4: reachable
// freed", "page 2: unreachable unfreed" in Structure).
func TestVerifyDuringWrites(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := c.PutBlob(bytes.NewReader(randomBytes(uint64(i), 3*smallChunks)), 0); err != nil {
				t.Errorf("PutBlob: %v", err)
				return
			}
		}
	})
	for range 20 {
		rep, err := c.Verify(nil)
		if err != nil || !rep.Clean() {
			t.Errorf("Verify during writes = %+v, %v", rep, err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// SetApps replaces the recorded set. apps.go sameApps decides "unchanged"
// by comparing lengths and then looking each new record up by name, so a
// list that repeats a name matches a stored set of the same length that
// has another app: SetApps([a, a]) over {a, b} writes nothing and b keeps
// its blobs alive. (Before sameApps, the result was {a}.)
func TestSetAppsDuplicateNames(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	a, b := cache.AppRecord{Name: "a", Source: "s"}, cache.AppRecord{Name: "b", Source: "s"}
	if err := c.SetApps([]cache.AppRecord{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetApps([]cache.AppRecord{a, a}); err != nil {
		t.Fatal(err)
	}
	if got := appsByName(t, c); len(got) != 1 {
		t.Errorf("Apps after SetApps([a, a]) = %v; want only a", got)
	}
}
