package httpcache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/edgecdn/edge/cache"
)

// The disk tier: each entry's body is a blob in the node's store, held
// under the entry's variant key, and its record is JSON in the store's KV
// namespace "httpcache" under the same key. Records are written after the
// blob and removed before it is released, all under diskMu, so a restart
// finds only records whose body is there.

// loadDisk reads every record into the index (bodies stay on disk).
func (c *Cache) loadDisk() error {
	kv := c.cfg.Store.KV(kvNamespace)
	keys, err := kv.List("")
	if err != nil {
		return fmt.Errorf("httpcache: load disk tier: %w", err)
	}
	for _, k := range keys {
		data, err := kv.Get(k)
		if err != nil {
			continue
		}
		var e Entry
		if json.Unmarshal(data, &e) != nil || e.Digest == "" || e.ID == "" || e.variantKey() != k {
			c.log.Warn("dropping an unreadable disk record", "key", k)
			_ = kv.Delete(k)
			continue
		}
		e.cc = ParseCacheControl(e.Header)
		c.variants[e.Key] = append(c.variants[e.Key], &e)
		c.diskElem[&e] = c.disk.PushBack(&e)
		c.onDisk[k] = &e
		c.dBytes += e.Size
	}
	c.loadUnverified()
	c.dropDisk(c.evictDisk())
	return nil
}

// writeDisk stores e's body and record, unless e was replaced or purged
// meanwhile (then the blob is released again).
func (c *Cache) writeDisk(e *Entry) {
	c.mu.Lock()
	body := e.body
	c.mu.Unlock()
	vk := e.variantKey()
	d, _, err := c.cfg.Store.PutHeldBlob(bytes.NewReader(body), 0, e.ID)
	if err != nil {
		c.log.Warn("cannot store a response on disk", "key", e.Key, "err", err)
		return
	}
	c.diskMu.Lock()
	defer c.diskMu.Unlock()
	c.mu.Lock()
	if !c.current(e) {
		c.mu.Unlock()
		c.release(d.String(), e.ID)
		return
	}
	e.Digest = d.String()
	c.diskElem[e] = c.disk.PushFront(e)
	c.onDisk[vk] = e
	c.dBytes += e.Size
	if e.Size > c.cfg.MemoryObject {
		c.unlinkMem(e) // big bodies are read from disk; memory is for hot small ones
		e.body = nil
	}
	victims := c.evictDisk()
	rec, err := json.Marshal(e)
	c.mu.Unlock()
	if err == nil {
		err = c.cfg.Store.KV(kvNamespace).Put(vk, rec)
	}
	if err != nil {
		c.log.Warn("cannot store a response record on disk", "key", e.Key, "err", err)
	}
	c.dropDiskLocked(victims)
}

// rewriteMeta updates the record of a revalidated entry.
func (c *Cache) rewriteMeta(e *Entry) {
	c.diskMu.Lock()
	defer c.diskMu.Unlock()
	c.mu.Lock()
	ok := c.current(e)
	rec, err := json.Marshal(e)
	c.mu.Unlock()
	if ok && err == nil {
		err = c.cfg.Store.KV(kvNamespace).Put(e.variantKey(), rec)
	}
	if err != nil {
		c.log.Warn("cannot update a response record on disk", "key", e.Key, "err", err)
	}
}

// evictDisk unlinks the least recently used entries past the disk budget
// (an entry hit since it was last looked at goes to the front instead)
// and returns them for dropDisk. c.mu is held.
func (c *Cache) evictDisk() []*Entry {
	var gone []*Entry
	for c.dBytes > c.cfg.DiskBytes && c.disk.Len() > 0 {
		el := c.disk.Back()
		e := el.Value.(*Entry)
		if spared(&e.usedDisk) { // hit since: recently used after all
			c.disk.MoveToFront(el)
			continue
		}
		c.unpublish(e)
		c.unlinkMem(e)
		gone = append(gone, c.unlinkDisk(e)...)
		c.stats.Evicted.Add(1)
	}
	return gone
}

// dropDisk removes the records and bodies of entries taken off the disk tier.
func (c *Cache) dropDisk(es []*Entry) {
	if c.cfg.Store == nil || len(es) == 0 {
		return
	}
	c.diskMu.Lock()
	defer c.diskMu.Unlock()
	c.dropDiskLocked(es)
}

func (c *Cache) dropDiskLocked(es []*Entry) {
	for _, e := range es {
		vk := e.variantKey()
		c.mu.Lock()
		replaced := c.onDisk[vk] != nil
		c.mu.Unlock()
		if !replaced {
			if err := c.cfg.Store.KV(kvNamespace).Delete(vk); err != nil {
				c.log.Warn("cannot delete a response record", "key", e.Key, "err", err)
			}
		}
		c.release(e.Digest, e.ID)
	}
}

// release drops the hold on a body blob.
func (c *Cache) release(digest, owner string) {
	d, err := cache.ParseDigest(digest)
	if err != nil {
		return
	}
	if err := c.cfg.Store.ReleaseBlob(d, owner); err != nil {
		c.log.Warn("cannot release a response body", "digest", digest, "err", err)
	}
}

func (c *Cache) openBlob(digest string) (io.ReadSeeker, error) {
	if c.cfg.Store == nil {
		return nil, errors.New("httpcache: no disk tier")
	}
	d, err := cache.ParseDigest(digest)
	if err != nil {
		return nil, fmt.Errorf("httpcache: %w", err)
	}
	r, err := c.cfg.Store.OpenBlob(d)
	if err != nil {
		return nil, fmt.Errorf("httpcache: open body: %w", err)
	}
	if err := r.Prefetch(); err != nil {
		return nil, fmt.Errorf("httpcache: read body: %w", err)
	}
	return r, nil
}
