package state

import (
	"fmt"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
)

// Ledger turns changes into cache Changes stamped in the mesh's order.
// The zero Ledger (no Node, no Clock, no Floor) stamps with wall-clock
// time and an empty node id, which is what a node outside a mesh needs.
type Ledger struct {
	Cache *cache.Cache
	// Node names this node in the stamps of changes made here.
	Node string
	// Clock stamps local changes (nil: wall-clock nanoseconds).
	Clock func() uint64
	// Floor is what the mesh knows of an app beyond what this node has
	// applied (the generation and version of the winning state it heard
	// of): a change made here is numbered past it, so a deploy to a node
	// still fetching the previous one does not conflict with it.
	Floor func(app string) (gen, version int)
}

func (l *Ledger) floor(app string) (gen, version int) {
	if l == nil || l.Floor == nil {
		return 0, 0
	}
	return l.Floor(app)
}

// local is a Decide that stamps a change made on this node, ordered by
// the signed statement s: its sequence must be above both the app's
// current one here and the winning one the mesh knows (ErrReplay). The
// caller has verified s and that it describes the change.
func (l *Ledger) local(app string, removed bool, s *trust.Statement) func(cache.Head, int) ([]byte, error) {
	return func(cur cache.Head, version int) ([]byte, error) {
		if s == nil {
			return nil, trust.ErrNoStatement
		}
		r := decodeRecord(cur)
		gen, _ := l.floor(app)
		if err := CheckSeq(max(r.Stamp.Gen, gen), s.Seq); err != nil {
			return nil, err
		}
		next := record{Stamp: Stamp{Gen: s.Seq, HLC: l.now(), Node: l.Node}, Version: version, Removed: removed, Statement: s}
		return next.encode()
	}
}

// Seq is the app's current sequence as far as this node knows: a change
// is signed at Seq+1.
func (l *Ledger) Seq(app string) (int, error) {
	st, err := l.State(app)
	if err != nil {
		return 0, err
	}
	gen, _ := l.floor(app)
	return max(st.Stamp.Gen, gen), nil
}

// timeNow is the wall clock of a Ledger without a Clock.
var timeNow = time.Now

func (l *Ledger) now() uint64 {
	if l.Clock != nil {
		return l.Clock()
	}
	return uint64(timeNow().UnixNano())
}

// Deploy is the change that stores m as the app's next version and
// activates it, as statement s orders.
func (l *Ledger) Deploy(m *cache.Manifest, s *trust.Statement, keep int) cache.Change {
	_, v := l.floor(m.App)
	m.Version = 0
	return cache.Change{App: m.App, Put: m, Floor: v, Keep: keep, Decide: l.local(m.App, false, s)}
}

// Activate is the change that makes retained version v serve: a rollback,
// as statement s orders.
func (l *Ledger) Activate(app string, v int, s *trust.Statement, keep int) cache.Change {
	return cache.Change{App: app, Activate: v, Keep: keep, Decide: l.local(app, false, s)}
}

// Remove is the change that removes the app, leaving a tombstone, as
// statement s orders.
func (l *Ledger) Remove(app string, s *trust.Statement) cache.Change {
	return cache.Change{App: app, Remove: true, Decide: l.local(app, true, s)}
}

// Apply is the change that applies a state made elsewhere: its manifest
// stored as version st.Version (replacing a different manifest of that
// number, the loser of a partition) and activated, or, for a tombstone,
// the app's versions forgotten. The change fails with ErrStale unless st
// wins over the state in force.
func Apply(st *AppState, keep int) (cache.Change, error) {
	// A tombstone for an app this node never had is still recorded, so
	// that a late copy of the app's state cannot bring it back.
	ch := cache.Change{App: st.App, Keep: keep, Remove: st.Removed, AllowAbsent: true}
	if !st.Removed {
		if st.Manifest == nil || st.Manifest.App != st.App || st.Version <= 0 {
			return ch, fmt.Errorf("state of %s has no manifest for it", st.App)
		}
		m := *st.Manifest
		m.Version = st.Version
		ch.Put = &m
	}
	ch.Decide = func(cur cache.Head, version int) ([]byte, error) {
		r := decodeRecord(cur)
		if !r.Stamp.Less(st.Stamp) {
			return nil, ErrStale
		}
		if st.Stamp.Gen > r.Stamp.Gen {
			if err := CheckSeq(r.Stamp.Gen, st.Stamp.Gen); err != nil {
				return nil, err
			}
		}
		return record{Stamp: st.Stamp, Version: version, Removed: st.Removed, Statement: st.Statement}.encode()
	}
	return ch, nil
}

// State is the app's state in force.
func (l *Ledger) State(app string) (*AppState, error) {
	h, err := l.Cache.AppHeadOf(app)
	if err != nil {
		return nil, err
	}
	return stateOf(h), nil
}

// States lists the state in force of every app that has one (tombstones
// included), with the active manifest of those that serve.
func (l *Ledger) States() ([]*AppState, error) {
	hs, err := l.Cache.Heads()
	if err != nil {
		return nil, err
	}
	out := make([]*AppState, 0, len(hs))
	for _, h := range hs {
		out = append(out, stateOf(h))
	}
	return out, nil
}
