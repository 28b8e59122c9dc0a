package gossip

import (
	"testing"

	"github.com/hashicorp/memberlist"
)

// TestPeersForOrder: blobs are fetched from the holder named with the
// state, then its origin, then this node's region, then the origin's,
// then the rest; the holder and the origin even when memberlist holds
// them dead (a partition just healed), at the endpoint they last
// advertised. Walking this region's members first, none of which may have
// a state learned by push/pull, took tens of seconds at 200 nodes.
func TestPeersForOrder(t *testing.T) {
	m := &Mesh{cfg: Config{Name: "self", Region: "r0"}, live: map[string]memberlist.Node{}}
	m.fan.init()
	add := func(name, region string, alive bool) {
		meta, _ := Meta{Region: region, Peer: name + ":1"}.encode()
		n := memberlist.Node{Name: name, Meta: meta}
		m.placeMember(&n)
		if alive {
			m.live[name] = n
		}
	}
	add("self", "r0", true)
	add("a", "r0", true)
	add("b", "r0", true)
	add("c", "r2", true)
	add("d", "r1", true)
	add("origin", "r2", false) // dead to memberlist: the other side of a cut
	add("holder", "r3", false)
	order := func(origin, holder string) (names []string) {
		for _, p := range m.peersFor(origin, holder) {
			names = append(names, p.name)
		}
		return names
	}
	for range 20 { // each group is shuffled
		got := order("origin", "")
		if len(got) != 5 || got[0] != "origin" || got[3] != "c" || got[4] != "d" {
			t.Fatalf("no holder: %v, want origin, then a and b (this region), c (the origin's), d", got)
		}
		got = order("origin", "holder")
		if len(got) != 6 || got[0] != "holder" || got[1] != "origin" {
			t.Fatalf("holder and origin dead to memberlist: %v, want them first", got)
		}
	}
}
