package gossip

import (
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/hashicorp/memberlist"
)

// A new state travels region by region, so that a deploy crosses each
// region boundary a bounded number of times instead of once per node:
//
//   - its origin sends it to every member of its own region, and to
//     relaysPerRegion members of each other region, marked "relay";
//   - a relay fetches the version's blobs (across the boundary, once),
//     then sends the state to every member of its own region, naming
//     itself as a holder, so that they fetch the blobs from it, nearby;
//   - a region the origin could not reach (partitioned, all its relays
//     down) is retried every pendingRetry until a relay there takes the
//     state or a newer one replaces it: the two sides of a healed
//     partition meet within a retry, not at the next push/pull.
//
// The push/pull exchange stays the catch-up path; a node that learns a
// state from it (not at a join) passes it on in its own region only.
// States are no longer put on memberlist's broadcast queue: it gossips to
// random members, across every boundary, log(n) times per node.

// msgFan is a state sent by the regional fan-out: [msgFan][role][len][via]
// [state JSON], via being the sender's name, a member that has the
// version's blobs (or will have them before it passes the state on).
const msgFan byte = 16

// Roles of a fan-out message.
const (
	fanMember byte = 0 // apply it
	fanRelay  byte = 1 // apply it, and pass it on in your region
)

// relaysPerRegion is how many members of each other region the origin
// hands a new state to: two, so that one relay down or slow does not leave
// its region waiting for push/pull.
const relaysPerRegion = 2

// relayTries bounds the members of one region tried per attempt: behind a
// cut every dial waits out memberlist's TCPTimeout.
const relayTries = 4

// pendingRetry is how often regions a state has not reached are tried again.
const pendingRetry = time.Second

func encodeFan(role byte, via string, rec Record) ([]byte, error) {
	if len(via) > 255 {
		return nil, errors.New("gossip: node name over 255 bytes")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, 3+len(via)+len(b))
	msg = append(msg, msgFan, role, byte(len(via)))
	msg = append(msg, via...)
	return append(msg, b...), nil
}

func decodeFan(msg []byte) (role byte, via string, rec Record, err error) {
	if len(msg) < 3 || msg[0] != msgFan || msg[1] > fanRelay || len(msg) < 3+int(msg[2]) {
		return 0, "", nil, errors.New("gossip: malformed fan-out message")
	}
	n := int(msg[2])
	rec, err = decodeRecord(append([]byte{msgState}, msg[3+n:]...))
	return msg[1], string(msg[3 : 3+n]), rec, err
}

// fanout is the Mesh's regional fan-out state.
type fanout struct {
	mu sync.Mutex
	// hints name, per app, a member that holds (or will hold first) the
	// blobs of a state, and whether this node must pass the state on.
	hints map[string]hint
	// pending are the regions each app's first-hand state has not reached.
	pending map[string]*pending
	// region is every member's region, as its metadata said; peer its
	// peer endpoint: both outlive memberlist's view of the member, so a
	// state's holder is fetched from, and a cut-off region retried, at
	// the addresses they last had, whether memberlist holds them dead.
	region map[string]string
	peer   map[string]string
	// recent are the states this node spread lately (first-hand, or passed
	// on in its region), per app: a member that joins within recentFor
	// gets them, as it may have joined after the fan-out listed members.
	recent map[string]recentState
	// crossSent counts states this node sent to members of other regions.
	crossSent atomic.Int64
	// inline are, per app, the blobs a message carried with its state,
	// for the apply loop to store (inline.go).
	inline map[string]inlineSet
}

type hint struct {
	stamp state.Stamp
	via   string
	pass  bool
}

type recentState struct {
	msg []byte
	at  time.Time
}

// recentFor is how long a spread state is sent to members that join.
const recentFor = 30 * time.Second

// remember keeps msg as app's recent state.
func (m *Mesh) remember(app string, msg []byte) {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	m.fan.recent[app] = recentState{msg: msg, at: time.Now()}
}

// greet sends a member that joined the states this node spread within
// recentFor (pruning the older ones).
func (m *Mesh) greet(n memberlist.Node) {
	if n.Name == m.cfg.Name || m.ml == nil {
		return
	}
	m.sayHello(n) // it may not know this node yet (hello.go)
	m.fan.mu.Lock()
	var msgs [][]byte
	for app, r := range m.fan.recent {
		if time.Since(r.at) > recentFor {
			delete(m.fan.recent, app)
			continue
		}
		msgs = append(msgs, r.msg)
	}
	m.fan.mu.Unlock()
	for _, msg := range msgs {
		if err := m.ml.SendReliable(&n, msg); err != nil {
			m.log.Debug("send to a new member failed", "to", n.Name, "err", err)
			return
		}
		m.bytes.sent.Add(int64(len(msg)))
	}
}

