package gossip

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/hashicorp/memberlist"
)

// msgPurge is a purge statement: {"id", "node", "body"}, body opaque to the
// mesh (the HTTP cache's purge). Like every gossip message it is
// encrypted and authenticated with the mesh's gossip key, so only a
// member can make one; the admin token guards the node it starts from.
const msgPurge byte = 3

// purgeStatement is one purge as it travels.
type purgeStatement struct {
	ID   string          `json:"id"`
	Node string          `json:"node"`
	Body json.RawMessage `json:"body"`
}

// purgeMemory is how long a statement's id is remembered, so that the
// copies arriving by gossip, relay and direct send apply it once.
const purgeMemory = 10 * time.Minute

// PublishPurge spreads body to every member, which hands it to its
// Config.OnPurge. It does not apply it here. It sends to every live
// member directly (TCP) and gossips it too, for members the direct send
// misses, and returns how many members the direct sends reached.
func (m *Mesh) PublishPurge(body []byte) (int, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	st := purgeStatement{ID: hex.EncodeToString(id[:]), Node: m.cfg.Name, Body: body}
	msg, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	msg = append([]byte{msgPurge}, msg...)
	m.firstSight(st.ID)
	if m.queue != nil && len(msg) <= maxBroadcast {
		m.queue.QueueBroadcast(&purgeBroadcast{msg: msg})
	}
	return m.sendDirect(msg), nil
}

// receivePurge applies a statement seen for the first time and relays it.
func (m *Mesh) receivePurge(msg []byte) error {
	var st purgeStatement
	if err := json.Unmarshal(msg[1:], &st); err != nil {
		return err
	}
	if st.ID == "" || len(st.Body) == 0 {
		return errors.New("gossip: purge without id or body")
	}
	if !m.firstSight(st.ID) {
		return nil
	}
	if m.cfg.OnPurge != nil {
		m.cfg.OnPurge(st.Body)
	}
	if m.queue != nil && len(msg) <= maxBroadcast {
		m.queue.QueueBroadcast(&purgeBroadcast{msg: msg})
	}
	return nil
}

// firstSight records id and reports whether it was new, forgetting ids
// older than purgeMemory.
func (m *Mesh) firstSight(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.purges == nil {
		m.purges = map[string]time.Time{}
	}
	if _, ok := m.purges[id]; ok {
		return false
	}
	for k, t := range m.purges {
		if now.Sub(t) > purgeMemory {
			delete(m.purges, k)
		}
	}
	m.purges[id] = now
	return true
}

// purgeBroadcast is a queued purge; purges never replace each other.
type purgeBroadcast struct{ msg []byte }

func (b *purgeBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *purgeBroadcast) Message() []byte                       { return b.msg }
func (b *purgeBroadcast) Finished()                             {}
