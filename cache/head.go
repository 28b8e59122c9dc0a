package cache

import (
	"encoding/json"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Head is what the cache keeps of an app beside its versions, and keeps
// after the app is removed: the state its owner stored with the last
// change (opaque here: the mesh's ordering stamp, a tombstone) and the
// highest version number ever used, so numbers are never reused.
type Head struct {
	State json.RawMessage `json:"state,omitempty"`
	Seq   int             `json:"seq,omitempty"`
}

// AppHead is one app's Head with the version that serves, if any.
type AppHead struct {
	App    string
	Head   Head
	Active *Manifest // nil when the app is removed
}

func getHead(tx *bolt.Tx, app string) Head {
	var h Head
	if b := tx.Bucket(bucketStates); b != nil {
		_ = json.Unmarshal(b.Get([]byte(app)), &h)
	}
	return h
}

func putHead(tx *bolt.Tx, app string, h Head) error {
	b, err := tx.CreateBucketIfNotExists(bucketStates)
	if err != nil {
		return err
	}
	enc, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return b.Put([]byte(app), enc)
}

// Heads lists every app that has a Head, removed ones included, sorted
// by name.
func (c *Cache) Heads() ([]AppHead, error) {
	var out []AppHead
	err := c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStates)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			out = append(out, headOf(tx, string(k)))
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, err
}

// AppHeadOf returns one app's Head (zero if it has none) and the version
// that serves.
func (c *Cache) AppHeadOf(app string) (AppHead, error) {
	var out AppHead
	err := c.db.View(func(tx *bolt.Tx) error {
		out = headOf(tx, app)
		return nil
	})
	return out, err
}

func headOf(tx *bolt.Tx, app string) AppHead {
	h := AppHead{App: app, Head: getHead(tx, app)}
	if b := appBucket(tx, app); b != nil {
		h.Active, _ = decodeVersion(b, getUint(b, keyActive))
	}
	return h
}
