package gossip_test

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestFirstJoinRetriesFast: a node started before its seed (nodes started
// together, the seed still loading) joins as soon as the seed listens,
// not at the next rejoin tick (a minute here); its failed attempt is
// logged with the reason.
func TestFirstJoinRetriesFast(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, rejoin: time.Minute}
	// The seed's port: free now, bound by the seed below. Another process
	// taking it in between makes the seed's start fail, not this test pass.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ob, logB := logged(o)
	b := startMesh(t, "b", []string{fmt.Sprintf("127.0.0.1:%d", port)}, ob)
	if !logB.has("join failed", "attempt=1", "connection refused") {
		t.Fatalf("b's first join did not fail with its reason:\n%s", logB)
	}
	oa := o
	oa.port = port
	a := startMesh(t, "a", nil, oa)
	waitFor(t, 10*time.Second, "b joins a well before the rejoin interval", func() bool { return alive(a) == 2 && alive(b) == 2 })
}
