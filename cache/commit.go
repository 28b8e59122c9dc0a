package cache

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Change is one change to a deployed app, made in one transaction: a
// version stored, a version activated, or the app removed. Whoever orders
// changes (the mesh) decides inside that transaction through Decide, so
// what it stores beside the versions can never disagree with them.
type Change struct {
	App string
	// Put, if set, is stored as version Put.Version and activated. A zero
	// Put.Version takes the next free number (past Floor too); a non-zero
	// one replaces a different manifest of that number (the loser of a
	// partition). Put.Version is set to the number used.
	Put *Manifest
	// Activate, without Put, makes a retained version the active one.
	Activate int
	// Remove forgets every version of the app; its Head stays.
	Remove bool
	// AllowAbsent makes Remove of an app that is not deployed record the
	// Head anyway instead of failing with ErrNoVersion.
	AllowAbsent bool
	// Floor is a version number the next free number must exceed.
	Floor int
	// Keep is how many versions are retained (0: DefaultKeepVersions).
	Keep int
	// Decide, if set, runs inside the transaction with the app's Head
	// before the change and the version that serves after it (0 after a
	// removal), and returns the state to keep in the Head. Its error
	// aborts the change and is returned as is.
	Decide func(cur Head, version int) (state []byte, err error)
}

// Commit applies ch atomically: every blob a version names must be stored,
// versions beyond Keep are pruned (never the active one), and blobs and
// artifacts nothing references any more are dropped. It returns the
// version numbers pruned.
func (c *Cache) Commit(ch Change) (pruned []int, err error) {
	if ch.Keep <= 0 {
		ch.Keep = DefaultKeepVersions
	}
	assigned := ch.Put != nil && ch.Put.Version <= 0
	c.gcMu.Lock() // pruning collects blobs: no import may be in progress
	defer c.gcMu.Unlock()
	var drop dropped
	err = c.db.Update(func(tx *bolt.Tx) error {
		var gone []*Manifest
		var err error
		pruned, gone, err = c.apply(tx, &ch)
		if err != nil {
			return err
		}
		drop, err = dropUnreferenced(tx, gone)
		return err
	})
	if err != nil {
		if assigned {
			ch.Put.Version = 0
		}
		return nil, fmt.Errorf("cache: %s: %w", ch.App, err)
	}
	c.finishDrop(drop)
	return pruned, nil
}

// apply makes the change inside tx and returns what it pruned and the
// manifests that no longer exist. Decide runs before anything is written.
func (c *Cache) apply(tx *bolt.Tx, ch *Change) (pruned []int, gone []*Manifest, err error) {
	head := getHead(tx, ch.App)
	version := targetVersion(tx, ch, head)
	state := head.State
	if ch.Decide != nil {
		if state, err = ch.Decide(head, version); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case ch.Remove:
		gone, err = removeVersions(tx, ch.App, ch.AllowAbsent)
	case ch.Put != nil:
		ch.Put.Version = version
		gone, err = putVersion(tx, ch.Put)
	default:
		err = activate(tx, ch.App, version)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := putHead(tx, ch.App, Head{State: state, Seq: max(head.Seq, version)}); err != nil {
		return nil, nil, err
	}
	if app := appBucket(tx, ch.App); app != nil && version > 0 {
		var more []*Manifest
		if pruned, more, err = prune(app, ch.Keep, version); err != nil {
			return nil, nil, err
		}
		gone = append(gone, more...)
	}
	return pruned, gone, nil
}

// targetVersion is the version that serves after ch: 0 for a removal,
// the next free number for a new version without one.
func targetVersion(tx *bolt.Tx, ch *Change, head Head) int {
	switch {
	case ch.Remove:
		return 0
	case ch.Put == nil:
		return ch.Activate
	case ch.Put.Version > 0:
		return ch.Put.Version
	}
	seq := 0
	if app := appBucket(tx, ch.App); app != nil {
		seq = getUint(app, keySeq)
	}
	return max(seq, head.Seq, ch.Floor) + 1
}

// putVersion stores m under m.Version and activates it; it returns the
// manifest it replaced, if any.
func putVersion(tx *bolt.Tx, m *Manifest) ([]*Manifest, error) {
	if err := checkBlobs(tx, m); err != nil {
		return nil, err
	}
	app, err := tx.Bucket(bucketDeploys).CreateBucketIfNotExists([]byte(m.App))
	if err != nil {
		return nil, err
	}
	var gone []*Manifest
	if old, err := decodeVersion(app, m.Version); err == nil && old.Signature != m.Signature {
		gone = append(gone, old)
	}
	enc, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := app.Put(versionKey(m.Version), enc); err != nil {
		return nil, err
	}
	if err := putUint(app, keySeq, max(getUint(app, keySeq), m.Version)); err != nil {
		return nil, err
	}
	return gone, putUint(app, keyActive, m.Version)
}

// activate makes retained version v of app the active one, once its blobs
// are checked to be all still stored.
func activate(tx *bolt.Tx, app string, v int) error {
	b := appBucket(tx, app)
	if b == nil || b.Get(versionKey(v)) == nil {
		return fmt.Errorf("%w: %s v%d", ErrNoVersion, app, v)
	}
	m, err := decodeVersion(b, v)
	if err != nil {
		return err
	}
	if err := checkBlobs(tx, m); err != nil {
		return err
	}
	return putUint(b, keyActive, v)
}

// removeVersions deletes app's versions and returns them.
func removeVersions(tx *bolt.Tx, app string, allowAbsent bool) ([]*Manifest, error) {
	b := appBucket(tx, app)
	if b == nil && allowAbsent {
		return nil, nil
	}
	if b == nil {
		return nil, fmt.Errorf("%w: app %s is not deployed", ErrNoVersion, app)
	}
	gone := versionsOf(b)
	return gone, tx.Bucket(bucketDeploys).DeleteBucket([]byte(app))
}
