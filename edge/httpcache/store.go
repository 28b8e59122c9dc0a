package httpcache

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

// Response is an origin response read in full, ready to store.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Requested time.Time // when the request was sent
	Received  time.Time // when the response headers arrived
}

// NewEntry builds the entry for resp to a GET of key with request header
// req. It does not store it.
func NewEntry(key string, req http.Header, resp *Response) *Entry {
	h := resp.Header.Clone()
	h.Del("Age")
	e := &Entry{
		ID: newID(), Key: key, Vary: varyValues(req, h), Status: resp.Status, Header: h,
		InitialAge:   InitialAge(resp.Header, resp.Requested, resp.Received),
		ResponseTime: resp.Received, Lifetime: Lifetime(resp.Header, resp.Received),
		Tags: surrogateKeys(h), Size: int64(len(resp.Body)), body: resp.Body,
		cc: ParseCacheControl(h),
	}
	return e
}

// Put publishes e, replacing the variant it matches, unless a purge ran
// since epoch was read (the fetch may predate what the purge removed).
// With a disk tier the body is written there in the background.
func (c *Cache) Put(e *Entry, epoch uint64) bool {
	if e.Size > c.cfg.MaxObject {
		return false
	}
	c.mu.Lock()
	if c.epoch != epoch {
		c.mu.Unlock()
		return false
	}
	old := c.replace(e)
	c.addMem(e)
	c.evictMem()
	c.mu.Unlock()
	c.stats.Stored.Add(1)
	c.dropDisk(old)
	if c.cfg.Store != nil {
		c.pending.Add(1)
		go func() {
			defer c.pending.Done()
			c.writeDisk(e)
		}()
	}
	return true
}

// Revalidated publishes the entry a 304 refreshed: old's body with the
// header fields and times of the 304 (RFC 9111 §4.3.4).
func (c *Cache) Revalidated(old *Entry, resp *Response, epoch uint64) *Entry {
	h := old.Header.Clone()
	for k, v := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Content-Range", "Age":
			continue
		}
		h[k] = v
	}
	c.mu.Lock()
	body, digest := old.body, old.Digest
	c.mu.Unlock()
	e := &Entry{
		ID: old.ID, Key: old.Key, Vary: old.Vary, Status: old.Status, Header: h,
		InitialAge:   InitialAge(resp.Header, resp.Requested, resp.Received),
		ResponseTime: resp.Received, Lifetime: Lifetime(h, resp.Received),
		Tags: surrogateKeys(h), Size: old.Size, body: body, Digest: digest,
		cc: ParseCacheControl(h),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || !c.current(old) {
		return e // purged or replaced meanwhile: serve it, do not store it
	}
	c.swap(old, e)
	c.stats.Revalidated.Add(1)
	if c.cfg.Store != nil && digest != "" {
		c.pending.Add(1)
		go func() {
			defer c.pending.Done()
			c.rewriteMeta(e)
		}()
	}
	return e
}

// replace installs e among its key's variants and unlinks the variant it
// replaces, returning it for the disk tier to drop. c.mu is held.
func (c *Cache) replace(e *Entry) []*Entry {
	vk := e.variantKey()
	vs := c.variants[e.Key]
	for i, v := range vs {
		if v.variantKey() == vk {
			vs[i] = e
			c.unlinkMem(v)
			return c.unlinkDisk(v)
		}
	}
	c.variants[e.Key] = append(vs, e)
	return nil
}

// swap puts e where old is, in the variants and both tiers. c.mu is held.
func (c *Cache) swap(old, e *Entry) {
	vs := c.variants[old.Key]
	for i, v := range vs {
		if v == old {
			vs[i] = e
		}
	}
	if el := c.memElem[old]; el != nil {
		delete(c.memElem, old)
		el.Value = e
		c.memElem[e] = el
	}
	if el := c.diskElem[old]; el != nil {
		delete(c.diskElem, old)
		el.Value = e
		c.diskElem[e] = el
		c.onDisk[e.variantKey()] = e
	}
}

// current says whether e is still published. c.mu is held.
func (c *Cache) current(e *Entry) bool {
	for _, v := range c.variants[e.Key] {
		if v == e {
			return true
		}
	}
	return false
}

func (c *Cache) addMem(e *Entry) {
	if e.body == nil {
		return
	}
	c.memElem[e] = c.mem.PushFront(e)
	c.memBytes += e.Size
}

func (c *Cache) unlinkMem(e *Entry) {
	if el := c.memElem[e]; el != nil {
		c.mem.Remove(el)
		delete(c.memElem, e)
		c.memBytes -= e.Size
	}
}

// unlinkDisk takes e out of the disk LRU and returns it if its body is on
// disk (for dropDisk). c.mu is held.
func (c *Cache) unlinkDisk(e *Entry) []*Entry {
	if el := c.diskElem[e]; el != nil {
		c.disk.Remove(el)
		delete(c.diskElem, e)
		if vk := e.variantKey(); c.onDisk[vk] == e {
			delete(c.onDisk, vk)
		}
		c.dBytes -= e.Size
		return []*Entry{e}
	}
	return nil
}

// evictMem drops the least recently used bodies past the memory budget
// (an entry hit since it was last looked at goes to the front instead):
// an entry also on disk keeps its record; one only in memory goes. c.mu
// is held.
func (c *Cache) evictMem() {
	for c.memBytes > c.cfg.MemoryBytes && c.mem.Len() > 0 {
		el := c.mem.Back()
		e := el.Value.(*Entry)
		if spared(&e.usedMem) { // hit since: recently used after all
			c.mem.MoveToFront(el)
			continue
		}
		c.unlinkMem(e)
		c.stats.Evicted.Add(1)
		if c.diskElem[e] != nil {
			e.body = nil
			continue
		}
		c.unpublish(e)
	}
}

// unpublish removes e from its key's variants. c.mu is held.
func (c *Cache) unpublish(e *Entry) {
	vs := c.variants[e.Key]
	for i, v := range vs {
		if v == e {
			vs = append(vs[:i:i], vs[i+1:]...)
			break
		}
	}
	if len(vs) == 0 {
		delete(c.variants, e.Key)
	} else {
		c.variants[e.Key] = vs
	}
}

// remove unpublishes entries from both tiers.
func (c *Cache) remove(es []*Entry) {
	c.mu.Lock()
	disk := c.removeLocked(es)
	c.mu.Unlock()
	c.dropDisk(disk)
}

// removeLocked unpublishes entries and returns those to drop from disk.
// c.mu is held.
func (c *Cache) removeLocked(es []*Entry) (disk []*Entry) {
	for _, e := range es {
		c.unpublish(e)
		c.unlinkMem(e)
		disk = append(disk, c.unlinkDisk(e)...)
	}
	return disk
}

// newID names an entry's hold on its body blob: two entries with the same
// body (a refetch) hold it apart, so dropping the old keeps the new.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
