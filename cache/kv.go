package cache

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// KV is a namespace of the small key-value area, for components that need
// a few durable records of their own, each namespace apart.
type KV struct {
	c  *Cache
	ns []byte
}

// KV returns the namespace ns.
func (c *Cache) KV(ns string) *KV { return &KV{c: c, ns: []byte(ns)} }

// Get returns a copy of the value, or ErrNotFound.
func (kv *KV) Get(key string) ([]byte, error) {
	var out []byte
	err := kv.c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket(kv.ns)
		if b == nil {
			return fmt.Errorf("%w: %s/%s", ErrNotFound, kv.ns, key)
		}
		v := b.Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%w: %s/%s", ErrNotFound, kv.ns, key)
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}

// Put stores value under key.
func (kv *KV) Put(key string, value []byte) error {
	return kv.c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists(kv.ns)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
}

// Delete removes key; a missing key is not an error.
func (kv *KV) Delete(key string) error {
	return kv.c.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketKV).Bucket(kv.ns); b != nil {
			return b.Delete([]byte(key))
		}
		return nil
	})
}

// List returns the keys that start with prefix, in order.
func (kv *KV) List(prefix string) ([]string, error) {
	var keys []string
	err := kv.c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket(kv.ns)
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		p := []byte(prefix)
		for k, _ := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = cur.Next() {
			keys = append(keys, string(k))
		}
		return nil
	})
	return keys, err
}

// PutMany stores several values in one transaction.
func (kv *KV) PutMany(values map[string][]byte) error {
	if len(values) == 0 {
		return nil
	}
	return kv.c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists(kv.ns)
		if err != nil {
			return err
		}
		for k, v := range values {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Update reads key and stores what fn returns, in one write transaction,
// so that a read-check-write (taking a lock whose lease has run out) cannot
// interleave with another. fn gets nil when the key is absent; a nil result
// deletes the key; an error aborts with nothing written.
func (kv *KV) Update(key string, fn func(old []byte) ([]byte, error)) error {
	return kv.c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists(kv.ns)
		if err != nil {
			return err
		}
		next, err := fn(bytes.Clone(b.Get([]byte(key))))
		if err != nil {
			return err
		}
		if next == nil {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), next)
	})
}
