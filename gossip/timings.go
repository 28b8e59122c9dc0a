package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// timings is memberlist's configuration for this mesh's round trips: the
// LAN preset; the WAN preset (Config.WAN); or, given the slowest round
// trip measured between two members (Config.MaxRTT), timings derived
// from it (rttTimings).
func (c Config) timings() *memberlist.Config {
	switch {
	case c.MaxRTT > 0:
		return rttTimings(c.MaxRTT)
	case c.WAN:
		return memberlist.DefaultWANConfig()
	}
	return memberlist.DefaultLANConfig()
}

// rttTimings derives memberlist's failure detector from the slowest round
// trip rtt:
//
//   - a probe waits 4 round trips for its ack (at least the LAN's 500 ms):
//     a lost packet plus queueing still fits, where memberlist's LAN preset
//     (500 ms) leaves one 250 ms link no room at all;
//   - a probe round lasts twice that, so the indirect probes through
//     three other members (two round trips each) end within it;
//   - a suspect has SuspicionMult (6, as the WAN preset) × log10(n) probe
//     rounds to refute, and memberlist's Lifeguard stretches the timeout
//     of a member that itself misses acks;
//   - gossip every 200 ms to 4 members, as the WAN preset's fan-out.
//
// For 250 ms: probe every 2 s with a 1 s timeout, where the WAN preset
// probes every 5 s with a 3 s timeout: a dead member is found 2.5× sooner.
func rttTimings(rtt time.Duration) *memberlist.Config {
	mc := memberlist.DefaultWANConfig()
	mc.ProbeTimeout = max(500*time.Millisecond, 4*rtt)
	mc.ProbeInterval = 2 * mc.ProbeTimeout
	mc.GossipInterval = 200 * time.Millisecond
	mc.TCPTimeout = max(10*time.Second, 40*rtt)
	return mc
}

// warnTimings logs, once, that a member of another region joined while
// this node runs memberlist's LAN timings: their 500 ms probe timeout
// declares alive members behind 250 ms links dead.
func (m *Mesh) warnTimings(region string) {
	if m.cfg.WAN || m.cfg.MaxRTT > 0 || region == m.cfg.Region {
		return
	}
	m.lanWarned.Do(func() {
		m.log.Warn("a member of another region joined, on LAN timings: start every node with --gossip-wan, or alive members behind slow links are declared dead",
			"region", m.cfg.Region, "member_region", region)
	})
}
