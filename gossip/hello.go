package gossip

import (
	"errors"
	"math"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// Why a member can stay unknown for minutes, and what repairs it.
//
// memberlist spreads a new member's alive message by gossip: each node
// that holds it passes it on a bounded number of times
// (RetransmitMult × ⌈log10(n+1)⌉: 8 below 100 nodes, 12 from 100), to
// random members it knows. A node none of those sends reach (chance; a
// packet lost between regions; or nodes joining at once, unknown to the
// holders while they pass it on) never hears of the newcomer: it holds no
// state of it at all, so memberlist's probes and our rejoin loop (which
// rejoins members seen and no longer alive) pass it by. Only the periodic
// push/pull repairs it, and memberlist starts that after a random stagger
// plus one whole interval, stretched with the mesh: the WAN preset's 60 s
// becomes 120 s at 50 nodes, 180 s at 100, 240 s at 200. Hence the 2-5
// minutes `edge members` disagreed for after a mesh formed.
//
// So each node, on learning of a member, says hello to it: one packet
// with its own name and gossip address. A member that gets a hello from
// a node it does not hold alive, and still does not once the gossip has
// had time to arrive (helloGrace), joins that node: one push/pull
// between the two, as memberlist's periodic one would do minutes later.

// msgHello is a member's name and gossip address, sent to each member it
// learns of.
const msgHello byte = 4

// maxHeard bounds the hellos from unknown members remembered at once.
// Each is joined once at most: a member holding the gossip key cannot
// make a node dial an address more than once per hello it sends.
const maxHeard = 1024

// heard is a hello from a member this node did not hold alive.
type heard struct {
	addr string
	at   time.Time
	// joining: this node has joined it, the gossip having missed it.
	joining bool
}

func encodeHello(name, addr string) ([]byte, error) {
	if len(name) > 255 {
		return nil, errors.New("gossip: node name over 255 bytes")
	}
	msg := make([]byte, 0, 2+len(name)+len(addr))
	msg = append(msg, msgHello, byte(len(name)))
	msg = append(msg, name...)
	return append(msg, addr...), nil
}

// newHello is this node's hello, nil if its name is too long to say one.
func newHello(name, addr string) []byte {
	msg, _ := encodeHello(name, addr)
	return msg
}

func decodeHello(msg []byte) (name, addr string, err error) {
	if len(msg) < 2 || msg[0] != msgHello || msg[1] == 0 || len(msg) < 2+int(msg[1]) {
		return "", "", errors.New("gossip: malformed hello")
	}
	n := int(msg[1])
	name, addr = string(msg[2:2+n]), string(msg[2+n:])
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", "", errors.New("gossip: hello without a gossip address")
	}
	return name, addr, nil
}

// sayHello tells member n this node exists. Best effort, one packet: if
// it is lost as well as every gossip of this node's alive message, the
// push/pull is still there.
func (m *Mesh) sayHello(n memberlist.Node) {
	p := m.hello.Load()
	if p == nil || *p == nil {
		return
	}
	msg := *p
	if err := m.ml.SendBestEffort(&n, msg); err != nil {
		m.log.Debug("hello failed", "to", n.Name, "err", err)
		return
	}
	m.bytes.sent.Add(int64(len(msg)))
}

// hearHello notes a hello from a member this node does not hold alive.
func (m *Mesh) hearHello(msg []byte) {
	name, addr, err := decodeHello(msg)
	if err != nil {
		m.log.Debug("message dropped", "err", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.live[name]; ok || name == m.cfg.Name {
		return
	}
	if _, ok := m.heard[name]; !ok && len(m.heard) < maxHeard {
		m.heard[name] = heard{addr: addr, at: time.Now()}
	}
}

// helloGrace is how long after a hello the sender's alive message is
// still expected by gossip: three times the rounds in which each holder
// passes it on (RetransmitMult × ⌈log10(n+1)⌉, at most one per gossip
// round), as a mesh forming fills memberlist's queues. Measured on the
// WAN simulator, 100 nodes forming 16 at a time: the gossip came after
// the hello within 0.64 s (median), 3.8 s (p99), 7.2 s at most; a grace
// of the rounds alone (4 s) joined 13 members of 4,600 hellos whose gossip
// was still on its way. At 200 nodes on the WAN preset: 18 s, against
// memberlist's 4-5 minutes.
func (m *Mesh) helloGrace() time.Duration {
	n := float64(m.numNodes())
	return 3 * time.Duration(m.retransmitMult*int(math.Ceil(math.Log10(n+1)))) * m.gossipInterval
}

// joinUnheard joins, up to rejoinSample of them, the members that said
// hello longer than helloGrace ago and are still not alive here: the
// gossip of their alive message missed this node. Each is tried once; if
// that fails, memberlist's push/pull is left to repair it, as before.
func (m *Mesh) joinUnheard(now time.Time) {
	grace := m.helloGrace()
	m.mu.Lock()
	var names, addrs []string
	for name, h := range m.heard {
		if now.Sub(h.at) > grace && len(addrs) < rejoinSample {
			names, addrs = append(names, name), append(addrs, h.addr)
			h.joining = true
			m.heard[name] = h
		}
	}
	m.mu.Unlock()
	if len(addrs) == 0 {
		return
	}
	m.log.Info("joining members the gossip missed", "members", names)
	m.joinAll(addrs)
	m.mu.Lock()
	for _, name := range names {
		delete(m.heard, name)
	}
	m.mu.Unlock()
}
