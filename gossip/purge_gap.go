package gossip

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/hashicorp/memberlist"
)

// A member away from the mesh for longer than purgeMemory cannot catch
// up on the purges it missed: the others have forgotten them, and would
// refuse them as too old anyway. So each member tracks when it was last
// in sync with the mesh's purges and, when a gap longer than
// purgeGapLimit ends, calls Config.OnPurgeGap: the node then makes every
// response it caches before that be revalidated with its origin before it
// is served again (httpcache.Cache.RequireRevalidation). Three ways a gap
// ends:
//
//   - A restart: the time is persisted in the store (MarkPurgeSync), and
//     the node checks it before serving (MissedPurges).
//   - This member was cut off from every other one (isolated) and is
//     connected again.
//   - A whole group of members was cut off from another group: each side
//     has peers, so neither is isolated. When a member sees another alive
//     again after losing it for longer than the limit, it sends it a gap
//     notice (its start time and when it lost it); the receiver acts if
//     both of them ran through the whole gap. A member that was merely
//     down accepted no purges meanwhile, and catches up by the restart
//     rule, so its return makes no one else revalidate.

// purgeGapLimit is the longest gap the catch-up (purge_sync.go) covers
// safely: purgeMemory less a margin for the persisted time's lag, clock
// skew and catch-up rounds. A variable for tests.
var purgeGapLimit = purgeMemory - time.Minute

// purgeSyncPersist is how often the in-sync time is written to the store.
const purgeSyncPersist = 30 * time.Second

// purgeSyncNS and purgeSyncKey name the persisted in-sync time.
const (
	purgeSyncNS  = "purge"
	purgeSyncKey = "synced"
)

// MarkPurgeSync records in store that this node was in sync with its
// mesh's purges at t.
func MarkPurgeSync(store *cache.Cache, t time.Time) error {
	b, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	return store.KV(purgeSyncNS).Put(purgeSyncKey, b)
}

// MissedPurges reports whether a node starting on store may have missed
// purges: it never recorded being in sync, or did so longer ago than the
// catch-up covers. It returns the recorded time (zero if none).
func MissedPurges(store *cache.Cache, now time.Time) (time.Time, bool) {
	b, err := store.KV(purgeSyncNS).Get(purgeSyncKey)
	var t time.Time
	if err != nil || b == nil || t.UnmarshalText(b) != nil {
		return time.Time{}, true
	}
	return t, now.Sub(t) > purgeGapLimit
}

// purgeGap is a member's view of its own purge sync.
type purgeGap struct {
	mu        sync.Mutex
	upSince   time.Time            // when this member started
	lastSync  time.Time            // the last tick it was in sync
	persisted time.Time            // when lastSync was last written
	connected bool                 // the last tick saw another live member
	hadPeer   bool                 // some tick since start saw one
	lastSeen  map[string]time.Time // each other member's last tick alive
	fired     time.Time            // the last OnPurgeGap call
}

// gapNotice is sent to a member seen alive again after a long absence.
type gapNotice struct {
	Up   time.Time `json:"up"`   // the sender's start
	Lost time.Time `json:"lost"` // when the sender last saw the receiver alive
}

// startGap sets the tracker up when the mesh starts.
func (m *Mesh) startGap(now time.Time) {
	g := &m.gap
	g.mu.Lock()
	defer g.mu.Unlock()
	g.upSince, g.lastSync, g.lastSeen = now, now, map[string]time.Time{}
}

