package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/trust"
)

// purges records the purge bodies each node applied.
type purges struct {
	mu      sync.Mutex
	applied map[string][]string
}

func (p *purges) on(node string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.applied == nil {
		p.applied = map[string][]string{}
	}
	p.applied[node] = append(p.applied[node], string(body))
}

func (p *purges) count(node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.applied[node])
}

// signedPurge is a purge of app signed with key.
func signedPurge(app, body string, key ed25519.PrivateKey) *trust.PurgeStatement {
	st := trust.NewPurgeStatement(app, []byte(body))
	trust.SignPurge(st, key)
	return st
}

// startPurgeMesh starts nodes named names, all joined to the first.
func startPurgeMesh(t *testing.T, o meshOpts, names ...string) []*node {
	t.Helper()
	nodes := []*node{startMesh(t, names[0], nil, o)}
	for _, name := range names[1:] {
		nodes = append(nodes, startMesh(t, name, []string{nodes[0].mesh.Addr()}, o))
	}
	waitFor(t, 30*time.Second, "every node sees every member", func() bool {
		for _, n := range nodes {
			if n.mesh.NumMembers() != len(names) {
				return false
			}
		}
		return true
	})
	return nodes
}

// TestPurgeReachesEveryMemberOnce: a signed purge published on one node is
// applied once on each other node (direct send, gossip, relays and
// catch-up carry copies; the second publish shows the first left no
// duplicate behind), not on the publisher, and PublishPurge counts the
// members it reached. A node with another gossip key gets nothing.
func TestPurgeReachesEveryMemberOnce(t *testing.T) {
	key, priv := keys(t)
	var p purges
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, onPurge: p.on}
	nodes := startPurgeMesh(t, o, "a", "b", "c", "d")
	outsider := o
	outsider.key = gossip.GenerateKey()
	startMesh(t, "x", nil, outsider) // not joined: its key cannot open the mesh's messages

	sent, err := nodes[1].mesh.PublishPurge(signedPurge("site", `{"tag":"t1"}`, priv))
	if err != nil || sent != 3 {
		t.Fatalf("PublishPurge reached %d members (err %v), want 3", sent, err)
	}
	waitFor(t, 30*time.Second, "a, c and d apply the purge", func() bool {
		return p.count("a") > 0 && p.count("c") > 0 && p.count("d") > 0
	})
	if _, err := nodes[1].mesh.PublishPurge(signedPurge("site", `{"tag":"t2"}`, priv)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the second purge everywhere", func() bool {
		return p.count("a") > 1 && p.count("c") > 1 && p.count("d") > 1
	})
	time.Sleep(time.Second) // two catch-up rounds: they must add no copy
	p.mu.Lock()
	defer p.mu.Unlock()
	var got []string
	for n, bodies := range p.applied {
		got = append(got, fmt.Sprintf("%s:%v", n, bodies))
	}
	sort.Strings(got)
	want := []string{`a:[{"tag":"t1"} {"tag":"t2"}]`, `c:[{"tag":"t1"} {"tag":"t2"}]`, `d:[{"tag":"t1"} {"tag":"t2"}]`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("applied %v, want %v", got, want)
	}
}

// TestPurgeCatchesUpAfterPartition: a node cut off by the fault-injecting
// transport while a purge is published misses it; once the network heals
// it gets the purge from a member's catch-up answer and applies it.
func TestPurgeCatchesUpAfterPartition(t *testing.T) {
	key, priv := keys(t)
	var p purges
	net := &sides{side: map[string]int{}}
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, onPurge: p.on, sides: net}
	nodes := startPurgeMesh(t, o, "a", "b", "c")

	net.mu.Lock()
	net.side[nodes[2].mesh.Addr()] = 1 // c alone
	net.cut = true
	net.mu.Unlock()
	if _, err := nodes[0].mesh.PublishPurge(signedPurge("site", `{"tag":"missed"}`, priv)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b applies the purge", func() bool { return p.count("b") == 1 })
	time.Sleep(1500 * time.Millisecond) // several catch-up rounds while cut: c must still lack it
	if n := p.count("c"); n != 0 {
		t.Fatalf("c applied %d purges while partitioned", n)
	}

	net.mu.Lock()
	net.cut = false
	net.mu.Unlock()
	waitFor(t, 20*time.Second, "c catches up after the heal", func() bool { return p.count("c") == 1 })
	p.mu.Lock()
	defer p.mu.Unlock()
	if got := p.applied["c"]; len(got) != 1 || got[0] != `{"tag":"missed"}` {
		t.Errorf("c applied %q", got)
	}
}

// TestPurgeForgedByMemberRefused: a member holds the gossip key, so it
// can send anything the mesh accepts as a message; a purge it signs with
// its own key, with a deploy key trusted for another app only, or not at
// all, is refused by every other member (counted in Refused) and never
// applied; the genuine purge still is.
func TestPurgeForgedByMemberRefused(t *testing.T) {
	key := gossip.GenerateKey()
	_, shopKey, _ := ed25519.GenerateKey(nil)
	_, blogKey, _ := ed25519.GenerateKey(nil)
	_, rogueKey, _ := ed25519.GenerateKey(nil)
	ring := trust.Keyring{
		{Pub: shopKey.Public().(ed25519.PublicKey), Apps: []string{"shop"}, Source: "shop.pub"},
		{Pub: blogKey.Public().(ed25519.PublicKey), Apps: []string{"blog"}, Source: "blog.pub"},
	}
	var p purges
	o := meshOpts{key: key, keyring: ring, onPurge: p.on}
	nodes := startPurgeMesh(t, o, "a", "b", "rogue")
	rogue := nodes[2]

	unsigned := trust.NewPurgeStatement("shop", []byte(`{"tag":"unsigned"}`))
	altered := signedPurge("shop", `{"tag":"x"}`, shopKey)
	altered.Purge = []byte(`{"prefix":"https://shop.example/"}`)
	forged := []*trust.PurgeStatement{
		signedPurge("shop", `{"tag":"own-key"}`, rogueKey),  // untrusted key
		signedPurge("shop", `{"tag":"other-app"}`, blogKey), // trusted, for blog only
		unsigned, // no signature
		altered,  // changed after signing
	}
	for _, st := range forged {
		if _, err := rogue.mesh.PublishPurge(st); err == nil {
			t.Errorf("PublishPurge accepted %s signed by %.8s", st.Purge, st.Signer)
		}
		// A rogue member skips its own check and sends straight to the
		// others, as a message from a member.
		msg := gossip.PurgeMessage(st)
		nodes[0].mesh.Deliver(msg)
		nodes[1].mesh.Deliver(msg)
	}
	if _, err := nodes[1].mesh.PublishPurge(signedPurge("shop", `{"tag":"genuine"}`, shopKey)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a applies the genuine purge", func() bool { return p.count("a") == 1 })
	time.Sleep(time.Second) // catch-up rounds: nothing forged arrives by them either
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, bodies := range p.applied {
		for _, b := range bodies {
			if b != `{"tag":"genuine"}` {
				t.Errorf("%s applied forged purge %s", n, b)
			}
		}
	}
	if r := nodes[0].mesh.Refused(); r < int64(len(forged)) {
		t.Errorf("a refused %d messages, want at least %d", r, len(forged))
	}
}
