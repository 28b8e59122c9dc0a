package gossip_test

import (
	"cmp"
	"crypto/ed25519"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// regionMesh is a mesh of perRegion nodes in each of regions regions of a
// simulated WAN (1 % loss between regions). Periodic push/pull and
// TCP pings are off, so that every stream crossing a boundary after the
// mesh formed is a state sent: the simulator's stream counts are then the
// fan-out's crossings.
type regionMesh struct {
	w                  *wan
	nodes              []*node
	regionOf           []int
	priv               ed25519.PrivateKey
	key                []byte
	dead, suspected    *atomic.Int64
	regions, perRegion int
}

// startRegionMesh uses memberlist's WAN preset: the timings derived from
// the round trips (Config.MaxRTT) leave a process starved of CPU (the
// tests share 2 cores) too little room, and a member falsely declared
// dead is rejoined across boundaries, which the crossing counts would see.
func startRegionMesh(t testing.TB, regions, perRegion int) *regionMesh {
	return startRegionMeshWith(t, regions, perRegion, regionOpts{isolate: true, wanPreset: true})
}

// regionOpts adjust a regionMesh: isolate turns periodic push/pull and TCP
// pings off (the tests' crossing counts); sent counts every byte the
// nodes' memberlist sends; scale reports formation progress.
type regionOpts struct {
	isolate bool
	sent    *atomic.Int64
	// wanPreset uses memberlist's WAN preset instead of timings derived
	// from the WAN's slowest round trip.
	wanPreset bool
	// tune, if set, adjusts memberlist's configuration after the rest;
	// rejoin, if set, is Config.RejoinInterval (default: the node's 5s).
	tune   func(*memberlist.Config)
	rejoin time.Duration
	// inlineMax is every node's Config.InlineMax (-1: blobs never travel
	// in messages, the comparison with the fetch-only mesh).
	inlineMax int
}

// opts are the meshOpts of a node of region r on rm's WAN.
func (rm *regionMesh) opts(key []byte, ro regionOpts, r int) meshOpts {
	rtt := rm.w.maxRTT()
	if ro.wanPreset {
		rtt = 0
	}
	return meshOpts{key: key, trusted: []ed25519.PublicKey{rm.priv.Public().(ed25519.PublicKey)}, maxRTT: rtt, wanTimings: ro.wanPreset,
		region: fmt.Sprintf("r%d", r), peerDial: rm.w.peerDialer(r), rejoin: cmp.Or(ro.rejoin, 5*time.Second), // the node's default
		inlineMax: ro.inlineMax,
		tune: func(mc *memberlist.Config) {
			if ro.isolate {
				mc.PushPullInterval = 0
				mc.DisableTcpPings = true
			}
			mc.Logger = log.New(suspicions{rm.suspected}, mc.Name+" ", 0) // mc.Name is set before Tune
			if ro.tune != nil {
				ro.tune(mc)
			}
		},
		wrap: func(t memberlist.Transport, addr string) memberlist.Transport {
			rm.w.place(addr, r)
			var tr memberlist.Transport = &wanTransport{Transport: t, self: addr, wan: rm.w}
			if ro.sent != nil {
				tr = newCountTransport(tr, ro.sent)
			}
			return tr
		},
		log: slog.New(deathCounter{dead: rm.dead}),
	}
}

// add starts one more node in region r, joining that region's first node
// (or the mesh's first).
func (rm *regionMesh) add(t testing.TB, key []byte, ro regionOpts, r int) *node {
	t.Helper()
	var join []string
	for i, n := range rm.nodes {
		if ro.isolate { // no push/pull to spread members: meet each one at the join
			join = append(join, n.mesh.Addr())
		} else if rm.regionOf[i] == r || i == len(rm.nodes)-1 {
			join = []string{n.mesh.Addr()}
			break
		}
	}
	n, err := rm.open(t, fmt.Sprintf("n%03d", len(rm.nodes)), join, key, ro, r)
	if err != nil {
		t.Fatal(err)
	}
	rm.nodes = append(rm.nodes, n)
	rm.regionOf = append(rm.regionOf, r)
	return n
}

// open starts a node of region r on rm's WAN, joining join.
func (rm *regionMesh) open(t testing.TB, name string, join []string, key []byte, ro regionOpts, r int) (*node, error) {
	n, err := openMesh(t, name, join, rm.opts(key, ro, r))
	if err != nil {
		return nil, err
	}
	rm.w.place(n.mesh.PeerAddr(), r)
	return n, nil
}

// formParallel is how many nodes start at once when a mesh forms: each
// start waits on its join's round trips and on bbolt's syncs, not on CPU.
const formParallel = 16

func startRegionMeshWith(t testing.TB, regions, perRegion int, ro regionOpts) *regionMesh {
	t.Helper()
	w := newWAN(regions, 0.01)
	key, priv := keys(t)
	rm := &regionMesh{w: w, priv: priv, key: key, dead: new(atomic.Int64), suspected: new(atomic.Int64), regions: regions, perRegion: perRegion}
	total := regions * perRegion
	seeds := min(regions, total)
	if ro.isolate { // every node joins every one before it: one after the other
		seeds = total
	}
	for i := range seeds {
		rm.add(t, key, ro, i%regions)
	}
	// The others start formParallel at a time, each joining its region's
	// seed: a mesh of 200 forms in the time of a few joins, not 200.
	rest := make([]*node, total-seeds)
	errs := make([]error, len(rest))
	sem := make(chan struct{}, formParallel)
	var wg sync.WaitGroup
	for k := range rest {
		i := seeds + k
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rest[k], errs[k] = rm.open(t, fmt.Sprintf("n%03d", i), []string{rm.nodes[i%regions].mesh.Addr()}, key, ro, i%regions)
		}()
	}
	wg.Wait()
	for k, n := range rest {
		if errs[k] != nil {
			t.Fatal(errs[k])
		}
		rm.nodes = append(rm.nodes, n)
		rm.regionOf = append(rm.regionOf, (seeds+k)%regions)
	}
	t.Cleanup(func() { stopAll(rm.nodes) }) // before each node's own, one by one
	formed, next := time.Now(), time.Now().Add(30*time.Second)
	pollFor(t, 10*time.Minute, "every member sees every member", func() bool {
		short, least := 0, len(rm.nodes)
		for _, n := range rm.nodes {
			if k := n.mesh.NumMembers(); k != len(rm.nodes) {
				short, least = short+1, min(least, k)
			}
		}
		if short > 0 && time.Now().After(next) { // a large mesh forming slowly: say where
			progress("forming for %s: %d nodes see fewer than %d members, the fewest %d", time.Since(formed).Round(time.Second), short, len(rm.nodes), least)
			rm.sayMissing()
			next = next.Add(15 * time.Second)
		}
		return short == 0
	})
	return rm
}

