package gossip_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip"
)

// tarpit accepts connections and never answers.
func tarpit(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// endless is a member's peer endpoint (it holds the gossip key) that
// answers every blob with bytes that never end.
func endless(t *testing.T, key []byte) string {
	t.Helper()
	srvTLS, _ := gossip.PeerTLS([][]byte{key})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte{'x'}, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// sees waits until n lists member's peer endpoint as addr.
func sees(t *testing.T, n *node, member, addr string) {
	t.Helper()
	waitFor(t, 5*time.Second, n.name+" sees "+member+"'s peer at "+addr, func() bool {
		for _, m := range n.mesh.Members(t.Context()) {
			if m.Name == member && m.Peer == addr {
				return true
			}
		}
		return false
	})
}

// TestHostilePeers: the origin of a deploy is a tarpit (accepts, never
// answers) and another member streams endless bytes, for the empty file's
// digest too: a node still gets the version from the honest member, each
// bad peer costing it one per-fetch timeout at most.
func TestHostilePeers(t *testing.T) {
	key, priv := keys(t)
	// no blobs in messages: this is about the fetch path
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, fetchTimeout: time.Second, inlineMax: -1}
	r := startMesh(t, "r", nil, o) // origin, behind a tarpit
	h := startMesh(t, "h", []string{r.mesh.Addr()}, o)
	e := startMesh(t, "e", []string{r.mesh.Addr()}, o)
	n := startMesh(t, "n", []string{r.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "one mesh of 4", func() bool { return alive(n) == 4 && alive(h) == 4 && alive(e) == 4 })
	pit, flood := tarpit(t), endless(t, key)
	if err := r.mesh.AdvertisePeer(pit); err != nil {
		t.Fatal(err)
	}
	if err := e.mesh.AdvertisePeer(flood); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*node{n, h} {
		sees(t, x, "r", pit)
		sees(t, x, "e", flood)
	}
	files := map[string]string{"edge.toml": "name = \"site\"\n", "public/index.html": "honest", "public/empty": ""}
	for p, c := range files { // h holds the blobs, as a member that applied the version would
		if _, _, err := h.store.PutBlob(strings.NewReader(c), 0); err != nil {
			t.Fatal(err)
		}
		_ = p
	}
	st := deployFiles(t, r, priv, "site", files)
	waitFor(t, 30*time.Second, "n serves the version, fetched from h", func() bool { return serving([]*node{n}, "site", st.Stamp) })
	if got := content(t, n, "site"); got != "honest" {
		t.Errorf("n serves %q", got)
	}
}

// TestSlowAppDoesNotStallOthers: an app whose only source is a tarpit
// does not hold up another app's deploy: applies run in parallel.
func TestSlowAppDoesNotStallOthers(t *testing.T) {
	key, priv := keys(t)
	// no blobs in messages: the tarpit must be the only source
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, fetchTimeout: time.Hour, inlineMax: -1}
	r := startMesh(t, "r", nil, o)
	h := startMesh(t, "h", []string{r.mesh.Addr()}, o)
	n := startMesh(t, "n", []string{r.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "one mesh of 3", func() bool { return alive(n) == 3 && alive(h) == 3 })
	pit := tarpit(t)
	if err := r.mesh.AdvertisePeer(pit); err != nil {
		t.Fatal(err)
	}
	sees(t, n, "r", pit)
	sees(t, h, "r", pit)
	slow := deploy(t, r, priv, "slow", "stuck")
	fast := deploy(t, h, priv, "fast", "fast")
	waitFor(t, 10*time.Second, "n serves fast while slow's fetch hangs", func() bool { return serving([]*node{n}, "fast", fast.Stamp) })
	if serving([]*node{n}, "slow", slow.Stamp) {
		t.Errorf("n got slow's blobs from a tarpit")
	}
}

// recorder is a TCP proxy that keeps every byte in each direction.
type recorder struct {
	mu       sync.Mutex
	up, down bytes.Buffer
}

func (rc *recorder) proxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go rc.pipe(s, c, &rc.up)
			go rc.pipe(c, s, &rc.down)
		}
	}()
	return ln.Addr().String()
}

func (rc *recorder) pipe(dst, src net.Conn, rec *bytes.Buffer) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			rc.mu.Lock()
			rec.Write(buf[:n])
			rc.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestPassiveListener: a listener on the peer channel sees a TLS session,
// no blob byte and no credential, and the requests it captured, replayed
// later to the same endpoint, get nothing.
func TestPassiveListener(t *testing.T) {
	key, priv := keys(t)
	// no blobs in messages (they travel encrypted with the gossip key, as
	// states do): this is about the peer channel's fetches
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, inlineMax: -1}
	h := startMesh(t, "h", nil, o)
	n := startMesh(t, "n", []string{h.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "one mesh of 2", func() bool { return alive(n) == 2 })
	rc := &recorder{}
	via := rc.proxy(t, h.mesh.PeerAddr())
	if err := h.mesh.AdvertisePeer(via); err != nil {
		t.Fatal(err)
	}
	sees(t, n, "h", via)
	const secret = "SECRET_TOKEN=s3cr3t-in-edge-toml"
	st := deployFiles(t, h, priv, "site", map[string]string{"edge.toml": "name = \"site\"\n# " + secret + "\n", "public/index.html": "page"})
	waitFor(t, 10*time.Second, "n fetched the version through the listener", func() bool { return serving([]*node{n}, "site", st.Stamp) })
	rc.mu.Lock()
	up, down := bytes.Clone(rc.up.Bytes()), bytes.Clone(rc.down.Bytes())
	rc.mu.Unlock()
	if len(up) == 0 || up[0] != 0x16 { // a TLS handshake record
		t.Fatalf("the peer channel does not start with a TLS handshake: % x", up[:min(len(up), 16)])
	}
	for _, leak := range []string{secret, "GET /v1/blobs", "Authorization", "Bearer"} {
		if bytes.Contains(up, []byte(leak)) || bytes.Contains(down, []byte(leak)) {
			t.Errorf("the listener saw %q", leak)
		}
	}
	// Replay what the client sent, as a new connection to h's endpoint.
	c, err := net.Dial("tcp", h.mesh.PeerAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = c.Write(up) }()
	got, _ := io.ReadAll(c)
	if bytes.Contains(got, []byte(secret)) || bytes.Contains(got, []byte("200 OK")) {
		t.Errorf("a replayed session got an answer: %q", got)
	}
}
