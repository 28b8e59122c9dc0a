package gossip_test

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/hashicorp/memberlist"
)

// forger is a member's peer endpoint (it holds the gossip key) that
// answers every artifact request with art, signed by sign.
func forger(t *testing.T, key []byte, art []byte, sign func(data []byte) []byte) string {
	t.Helper()
	srvTLS, _ := gossip.PeerTLS([][]byte{key})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(art)))
		w.Header().Set("Edge-Artifact-Signature", base64.StdEncoding.EncodeToString(sign(art)))
		_, _ = w.Write(art)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// count is how many lines have every one of parts.
func (l *logbook) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func newNodeKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestArtifactShare: a member of the same engine serves the artifact it
// compiled, signed with the node key it advertises, and a member of
// another engine is never asked. A member whose endpoint answers with an
// artifact signed by another key, signed for another engine fingerprint
// or another module, or altered after signing, is refused, so the node
// compiles itself (ErrNoPeerArtifact); the same endpoint signing honestly
// is accepted, so the refusals are the checks' doing.
func TestArtifactShare(t *testing.T) {
	key, priv := keys(t)
	fp := cache.Sum([]byte("this engine"))
	engine := hex.EncodeToString(fp[:8])
	// memberlist's LAN timings: on a loaded machine the tests' fast ones
	// let members flap dead, and a dead member is not asked.
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, engine: engine, tune: func(*memberlist.Config) {}}
	oa, or, ox := o, o, o
	oa.nodeKey, or.nodeKey, ox.nodeKey = newNodeKey(t), newNodeKey(t), newNodeKey(t)
	ox.engine = "0123456789abcdef"
	n, logN := logged(o) // the receiver: it serves nothing (no node key)
	nn := startMesh(t, "n", nil, n)
	a := startMesh(t, "a", []string{nn.mesh.Addr()}, oa)
	r := startMesh(t, "r", []string{nn.mesh.Addr()}, or)
	x := startMesh(t, "x", []string{nn.mesh.Addr()}, ox)
	waitFor(t, 5*time.Second, "one mesh of 4", func() bool { return alive(nn) == 4 })

	art := []byte("native code of module one")
	k := cache.ArtifactKey{Module: cache.Sum([]byte("module one")), Fingerprint: fp}
	if err := a.store.PutArtifact(k, art, "one", "x86_64"); err != nil {
		t.Fatal(err)
	}
	got, from, err := nn.mesh.FetchArtifact(t.Context(), k)
	if err != nil || from != "a" || string(got) != string(art) {
		t.Fatalf("fetch from a: %q from %q, %v\n%s", got, from, err, logN)
	}

	// x, of another engine, holds an artifact keyed for n's engine:
	// n does not ask it.
	kx := cache.ArtifactKey{Module: cache.Sum([]byte("module x")), Fingerprint: fp}
	if err := x.store.PutArtifact(kx, art, "x", "x86_64"); err != nil {
		t.Fatal(err)
	}
	if _, from, err := nn.mesh.FetchArtifact(t.Context(), kx); !errors.Is(err, gossip.ErrNoPeerArtifact) {
		t.Errorf("an artifact of a member of another engine: from %q, %v", from, err)
	}

	// r's endpoint is replaced by forgers of an artifact of module two.
	k2 := cache.ArtifactKey{Module: cache.Sum([]byte("module two")), Fingerprint: fp}
	otherFP := k2
	otherFP.Fingerprint = cache.Sum([]byte("another engine"))
	otherMod := k2
	otherMod.Module = cache.Sum([]byte("module one"))
	rk, stranger := or.nodeKey, newNodeKey(t)
	for _, c := range []struct {
		name   string
		sign   func([]byte) []byte
		refuse bool
	}{
		{"another key", func(d []byte) []byte { return gossip.SignArtifact(stranger, k2, d) }, true},
		{"another fingerprint", func(d []byte) []byte { return gossip.SignArtifact(rk, otherFP, d) }, true},
		{"another module", func(d []byte) []byte { return gossip.SignArtifact(rk, otherMod, d) }, true},
		{"altered after signing", func(d []byte) []byte { return gossip.SignArtifact(rk, k2, append(d, '!')) }, true},
		{"no signature", func([]byte) []byte { return nil }, true},
		{"honest", func(d []byte) []byte { return gossip.SignArtifact(rk, k2, d) }, false},
	} {
		addr := forger(t, key, art, c.sign)
		if err := r.mesh.AdvertisePeer(addr); err != nil {
			t.Fatal(err)
		}
		sees(t, nn, "r", addr)
		before := logN.count("peer artifact refused", "peer=r")
		got, from, err := nn.mesh.FetchArtifact(t.Context(), k2)
		switch {
		case c.refuse && !errors.Is(err, gossip.ErrNoPeerArtifact):
			t.Errorf("%s: loaded %q from %s (%v)", c.name, got, from, err)
		case c.refuse && logN.count("peer artifact refused", "peer=r") != before+1:
			t.Errorf("%s: refusal not logged:\n%s", c.name, logN)
		case !c.refuse && (err != nil || from != "r" || string(got) != string(art)):
			t.Errorf("%s: %q from %q, %v", c.name, got, from, err)
		}
	}
}
