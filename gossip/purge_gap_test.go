package gossip_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
)

// gaps records which nodes were told they may have missed purges.
type gaps struct {
	mu  sync.Mutex
	hit map[string]int
}

func (g *gaps) on(node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hit == nil {
		g.hit = map[string]int{}
	}
	g.hit[node]++
}

func (g *gaps) nodes() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var names []string
	for n := range g.hit {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// partitionFor cuts the mesh into sides (name → side) for longer than the
// gap limit, checks that no member acted while cut, heals it and waits
// until every member named in want was told it may have missed purges.
func partitionFor(t *testing.T, limit time.Duration, names []string, side map[string]int, want string) {
	t.Helper()
	gossip.SetPurgeGapLimit(t, limit)
	key, _ := keys(t)
	var g gaps
	net := &sides{side: map[string]int{}}
	nodes := startPurgeMesh(t, meshOpts{key: key, sides: net, onPurgeGap: g.on}, names...)
	time.Sleep(time.Second) // two sync rounds: every member has seen every other alive
	net.mu.Lock()
	for _, n := range nodes {
		net.side[n.mesh.Addr()] = side[n.name]
	}
	net.cut = true
	net.mu.Unlock()
	cut := time.Now()
	waitFor(t, 20*time.Second, "each side sees only itself", func() bool {
		for _, n := range nodes {
			mine := 0
			for _, o := range nodes {
				if side[o.name] == side[n.name] {
					mine++
				}
			}
			if n.mesh.NumMembers() != mine {
				return false
			}
		}
		return true
	})
	time.Sleep(max(0, limit+time.Second-time.Since(cut))) // away longer than the limit
	if got := g.nodes(); got != "[]" {
		t.Fatalf("%s acted while still cut off", got)
	}
	net.mu.Lock()
	net.cut = false
	net.mu.Unlock()
	waitFor(t, 30*time.Second, "the gap is reported to "+want, func() bool { return g.nodes() == want })
}

// TestPurgeGapAfterIsolation: a member cut off from every other one for
// longer than the catch-up covers revalidates what it caches when it is
// back; so do the others, which may have missed purges it took alone.
func TestPurgeGapAfterIsolation(t *testing.T) {
	partitionFor(t, 2*time.Second, []string{"a", "b", "c"}, map[string]int{"c": 1}, "[a b c]")
}

// TestPurgeGapAfterSplit: two groups of two, each with a peer (so no one
// is isolated), apart for longer than the catch-up covers: after the heal
// the gap notices tell all four.
func TestPurgeGapAfterSplit(t *testing.T) {
	partitionFor(t, 2*time.Second, []string{"a", "b", "c", "d"}, map[string]int{"c": 1, "d": 1}, "[a b c d]")
}

// TestPurgeGapNotForRestartedMember: a member that was down (not cut off)
// for longer than the limit took no purges meanwhile: its return makes no
// other member revalidate (it handles its own gap by the persisted time,
// MissedPurges), and a short absence is no gap either.
func TestPurgeGapNotForRestartedMember(t *testing.T) {
	gossip.SetPurgeGapLimit(t, 2*time.Second)
	key, _ := keys(t)
	var g gaps
	o := meshOpts{key: key, onPurgeGap: g.on}
	nodes := startPurgeMesh(t, o, "a", "b", "c")
	time.Sleep(time.Second) // two sync rounds: a and b have seen c alive
	nodes[2].stop()
	waitFor(t, 20*time.Second, "a and b see c gone", func() bool {
		return nodes[0].mesh.NumMembers() == 2 && nodes[1].mesh.NumMembers() == 2
	})
	time.Sleep(3 * time.Second)
	c := startMesh(t, "c", []string{nodes[0].mesh.Addr()}, o)
	waitFor(t, 20*time.Second, "c is back", func() bool {
		return nodes[0].mesh.NumMembers() == 3 && nodes[1].mesh.NumMembers() == 3 && c.mesh.NumMembers() == 3
	})
	time.Sleep(2 * time.Second) // several sync rounds: notices would have been sent and acted on
	if got := g.nodes(); got != "[]" {
		t.Errorf("%s revalidated after a member restarted", got)
	}
}

// TestMissedPurgesPersisted: the in-sync time a member records survives
// in its store; older than the limit (or never recorded) means a node
// starting on that store may have missed purges.
func TestMissedPurgesPersisted(t *testing.T) {
	key, _ := keys(t)
	nodes := startPurgeMesh(t, meshOpts{key: key}, "a", "b")
	store := nodes[1].store
	waitFor(t, 10*time.Second, "b records its sync", func() bool {
		_, missed := gossip.MissedPurges(store, time.Now())
		return !missed
	})
	if _, missed := gossip.MissedPurges(store, time.Now().Add(11*time.Minute)); !missed {
		t.Error("a node back after 11 minutes is told it missed nothing")
	}
	empty, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if _, missed := gossip.MissedPurges(empty, time.Now()); !missed {
		t.Error("a store that never recorded a sync is told it missed nothing")
	}
}