// sayMissing tells who misses whom, and in what state.
func (rm *regionMesh) sayMissing() {
	var names []string
	for _, n := range rm.nodes {
		names = append(names, n.name)
	}
	for i, n := range rm.nodes {
		if miss := n.mesh.Missing(names); len(miss) > 0 {
			progress("  %s(r%d) misses %v", n.name, rm.regionOf[i], miss)
		}
	}
}

// stopAll stops the meshes of nodes at once: one by one, each graceful
// leave waits out its own timeout.
func stopAll(nodes []*node) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.mesh.Stop() }()
	}
	wg.Wait()
}

// page is a deploy's page: size bytes that differ per deploy.
func page(i, size int) string {
	return fmt.Sprintf("deploy %d\n", i) + strings.Repeat("x", size)
}

// TestRegionalFanOut: 15 nodes in 3 regions. Each deploy reaches every
// node, and crosses each region boundary a bounded number of times: the
// origin's region opens at most relaysPerRegion streams to each other
// region (sending to each node would be 5), the other regions none
// between them, and each region reads the version's blobs across its
// boundary at most relaysPerRegion times (once per relay), whatever the
// number of its nodes: not at all for the small versions, whose blobs
// the relay messages carry; the last version is over that bound and
// fetched. No alive node is declared dead meanwhile.
func TestRegionalFanOut(t *testing.T) {
	const regions, perRegion, relays, small, large = 3, 5, 2, 32 << 10, 96 << 10
	t0 := time.Now()
	rm := startRegionMesh(t, regions, perRegion)
	t.Logf("formed in %s", time.Since(t0))
	for i := range regions {
		t0 = time.Now()
		origin := rm.nodes[i*4%len(rm.nodes)]
		from := rm.regionOf[i*4%len(rm.nodes)]
		streams0, bytes0 := rm.w.crossings()
		sent0 := origin.mesh.CrossRegionSends()
		size := small
		if i == regions-1 {
			size = large
		}
		st := deployFiles(t, origin, rm.priv, "site", map[string]string{"edge.toml": "name = \"site\"\n", "public/index.html": page(i, size)})
		waitFor(t, 2*time.Minute, "every node serves the deploy", func() bool { return serving(rm.nodes, "site", st.Stamp) })
		waitFor(t, time.Minute, "the origin's relay sends end", func() bool {
			return origin.mesh.CrossRegionSends()-sent0 >= relays*(regions-1)
		})
		t.Logf("deploy %d: all serve, relays sent in %s", i, time.Since(t0))
		time.Sleep(500 * time.Millisecond) // the relays' last in-region sends
		streams, bytes := rm.w.crossings()
		for a := range regions {
			for b := range regions {
				if a == b {
					continue
				}
				n, read := streams[a][b]-streams0[a][b], bytes[a][b]-bytes0[a][b]
				want := 0
				if a == from {
					want = relays
				}
				if n > want {
					t.Errorf("deploy %d from r%d: %d streams r%d→r%d, want ≤ %d", i, from, n, a, b, want)
				}
				// blobs read by region a from region b: at most once per relay, with TLS and HTTP
				if b == from && size == small && read > 0 {
					t.Errorf("deploy %d: r%d read %d bytes from r%d, want none: the relay messages carry the blobs", i, a, read, b)
				}
				if b == from && read > int64(relays*(size+16<<10)) {
					t.Errorf("deploy %d: r%d read %d bytes of blobs from r%d, want ≤ %d", i, a, read, b, relays*(size+16<<10))
				}
				if b != from && read > 0 {
					t.Errorf("deploy %d: r%d read %d bytes from r%d, which is not the origin's region", i, a, read, b)
				}
			}
		}
	}
	if d := rm.dead.Load(); d != 0 {
		t.Errorf("%d alive members declared dead", d)
	}
	t.Logf("suspicions: %d, packets lost: %d", rm.suspected.Load(), rm.w.lost.Load())
}

