package gossip_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

// TestConverge: a deploy on one node reaches every node, its blobs
// carried in the messages (a small version); a node started later catches
// up by push/pull at join, fetching them from peers.
func TestConverge(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	a := startMesh(t, "a", nil, o)
	nodes := []*node{a}
	for _, name := range []string{"b", "c"} {
		nodes = append(nodes, startMesh(t, name, []string{a.mesh.Addr()}, o))
	}
	st := deploy(t, nodes[1], priv, "site", "one")
	waitFor(t, 5*time.Second, "every node serves v1", func() bool { return serving(nodes, "site", st.Stamp) })
	for _, n := range nodes {
		if got := content(t, n, "site"); got != "one" {
			t.Errorf("%s serves %q", n.name, got)
		}
	}
	st = deploy(t, nodes[2], priv, "site", "two")
	late := startMesh(t, "late", []string{a.mesh.Addr()}, o)
	nodes = append(nodes, late)
	waitFor(t, 5*time.Second, "every node, the late one too, serves v2", func() bool { return serving(nodes, "site", st.Stamp) })
	if st.Version != 2 {
		t.Errorf("version %d, want 2", st.Version)
	}
	tomb := remove(t, a, priv, "site")
	waitFor(t, 5*time.Second, "the removal reaches every node", func() bool { return serving(nodes, "site", tomb.Stamp) })
	if dep, _ := late.store.Deployed(); len(dep) != 0 {
		t.Errorf("late still has %d deployed apps", len(dep))
	}
	// A wait, not a snapshot: under the race detector on a loaded machine
	// the test timings (50 ms probe timeout) can have a member suspected
	// and declared dead for a moment before it refutes; convergence is what
	// this test is about, and it must hold once the member is back.
	deadline := time.Now().Add(10 * time.Second)
	for {
		members := a.mesh.Members(t.Context())
		if len(members) == 4 && allInSyncRemoved(members) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, a's members are not 4, alive and in sync with the removal: %+v", members)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allInSyncRemoved: every member is alive, with its one app removed and in
// sync.
func allInSyncRemoved(members []gossip.Member) bool {
	for _, m := range members {
		if m.State != "alive" || len(m.Apps) != 1 || !m.Apps[0].InSync || !m.Apps[0].Removed {
			return false
		}
	}
	return true
}

// TestPartitionHeals: a partition longer than the dead-node timeout, a
// deploy on each side (same generation), then the network heals: the
// rejoin loop reunites the halves and every node picks the same winner,
// the higher (HLC, node) stamp.
func TestPartitionHeals(t *testing.T) {
	key, priv := keys(t)
	net := &sides{side: map[string]int{}}
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, sides: net}
	a := startMesh(t, "a", nil, o)
	nodes := []*node{a}
	for _, name := range []string{"b", "c", "d"} {
		nodes = append(nodes, startMesh(t, name, []string{a.mesh.Addr()}, o))
	}
	base := deploy(t, a, priv, "site", "base")
	waitFor(t, 5*time.Second, "v1 everywhere", func() bool { return serving(nodes, "site", base.Stamp) })

	net.mu.Lock()
	for i, n := range nodes {
		net.side[n.mesh.Addr()] = i / 2 // a b | c d
	}
	net.cut = true
	net.mu.Unlock()
	waitFor(t, 10*time.Second, "each side sees the other dead", func() bool {
		return alive(a) == 2 && alive(nodes[2]) == 2
	})
	// Not a wait for an event: the partition must outlast memberlist's
	// GossipToTheDeadTime (1s), after which only the rejoin loop can heal
	// it. A slow machine only makes the partition longer.
	time.Sleep(1200 * time.Millisecond)
	left := deploy(t, nodes[1], priv, "site", "left")
	right := deploy(t, nodes[3], priv, "site", "right")
	if left.Stamp.Gen != right.Stamp.Gen || left.Version != right.Version {
		t.Fatalf("want a conflict: left %+v v%d, right %+v v%d", left.Stamp, left.Version, right.Stamp, right.Version)
	}
	winner := left
	if left.Stamp.Less(right.Stamp) {
		winner = right
	}
	waitFor(t, 5*time.Second, "each side converges on its own deploy", func() bool {
		return serving(nodes[:2], "site", left.Stamp) && serving(nodes[2:], "site", right.Stamp)
	})

	net.mu.Lock()
	net.cut = false
	net.mu.Unlock()
	waitFor(t, 15*time.Second, "healed: every node on the same winner", func() bool { return serving(nodes, "site", winner.Stamp) })
	want := "left"
	if winner == right {
		want = "right"
	}
	for _, n := range nodes {
		if got := content(t, n, "site"); got != want {
			t.Errorf("%s serves %q, want the winner's %q", n.name, got, want)
		}
	}
	waitFor(t, 10*time.Second, "one mesh of 4 again", func() bool { return alive(a) == 4 && alive(nodes[3]) == 4 })
}

func alive(n *node) int {
	c := 0
	for _, m := range n.mesh.Members(context.Background()) {
		if m.State == "alive" {
			c++
		}
	}
	return c
}

// TestBadSignatureIgnored: a member holding the gossip key publishes a
// state whose manifest was altered after signing, and one signed by an
// untrusted key: no other node accepts, relays or applies either, whether
// it gets them in a message or in the push/pull exchange of a join.
func TestBadSignatureIgnored(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	oa, logA := logged(o)
	ob, logB := logged(o)
	a := startMesh(t, "a", nil, oa)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	c := startMesh(t, "c", []string{a.mesh.Addr()}, o)
	good := deploy(t, a, priv, "site", "good")
	waitFor(t, 5*time.Second, "good everywhere", func() bool { return serving([]*node{a, b, c}, "site", good.Stamp) })

	// c sends what it publishes straight to the members it knows: it must
	// know both, or a state may reach b only inside a later one.
	waitFor(t, 5*time.Second, "one mesh of 3", func() bool { return alive(a) == 3 && alive(b) == 3 && alive(c) == 3 })
	evil := deploy(t, c, priv, "site", "evil") // c is the rogue member
	bad := *evil
	m := *evil.Manifest
	m.Files = map[string]cache.FileRef{"edge.toml": m.Files["edge.toml"], "public/index.html": m.Files["public/index.html"], "x": m.Files["edge.toml"]}
	bad.Manifest = &m
	bad.Stamp.Gen += 10
	c.mesh.Publish(&bad)
	_, other := keys(t)
	forged := *evil
	fm := *evil.Manifest
	trust.Sign(&fm, other)
	forged.Manifest = &fm
	forged.Stamp.Gen += 20
	c.mesh.Publish(&forged)
	// c sends each state to every member over TCP: wait until a and b
	// have checked and refused both, so that what follows asserts on
	// states they have seen, not on states still in flight.
	for _, n := range []struct {
		name string
		log  *logbook
	}{{"a", logA}, {"b", logB}} {
		for _, st := range []state.AppState{bad, forged} {
			gen := fmt.Sprintf("gen=%d", st.Stamp.Gen)
			waitFor(t, 5*time.Second, n.name+" refuses the state of "+gen, func() bool {
				return n.log.has("state refused", "app=site", gen, "origin=c")
			})
		}
	}
	// the honest evil deploy (gen+1) is valid and wins; the forged ones never do
	waitFor(t, 5*time.Second, "the validly signed state everywhere", func() bool { return serving([]*node{a, b}, "site", evil.Stamp) })
	for _, n := range []*node{a, b} {
		if st, _ := n.ledger.State("site"); st.Stamp != evil.Stamp {
			t.Errorf("%s applied %+v", n.name, st.Stamp)
		}
		if best := n.mesh.Best("site"); best.Stamp != evil.Stamp {
			t.Errorf("%s holds %+v as best", n.name, best.Stamp)
		}
	}
	// c's best is the forged state: a node joining through c gets it in
	// the push/pull exchange, which memberlist merges before Join returns.
	od, logD := logged(o)
	d := startMesh(t, "d", []string{c.mesh.Addr()}, od)
	if !logD.has("state refused", "app=site", fmt.Sprintf("gen=%d", forged.Stamp.Gen)) {
		t.Errorf("d did not refuse the forged state at join; its log:\n%s", logD)
	}
	if best := d.mesh.Best("site"); best != nil && best.Stamp != evil.Stamp {
		t.Errorf("d holds %+v as best after its join", best.Stamp)
	}
}

// TestWrongKeyCannotJoin: a node with another gossip key cannot join, and
// the peer endpoint refuses plain HTTP and a TLS client whose certificate
// another gossip key derives.
func TestWrongKeyCannotJoin(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	oa, logA := logged(o)
	a := startMesh(t, "a", nil, oa)
	o2, logX := logged(o)
	o2.key = gossip.GenerateKey()
	// Start joins before it returns: x sends its push/pull state and a,
	// unable to decrypt it, logs so and merges nothing. Wait for that
	// proof that a has read and refused x before counting members.
	x := startMesh(t, "x", []string{a.mesh.Addr()}, o2)
	if !logX.has("join failed") {
		t.Fatalf("x's join did not fail; x's log:\n%s", logX)
	}
	waitFor(t, 5*time.Second, "a refuses x's state", func() bool { return logA.has("failed to receive", "could decrypt") })
	if n := alive(a); n != 1 {
		t.Errorf("a sees %d members, want itself alone", n)
	}
	if n := alive(x); n != 1 {
		t.Errorf("x sees %d members", n)
	}
	// The peer endpoint speaks TLS only, to members only.
	if resp, err := http.Get("http://" + a.mesh.PeerAddr() + "/v1/status"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("peer endpoint answers plain HTTP")
		}
	}
	_, stranger := gossip.PeerTLS([][]byte{o2.key})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: stranger}}
	if resp, err := c.Get("https://" + a.mesh.PeerAddr() + "/v1/status"); err == nil {
		resp.Body.Close()
		t.Errorf("peer endpoint answered another mesh's member: %s", resp.Status)
	}
	_, member := gossip.PeerTLS([][]byte{key})
	c = &http.Client{Transport: &http.Transport{TLSClientConfig: member}}
	resp, err := c.Get("https://" + a.mesh.PeerAddr() + "/v1/status")
	if err != nil {
		t.Fatalf("a member's request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a member's request: %s", resp.Status)
	}
}

