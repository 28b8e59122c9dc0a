package httpcache

import (
	"strings"
	"time"
)

// Purge selects entries by exact primary key, by key prefix or by
// surrogate key (tag). Soft marks them stale instead of removing them.
type Purge struct {
	Key    string `json:"key,omitempty"`    // host + request-target, e.g. "example.com/a.css?v=1"
	Prefix string `json:"prefix,omitempty"` // host + path prefix, e.g. "example.com/img/"
	Tag    string `json:"tag,omitempty"`    // a Surrogate-Key value
	Soft   bool   `json:"soft,omitempty"`
	// Only, if set, limits the purge to the keys it accepts: a purge
	// signed for one app reaches that app's entries only.
	Only func(key string) bool `json:"-"`
	// Issued, if set, is when the purge was asked for (a signed one: when
	// it was signed): the time until it is applied here is the purge
	// latency (Stats.PurgeLatency).
	Issued time.Time `json:"-"`
}

func (p Purge) selects(e *Entry) bool {
	if p.Only != nil && !p.Only(e.Key) {
		return false
	}
	switch {
	case p.Key != "":
		return e.Key == p.Key
	case p.Prefix != "":
		return strings.HasPrefix(e.Key, p.Prefix)
	case p.Tag != "":
		for _, t := range e.Tags {
			if t == p.Tag {
				return true
			}
		}
	}
	return false
}

// Purge applies p and returns how many entries it hit. A hard purge leaves
// nothing to serve, not even as stale-if-error; it also stops fetches in
// flight from storing what they bring back. A soft purge republishes each
// entry marked stale: the next request revalidates it while the others
// are served the stale copy.
func (c *Cache) Purge(p Purge) int {
	c.mu.Lock()
	var hit []*Entry
	for _, vs := range c.variants {
		for _, e := range vs {
			if p.selects(e) {
				hit = append(hit, e)
			}
		}
	}
	var disk, soft []*Entry
	if p.Soft {
		for _, e := range hit {
			s := *e
			s.Soft = true
			c.swap(e, &s)
			if c.diskElem[&s] != nil {
				soft = append(soft, &s)
			}
		}
	} else {
		c.epoch++
		disk = c.removeLocked(hit)
	}
	c.mu.Unlock()
	c.stats.Purged.Add(uint64(len(hit)))
	if !p.Issued.IsZero() {
		// Applied once it is published: the disk records follow.
		c.stats.PurgeLatency.Observe(c.cfg.Now().Sub(p.Issued))
	}
	c.dropDisk(disk)
	for _, e := range soft {
		c.rewriteMeta(e) // a restart must not forget the purge
	}
	return len(hit)
}