// TestRegionPartitionHeals: one region of three is cut off; a deploy on
// each side, same sequence; then the cut heals. Every node ends up
// serving the same winner: the origins kept the regions they could not
// reach pending and hand their states over once the network is back,
// without waiting for a push/pull (off here) or for the members to be
// declared dead and rejoined.
func TestRegionPartitionHeals(t *testing.T) {
	rm := startRegionMesh(t, 3, 3)
	base := deploy(t, rm.nodes[0], rm.priv, "site", "base")
	waitFor(t, time.Minute, "the base deploy everywhere", func() bool { return serving(rm.nodes, "site", base.Stamp) })
	rm.w.setCut(2, true)
	inside, outside := rm.nodes[2], rm.nodes[1] // regions 2 and 1
	a := deploy(t, outside, rm.priv, "site", "outside")
	b := deploy(t, inside, rm.priv, "site", "inside")
	if a.Stamp.Gen != b.Stamp.Gen {
		t.Fatalf("generations %d and %d: want concurrent deploys", a.Stamp.Gen, b.Stamp.Gen)
	}
	var cutOff, rest []*node
	for i, n := range rm.nodes {
		if rm.regionOf[i] == 2 {
			cutOff = append(cutOff, n)
		} else {
			rest = append(rest, n)
		}
	}
	waitFor(t, time.Minute, "each side serves its own deploy", func() bool {
		return serving(cutOff, "site", b.Stamp) && serving(rest, "site", a.Stamp)
	})
	rm.w.setCut(2, false)
	win := a
	if a.Stamp.Less(b.Stamp) {
		win = b
	}
	waitFor(t, time.Minute, "every node serves the winner", func() bool { return serving(rm.nodes, "site", win.Stamp) })
	if d := rm.dead.Load(); d != 0 {
		t.Logf("%d members declared dead during the cut", d)
	}
}