// TestKeyRotation: install a new key on every node, use it, remove the
// old one: the mesh stays whole and a deploy still converges.
func TestKeyRotation(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, o)
	nodes := []*node{a, b}
	waitFor(t, 5*time.Second, "joined", func() bool { return alive(a) == 2 })
	next := gossip.GenerateKey()
	for _, step := range []func(n *node) error{
		func(n *node) error { return n.mesh.Keyring().AddKey(next) },
		func(n *node) error { return n.mesh.Keyring().UseKey(next) },
		func(n *node) error { return n.mesh.Keyring().RemoveKey(key) },
	} {
		for _, n := range nodes {
			if err := step(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := deploy(t, a, priv, "site", "rotated")
	waitFor(t, 5*time.Second, "a deploy converges under the new key", func() bool { return serving(nodes, "site", st.Stamp) })
	if alive(a) != 2 || alive(b) != 2 {
		t.Errorf("mesh split by the rotation")
	}
}

// TestMemberStates: a node that leaves gracefully is listed as "left",
// one that stops answering as "dead"; neither is asked for its apps.
func TestMemberStates(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "b joins", func() bool { return len(a.mesh.Members(t.Context())) == 2 })
	b.stop() // Close leaves gracefully
	var last []gossip.Member
	defer func() {
		if t.Failed() {
			t.Logf("members: %+v", last)
		}
	}()
	waitFor(t, 5*time.Second, "b is listed as left", func() bool {
		last = a.mesh.Members(t.Context())
		for _, m := range last {
			if m.Name == "b" {
				return m.State == "left" && m.Error == ""
			}
		}
		return false
	})
}
