package gossip_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/state"
	"github.com/hashicorp/memberlist"
)

// BenchmarkMeshScale measures the region-aware mesh on a simulated WAN:
// EDGE_MESH_NODES in-process nodes (default 50) in 5 regions (2 ms round
// trips within a region, 40-250 ms between, 1 % packet loss between),
// memberlist's WAN preset (EDGE_MESH_TIMINGS=rtt: timings derived from
// the slowest round trip, Config.MaxRTT), real timers, not scaled; the
// mesh forms 16 nodes at a time, each joining its region's first node. Deploys are
// static pages (no modules to compile) applied straight into each node's
// cache, so that 200 nodes fit 2 shared cores; each page is 4 KiB that
// do not compress (noisyPage). It reports:
//
//   - formed-s: until every node sees every other;
//   - heap-KiB/node: Go heap in use after forming, per node;
//   - rest-B/node/s: memberlist bytes a node sends per second at rest,
//     over EDGE_MESH_REST seconds (default 20; 600 for a 10-minute soak);
//   - p50-ms, p99-ms: ten deploys from changing nodes, each until every
//     node serves it (p99 of ten is the slowest);
//   - deploy-B/node/s: memberlist bytes per node per second meanwhile;
//     deploy+peer-B/node/s adds the peer channel's (blob fetches, TLS);
//   - deploy0-ms, peer-dials-deploy0: the first deploy of the app (two
//     new blobs where the later ones have one), apart;
//   - peer-dials/deploy, cross-peer-dials/deploy, cross-peer-KiB/deploy:
//     peer-channel connections dialed (all; across regions) and bytes
//     read across regions, per deploy;
//   - cross-streams/deploy: streams opened across region boundaries per
//     deploy (push/pull and pings included);
//   - suspicions/h, false-dead: probes unanswered (per hour, mesh-wide,
//     from the rest through the deploys) and members declared dead from
//     the start until the cut, no node being down;
//   - heal-ms: one region cut off for EDGE_MESH_CUT (default 60s), a
//     deploy on each side, then from the heal until every node serves the
//     winner;
//   - join-ms: a new node joining, until it serves every app.
//
// EDGE_MESH_SLOW=f multiplies memberlist's timers by f (a loaded machine);
// EDGE_MESH_DEPLOYS (default 10) and EDGE_MESH_CUT (seconds, default 60)
// shorten a run.
//
// Run: EDGE_MESH_NODES=200 go test ./gossip -run - -bench MeshScale -benchtime 1x -timeout 60m
func BenchmarkMeshScale(b *testing.B) {
	size := envInt("EDGE_MESH_NODES", 50)
	cut := time.Duration(envInt("EDGE_MESH_CUT", 60)) * time.Second
	const regions, apps = 5, 10
	var sent atomic.Int64
	// EDGE_MESH_TIMINGS=rtt: timings derived from the slowest round trip
	// (Config.MaxRTT); otherwise memberlist's WAN preset (Config.WAN).
	ro := regionOpts{sent: &sent, wanPreset: os.Getenv("EDGE_MESH_TIMINGS") != "rtt"}
	// EDGE_MESH_INLINE=off: every blob is fetched on the peer channel, as
	// before small versions travelled in the fan-out message.
	if os.Getenv("EDGE_MESH_INLINE") == "off" {
		progress("blobs never travel in messages (EDGE_MESH_INLINE=off)")
		ro.inlineMax = -1
	}
	if f := time.Duration(envInt("EDGE_MESH_SLOW", 1)); f > 1 {
		// memberlist's timers × f, for a machine too loaded to run the
		// nodes on real ones: each node then gets f times the slack
		progress("memberlist's timers scaled × %d", f)
		ro.tune = func(mc *memberlist.Config) {
			mc.ProbeInterval *= f
			mc.ProbeTimeout *= f
			mc.GossipInterval *= f
			mc.PushPullInterval *= f
			mc.TCPTimeout *= f
		}
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	rm := startRegionMeshWith(b, regions, size/regions, ro)
	size = len(rm.nodes)
	formed := time.Since(t0)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := (float64(after.HeapInuse) - float64(before.HeapInuse)) / float64(size) / 1024
	progress("formed: %d nodes in %s", size, formed)

	// apps to join into later, one per region's node
	var last []*state.AppState
	for a := range apps {
		st := deploy(b, rm.nodes[a%size], rm.priv, fmt.Sprintf("app%d", a), "app")
		last = append(last, st)
	}
	for a, st := range last {
		pollFor(b, 5*time.Minute, "every app everywhere", func() bool { return serving(rm.nodes, fmt.Sprintf("app%d", a), st.Stamp) })
	}
	progress("%d apps everywhere", apps)
	time.Sleep(2 * time.Second)
	suspect0, tRest := rm.suspected.Load(), time.Now()
	s0 := sent.Load()
	time.Sleep(time.Duration(envInt("EDGE_MESH_REST", 20)) * time.Second)
	rest := float64(sent.Load()-s0) / time.Since(tRest).Seconds() / float64(size)

	b.ResetTimer()
	var took []time.Duration
	streams0, _ := rm.w.crossings()
	s0, tDeploys, peer0 := sent.Load(), time.Now(), rm.w.peerAll.Load()
	dials0, crossDials0 := rm.w.dials()
	_, readStart := rm.w.crossings()
	var dials, crossDials []int
	var crossRead []int64
	for i := range envInt("EDGE_MESH_DEPLOYS", 10) {
		start := time.Now()
		d0, c0 := rm.w.dials()
		_, read0 := rm.w.crossings()
		st := deployFiles(b, rm.nodes[(i*7)%size], rm.priv, "site", map[string]string{
			"edge.toml":         "name = \"site\"\n",
			"public/index.html": noisyPage(i, 4<<10),
		})
		pollFor(b, 5*time.Minute, "all nodes serve the deploy", func() bool { return serving(rm.nodes, "site", st.Stamp) })
		took = append(took, time.Since(start))
		d1, c1 := rm.w.dials()
		_, read1 := rm.w.crossings()
		dials, crossDials, crossRead = append(dials, d1-d0), append(crossDials, c1-c0), append(crossRead, sumCross(read1)-sumCross(read0))
		progress("deploy %d: %s (peer dials %d, %d across regions; %d peer bytes read across regions)", i, took[i], dials[i], crossDials[i], crossRead[i])
	}
	dialsN, crossDialsN := rm.w.dials()
	_, readN := rm.w.crossings()
	deployRate := float64(sent.Load()-s0) / time.Since(tDeploys).Seconds() / float64(size)
	// blobs moved on the peer channel (TLS included) are not gossip bytes:
	// with them, a deploy's whole traffic
	deployAllRate := float64(sent.Load()-s0+rm.w.peerAll.Load()-peer0) / time.Since(tDeploys).Seconds() / float64(size)
	streams, _ := rm.w.crossings()
	cross := 0
	for a := range regions {
		for c := range regions {
			if a != c {
				cross += streams[a][c] - streams0[a][c]
			}
		}
	}
	b.StopTimer()
	suspicionsPerHour := float64(rm.suspected.Load()-suspect0) / time.Since(tRest).Hours()
	dead := rm.dead.Load()

	heal := healAfterCut(b, rm, cut)
	progress("healed in %s", heal)
	join := joinAll(b, rm, ro, apps)
	progress("joined in %s", join)

	b.ReportMetric(float64(took[0].Microseconds())/1000, "deploy0-ms")
	b.ReportMetric(float64(dials[0]), "peer-dials-deploy0")
	b.ReportMetric(float64(dialsN-dials0)/float64(len(took)), "peer-dials/deploy")
	b.ReportMetric(float64(crossDialsN-crossDials0)/float64(len(took)), "cross-peer-dials/deploy")
	b.ReportMetric(float64(sumCross(readN)-sumCross(readStart))/float64(len(took))/1024, "cross-peer-KiB/deploy")
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "p99-ms")
	b.ReportMetric(formed.Seconds(), "formed-s")
	b.ReportMetric(heap, "heap-KiB/node")
	b.ReportMetric(rest, "rest-B/node/s")
	b.ReportMetric(deployRate, "deploy-B/node/s")
	b.ReportMetric(deployAllRate, "deploy+peer-B/node/s")
	b.ReportMetric(float64(cross)/float64(len(took)), "cross-streams/deploy")
	b.ReportMetric(suspicionsPerHour, "suspicions/h")
	b.ReportMetric(float64(dead), "false-dead")
	b.ReportMetric(float64(heal.Milliseconds()), "heal-ms")
	b.ReportMetric(float64(join.Milliseconds()), "join-ms")
	b.ReportMetric(float64(rm.w.lost.Load()), "packets-lost")
}

