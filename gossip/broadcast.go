package gossip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/gossip/state"
	"github.com/hashicorp/memberlist"
)

// Message kinds, the first byte of every user message.
const (
	msgState byte = 1
	// msgBye is a member's name, sent as it leaves on purpose.
	msgBye byte = 2
)

// maxBroadcast is the largest message (a purge) gossiped in packets: memberlist's UDP
// buffer is 1400 bytes, less its headers and encryption.
const maxBroadcast = 1100

func encodeRecord(rec Record) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return append([]byte{msgState}, b...), nil
}

func decodeRecord(msg []byte) (Record, error) {
	if len(msg) == 0 || msg[0] != msgState {
		return nil, errors.New("gossip: unknown message kind")
	}
	var rec state.AppState
	if err := json.Unmarshal(msg[1:], &rec); err != nil {
		return nil, err
	}
	if rec.App == "" {
		return nil, errors.New("gossip: state without an app")
	}
	return &rec, nil
}

// counters measure gossip traffic of user messages and state exchanges.
type counters struct{ sent, received atomic.Int64 }

// delegate is the Mesh as memberlist's Delegate.
type delegate Mesh

func (d *delegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	meta := d.cfg.Meta
	d.mu.Unlock()
	b, err := meta.encode()
	if err != nil || len(b) > limit {
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg(msg []byte) {
	m := (*Mesh)(d)
	m.bytes.received.Add(int64(len(msg)))
	if len(msg) > 1 && msg[0] == msgBye {
		m.mu.Lock()
		if name := string(msg[1:]); m.seen[name] != "" { // only members it knows: names from strangers are not kept
			m.gone[name] = "left"
		}
		m.mu.Unlock()
		return
	}
	if len(msg) > 1 && msg[0] == msgHello {
		m.hearHello(msg)
		return
	}
	if len(msg) > 1 && msg[0] == msgPurge {
		if err := m.receivePurge(msg); err != nil {
			m.log.Debug("purge dropped", "err", err)
		}
		return
	}
	if len(msg) > 0 && msg[0] == msgFanInline && m.inlineMax() > 0 {
		role, via, rec, blobs, err := decodeFanInline(msg)
		if err != nil {
			m.log.Debug("message dropped", "err", err)
			return
		}
		m.receiveWith(rec, "message", via, role == fanRelay, blobs)
		return
	}
	if len(msg) > 0 && msg[0] == msgFan {
		role, via, rec, err := decodeFan(msg)
		if err != nil {
			m.log.Debug("message dropped", "err", err)
			return
		}
		m.receive(rec, "message", via, role == fanRelay)
		return
	}
	rec, err := decodeRecord(msg)
	if err != nil {
		m.log.Debug("message dropped", "err", err)
		return
	}
	m.receive(rec, "message", "", false)
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	out := d.queue.GetBroadcasts(overhead, limit)
	for _, b := range out {
		d.bytes.sent.Add(int64(len(b)))
	}
	return out
}

// pushBudget bounds the states one push/pull carries, far below
// memberlist's 20 MiB limit on it: past that limit the exchange would
// fail and the mesh stop syncing.
var pushBudget = 4 << 20

// LocalState is the winning states known here, for push/pull: all of them
// while they fit pushBudget; beyond, a window of them starting at a random
// app, so that successive exchanges cover every app. New changes travel
// by direct sends and broadcasts; this is the catch-up path.
func (d *delegate) LocalState(join bool) []byte {
	d.mu.Lock()
	recs := make([]Record, 0, len(d.best))
	for _, r := range d.best {
		recs = append(recs, r)
	}
	d.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i].App < recs[j].App })
	start := 0
	if len(recs) > 0 {
		start = rand.IntN(len(recs))
	}
	b := []byte{'['}
	for i := range recs {
		enc, err := json.Marshal(recs[(start+i)%len(recs)])
		if err != nil || len(b)+len(enc)+2 > pushBudget {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, enc...)
	}
	b = append(b, ']')
	d.bytes.sent.Add(int64(len(b)))
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	m := (*Mesh)(d)
	m.bytes.received.Add(int64(len(buf)))
	recs, err := decodeRemoteState(buf)
	if err != nil {
		m.log.Debug("remote state dropped", "err", err)
		return
	}
	for _, r := range recs {
		// learnt here, not at a join (when every state is new to the
		// joiner, and its region has them): this region may lack it.
		m.receive(r, "push/pull", "", !join)
	}
}

// decodeRemoteState reads a member's push/pull state (its LocalState):
// the states in it that name an app, each still to be verified.
func decodeRemoteState(buf []byte) ([]*state.AppState, error) {
	var recs []*state.AppState
	if err := json.Unmarshal(buf, &recs); err != nil {
		return nil, fmt.Errorf("gossip: remote state: %w", err)
	}
	return slices.DeleteFunc(recs, func(r *state.AppState) bool { return r == nil || r.App == "" }), nil
}

// events is the Mesh as memberlist's EventDelegate: it remembers every
// member ever seen, for the rejoin loop and the members list.
type events Mesh

func (e *events) NotifyJoin(n *memberlist.Node) {
	e.mu.Lock()
	e.seen[n.Name] = n.Address()
	e.live[n.Name] = copyNode(n)
	(*Mesh)(e).placeMember(n)
	go (*Mesh)(e).greet(copyNode(n))
	delete(e.gone, n.Name)
	delete(e.goneAt, n.Name)
	if h, ok := e.heard[n.Name]; ok {
		e.log.Debug("member said hello before its gossip came", "member", n.Name, "lag", time.Since(h.at), "joined", h.joining)
		delete(e.heard, n.Name)
	}
	e.mu.Unlock()
	e.log.Info("member joined", "member", n.Name, "addr", n.Address())
	(*Mesh)(e).warnTimings(decodeMeta(n.Meta).Region)
	// a newcomer may lack states spread just before the others knew it:
	// greet sends it those of the last recentFor; push/pull at join
	// covers the rest from the node it contacted.
}

// NotifyLeave records how a member went: "left" after a graceful leave,
// "dead" when it stopped answering.
func (e *events) NotifyLeave(n *memberlist.Node) {
	how := "dead"
	e.mu.Lock()
	if e.gone[n.Name] == "left" { // it said goodbye first
		how = "left"
	}
	e.gone[n.Name] = how
	e.goneAt[n.Name] = time.Now()
	delete(e.live, n.Name)
	e.mu.Unlock()
	e.log.Info("member gone", "member", n.Name, "state", how)
}

func (e *events) NotifyUpdate(n *memberlist.Node) {
	(*Mesh)(e).placeMember(n)
	e.mu.Lock()
	e.seen[n.Name] = n.Address()
	e.live[n.Name] = copyNode(n)
	e.mu.Unlock()
}

// copyNode copies a node memberlist tells an event about. Events are
// delivered while memberlist holds its node lock, so this is the one
// moment its *Node may be read: memberlist keeps updating the nodes that
// Members() hands out, and reading them later races with it.
func copyNode(n *memberlist.Node) memberlist.Node {
	c := *n
	c.Meta = bytes.Clone(n.Meta)
	c.Addr = slices.Clone(n.Addr)
	return c
}

// liveNodes lists copies of the members memberlist holds alive (this node
// included), as its events reported them.
func (m *Mesh) liveNodes() []memberlist.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]memberlist.Node, 0, len(m.live))
	for _, n := range m.live {
		out = append(out, n)
	}
	return out
}

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*events)(nil)
)