// checkGap runs on every purge sync tick: it records whether this member
// is in sync, ends a gap (OnPurgeGap) when it was isolated too long, asks
// a member for missed statements when it connects, and sends gap notices.
func (m *Mesh) checkGap(now time.Time) {
	var others []memberlist.Node
	for _, n := range m.liveNodes() {
		if n.Name != m.cfg.Name {
			others = append(others, n)
		}
	}
	g := &m.gap
	g.mu.Lock()
	connected := len(others) > 0
	// Alone by design (the first member, no --join, no peer yet) is in
	// sync: there is no one whose purges it could miss.
	inSync := connected || (!g.hadPeer && len(m.cfg.Join) == 0)
	var gapSince time.Time
	if inSync && now.Sub(g.lastSync) > purgeGapLimit {
		gapSince = g.lastSync
	}
	joined := connected && !g.connected
	g.connected = connected
	g.hadPeer = g.hadPeer || connected
	var persist bool
	if inSync {
		g.lastSync = now
		if now.Sub(g.persisted) >= purgeSyncPersist {
			g.persisted, persist = now, true
		}
	}
	var notices []memberlist.Node
	var lost []time.Time
	for _, n := range others {
		if seen, ok := g.lastSeen[n.Name]; ok && now.Sub(seen) > purgeGapLimit {
			notices, lost = append(notices, n), append(lost, seen)
		}
		g.lastSeen[n.Name] = now
	}
	up := g.upSince
	g.mu.Unlock()

	if !gapSince.IsZero() {
		m.gapEnded(gapSince, "this member was cut off from the mesh")
	}
	if persist {
		if err := MarkPurgeSync(m.cfg.Cache, now); err != nil {
			m.log.Warn("cannot record the purge sync time", "err", err)
		}
	}
	if joined {
		m.log.Info("purges in sync with the mesh", "members", len(others)+1)
		ask := nearest(others, m.cfg.Region)
		m.digestTo(&ask[rand.IntN(len(ask))], true) // ask at once for what was missed
	}
	for i := range notices {
		m.sendGapNotice(&notices[i], up, lost[i])
	}
}

// sendGapNotice tells to that this member ran since up and lost it at lost.
func (m *Mesh) sendGapNotice(to *memberlist.Node, up, lost time.Time) {
	msg, err := encodePurge(purgeMessage{From: m.cfg.Name, Gap: &gapNotice{Up: up, Lost: lost}})
	if err != nil {
		return
	}
	if err := m.ml.SendReliable(to, msg); err != nil {
		m.log.Debug("purge gap notice not sent", "to", to.Name, "err", err)
		return
	}
	m.bytes.sent.Add(int64(len(msg)))
}

// receiveGap acts on a gap notice: if the sender and this member both
// ran through the whole gap, each may have taken purges the other lacks.
func (m *Mesh) receiveGap(from string, n *gapNotice) {
	m.gap.mu.Lock()
	up := m.gap.upSince
	m.gap.mu.Unlock()
	if up.IsZero() || n.Up.IsZero() || !n.Up.Before(n.Lost) || !up.Before(n.Lost) {
		return // one of the two was down meanwhile: nothing was missed here
	}
	m.gapEnded(n.Lost, "member "+from+" was cut off from this one")
}

// gapEnded calls OnPurgeGap once for a burst of gap reports (a heal
// brings one notice from each member of the other side).
func (m *Mesh) gapEnded(since time.Time, why string) {
	now := time.Now()
	m.gap.mu.Lock()
	dup := now.Sub(m.gap.fired) < 2*purgeSyncInterval
	if !dup {
		m.gap.fired = now
	}
	m.gap.mu.Unlock()
	if dup {
		return
	}
	m.log.Warn("purges may have been missed: cached responses must be revalidated", "since", since, "why", why)
	if m.cfg.OnPurgeGap != nil {
		m.cfg.OnPurgeGap(since)
	}
}

// nearest is the members of region among nodes, or all of them if none
// is: a catch-up question stays inside the region when it can (the
// statements reach every region alike), sparing streams across regions.
func nearest(nodes []memberlist.Node, region string) []memberlist.Node {
	var same []memberlist.Node
	for _, n := range nodes {
		if decodeMeta(n.Meta).Region == region {
			same = append(same, n)
		}
	}
	if len(same) == 0 {
		return nodes
	}
	return same
}