type pending struct {
	stamp   state.Stamp
	msg     []byte // the relay message
	regions map[string]bool
}

func (f *fanout) init() {
	f.hints, f.pending, f.region, f.recent = map[string]hint{}, map[string]*pending{}, map[string]string{}, map[string]recentState{}
	f.peer, f.inline = map[string]string{}, map[string]inlineSet{}
}

// CrossRegionSends is how many states this node sent to members of other
// regions since start.
func (m *Mesh) CrossRegionSends() int64 { return m.fan.crossSent.Load() }

// note remembers who holds rec's blobs and whether to pass it on.
func (m *Mesh) note(rec Record, via string, pass bool) {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	if via == "" && !pass {
		delete(m.fan.hints, rec.App)
		return
	}
	m.fan.hints[rec.App] = hint{stamp: rec.Stamp, via: via, pass: pass}
}

// adoptHolder takes holder as the member to fetch rec's blobs from, and
// the duty to pass it on, when rec is the best state known here but came
// with no holder (a push/pull, which names none): the relay message that
// follows it then still counts.
func (m *Mesh) adoptHolder(rec Record, holder string, pass bool) {
	m.fan.mu.Lock()
	h, ok := m.fan.hints[rec.App]
	if ok && h.stamp == rec.Stamp && h.via != "" {
		m.fan.mu.Unlock()
		return
	}
	m.fan.hints[rec.App] = hint{stamp: rec.Stamp, via: holder, pass: pass || (ok && h.stamp == rec.Stamp && h.pass)}
	m.fan.mu.Unlock()
	m.kick(rec.App)
}

// holder is the member named as holding the blobs of rec, if any.
func (m *Mesh) holder(rec Record) string {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	if h, ok := m.fan.hints[rec.App]; ok && h.stamp == rec.Stamp {
		return h.via
	}
	return ""
}

// passOn sends rec to every other member of this node's region, naming
// this node as the holder, if it was handed rec to pass on. Called once
// its blobs are stored here.
func (m *Mesh) passOn(rec Record) {
	m.fan.mu.Lock()
	h, ok := m.fan.hints[rec.App]
	if !ok || !h.pass || h.stamp != rec.Stamp {
		m.fan.mu.Unlock()
		return
	}
	h.pass = false
	m.fan.hints[rec.App] = h
	m.fan.mu.Unlock()
	var prev *cache.Manifest // this region's members most likely hold what this node served until now
	if cur, err := m.ledger.State(rec.App); err == nil {
		prev = cur.Manifest
	}
	msgs, err := m.encodeFanFor(fanMember, rec, prev)
	if err != nil {
		return
	}
	m.remember(rec.App, msgs.plain)
	go m.sendTo(m.byRegion()[m.cfg.Region], msgs, h.via)
}

// fanOut spreads a state first-hand: to every member of this region, and
// to relays in every other region; regions it could not reach are kept
// pending. prev is the version the state replaces: the blobs it names are
// not carried inline.
func (m *Mesh) fanOut(rec Record, prev *cache.Manifest) {
	member, err := m.encodeFanFor(fanMember, rec, prev)
	if err != nil {
		m.log.Error("state not published", "app", rec.App, "err", err)
		return
	}
	relay, _ := m.encodeFanFor(fanRelay, rec, prev)
	m.remember(rec.App, member.plain)
	groups := m.byRegion()
	missed := map[string]bool{}
	m.fan.mu.Lock()
	for _, r := range m.fan.region {
		if r != m.cfg.Region {
			missed[r] = true // known regions with no live member stay pending
		}
	}
	m.fan.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.sendTo(groups[m.cfg.Region], member, "") }()
	var mu sync.Mutex
	for region, nodes := range groups {
		if region == m.cfg.Region {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := m.sendRelays(nodes, relay) > 0
			mu.Lock()
			missed[region] = !ok
			mu.Unlock()
		}()
	}
	wg.Wait()
	for r, miss := range missed {
		if !miss {
			delete(missed, r)
		}
	}
	if len(missed) > 0 {
		m.fan.mu.Lock()
		m.fan.pending[rec.App] = &pending{stamp: rec.Stamp, msg: relay.plain, regions: missed}
		m.fan.mu.Unlock()
	}
}

