package cache

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A mesh of nodes agrees on each app's current state without
// coordination: every change (deploy, rollback, removal) is a new state
// stamped by the node that made it, and the state with the highest Stamp
// wins everywhere. bucketStates keeps, per app, the stamp of the state in
// force: a removed app keeps it as a tombstone, so that a node that missed
// the removal cannot bring the app back.
var bucketStates = []byte("states") // app name → stateRecord (JSON)

// ErrStale is returned when a state does not win over the one in force.
var ErrStale = errors.New("cache: app state is older than the one in force")

// Stamp orders the states of one app: generation, then hybrid logical
// clock, then node id. Gen grows by one with every change made anywhere;
// two changes made on both sides of a partition share a Gen and are told
// apart by HLC, then Node.
type Stamp struct {
	Gen  int    `json:"gen"`
	HLC  uint64 `json:"hlc"`
	Node string `json:"node"`
}

// Less reports whether s loses to o.
func (s Stamp) Less(o Stamp) bool {
	if s.Gen != o.Gen {
		return s.Gen < o.Gen
	}
	if s.HLC != o.HLC {
		return s.HLC < o.HLC
	}
	return s.Node < o.Node
}

// AppState is one app's state as a mesh gossips it: the version that
// serves and its signed manifest, or a tombstone (Removed, no manifest).
type AppState struct {
	App      string    `json:"app"`
	Stamp    Stamp     `json:"stamp"`
	Version  int       `json:"version,omitempty"`
	Removed  bool      `json:"removed,omitempty"`
	Manifest *Manifest `json:"manifest,omitempty"`
}

// stateRecord is what bucketStates holds for an app.
type stateRecord struct {
	Stamp   Stamp `json:"stamp"`
	Version int   `json:"version,omitempty"`
	Removed bool  `json:"removed,omitempty"`
	Seq     int   `json:"seq,omitempty"` // the highest version number ever used
}

// SetNode names this node in the stamps of the changes made here, and
// gives the clock they are stamped with (nil: wall-clock nanoseconds).
// Call it before the first change.
func (c *Cache) SetNode(node string, clock func() uint64) {
	c.node, c.clock = node, clock
}

// SetFloor gives what the mesh knows of each app beyond what this node
// has applied yet (the generation and version of the winning state it
// heard of): a change made here is numbered past it, so a deploy to a
// node that is still fetching the previous one does not conflict with it.
func (c *Cache) SetFloor(floor func(app string) (gen, version int)) {
	c.floor = floor
}

// floorOf is SetFloor's answer, or zeros.
func (c *Cache) floorOf(app string) (gen, version int) {
	if c.floor == nil {
		return 0, 0
	}
	return c.floor(app)
}

// stampLocal records a change made on this node as the state in force.
func (c *Cache) stampLocal(tx *bolt.Tx, app string, version int, removed bool) error {
	cur := getState(tx, app)
	if gen, _ := c.floorOf(app); gen > cur.Stamp.Gen {
		cur.Stamp.Gen = gen
	}
	hlc := uint64(c.now().UnixNano())
	if c.clock != nil {
		hlc = c.clock()
	}
	return putState(tx, app, stateRecord{
		Stamp:   Stamp{Gen: cur.Stamp.Gen + 1, HLC: hlc, Node: c.node},
		Version: version, Removed: removed, Seq: max(cur.Seq, version),
	})
}

func getState(tx *bolt.Tx, app string) stateRecord {
	var r stateRecord
	if b := tx.Bucket(bucketStates); b != nil {
		_ = json.Unmarshal(b.Get([]byte(app)), &r)
	}
	return r
}

func putState(tx *bolt.Tx, app string, r stateRecord) error {
	b, err := tx.CreateBucketIfNotExists(bucketStates)
	if err != nil {
		return err
	}
	enc, _ := json.Marshal(r)
	return b.Put([]byte(app), enc)
}

// States lists the state in force of every app that has one (tombstones
// included), with the active manifest of those that serve.
func (c *Cache) States() ([]*AppState, error) {
	var out []*AppState
	err := c.db.View(func(tx *bolt.Tx) error {
		seen := map[string]bool{}
		if b := tx.Bucket(bucketStates); b != nil {
			_ = b.ForEach(func(k, _ []byte) error {
				seen[string(k)] = true
				out = append(out, stateOf(tx, string(k)))
				return nil
			})
		}
		d := tx.Bucket(bucketDeploys)
		return d.ForEach(func(k, _ []byte) error {
			if !seen[string(k)] { // deployed before states were recorded
				out = append(out, stateOf(tx, string(k)))
			}
			return nil
		})
	})
	return out, err
}

// State returns one app's state in force (a zero Stamp if it has none).
func (c *Cache) State(app string) (*AppState, error) {
	var st *AppState
	err := c.db.View(func(tx *bolt.Tx) error {
		st = stateOf(tx, app)
		return nil
	})
	return st, err
}

func stateOf(tx *bolt.Tx, app string) *AppState {
	r := getState(tx, app)
	st := &AppState{App: app, Stamp: r.Stamp, Removed: r.Removed}
	if b := appBucket(tx, app); b != nil && !r.Removed {
		st.Version = getUint(b, keyActive)
		st.Manifest, _ = decodeVersion(b, st.Version)
	}
	return st
}

// CommitState applies a state made elsewhere: st.Manifest stored as
// version st.Version (replacing a different manifest of that number, the
// loser of a partition) and made active, or, for a tombstone, the app's
// versions forgotten. It returns ErrStale unless st wins over the state in
// force.
func (c *Cache) CommitState(st *AppState, keep int) (pruned []int, err error) {
	if keep <= 0 {
		keep = DefaultKeepVersions
	}
	c.gcMu.Lock()
	defer c.gcMu.Unlock()
	var drop dropped
	err = c.db.Update(func(tx *bolt.Tx) error {
		if cur := getState(tx, st.App); !cur.Stamp.Less(st.Stamp) {
			return ErrStale
		}
		var gone []*Manifest
		if st.Removed {
			if b := appBucket(tx, st.App); b != nil {
				gone = versionsOf(b)
				if err := tx.Bucket(bucketDeploys).DeleteBucket([]byte(st.App)); err != nil {
					return err
				}
			}
		} else {
			if err := checkBlobs(tx, st.Manifest); err != nil {
				return err
			}
			app, err := tx.Bucket(bucketDeploys).CreateBucketIfNotExists([]byte(st.App))
			if err != nil {
				return err
			}
			m := *st.Manifest
			m.Version = st.Version
			if old, err := decodeVersion(app, st.Version); err == nil && old.Signature != m.Signature {
				gone = append(gone, old)
			}
			enc, err := json.Marshal(&m)
			if err != nil {
				return err
			}
			if err := app.Put(versionKey(st.Version), enc); err != nil {
				return err
			}
			if err := putUint(app, keySeq, max(getUint(app, keySeq), st.Version)); err != nil {
				return err
			}
			if err := putUint(app, keyActive, st.Version); err != nil {
				return err
			}
			var more []*Manifest
			if pruned, more, err = prune(app, keep, st.Version); err != nil {
				return err
			}
			gone = append(gone, more...)
		}
		seq := max(getState(tx, st.App).Seq, st.Version)
		if err := putState(tx, st.App, stateRecord{Stamp: st.Stamp, Version: st.Version, Removed: st.Removed, Seq: seq}); err != nil {
			return err
		}
		drop, err = dropUnreferenced(tx, gone)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cache: apply %s gen %d: %w", st.App, st.Stamp.Gen, err)
	}
	c.finishDrop(drop)
	return pruned, nil
}
