package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkPurge50: 50 in-process nodes on loopback with memberlist's LAN
// timings; ten signed purges, each published on another node: the time
// until all 49 other nodes applied it, p50 and p99 (issue #15: p99 ≤ 1 s).
// Run: go test ./gossip -run '^$' -bench Purge50 -benchtime 1x
func BenchmarkPurge50(b *testing.B) {
	const size = 50
	key, priv := keys(b)
	var p purges
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, onPurge: p.on}
	nodes := startMeshOf(b, size, o)
	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := range 10 {
			from := nodes[(i*7)%size]
			before := map[string]int{}
			for _, n := range nodes {
				before[n.name] = p.count(n.name)
			}
			start := time.Now()
			if _, err := from.mesh.PublishPurge(signedPurge("site", fmt.Sprintf(`{"tag":"t%d"}`, i), priv)); err != nil {
				b.Fatal(err)
			}
			waitFor(b, 30*time.Second, "all 49 applied", func() bool {
				for _, n := range nodes {
					if n != from && p.count(n.name) == before[n.name] {
						return false
					}
				}
				return true
			})
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "p99-ms")
	}
}
