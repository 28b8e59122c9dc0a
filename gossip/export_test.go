package gossip

import "time"

// AdvertisePeer advertises addr as this node's peer endpoint: tests put a
// tarpit, a liar or a recording proxy in its place.
func (m *Mesh) AdvertisePeer(addr string) error {
	m.mu.Lock()
	m.cfg.Meta.Peer = addr
	m.mu.Unlock()
	return m.ml.UpdateNode(time.Second)
}

// Stuff puts recs in the node's best states unchecked and unsent: a rogue
// member's memory, which its push/pull then carries.
func (m *Mesh) Stuff(recs []Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		m.best[r.App] = r
	}
}

// Sizes are the lengths of the node's maps of states and members, and of
// its push/pull state.
func (m *Mesh) Sizes() (best, seen, gone, push int) {
	push = len((*delegate)(m).LocalState(false))
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.best), len(m.seen), len(m.gone) + len(m.goneAt), push
}

// Deliver hands msg to the node as if a member had sent it.
func (m *Mesh) Deliver(msg []byte) { (*delegate)(m).NotifyMsg(msg) }

// PushBudget is the bound on a push/pull's states.
func PushBudget() int { return pushBudget }

// Prune runs the retention as if at now.
func (m *Mesh) Prune(now time.Time) { m.prune(now) }

// EncodeInline is a fan-out message carrying blobs inline, as a member
// (or a rogue one) sends it; relay sets its role.
func EncodeInline(relay bool, via string, rec Record, blobs [][]byte) ([]byte, error) {
	role := fanMember
	if relay {
		role = fanRelay
	}
	return encodeFanInline(role, via, rec, blobs)
}

// Missing lists the names of all that memberlist does not hold alive on
// this node, each with what this node's events said of it: "absent"
// (never seen), or how it went ("dead", "left").
func (m *Mesh) Missing(all []string) map[string]string {
	out := map[string]string{}
	alive := map[string]bool{}
	for _, n := range m.ml.Members() {
		alive[n.Name] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range all {
		if alive[name] {
			continue
		}
		switch {
		case m.gone[name] != "":
			out[name] = m.gone[name]
		case m.seen[name] != "":
			out[name] = "seen, not alive"
		default:
			out[name] = "absent"
		}
	}
	return out
}
