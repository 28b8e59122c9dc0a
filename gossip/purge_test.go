package gossip_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip"
)

// TestPurgeReachesEveryMemberOnce: a purge published on one node is
// applied once on each other node (direct send, gossip and relays carry
// copies; the second publish shows the first left no duplicate behind), not on the publisher, and PublishPurge counts the members it
// reached. A node with another gossip key gets nothing.
func TestPurgeReachesEveryMemberOnce(t *testing.T) {
	var mu sync.Mutex
	applied := map[string][]string{}
	o := meshOpts{key: gossip.GenerateKey(), onPurge: func(node string, body []byte) {
		mu.Lock()
		applied[node] = append(applied[node], string(body))
		mu.Unlock()
	}}
	a := startMesh(t, "a", nil, o)
	nodes := []*node{a}
	for _, name := range []string{"b", "c", "d"} {
		nodes = append(nodes, startMesh(t, name, []string{a.mesh.Addr()}, o))
	}
	waitFor(t, 30*time.Second, "every node sees 4 members", func() bool {
		for _, n := range nodes {
			if n.mesh.NumMembers() != 4 {
				return false
			}
		}
		return true
	})
	outsider := o
	outsider.key = gossip.GenerateKey()
	startMesh(t, "x", nil, outsider) // not joined: its key cannot open the mesh's messages

	sent, err := nodes[1].mesh.PublishPurge([]byte(`{"tag":"t1"}`))
	if err != nil || sent != 3 {
		t.Fatalf("PublishPurge reached %d members (err %v), want 3", sent, err)
	}
	waitFor(t, 30*time.Second, "a, c and d apply the purge", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(applied["a"]) > 0 && len(applied["c"]) > 0 && len(applied["d"]) > 0
	})
	if _, err := nodes[1].mesh.PublishPurge([]byte(`{"tag":"t2"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the second purge everywhere", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(applied["a"]) > 1 && len(applied["c"]) > 1 && len(applied["d"]) > 1
	})
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for n, bodies := range applied {
		got = append(got, fmt.Sprintf("%s:%v", n, bodies))
	}
	sort.Strings(got)
	want := []string{`a:[{"tag":"t1"} {"tag":"t2"}]`, `c:[{"tag":"t1"} {"tag":"t2"}]`, `d:[{"tag":"t1"} {"tag":"t2"}]`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("applied %v, want %v", got, want)
	}
}