// sendRelays sends msgs to members of one region, shuffled, until
// relaysPerRegion of them took it or relayTries failed; it returns how
// many took it.
func (m *Mesh) sendRelays(nodes []memberlist.Node, msgs fanMsgs) int {
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	sent, failed := 0, 0
	for _, n := range nodes {
		if sent == relaysPerRegion || failed == relayTries || m.stopped() {
			break
		}
		msg := msgs.to(&n)
		if err := m.ml.SendReliable(&n, msg); err != nil {
			m.log.Debug("relay send failed", "to", n.Name, "err", err)
			failed++
			continue
		}
		sent++
		m.fan.crossSent.Add(1)
		m.bytes.sent.Add(int64(len(msg)))
	}
	return sent
}

// sendTo sends msgs to each of nodes but skip, 16 at a time.
func (m *Mesh) sendTo(nodes []memberlist.Node, msgs fanMsgs, skip string) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.Name == skip {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			msg := msgs.to(&n)
			if err := m.ml.SendReliable(&n, msg); err != nil {
				m.log.Debug("send failed", "to", n.Name, "err", err)
				return
			}
			m.bytes.sent.Add(int64(len(msg)))
		}()
	}
	wg.Wait()
}

// stopped reports whether Stop was called.
func (m *Mesh) stopped() bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

// byRegion groups the other live members by region.
func (m *Mesh) byRegion() map[string][]memberlist.Node {
	out := map[string][]memberlist.Node{}
	for _, n := range m.liveNodes() {
		if n.Name == m.cfg.Name {
			continue
		}
		r := decodeMeta(n.Meta).Region
		out[r] = append(out[r], n)
	}
	return out
}

// pendingLoop retries, every pendingRetry, the regions first-hand states
// have not reached.
func (m *Mesh) pendingLoop() {
	defer m.wg.Done()
	t := time.NewTicker(pendingRetry)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.retryPending()
		}
	}
}

func (m *Mesh) retryPending() {
	m.fan.mu.Lock()
	work := map[string]pending{}
	for app, p := range m.fan.pending {
		work[app] = pending{stamp: p.stamp, msg: p.msg, regions: maps.Clone(p.regions)}
	}
	m.fan.mu.Unlock()
	if len(work) == 0 {
		return
	}
	live := m.byRegion()
	var wg sync.WaitGroup
	for app, p := range work {
		if best := m.Best(app); best == nil || best.Stamp != p.stamp {
			m.dropPending(app, p.stamp, "")
			continue
		}
		for region := range p.regions {
			nodes := slices.Clone(live[region])
			if len(nodes) == 0 {
				nodes = m.lastSeenIn(region) // dead to memberlist, maybe back
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if m.sendRelays(nodes, fanMsgs{plain: p.msg}) > 0 {
					m.dropPending(app, p.stamp, region)
				}
			}()
		}
	}
	wg.Wait()
}

// dropPending forgets region (every region if "") of app's pending state.
func (m *Mesh) dropPending(app string, stamp state.Stamp, region string) {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	p := m.fan.pending[app]
	if p == nil || p.stamp != stamp {
		return
	}
	delete(p.regions, region)
	if region == "" || len(p.regions) == 0 {
		delete(m.fan.pending, app)
	}
}

// lastSeenIn lists up to 8 members of region that are not alive now, at
// the address they had.
func (m *Mesh) lastSeenIn(region string) []memberlist.Node {
	m.fan.mu.Lock()
	var names []string
	for name, r := range m.fan.region {
		if r == region {
			names = append(names, name)
		}
	}
	m.fan.mu.Unlock()
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var out []memberlist.Node
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range names {
		if len(out) == 8 {
			break
		}
		host, port, err := net.SplitHostPort(m.seen[name])
		p, _ := strconv.Atoi(port)
		if ip := net.ParseIP(host); err == nil && ip != nil {
			out = append(out, memberlist.Node{Name: name, Addr: ip, Port: uint16(p)})
		}
	}
	return out
}

// placeMember records a member's region and peer endpoint.
func (m *Mesh) placeMember(n *memberlist.Node) {
	meta := decodeMeta(n.Meta)
	m.fan.mu.Lock()
	m.fan.region[n.Name] = meta.Region
	if meta.Peer != "" {
		m.fan.peer[n.Name] = meta.Peer
	}
	m.fan.mu.Unlock()
}

// lastPeer is the peer endpoint the member name last advertised, whether
// memberlist holds it alive or not.
func (m *Mesh) lastPeer(name string) (peerInfo, bool) {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	addr, ok := m.fan.peer[name]
	return peerInfo{name: name, addr: addr, region: m.fan.region[name]}, ok && addr != ""
}