// healAfterCut cuts the last region off for cut, deploys on each side,
// heals, and returns how long until every node serves the winner.
func healAfterCut(b *testing.B, rm *regionMesh, cut time.Duration) time.Duration {
	island := rm.regions - 1
	var in, out *node
	for i, n := range rm.nodes {
		if rm.regionOf[i] == island && in == nil {
			in = n
		}
		if rm.regionOf[i] == 0 && out == nil {
			out = n
		}
	}
	rm.w.setCut(island, true)
	cutAt := time.Now()
	a := deploy(b, out, rm.priv, "site", "outside")
	c := deploy(b, in, rm.priv, "site", "inside")
	time.Sleep(time.Until(cutAt.Add(cut)))
	win := a
	if a.Stamp.Less(c.Stamp) {
		win = c
	}
	progress("healing; winner from %s", win.Stamp.Node)
	rm.w.setCut(island, false)
	healed := time.Now()
	next := healed
	pollFor(b, 10*time.Minute, "every node serves the winner after the heal", func() bool {
		if time.Now().After(next) { // where the stragglers are
			var late []string
			knows := 0 // lagging nodes that know the winner, yet do not serve it
			for i, n := range rm.nodes {
				if !serving([]*node{n}, "site", win.Stamp) {
					late = append(late, fmt.Sprintf("%s(r%d)", n.name, rm.regionOf[i]))
					if best := n.mesh.Best("site"); best != nil && best.Stamp == win.Stamp {
						knows++
					}
				}
			}
			progress("%s after the heal, %d nodes lag (%d of them know the winner): %v", time.Since(healed).Round(time.Second), len(late), knows, late[:min(len(late), 12)])
			next = next.Add(2 * time.Second)
		}
		return serving(rm.nodes, "site", win.Stamp)
	})
	return time.Since(healed)
}

