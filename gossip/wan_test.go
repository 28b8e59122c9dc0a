package gossip_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	// streams counts the memberlist streams opened from one region to
	// another: a state sent, a push/pull, a TCP ping. [from][to].
	streams [][]int
	// peerBytes counts the bytes peer-channel clients read from another
	// region: blobs fetched across a boundary, with TLS and HTTP. [client][server].
	peerBytes [][]int64
	// peerDials counts the peer-channel connections dialed (TCP and TLS
	// handshakes to come), [client][server]: a blob fetched on a kept
	// connection costs none.
	peerDials [][]int
	// peerAll counts every byte of the peer channel, both ways, in any
	// region: what a blob fetch costs on top of the gossip.
	peerAll atomic.Int64
	// cut regions neither send packets nor open streams to other regions.
	cut map[int]bool
	// filter, if set before the nodes start, sees every packet from one
	// address to another and returns what is delivered (nil: nothing).
	filter func(from, to string, b []byte) []byte
}

// newWAN builds n regions: within one a round trip of 2 ms, between two
// a round trip from 40 to 250 ms spread over the pairs, as between
// continents, and loss between regions.
func newWAN(n int, loss float64) *wan {
	w := &wan{region: map[string]int{}, loss: loss, rng: rand.New(rand.NewPCG(1, 2)), cut: map[int]bool{}}
	w.rtt = make([][]time.Duration, n)
	w.streams, w.peerBytes, w.peerDials = make([][]int, n), make([][]int64, n), make([][]int, n)
	for i := range n {
		w.rtt[i] = make([]time.Duration, n)
		w.streams[i], w.peerBytes[i], w.peerDials[i] = make([]int, n), make([]int64, n), make([]int, n)
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

// maxRTT is the slowest round trip between two regions.
func (w *wan) maxRTT() time.Duration {
	var m time.Duration
	for _, row := range w.rtt {
		m = max(m, slices.Max(row))
	}
	return m
}

// blocked reports whether a region cut separates a from b.
func (w *wan) blocked(a, b string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ra, rb := w.region[a], w.region[b]
	return ra != rb && (w.cut[ra] || w.cut[rb])
}

// setCut cuts region r off the others, or heals it.
func (w *wan) setCut(r int, cut bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cut[r] = cut
}

// stream counts a stream opened from a to b.
func (w *wan) stream(a, b string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.streams[w.region[a]][w.region[b]]++
}

// dials is the number of peer-channel connections dialed so far: all, and
// those across a region boundary.
func (w *wan) dials() (all, cross int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for a, row := range w.peerDials {
		for b, n := range row {
			all += n
			if a != b {
				cross += n
			}
		}
	}
	return all, cross
}

// crossings is a copy of the stream counts, and of the peer-channel bytes.
func (w *wan) crossings() ([][]int, [][]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, p := make([][]int, len(w.streams)), make([][]int64, len(w.peerBytes))
	for i := range s {
		s[i], p[i] = slices.Clone(w.streams[i]), slices.Clone(w.peerBytes[i])
	}
	return s, p
}

// peerDialer is the peer channel's dialer for a client in region r: it
// pays a round trip for the handshake, delays every write by half of one,
// and counts the bytes read from other regions.
func (w *wan) peerDialer(r int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		w.mu.Lock()
		to, cut := w.region[addr], w.cut[r] || w.cut[w.region[addr]]
		d := w.rtt[r][to] / 2
		blocked := to != r && cut
		if !blocked {
			w.peerDials[r][to]++
		}
		w.mu.Unlock()
		if blocked {
			return nil, errors.New("wan: region cut off")
		}
		time.Sleep(2 * d)
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		pc := &peerConn{delayConn: delayConn{Conn: conn, delay: d}, all: &w.peerAll}
		if to != r {
			pc.count = func(n int) {
				w.mu.Lock()
				w.peerBytes[r][to] += int64(n)
				w.mu.Unlock()
			}
		}
		return pc, nil
	}
}

// peerConn is a peer-channel connection on the wan.
type peerConn struct {
	delayConn
	count func(n int) // bytes read across a boundary (nil: same region)
	all   *atomic.Int64
}

func (c *peerConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.count != nil && n > 0 {
		c.count(n)
	}
	c.all.Add(int64(n))
	return n, err
}

func (c *peerConn) Write(b []byte) (int, error) {
	n, err := c.delayConn.Write(b)
	c.all.Add(int64(n))
	return n, err
}

// suspicions counts memberlist's "Suspect" log lines: probes that went
// unanswered. Put it in memberlist's Logger (Config.Tune).
type suspicions struct{ n *atomic.Int64 }

func (s suspicions) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "memberlist: Suspect ") {
		s.n.Add(1)
	}
	for _, t := range mlTrace {
		if t != "" && strings.Contains(string(b), t) {
			fmt.Fprintf(os.Stderr, "%s %s", time.Now().Format("15:04:05.000"), b)
			break
		}
	}
	return len(b), nil
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
	if t.wan.blocked(t.self, addr) {
		return time.Now(), nil
	}
	if cross && t.wan.drop() {
		t.wan.lost.Add(1)
		return time.Now(), nil
	}
	msg := append([]byte(nil), b...)
	if t.wan.filter != nil {
		if msg = t.wan.filter(t.self, addr, msg); msg == nil {
			return time.Now(), nil
		}
	}
	time.AfterFunc(d, func() { _, _ = t.Transport.WriteTo(msg, addr) })
	return time.Now(), nil
}

// DialTimeout pays a round trip for the handshake; every write on the
// stream then arrives half a round trip later.
func (t *wanTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	d, _ := t.wan.oneWay(t.self, addr)
	if t.wan.blocked(t.self, addr) {
		return nil, errors.New("wan: region cut off")
	}
	if 2*d >= timeout {
		return nil, context.DeadlineExceeded
	}
	time.Sleep(2 * d)
	conn, err := t.Transport.DialTimeout(addr, timeout-2*d)
	if err != nil {
		return nil, err
	}
	t.wan.stream(t.self, addr)
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
// suspicion that went all the way. EDGE_MESH_WARN=1 prints every warning;
// EDGE_MESH_TRACE=a|b prints every line whose message contains a or b.
type deathCounter struct {
	slog.Handler
	dead  *atomic.Int64
	attrs []slog.Attr
}

func (h deathCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h deathCounter) Handle(_ context.Context, r slog.Record) error {
	if h.printed(r) {
		var b strings.Builder
		for _, a := range h.attrs {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		fmt.Fprintf(os.Stderr, "%s %s%s\n", r.Time.Format("15:04:05.000"), r.Message, b.String())
	}
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

// mlTrace: EDGE_MESH_MLTRACE=a|b prints memberlist's log lines that contain a or b.
var mlTrace = strings.Split(os.Getenv("EDGE_MESH_MLTRACE"), "|")

var meshTrace = strings.Split(os.Getenv("EDGE_MESH_TRACE"), "|")

func (h deathCounter) printed(r slog.Record) bool {
	if r.Level >= slog.LevelWarn && os.Getenv("EDGE_MESH_WARN") != "" {
		return true
	}
	for _, s := range meshTrace {
		if s != "" && strings.Contains(r.Message, s) {
			return true
		}
	}
	return false
}

func (h deathCounter) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clip(h.attrs), as...)
	return h
}
func (h deathCounter) WithGroup(string) slog.Handler { return h }

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
