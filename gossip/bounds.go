package gossip

import (
	"sort"
	"time"
)

// DefaultRetention is how long a tombstone is gossiped and a departed
// member remembered: longer than any partition the mesh is meant to heal
// from. A node back after longer still cannot be rewound by an old state:
// its cache keeps every app's highest signed sequence (the Head), and so
// does every node that applied the removal.
const DefaultRetention = 7 * 24 * time.Hour

// maxGone bounds the departed members remembered, whatever the retention:
// a member churning names cannot grow this node's memory.
const maxGone = 1024

// maxRefusedLogs bounds the "state refused" lines logged per second: a
// flood of bad states is counted (Refused), not written out one by one.
const maxRefusedLogs = 16

// prune forgets tombstones whose statement is older than the retention
// (the cache's Head keeps the app's high-water mark) and members gone
// longer than the retention, or beyond the maxGone most recent.
func (m *Mesh) prune(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for app, rec := range m.best {
		if rec.Removed && rec.Statement != nil && now.Sub(rec.Statement.Time) > m.cfg.Retention {
			delete(m.best, app)
		}
	}
	type departed struct {
		name string
		at   time.Time
	}
	var gone []departed
	for name, at := range m.goneAt {
		if now.Sub(at) > m.cfg.Retention {
			m.forget(name)
			continue
		}
		gone = append(gone, departed{name, at})
	}
	if len(gone) > maxGone {
		sort.Slice(gone, func(i, j int) bool { return gone[i].at.After(gone[j].at) })
		for _, d := range gone[maxGone:] {
			m.forget(d.name)
		}
	}
}

// forget drops a departed member. Called with m.mu held.
func (m *Mesh) forget(name string) {
	delete(m.seen, name)
	delete(m.gone, name)
	delete(m.goneAt, name)
	m.fan.mu.Lock()
	delete(m.fan.region, name)
	delete(m.fan.peer, name)
	m.fan.mu.Unlock()
}

// logRefusal reports whether a refusal may be logged: at most
// maxRefusedLogs a second.
func (m *Mesh) logRefusal(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.refusedWindow) >= time.Second {
		m.refusedWindow, m.refusedLogged = now, 0
	}
	m.refusedLogged++
	return m.refusedLogged <= maxRefusedLogs
}
