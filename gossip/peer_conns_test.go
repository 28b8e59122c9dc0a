package gossip_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestFetchesShareAConnection: a member fetching the blobs of a version
// from a peer opens one connection to it, whatever the number of blobs,
// and the next version's blobs come over the same one. Over HTTP/1.1 the
// four blobs fetched at once each dialed their own connection, a TCP and
// a TLS handshake apiece (across a continent, three round trips each),
// and a new app's first deploy, with two new files, cost twice the
// handshakes of the next.
func TestFetchesShareAConnection(t *testing.T) {
	key, priv := keys(t)
	var dials atomic.Int64
	counting := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	a := startMesh(t, "a", nil, o)
	ob := o
	ob.peerDial = counting
	b := startMesh(t, "b", []string{a.mesh.Addr()}, ob)
	nodes := []*node{a, b}
	waitFor(t, 5*time.Second, "one mesh of 2", func() bool { return alive(a) == 2 && alive(b) == 2 })
	for v := range 2 {
		files := map[string]string{"edge.toml": "name = \"site\"\n"}
		for i := range 6 {
			files[fmt.Sprintf("public/%d.html", i)] = fmt.Sprintf("version %d, file %d", v, i)
		}
		st := deployFiles(t, a, priv, "site", files)
		waitFor(t, 10*time.Second, "b serves the deploy", func() bool { return serving(nodes, "site", st.Stamp) })
		if got := dials.Load(); got != 1 {
			t.Fatalf("after version %d (%d new blobs), b dialed a's peer endpoint %d times, want 1", v+1, len(files)-v, got)
		}
	}
}
