package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

// TestRogueMemberCannotChangeState: a member holding the gossip key but
// no deploy key injects a tombstone, a rollback to v1, a MaxInt
// generation and v1's old signed state: no other node applies, holds or
// relays any of them, and the next real deploy wins everywhere.
func TestRogueMemberCannotChangeState(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	oa, logA := logged(o)
	ob, logB := logged(o)
	a := startMesh(t, "a", nil, oa)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	c := startMesh(t, "c", []string{a.mesh.Addr()}, o) // the rogue
	nodes := []*node{a, b, c}
	waitFor(t, 5*time.Second, "one mesh of 3", func() bool { return alive(a) == 3 && alive(b) == 3 && alive(c) == 3 })
	v1 := deploy(t, a, priv, "site", "one")
	waitFor(t, 5*time.Second, "v1 everywhere", func() bool { return serving(nodes, "site", v1.Stamp) })
	v2 := deploy(t, a, priv, "site", "two")
	waitFor(t, 5*time.Second, "v2 everywhere", func() bool { return serving(nodes, "site", v2.Stamp) })

	next := v2.Stamp.Gen + 1
	stamp := func(gen int) state.Stamp { return state.Stamp{Gen: gen, HLC: math.MaxUint64, Node: "c"} }
	tomb := &state.AppState{App: "site", Stamp: stamp(next), Removed: true}
	tombSigned := &state.AppState{App: "site", Stamp: stamp(next + 1), Removed: true, Statement: v2.Statement}
	rollback := &state.AppState{App: "site", Stamp: stamp(next + 2), Version: v1.Version, Manifest: v1.Manifest, Statement: v1.Statement}
	maxGen := *v2
	maxGen.Stamp = stamp(math.MaxInt)
	// rollback is v1's old signed state, stamped past v2: the attack of
	// replaying an old signed manifest through gossip.
	for _, st := range []*state.AppState{tomb, tombSigned, rollback, &maxGen} {
		c.mesh.Publish(st)
	}
	for _, n := range []struct {
		name string
		log  *logbook
	}{{"a", logA}, {"b", logB}} {
		for _, st := range []*state.AppState{tomb, tombSigned, rollback, &maxGen} {
			gen := fmt.Sprintf("gen=%d", st.Stamp.Gen)
			waitFor(t, 5*time.Second, n.name+" refuses the state of "+gen, func() bool {
				return n.log.has("state refused", "app=site", gen)
			})
		}
	}
	for _, n := range []*node{a, b} {
		if st, _ := n.ledger.State("site"); st.Stamp != v2.Stamp || content(t, n, "site") != "two" {
			t.Errorf("%s applied %+v", n.name, st.Stamp)
		}
		if best := n.mesh.Best("site"); best.Stamp != v2.Stamp {
			t.Errorf("%s holds %+v as best", n.name, best.Stamp)
		}
	}
	if got := a.mesh.Refused(); got < 4 {
		t.Errorf("a counted %d refused states, want at least 4", got)
	}
	v3 := deploy(t, b, priv, "site", "three")
	if v3.Stamp.Gen != next {
		t.Errorf("the next real deploy is at gen %d, want %d", v3.Stamp.Gen, next)
	}
	waitFor(t, 5*time.Second, "v3 on a and b", func() bool { return serving([]*node{a, b}, "site", v3.Stamp) })
}

// TestScopedKey: a key trusted for the blog alone signs a deploy of the
// shop: no node applies it; the same key deploys the blog.
func TestScopedKey(t *testing.T) {
	key, priv := keys(t)
	_, ci := keys(t)
	ring := trust.Keyring{{Pub: priv.Public().(ed25519.PublicKey)}, {Pub: ci.Public().(ed25519.PublicKey), Apps: []string{"blog", "docs-*"}}}
	o := meshOpts{key: key, keyring: ring}
	ob, logB := logged(o)
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	waitFor(t, 5*time.Second, "one mesh of 2", func() bool { return alive(a) == 2 && alive(b) == 2 })
	shop := deploy(t, a, priv, "shop", "shop")
	waitFor(t, 5*time.Second, "the shop on b", func() bool { return serving([]*node{b}, "shop", shop.Stamp) })
	// a's ledger does not check signatures (its Deployer does): the rogue
	// path, a state signed out of scope reaching b.
	evil := deploy(t, a, ci, "shop", "evil")
	waitFor(t, 5*time.Second, "b refuses the shop signed by the blog's key", func() bool {
		return logB.has("state refused", "app=shop", fmt.Sprintf("gen=%d", evil.Stamp.Gen), "not trusted for this app")
	})
	if content(t, b, "shop") != "shop" {
		t.Errorf("b serves the shop %q", content(t, b, "shop"))
	}
	docs := deploy(t, a, ci, "docs-v2", "docs")
	waitFor(t, 5*time.Second, "docs-v2, in the key's scope, on b", func() bool { return serving([]*node{b}, "docs-v2", docs.Stamp) })
}
