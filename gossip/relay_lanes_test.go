package gossip

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// laneMesh is a Mesh with nothing started but the relay sends, which
// send instead.
func laneMesh(send func(*memberlist.Node, []byte) error) *Mesh {
	m := &Mesh{log: slog.New(slog.NewTextHandler(io.Discard, nil)), stop: make(chan struct{}), relaySend: send}
	m.fan.init()
	return m
}

func members(names ...string) []memberlist.Node {
	var ns []memberlist.Node
	for _, n := range names {
		ns = append(ns, memberlist.Node{Name: n})
	}
	return ns
}

// TestRelaysSentAtOnce: the relays of a region get the state at the same
// time. Each send is held until relaysPerRegion sends are in flight;
// sending one relay after the other, the first send is never joined by a
// second and gives up (10 s), and fewer relays take the state.
func TestRelaysSentAtOnce(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	all := make(chan struct{})
	m := laneMesh(func(n *memberlist.Node, _ []byte) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == relaysPerRegion {
			close(all)
		}
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("held: no other relay send started meanwhile")
		}
	})
	got := m.sendRelays(members("a", "b", "c", "d", "e"), []byte("state"))
	if got != relaysPerRegion || most != relaysPerRegion {
		t.Fatalf("%d relays took the state, at most %d sends at once; want %d and %d", got, most, relaysPerRegion, relaysPerRegion)
	}
}

// TestRelayLanesSkipFailures: a member that fails is replaced by the next,
// and no more than relayTries failures are spent on a region.
func TestRelayLanesSkipFailures(t *testing.T) {
	var mu sync.Mutex
	var tried []string
	send := func(bad map[string]bool) func(*memberlist.Node, []byte) error {
		return func(n *memberlist.Node, _ []byte) error {
			mu.Lock()
			tried = append(tried, n.Name)
			mu.Unlock()
			if bad[n.Name] {
				return errors.New("down")
			}
			return nil
		}
	}
	m := laneMesh(send(map[string]bool{"a": true, "b": true}))
	if got := m.sendRelays(members("a", "b", "c", "d", "e"), nil); got != relaysPerRegion {
		t.Fatalf("%d relays took the state with 2 of 5 down (tried %v), want %d", got, tried, relaysPerRegion)
	}
	tried = nil
	m = laneMesh(send(map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true, "f": true}))
	if got := m.sendRelays(members("a", "b", "c", "d", "e", "f"), nil); got != 0 || len(tried) != relayTries {
		t.Fatalf("all down: %d took it after %d tries (%v), want 0 after %d", got, len(tried), tried, relayTries)
	}
}
