package gossip

import (
	"testing"
	"time"
)

// TestRTTTimings: timings derived from a 250 ms worst round trip leave a
// probe 4 round trips and its indirect probes (2 round trips each) room
// within the probe round; a LAN's round trip keeps the LAN's floor.
func TestRTTTimings(t *testing.T) {
	mc := rttTimings(250 * time.Millisecond)
	if mc.ProbeTimeout != time.Second || mc.ProbeInterval != 2*time.Second {
		t.Errorf("250 ms: probe every %s, timeout %s", mc.ProbeInterval, mc.ProbeTimeout)
	}
	if mc.ProbeInterval-mc.ProbeTimeout < 2*2*250*time.Millisecond || mc.SuspicionMult < 6 {
		t.Errorf("250 ms: no room for indirect probes: %+v", mc)
	}
	if lan := rttTimings(time.Millisecond); lan.ProbeTimeout != 500*time.Millisecond {
		t.Errorf("1 ms: timeout %s, want the LAN's 500ms", lan.ProbeTimeout)
	}
	if c := (Config{WAN: true}).timings(); c.ProbeInterval != 5*time.Second {
		t.Errorf("WAN preset: probe every %s", c.ProbeInterval)
	}
}
