package gossip

import (
	"math/rand/v2"
	"time"

	"github.com/hashicorp/memberlist"
)

// purgeSyncInterval is how often a member asks one other, picked at
// random, for the purge statements it lacks: how a member that was
// partitioned away, or down, during a purge catches up after it is back
// (within purgeMemory of the purge). A variable for tests.
var purgeSyncInterval = 5 * time.Second

// startPurgeSync starts the catch-up loop; it ends with the mesh.
func (m *Mesh) startPurgeSync() {
	m.startGap(time.Now())
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(purgeSyncInterval)
		defer t.Stop()
		m.checkGap(time.Now()) // joined at start: record it, ask for what was missed
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.checkGap(time.Now())
				m.sendDigest()
			}
		}
	}()
}

// sendDigest sends the ids of the statements held here to one random
// live member, which answers with the statements missing from it and, if
// the digest names statements it lacks, with its own digest, which this
// member answers in turn. A member holding no statement sends nothing: it
// has nothing to offer, and it hears from those that hold some. So a mesh
// with no recent purge exchanges no digests at all (no streams across
// regions for nothing).
func (m *Mesh) sendDigest() {
	var others []memberlist.Node
	for _, n := range m.liveNodes() {
		if n.Name != m.cfg.Name {
			others = append(others, n)
		}
	}
	if len(others) == 0 {
		return
	}
	m.digestTo(&others[rand.IntN(len(others))], false)
}

// digestTo sends to the ids of the statements held here; with none held,
// only when asking (to holds statements this member lacks).
func (m *Mesh) digestTo(to *memberlist.Node, asking bool) {
	m.mu.Lock()
	have := make([]string, 0, len(m.purges))
	for id := range m.purges {
		have = append(have, id)
	}
	m.mu.Unlock()
	if len(have) == 0 && !asking {
		return
	}
	msg, err := encodePurge(purgeMessage{Digest: true, From: m.cfg.Name, Have: have})
	if err != nil {
		return
	}
	if err := m.ml.SendReliable(to, msg); err != nil {
		m.log.Debug("purge digest not sent", "to", to.Name, "err", err)
	}
	m.bytes.sent.Add(int64(len(msg)))
}

// answerDigest sends member from the statements held here that its
// digest does not name, each marked as catch-up.
func (m *Mesh) answerDigest(from string, have []string) {
	if from == "" || from == m.cfg.Name {
		return
	}
	var to *memberlist.Node
	for _, n := range m.liveNodes() {
		if n.Name == from {
			to = &n
			break
		}
	}
	if to == nil {
		return
	}
	known := make(map[string]bool, len(have))
	for _, id := range have {
		known[id] = true
	}
	var msgs [][]byte
	m.mu.Lock()
	lacking := false
	for id := range known {
		if _, ok := m.purges[id]; !ok {
			lacking = true
		}
	}
	for id, st := range m.purges {
		if known[id] {
			continue
		}
		if msg, err := encodePurge(purgeMessage{Statement: st, CatchUp: true}); err == nil {
			msgs = append(msgs, msg)
		}
	}
	m.mu.Unlock()
	for _, msg := range msgs {
		if err := m.ml.SendReliable(to, msg); err != nil {
			m.log.Debug("purge catch-up not sent", "to", from, "err", err)
			return
		}
		m.bytes.sent.Add(int64(len(msg)))
	}
	if lacking {
		m.digestTo(to, true) // from holds statements this member lacks: ask for them
	}
}
