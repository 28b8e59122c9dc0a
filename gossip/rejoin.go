package gossip

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// firstJoinWait is the first pause before the first join is tried again:
// nodes started together find the seed's listener within a fraction of a
// second, not at the next rejoin tick.
const firstJoinWait = 100 * time.Millisecond

// firstJoin retries a failed first join, from firstJoinWait doubling up to
// RejoinInterval, until one succeeds; then the rejoin loop takes over.
// Each failed attempt is logged once, with its reason.
func (m *Mesh) firstJoin(joined bool) {
	defer m.wg.Done()
	wait := firstJoinWait
	for attempt := 2; !joined; attempt++ {
		select {
		case <-m.stop:
			return
		case <-time.After(wait):
		}
		n, err := m.ml.Join(m.cfg.Join)
		if err != nil && n == 0 {
			m.log.Warn("join failed, will retry", "join", m.cfg.Join, "attempt", attempt, "retry_in", min(2*wait, m.cfg.RejoinInterval), "err", err)
			wait = min(2*wait, m.cfg.RejoinInterval)
			continue
		}
		joined = true
		m.log.Info("joined", "contacted", n, "members", m.ml.NumMembers(), "attempt", attempt)
	}
}

// rejoinLoop heals partitions: memberlist stops gossiping to a node dead
// for longer than GossipToTheDeadTime, so two halves of a long partition
// never find each other again by themselves (hashicorp/memberlist#222).
// While fewer members are alive than were ever seen, it joins again the
// --join addresses and up to rejoinSample of the missing members; a join
// exchanges full state, so the apps converge as well.
func (m *Mesh) rejoinLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.prune(now)
			m.rejoin()
			m.joinUnheard(now)
		}
	}
}

// rejoinSample bounds the missing members one node rejoins per tick,
// rejoinSample at once. A join is a full push/pull of the mesh's members
// and states (about 100 KB at 200 nodes): after a region of 40 comes back,
// every node joining every missing member would be 12,800 of them at
// once. A few suffice: a member told it is held dead refutes it, and its
// alive message spreads to the rest by gossip within a few rounds; the
// states changed meanwhile cross by the fan-out's pending retries.
const rejoinSample = 8

func (m *Mesh) rejoin() {
	live := map[string]bool{}
	for _, n := range m.liveNodes() {
		live[n.Name] = true
	}
	m.mu.Lock()
	var addrs []string
	for name, addr := range m.seen {
		if !live[name] {
			addrs = append(addrs, addr)
		}
	}
	m.mu.Unlock()
	if len(addrs) == 0 && len(live) > 1 {
		return
	}
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	addrs = append(addrs[:min(len(addrs), rejoinSample)], m.cfg.Join...)
	if n := m.joinAll(addrs); n > 0 {
		m.log.Debug("rejoined", "contacted", n, "members", m.ml.NumMembers())
	}
}

// joinAll joins each of addrs, rejoinSample at a time, and returns how
// many answered. memberlist's Join contacts them one after the other,
// each a few round trips of 40-250 ms across regions.
func (m *Mesh) joinAll(addrs []string) int {
	var ok atomic.Int64
	sem := make(chan struct{}, rejoinSample)
	var wg sync.WaitGroup
	for _, a := range addrs {
		if m.stopped() {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if n, _ := m.ml.Join([]string{a}); n > 0 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

// Bytes reports the user-message and state-exchange bytes sent and
// received since start.
func (m *Mesh) Bytes() (sent, received int64) {
	return m.bytes.sent.Load(), m.bytes.received.Load()
}
