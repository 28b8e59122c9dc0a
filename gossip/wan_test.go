package gossip_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// wan is a simulated wide-area network between in-process nodes: each
// node's address belongs to a region; packets and stream writes between
// two addresses are delayed by half the round trip of their regions, and
// packets between regions are lost with probability loss. It stands in
// for the world behind memberlist's Transport seam (see wanTransport);
// the nodes, their stores and the peer endpoints are real.
type wan struct {
	mu     sync.Mutex
	region map[string]int // address → region index
	rtt    [][]time.Duration
	loss   float64
	rng    *rand.Rand
	lost   atomic.Int64
}

// newWAN builds n regions: within one a round trip of 2 ms, between two
// a round trip from 40 to 250 ms spread over the pairs, as between
// continents, and loss between regions.
func newWAN(n int, loss float64) *wan {
	w := &wan{region: map[string]int{}, loss: loss, rng: rand.New(rand.NewPCG(1, 2))}
	w.rtt = make([][]time.Duration, n)
	for i := range n {
		w.rtt[i] = make([]time.Duration, n)
		for j := range n {
			switch {
			case i == j:
				w.rtt[i][j] = 2 * time.Millisecond
			default:
				lo, hi := min(i, j), max(i, j)
				step := (hi*n + lo) % 8 // 8 steps from 40 to 250 ms
				w.rtt[i][j] = 40*time.Millisecond + time.Duration(step)*30*time.Millisecond
			}
		}
	}
	return w
}

func (w *wan) place(addr string, region int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.region[addr] = region
}

// oneWay is the delay from a to b, and whether the pair crosses regions.
func (w *wan) oneWay(a, b string) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ra, rb := w.region[a], w.region[b]
	return w.rtt[ra][rb] / 2, ra != rb
}

func (w *wan) drop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rng.Float64() < w.loss
}

// wanTransport is one node's transport on a wan.
type wanTransport struct {
	memberlist.Transport
	self string
	wan  *wan
}

func (t *wanTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	d, cross := t.wan.oneWay(t.self, addr)
	if cross && t.wan.drop() {
		t.wan.lost.Add(1)
		return time.Now(), nil
	}
	msg := append([]byte(nil), b...)
	time.AfterFunc(d, func() { _, _ = t.Transport.WriteTo(msg, addr) })
	return time.Now(), nil
}

// DialTimeout pays a round trip for the handshake; every write on the
// stream then arrives half a round trip later.
func (t *wanTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	d, _ := t.wan.oneWay(t.self, addr)
	if 2*d >= timeout {
		return nil, context.DeadlineExceeded
	}
	time.Sleep(2 * d)
	conn, err := t.Transport.DialTimeout(addr, timeout-2*d)
	if err != nil {
		return nil, err
	}
	return &delayConn{Conn: conn, delay: d}, nil
}

// delayConn delays each write by the link's one-way time. Writes are
// serialised, as on one TCP stream.
type delayConn struct {
	net.Conn
	delay time.Duration
}

func (c *delayConn) Write(b []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(b)
}

// deathCounter is a log handler counting the members a node declared
// dead: under a simulated WAN with no node stopped, each is a false
// suspicion that went all the way.
type deathCounter struct {
	slog.Handler
	dead *atomic.Int64
}

func (h deathCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h deathCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "member gone" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "state" && a.Value.String() == "dead" {
			h.dead.Add(1)
		}
		return true
	})
	return nil
}

func (h deathCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h deathCounter) WithGroup(string) slog.Handler      { return h }

// BenchmarkMeshWAN: EDGE_MESH_NODES in-process nodes (default 50) spread
// over 5 regions of a simulated WAN (2 ms round trips within a region,
// 40-250 ms between, 1 % packet loss between), with memberlist's WAN
// timings. Ten deploys, each from another node, with a new page every
// node fetches from a peer: p50 and p99 of the time until every node
// serves it; the members falsely declared dead meanwhile (no node is
// stopped); then the gossip bytes a node sends per second at rest.
// Timers are real, not scaled.
// Run: EDGE_MESH_NODES=200 go test ./gossip -run - -bench MeshWAN -benchtime 1x
func BenchmarkMeshWAN(b *testing.B) {
	size := 50
	if v, err := strconv.Atoi(os.Getenv("EDGE_MESH_NODES")); err == nil && v > 1 {
		size = v
	}
	const regions = 5
	w := newWAN(regions, 0.01)
	key, priv := keys(b)
	var sent, dead atomic.Int64
	region := 0
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, wanTimings: true,
		tune: func(mc *memberlist.Config) {},
		wrap: func(t memberlist.Transport, addr string) memberlist.Transport {
			w.place(addr, region)
			return newCountTransport(&wanTransport{Transport: t, self: addr, wan: w}, &sent)
		},
		log: slog.New(deathCounter{dead: &dead}),
	}
	start := time.Now()
	var nodes []*node
	for i := range size {
		region = i % regions
		o.region = fmt.Sprintf("r%d", region)
		var join []string
		if i > 0 {
			join = []string{nodes[0].mesh.Addr()}
		}
		nodes = append(nodes, startMesh(b, fmt.Sprintf("n%03d", i), join, o))
	}
	waitFor(b, 5*time.Minute, "every member sees every member", func() bool {
		for _, n := range nodes {
			if n.mesh.NumMembers() != size {
				return false
			}
		}
		return true
	})
	formed := time.Since(start)
	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := range 10 {
			t0 := time.Now()
			st := deployFiles(b, nodes[(i*7)%size], priv, "site", map[string]string{
				"edge.toml":         "name = \"site\"\n",
				"public/index.html": fmt.Sprintf("deploy %d", i),
			})
			waitFor(b, 2*time.Minute, "all nodes serve the deploy", func() bool { return serving(nodes, "site", st.Stamp) })
			took = append(took, time.Since(t0))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "p99-ms")
	}
	b.StopTimer()
	time.Sleep(2 * time.Second)
	before, t0 := sent.Load(), time.Now()
	time.Sleep(10 * time.Second)
	b.ReportMetric(float64(sent.Load()-before)/time.Since(t0).Seconds()/float64(size), "rest-B/node/s")
	b.ReportMetric(float64(dead.Load()), "false-deaths")
	b.ReportMetric(float64(w.lost.Load()), "packets-lost")
	b.ReportMetric(formed.Seconds(), "formed-s") // ResetTimer drops metrics reported before it
}
