package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
)

// TestInlineBlobForgedRefused: a member holding the gossip key sends b a
// genuinely signed state with a forged blob in place of its page, then a
// state naming that blob whose signature is not trusted. b keeps neither
// forged blob, logs the refusal, fetches the real page from the holder
// the message names, and serves the signed content.
func TestInlineBlobForgedRefused(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	ob, logB := logged(o)
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	waitFor(t, 5*time.Second, "one mesh of 2", func() bool { return alive(a) == 2 && alive(b) == 2 })

	toml := "name = \"site\"\n"
	st := stageFiles(t, a, priv, "site", map[string]string{"edge.toml": toml, "public/index.html": "real"})
	evil := []byte("evil")
	msg, err := gossip.EncodeInline(false, "a", st, [][]byte{evil, []byte(toml)})
	if err != nil {
		t.Fatal(err)
	}
	b.mesh.Deliver(msg)
	waitFor(t, 10*time.Second, "b serves the signed version", func() bool { return serving([]*node{b}, "site", st.Stamp) })
	if got := content(t, b, "site"); got != "real" {
		t.Errorf("b serves %q, want the signed page", got)
	}
	if !logB.has("inline blob refused", "app=site", "from=a", "digest="+cache.Sum(evil).String()) {
		t.Errorf("no refusal logged:\n%s", logB)
	}
	if !logB.has("blob fetched", "from=a") {
		t.Errorf("b did not fetch the page it refused:\n%s", logB)
	}
	if n := b.mesh.InlineRefused(); n != 1 {
		t.Errorf("b counted %d refused inline blobs, want 1", n)
	}
	if b.store.HasBlob(cache.Sum(evil)) {
		t.Error("b stored the forged blob")
	}

	// The forged blob with a manifest that names it, signed by a key b
	// does not trust: the state is refused, and its blob with it.
	_, rogue := keys(t)
	forged := stageFiles(t, a, rogue, "site", map[string]string{"edge.toml": toml, "public/index.html": "evil"})
	msg, err = gossip.EncodeInline(true, "a", forged, [][]byte{evil})
	if err != nil {
		t.Fatal(err)
	}
	b.mesh.Deliver(msg)
	waitFor(t, 5*time.Second, "b refuses the untrusted state", func() bool {
		return logB.has("state refused", "app=site", fmt.Sprintf("gen=%d", forged.Stamp.Gen))
	})
	if b.store.HasBlob(cache.Sum(evil)) {
		t.Error("b stored the blob of a state it refused")
	}
	if got := content(t, b, "site"); got != "real" {
		t.Errorf("b serves %q after the forged state", got)
	}
}

// TestInlineOldPeerFetches: in a mesh where b takes no inline blobs (an
// older node, or InlineMax < 0), a deploy still reaches b, which fetches
// the blobs; the others get them in the message and fetch nothing. b is
// never sent the kind it does not know (it would drop the state with it).
func TestInlineOldPeerFetches(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	old := o
	old.inlineMax = -1
	ob, logB := logged(old)
	oc, logC := logged(o)
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	c := startMesh(t, "c", []string{a.mesh.Addr()}, oc)
	nodes := []*node{a, b, c}
	waitFor(t, 5*time.Second, "one mesh of 3", func() bool { return alive(a) == 3 && alive(b) == 3 && alive(c) == 3 })

	st := deploy(t, a, priv, "site", "one")
	waitFor(t, 10*time.Second, "every node serves the deploy", func() bool { return serving(nodes, "site", st.Stamp) })
	if !logB.has("blob fetched", "from=a") {
		t.Errorf("b, without inline blobs, fetched nothing:\n%s", logB)
	}
	if logB.has("message dropped") {
		t.Errorf("b was sent a message it does not take:\n%s", logB)
	}
	if logC.has("blob fetched") {
		t.Errorf("c fetched blobs the message carried:\n%s", logC)
	}
	if !logC.has("blobs stored from the message", "blobs=2", "still_missing=0") {
		t.Errorf("c did not store the message's blobs:\n%s", logC)
	}
}

// TestFirstDeployNeedsNoFetch: on the simulated WAN (3 regions of 3), the
// first version of an app (two new blobs, 32 KiB) reaches every node with
// no peer-channel connection at all: the origin's messages carry the
// blobs to its region and to the relays, the relays' to their region.
// A region is sent them once per member, and once more for its second
// relay (the first relay's message reaches it before the origin's, so it
// passes nothing on). A version over the bound is still fetched, and
// reaches every node.
func TestFirstDeployNeedsNoFetch(t *testing.T) {
	const perRegion, size = 3, 32 << 10
	rm := startRegionMesh(t, 3, perRegion)
	dials0, _ := rm.w.dials()
	_, read0 := rm.w.crossings()
	received := func() (n [3]int64) {
		for i, x := range rm.nodes {
			_, r := x.mesh.Bytes()
			n[rm.regionOf[i]] += r
		}
		return n
	}
	got0 := received()
	st := deployFiles(t, rm.nodes[0], rm.priv, "site", map[string]string{"edge.toml": "name = \"site\"\n", "public/index.html": page(0, size)})
	waitFor(t, time.Minute, "every node serves the first deploy", func() bool { return serving(rm.nodes, "site", st.Stamp) })
	dials, _ := rm.w.dials()
	_, read := rm.w.crossings()
	if dials != dials0 {
		t.Errorf("the first deploy dialed %d peer-channel connections, want 0", dials-dials0)
	}
	if n := sumCross(read) - sumCross(read0); n != 0 {
		t.Errorf("the first deploy read %d peer-channel bytes across regions, want 0", n)
	}
	time.Sleep(500 * time.Millisecond) // the second relays' sends
	got := received()
	for r := 1; r < 3; r++ { // the origin, node 0, is in region 0
		// perRegion+1 copies of the page, and a few KiB of state per message
		if n, most := got[r]-got0[r], int64((perRegion+1)*size+perRegion*3*4<<10); n > most {
			t.Errorf("region %d was sent %d bytes of messages, want ≤ %d: about %d copies of the page", r, n, most, n/size)
		}
	}

	big := deployFiles(t, rm.nodes[1], rm.priv, "site", map[string]string{"edge.toml": "name = \"site\"\n",
		"public/index.html": strings.Repeat("b", gossip.DefaultInlineMax+1)})
	waitFor(t, time.Minute, "every node serves the version over the bound", func() bool { return serving(rm.nodes, "site", big.Stamp) })
	if after, _ := rm.w.dials(); after == dials {
		t.Error("a version over the bound was not fetched: nothing dialed")
	}
	if d := rm.dead.Load(); d != 0 {
		t.Errorf("%d alive members declared dead", d)
	}
}
