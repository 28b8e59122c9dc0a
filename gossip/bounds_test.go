package gossip_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/hashicorp/memberlist"
)

// TestFloodStaysBounded: a member holding the gossip key floods 100,000
// bogus tombstones (in its push/pull state) and 100,000 bogus member names
// (goodbye messages): the others keep none of them, their push/pull stays
// within its budget, and the mesh still converges on a real deploy.
func TestFloodStaysBounded(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, tune: func(mc *memberlist.Config) {
		fast(mc)
		mc.PushPullInterval = 300 * time.Millisecond // the flood travels by push/pull
	}}
	a := startMesh(t, "a", nil, o)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, o)
	r := startMesh(t, "r", []string{a.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "one mesh of 3", func() bool { return alive(a) == 3 && alive(b) == 3 })
	// 20,000 states of ~260 bytes: past the push/pull budget, so r's
	// exchange is windowed. EDGE_FLOOD_N=100000 runs the full
	// flood (about a minute on two loaded cores). Under the race detector
	// (make test), 2,000: the refusal path is the same, the window is not
	// reached.
	n := 20_000
	if raceOn {
		n = 2_000
	}
	if v, err := strconv.Atoi(os.Getenv("EDGE_FLOOD_N")); err == nil && v > 0 {
		n = v
	}
	pad := strings.Repeat("x", 180)
	bogus := make([]gossip.Record, 0, n)
	for i := range n {
		name := fmt.Sprintf("bogus-%d", i)
		if i%10 == 0 {
			name = fmt.Sprintf("../Not A Label %d", i)
		}
		bogus = append(bogus, &state.AppState{App: name, Stamp: state.Stamp{Gen: 1 + i, Node: "r" + pad}, Removed: true})
	}
	r.mesh.Stuff(bogus)
	if _, _, _, push := r.mesh.Sizes(); push > gossip.PushBudget() {
		t.Errorf("r's push/pull state is %d bytes, over the budget of %d", push, gossip.PushBudget())
	}
	if _, _, _, push := r.mesh.Sizes(); !raceOn && push < gossip.PushBudget()/2 {
		t.Fatalf("r's push/pull is %d bytes: the flood does not reach the budget", push)
	}
	for i := range n {
		a.mesh.Deliver(append([]byte{2}, fmt.Sprintf("ghost-%d", i)...))
	}
	waitFor(t, 60*time.Second, "a and b refuse r's bogus states in a push/pull", func() bool {
		return a.mesh.Refused() > 1000 && b.mesh.Refused() > 1000
	})
	for _, x := range []*node{a, b} {
		best, seen, gone, push := x.mesh.Sizes()
		// gone counts real members only (one slowed by the flood may
		// have been declared dead a moment): twice a map entry each.
		if best != 0 || seen > 3 || gone > 2*3 || push > 2 {
			t.Errorf("%s keeps %d states, %d members seen, %d gone, a %d-byte push/pull", x.name, best, seen, gone, push)
		}
	}
	st := deploy(t, a, priv, "site", "real")
	waitFor(t, 30*time.Second, "the real deploy on b", func() bool { return serving([]*node{b}, "site", st.Stamp) })
}

// TestTombstonePruned: a tombstone is gossiped no longer than the
// retention; after it is pruned, the app's old signed state, replayed,
// still does not bring the app back: the cache keeps its high-water mark.
func TestTombstonePruned(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	a := startMesh(t, "a", nil, o)
	old := deploy(t, a, priv, "site", "old")
	tomb := remove(t, a, priv, "site")
	a.mesh.Prune(time.Now().Add(gossip.DefaultRetention + time.Hour))
	if best := a.mesh.Best("site"); best != nil {
		t.Fatalf("tombstone kept past the retention: %+v", best)
	}
	if _, _, _, push := a.mesh.Sizes(); push > 2 {
		t.Errorf("push/pull after the prune is %d bytes", push)
	}
	msg, _ := json.Marshal(old)
	a.mesh.Deliver(append([]byte{1}, msg...))
	if best := a.mesh.Best("site"); best != nil {
		t.Errorf("the old signed state came back after the prune: %+v", best.Stamp)
	}
	if st, _ := a.ledger.State("site"); st.Stamp != tomb.Stamp {
		t.Errorf("a's state %+v, want the tombstone", st.Stamp)
	}
}