// joinAll starts one more node and returns how long until it serves the
// winning state of every app.
func joinAll(b *testing.B, rm *regionMesh, ro regionOpts, apps int) time.Duration {
	ref := rm.nodes[0]
	start := time.Now()
	n := rm.add(b, rm.key, ro, 0)
	names := []string{"site"}
	for a := range apps {
		names = append(names, fmt.Sprintf("app%d", a))
	}
	pollFor(b, 10*time.Minute, "the new node serves every app", func() bool {
		for _, app := range names {
			want, err := ref.ledger.State(app)
			if err != nil || !serving([]*node{n}, app, want.Stamp) {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// noisyPage is a deploy's page of size bytes that do not compress:
// memberlist compresses its messages and the peer channel does not, so a
// page of one repeated letter would make blobs sent in a message look
// nearly free.
func noisyPage(i, size int) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	b := make([]byte, size)
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	return string(b)
}

// sumCross adds up the peer-channel bytes read across region boundaries.
func sumCross(read [][]int64) int64 {
	var n int64
	for a, row := range read {
		for b, v := range row {
			if a != b {
				n += v
			}
		}
	}
	return n
}

// pollFor is waitFor polling every 100 ms: reading every node's state
// every 10 ms would take the CPU the nodes need (100 nodes: 10,000 reads
// and decodes a second).
func pollFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// progress tells the one running the benchmark where it is.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(os.Getenv(name))); err == nil && v > 0 {
		return v
	}
	return def
}
