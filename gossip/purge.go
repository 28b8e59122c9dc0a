package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgecdn/edge/gossip/trust"
	"github.com/hashicorp/memberlist"
)

// msgPurge is a purge message (purgeMessage as JSON): a purge statement
// signed by a deploy key trusted for its app, or a digest of the
// statements a member holds (purge_sync.go). The gossip key encrypts and
// authenticates it between members; the deploy key's signature is what
// makes a member act on a statement, so a member that holds the gossip key
// but no deploy key for the app cannot purge it.
const msgPurge byte = 3

// purgeMessage is what travels as msgPurge.
type purgeMessage struct {
	Statement *trust.PurgeStatement `json:"statement,omitempty"`
	// CatchUp marks a statement sent in answer to a digest: applied, not
	// relayed (the others have it).
	CatchUp bool `json:"catchup,omitempty"`
	// Digest: From holds the statements Have names and asks for the rest.
	Digest bool     `json:"digest,omitempty"`
	From   string   `json:"from,omitempty"`
	Have   []string `json:"have,omitempty"`
	// Gap: From saw this member alive again after a long absence
	// (purge_gap.go).
	Gap *gapNotice `json:"gap,omitempty"`
}

// purgeMemory is how long a statement is kept (its id remembered, the
// statement itself offered to members that missed it) and how old one
// may be: the copies arriving by gossip, relay, direct send and catch-up
// apply it once, and a statement older than this is refused, so that it
// cannot be replayed once forgotten.
const purgeMemory = 10 * time.Minute

// maxPurgeLog bounds the statements kept; past it the oldest go first.
const maxPurgeLog = 4096

func encodePurge(pm purgeMessage) ([]byte, error) {
	b, err := json.Marshal(pm)
	if err != nil {
		return nil, err
	}
	return append([]byte{msgPurge}, b...), nil
}

// PublishPurge spreads a signed purge statement to every member, which
// checks it and hands it to its Config.OnPurge. It does not apply it here.
// It sends to every live member directly (TCP) and gossips it too, for
// members the direct send misses, keeps it for members that were away
// (purge_sync.go), and returns how many members the direct sends reached.
func (m *Mesh) PublishPurge(st *trust.PurgeStatement) (int, error) {
	if err := trust.VerifyPurge(st, m.cfg.Trusted, time.Now(), purgeMemory); err != nil {
		return 0, fmt.Errorf("gossip: purge: %w", err)
	}
	msg, err := encodePurge(purgeMessage{Statement: st})
	if err != nil {
		return 0, err
	}
	m.firstSight(st)
	if m.queue != nil && len(msg) <= maxBroadcast {
		m.queue.QueueBroadcast(&purgeBroadcast{msg: msg})
	}
	return m.sendDirect(msg), nil
}

// receivePurge answers a digest, or checks a statement and, seen for the
// first time, applies and relays it. A statement that fails the check is
// refused (counted in Refused) and goes no further.
func (m *Mesh) receivePurge(msg []byte) error {
	pm, err := decodePurge(msg)
	if err != nil {
		return err
	}
	if pm.Digest {
		m.answerDigest(pm.From, pm.Have)
		return nil
	}
	if pm.Gap != nil {
		m.receiveGap(pm.From, pm.Gap)
		return nil
	}
	st := pm.Statement
	// Checked before its id is recorded: a forged copy must not make
	// the genuine statement look already seen.
	if err := trust.VerifyPurge(st, m.cfg.Trusted, time.Now(), purgeMemory); err != nil {
		m.refused.Add(1)
		if m.logRefusal(time.Now()) {
			m.log.Warn("purge refused", "app", st.App, "id", st.ID, "err", err)
		}
		return err
	}
	if !m.firstSight(st) {
		return nil
	}
	if m.cfg.OnPurge != nil {
		m.cfg.OnPurge(st.App, st.Purge, st.Time)
	}
	if !pm.CatchUp && m.queue != nil && len(msg) <= maxBroadcast {
		m.queue.QueueBroadcast(&purgeBroadcast{msg: msg})
	}
	return nil
}

// decodePurge reads a purge message from any member: a digest, a gap
// notice, or else a statement, whose signature the caller checks
// (trust.VerifyPurge) before acting on it.
func decodePurge(msg []byte) (purgeMessage, error) {
	var pm purgeMessage
	if len(msg) == 0 || msg[0] != msgPurge {
		return pm, errors.New("gossip: not a purge message")
	}
	if err := json.Unmarshal(msg[1:], &pm); err != nil {
		return purgeMessage{}, fmt.Errorf("gossip: purge message: %w", err)
	}
	if !pm.Digest && pm.Gap == nil && pm.Statement == nil {
		return purgeMessage{}, errors.New("gossip: purge message without a statement")
	}
	return pm, nil
}

// purgeLog is the statements seen in the last purgeMemory, by id.
type purgeLog map[string]*trust.PurgeStatement

// firstSight records st and reports whether it was new, forgetting
// statements older than purgeMemory and, past maxPurgeLog, the oldest.
func (m *Mesh) firstSight(st *trust.PurgeStatement) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.purges == nil {
		m.purges = purgeLog{}
	}
	if _, ok := m.purges[st.ID]; ok {
		return false
	}
	now := time.Now()
	var oldest *trust.PurgeStatement
	for id, s := range m.purges {
		if now.Sub(s.Time) > purgeMemory {
			delete(m.purges, id)
		} else if oldest == nil || s.Time.Before(oldest.Time) {
			oldest = s
		}
	}
	if len(m.purges) >= maxPurgeLog && oldest != nil {
		delete(m.purges, oldest.ID)
	}
	m.purges[st.ID] = st
	return true
}

// purgeBroadcast is a queued purge; purges never replace each other.
type purgeBroadcast struct{ msg []byte }

func (b *purgeBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *purgeBroadcast) Message() []byte                       { return b.msg }
func (b *purgeBroadcast) Finished()                             {}
