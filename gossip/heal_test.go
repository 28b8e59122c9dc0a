package gossip_test

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// shortDeaths are timings under which a member cut off is declared dead
// within seconds, and no longer gossiped to a second later: a long cut,
// shortened. Push/pull is off (isolate) and the rejoin loop all but off,
// so nothing but the mesh's own state exchange can bring the two sides
// together: memberlist alone never would (hashicorp/memberlist#222).
func shortDeaths(mc *memberlist.Config) {
	mc.ProbeInterval = time.Second
	mc.ProbeTimeout = 600 * time.Millisecond
	mc.SuspicionMult = 1
	mc.SuspicionMaxTimeoutMult = 2
	mc.GossipToTheDeadTime = time.Second
}

// TestLongCutHeals: one region of three is cut off until each side has
// declared the other's members dead (and stopped gossiping to them); a
// deploy on each side; then the cut heals. Every node converges on the one
// winner, although memberlist on each side still holds the other dead:
// the winner's origin hands its state to relays at the addresses it last
// knew, and they fetch its blobs from it (or the relay that named itself
// the holder) whatever memberlist thinks of it.
func TestLongCutHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("a 9-node mesh on a simulated WAN with real timers: about 30 s")
	}
	rm := startRegionMeshWith(t, 3, 3, regionOpts{isolate: true, wanPreset: true, tune: shortDeaths, rejoin: time.Hour})
	base := deploy(t, rm.nodes[0], rm.priv, "site", "base")
	waitFor(t, time.Minute, "the base deploy everywhere", func() bool { return serving(rm.nodes, "site", base.Stamp) })
	var cutOff, rest []*node
	for i, n := range rm.nodes {
		if rm.regionOf[i] == 2 {
			cutOff = append(cutOff, n)
		} else {
			rest = append(rest, n)
		}
	}
	rm.w.setCut(2, true)
	waitFor(t, 2*time.Minute, "each side holds the other dead", func() bool {
		for _, n := range cutOff {
			if n.mesh.NumMembers() != len(cutOff) {
				return false
			}
		}
		for _, n := range rest {
			if n.mesh.NumMembers() != len(rest) {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // past GossipToTheDeadTime
	inside, outside := rm.nodes[2], rm.nodes[1]
	a := deploy(t, outside, rm.priv, "site", "outside")
	b := deploy(t, inside, rm.priv, "site", "inside")
	waitFor(t, time.Minute, "each side serves its own deploy", func() bool {
		return serving(cutOff, "site", b.Stamp) && serving(rest, "site", a.Stamp)
	})
	rm.w.setCut(2, false)
	healed := time.Now()
	win := a
	if a.Stamp.Less(b.Stamp) {
		win = b
	}
	waitFor(t, time.Minute, "every node serves the winner", func() bool { return serving(rm.nodes, "site", win.Stamp) })
	t.Logf("healed in %s; winner from %s; %d members declared dead", time.Since(healed), win.Stamp.Node, rm.dead.Load())
}
