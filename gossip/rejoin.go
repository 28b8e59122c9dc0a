package gossip

import "time"

// rejoinLoop heals partitions: memberlist stops gossiping to a node dead
// for longer than GossipToTheDeadTime, so two halves of a long partition
// never find each other again by themselves (hashicorp/memberlist#222).
// While fewer members are alive than were ever seen, it joins again the
// --join addresses and the addresses of the missing members; a join
// exchanges full state, so the apps converge as well.
func (m *Mesh) rejoinLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.rejoin()
		}
	}
}

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
	addrs = append(addrs, m.cfg.Join...)
	if n, err := m.ml.Join(addrs); n > 0 {
		m.log.Debug("rejoined", "contacted", n, "members", m.ml.NumMembers(), "err", err)
	}
}

// Bytes reports the user-message and state-exchange bytes sent and
// received since start.
func (m *Mesh) Bytes() (sent, received int64) {
	return m.bytes.sent.Load(), m.bytes.received.Load()
}
