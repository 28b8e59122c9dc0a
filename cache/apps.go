package cache

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AppRecord is a loaded app as the cache sees it: which blobs it keeps
// alive. Blobs named by no record are garbage.
type AppRecord struct {
	Name    string    `json:"name"`
	Source  string    `json:"source"`
	Blobs   []string  `json:"blobs"` // hex digests
	Updated time.Time `json:"updated"`
}

// SetApps replaces the set of loaded apps in one transaction. When the set
// is unchanged (a restart) nothing is written.
func (c *Cache) SetApps(apps []AppRecord) error {
	if c.sameApps(apps) {
		return nil
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketApps); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketApps)
		if err != nil {
			return err
		}
		for _, a := range apps {
			a.Updated = c.now().UTC()
			enc, err := json.Marshal(&a)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(a.Name), enc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: record apps: %w", err)
	}
	return nil
}

func (c *Cache) sameApps(apps []AppRecord) bool {
	old, err := c.Apps()
	if err != nil || len(old) != len(apps) {
		return false
	}
	byName := map[string]AppRecord{}
	for _, a := range old {
		byName[a.Name] = a
	}
	names := map[string]bool{}
	for _, a := range apps {
		names[a.Name] = true
	}
	if len(names) != len(apps) {
		return false // duplicate names: let the write sort them out
	}
	for _, a := range apps {
		o, ok := byName[a.Name]
		if !ok || o.Source != a.Source || !slices.Equal(o.Blobs, a.Blobs) {
			return false
		}
	}
	return true
}

// Apps lists the recorded apps.
func (c *Cache) Apps() ([]AppRecord, error) {
	var apps []AppRecord
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).ForEach(func(_, v []byte) error {
			var a AppRecord
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("cache: corrupt app record: %w", err)
			}
			apps = append(apps, a)
			return nil
		})
	})
	return apps, err
}

// referenced is the set of blobs some app keeps alive: a loaded app's
// record, or any retained version of a deployed app (so rollback works
// without fetching anything).
func referenced(tx *bolt.Tx) map[Digest]bool {
	refs := map[Digest]bool{}
	deployedRefs(tx, refs)
	heldRefs(tx, refs)
	_ = tx.Bucket(bucketApps).ForEach(func(_, v []byte) error {
		var a AppRecord
		if json.Unmarshal(v, &a) == nil {
			for _, s := range a.Blobs {
				if d, err := ParseDigest(s); err == nil {
					refs[d] = true
				}
			}
		}
		return nil
	})
	return refs
}
