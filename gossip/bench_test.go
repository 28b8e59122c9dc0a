package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
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

// BenchmarkMeshConvergence50: 50 in-process nodes on loopback with
// memberlist's LAN timings. Ten deploys on one node (a new file each, so
// 49 nodes fetch a blob from peers): the time until all 50 have the new
// version active, p50 and p99; then the gossip bytes each node sends per
// second at rest. Run: go test ./gossip -run - -bench Mesh -benchtime 1x
func BenchmarkMeshConvergence50(b *testing.B) {
	const size = 50
	key, priv := keys(b)
	var sent atomic.Int64
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)},
		tune: func(mc *memberlist.Config) {}, wrap: func(t memberlist.Transport) memberlist.Transport { return newCountTransport(t, &sent) }}
	nodes := []*node{startMesh(b, "n00", nil, o)}
	for i := 1; i < size; i++ {
		nodes = append(nodes, startMesh(b, fmt.Sprintf("n%02d", i), []string{nodes[0].mesh.Addr()}, o))
	}
	waitFor(b, 30*time.Second, "50 members", func() bool {
		for _, n := range nodes {
			if n.mesh.NumMembers() != size {
				return false
			}
		}
		return true
	})
	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := range 10 {
			start := time.Now()
			st := deploy(b, nodes[(i*7)%size], priv, "site", fmt.Sprintf("deploy %d", i))
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
