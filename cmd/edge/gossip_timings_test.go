package main

import (
	"testing"
	"time"
)

// TestGossipMaxRTTFlag: --gossip-max-rtt and gossip_max_rtt reach the
// config; a round trip below 0 or past a second is refused.
func TestGossipMaxRTTFlag(t *testing.T) {
	cfg, err := parseServeFlags(t, "--gossip-max-rtt", "250ms")
	if err != nil || cfg.GossipMaxRTT != 250*time.Millisecond || cfg.gossipTimingSettings.check() != nil {
		t.Fatalf("--gossip-max-rtt 250ms: %v, %+v", err, cfg.gossipTimingSettings)
	}
	cfg, err = parseServeFlags(t, "--config", writeFile(t, t.TempDir(), "edge.conf", "gossip_max_rtt = \"180ms\"\n"))
	if err != nil || cfg.GossipMaxRTT != 180*time.Millisecond {
		t.Fatalf("gossip_max_rtt in a config file: %v, %+v", err, cfg.gossipTimingSettings)
	}
	for _, bad := range []time.Duration{-time.Millisecond, 2 * time.Second} {
		if err := (gossipTimingSettings{GossipMaxRTT: bad}).check(); err == nil {
			t.Errorf("--gossip-max-rtt %s accepted", bad)
		}
	}
}
