package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/hashicorp/memberlist"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/modules"
)

// countTransport counts every byte a node sends: packets, and both
// directions' writes on the streams it dials and accepts.
type countTransport struct {
	memberlist.Transport
	sent    *atomic.Int64
	streams chan net.Conn
}

func newCountTransport(t memberlist.Transport, sent *atomic.Int64) *countTransport {
	c := &countTransport{Transport: t, sent: sent, streams: make(chan net.Conn)}
	go func() {
		for conn := range t.StreamCh() {
			c.streams <- &countConn{Conn: conn, sent: sent}
		}
	}()
	return c
}

func (c *countTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	c.sent.Add(int64(len(b)))
	return c.Transport.WriteTo(b, addr)
}

func (c *countTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	conn, err := c.Transport.DialTimeout(addr, d)
	if err != nil {
		return nil, err
	}
	return &countConn{Conn: conn, sent: c.sent}, nil
}

func (c *countTransport) StreamCh() <-chan net.Conn { return c.streams }

type countConn struct {
	net.Conn
	sent *atomic.Int64
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.sent.Add(int64(n))
	return n, err
}

// compilingApplier compiles every module of a version before activating
// it, as a node's Deployer does: the benchmark then times a deploy all the
// way to "compiled and active" on every node. The 50 in-process nodes share
// one engine (one per process, as in the node); each compiles on its own.
type compilingApplier struct {
	c      *cache.Cache
	engine *modules.Engine
}

func (a compilingApplier) ApplyRemote(rec gossip.Record) error {
	if rec.Manifest != nil {
		for p, f := range rec.Manifest.Files {
			if !strings.HasSuffix(p, ".wasm") {
				continue
			}
			d, err := cache.ParseDigest(f.Digest)
			if err != nil {
				return err
			}
			wasm, err := a.c.ReadBlob(d)
			if err != nil {
				return err
			}
			m, err := a.engine.Compile(p, wasm)
			if err != nil {
				return err
			}
			m.Close()
		}
	}
	return commitState(a.c, rec)
}

func (a compilingApplier) States() ([]gossip.Record, error) {
	return (&state.Ledger{Cache: a.c}).States()
}

// moduleFor is a small WASI command whose bytes differ per deploy (a data
// segment holds i), so every node compiles every version anew.
func moduleFor(b *testing.B, i int) string {
	wasm, err := wasmtime.Wat2Wasm(fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\ndeploy %d")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 34))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`, i))
	if err != nil {
		b.Fatal(err)
	}
	return string(wasm)
}

// BenchmarkMeshConvergence50: 50 in-process nodes on loopback with
// memberlist's LAN timings. Ten deploys on one node, each with a new page
// and a new module, so 49 nodes fetch two blobs from peers and compile the
// module: the time until all 50 have the version compiled and active, p50
// and p99; then the gossip bytes each node sends per second at rest.
// Run: go test ./gossip -run - -bench Mesh -benchtime 1x
func BenchmarkMeshConvergence50(b *testing.B) {
	const size = 50
	key, priv := keys(b)
	var sent atomic.Int64
	engine, err := modules.NewEngineWith(modules.EngineConfig{PoolSize: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(engine.Close)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)},
		tune: func(mc *memberlist.Config) {}, wrap: func(t memberlist.Transport, _ string) memberlist.Transport { return newCountTransport(t, &sent) },
		applier: func(c *cache.Cache) gossip.Applier { return compilingApplier{c: c, engine: engine} }}
	nodes := startMeshOf(b, size, o)
	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := range 10 {
			start := time.Now()
			st := deployFiles(b, nodes[(i*7)%size], priv, "site", map[string]string{
				"edge.toml":         "name = \"site\"\n",
				"public/index.html": fmt.Sprintf("deploy %d", i),
				"app.wasm":          moduleFor(b, i),
			})
			waitFor(b, 30*time.Second, "all 50 active", func() bool { return serving(nodes, "site", st.Stamp) })
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "p99-ms")
	}
	b.StopTimer()
	time.Sleep(2 * time.Second) // let the last deploy's retransmits drain
	before, t0 := sent.Load(), time.Now()
	time.Sleep(10 * time.Second)
	rate := float64(sent.Load()-before) / time.Since(t0).Seconds() / size
	b.ReportMetric(rate, "rest-B/node/s")
}

// startMeshOf starts size nodes n00, n01, … all joined to n00, and waits
// until every node sees every member.
func startMeshOf(b *testing.B, size int, o meshOpts) []*node {
	nodes := []*node{startMesh(b, "n00", nil, o)}
	for i := 1; i < size; i++ {
		nodes = append(nodes, startMesh(b, fmt.Sprintf("n%02d", i), []string{nodes[0].mesh.Addr()}, o))
	}
	waitFor(b, 60*time.Second, fmt.Sprint(size, " members"), func() bool {
		for _, n := range nodes {
			if n.mesh.NumMembers() != size {
				return false
			}
		}
		return true
	})
	return nodes
}
