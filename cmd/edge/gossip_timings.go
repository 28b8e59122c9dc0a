package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// gossipTimingSettings: memberlist's failure-detector timings beyond the
// --gossip-wan preset (gossip/timings.go, docs/mesh.md "Timings").
type gossipTimingSettings struct {
	// GossipMaxRTT, if set, is the slowest round trip the operator
	// measured between two nodes of the mesh: memberlist's timings are
	// derived from it, tighter than --gossip-wan's. An explicit choice:
	// a node starved of CPU misses acks within them and is declared dead.
	GossipMaxRTT time.Duration `toml:"gossip_max_rtt"`
}

// maxGossipRTT bounds --gossip-max-rtt: past it the WAN preset's timings
// are the tighter ones anyway.
const maxGossipRTT = time.Second

func gossipTimingFlags(fs *pflag.FlagSet, s *gossipTimingSettings) {
	fs.DurationVar(&s.GossipMaxRTT, "gossip-max-rtt", s.GossipMaxRTT,
		"the slowest round trip between two mesh nodes, measured: derive tighter failure-detector timings from it than --gossip-wan's (probe timeout 4 round trips, at least 500ms); only on nodes with CPU to spare (0: off)")
}

// check refuses a round trip out of range.
func (s gossipTimingSettings) check() error {
	if s.GossipMaxRTT < 0 || s.GossipMaxRTT > maxGossipRTT {
		return fmt.Errorf("--gossip-max-rtt %s: a round trip from 0 (off) to %s", s.GossipMaxRTT, maxGossipRTT)
	}
	return nil
}
