package gossip_test

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/hashicorp/memberlist"
)

// storeApplier applies states straight into the cache: the mesh's logic
// without compiling anything (the binary's tests cover the Deployer).
type storeApplier struct{ c *cache.Cache }

func (a storeApplier) ApplyRemote(rec gossip.Record) error { return commitState(a.c, rec) }
func (a storeApplier) States() ([]gossip.Record, error) {
	return (&state.Ledger{Cache: a.c}).States()
}

// commitState stores a remote state in c if it wins.
func commitState(c *cache.Cache, rec gossip.Record) error {
	ch, err := state.Apply(rec, 0)
	if err != nil {
		return err
	}
	_, err = c.Commit(ch)
	return err
}

// node is one in-process mesh member.
type node struct {
	name   string
	store  *cache.Cache
	ledger *state.Ledger // stamps this node's changes, as the Deployer's does
	mesh   *gossip.Mesh
}

// sides is a fault-injecting network: while cut, nodes on different
// sides neither send packets nor open streams to each other.
type sides struct {
	mu   sync.Mutex
	side map[string]int
	cut  bool
}

func (s *sides) blocked(from, to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut && s.side[from] != s.side[to]
}

// cutTransport is one node's transport on a sides network.
type cutTransport struct {
	memberlist.Transport
	self  string
	sides *sides
}

func (t *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.sides.blocked(t.self, addr) {
		return time.Now(), nil // lost
	}
	return t.Transport.WriteTo(b, addr)
}

func (t *cutTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	if t.sides.blocked(t.self, addr) {
		return nil, errors.New("partitioned")
	}
	return t.Transport.DialTimeout(addr, d)
}

// fast are LAN timings shortened for tests.
func fast(mc *memberlist.Config) {
	mc.ProbeInterval = 100 * time.Millisecond
	mc.ProbeTimeout = 50 * time.Millisecond
	mc.SuspicionMult = 2
	mc.GossipInterval = 50 * time.Millisecond
	mc.GossipToTheDeadTime = time.Second
	mc.PushPullInterval = 2 * time.Second
	mc.DeadNodeReclaimTime = 100 * time.Millisecond
}

type meshOpts struct {
	key     []byte
	trusted []ed25519.PublicKey
	// keyring, if set, replaces trusted: keys with scopes.
	keyring trust.Keyring
	// fetchTimeout is Config.FetchTimeout (0: its default).
	fetchTimeout time.Duration
	sides        *sides
	tune         func(*memberlist.Config)
	wrap         func(tr memberlist.Transport, addr string) memberlist.Transport
	region       string
	// wanTimings selects memberlist's WAN preset (gossip.Config.WAN).
	wanTimings bool
	// maxRTT is gossip.Config.MaxRTT; peerDial is gossip.Config.PeerDial.
	maxRTT   time.Duration
	peerDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// log, if set, receives the node's log (default: discarded).
	log *slog.Logger
	// applier makes the node's Applier (default: storeApplier).
	applier func(*cache.Cache) gossip.Applier
	// onPurge receives the node's purge statements.
	onPurge func(node string, body []byte)
	// onPurgeGap is told when the node may have missed purges.
	onPurgeGap func(node string)
	// port is the gossip port to bind (0: any).
	port int
	// rejoin is Config.RejoinInterval (0: 300ms).
	rejoin time.Duration
	// certFiles is Config.CertFiles.
	certFiles gossip.CertFiles
	// nodeKey and engine are Config.NodeKey and Meta.Engine.
	nodeKey ed25519.PrivateKey
	engine  string
	// inlineMax is Config.InlineMax (-1: a node that takes no blobs in
	// messages, as one older than them).
	inlineMax int
}

func startMesh(t testing.TB, name string, join []string, o meshOpts) *node {
	t.Helper()
	n, err := openMesh(t, name, join, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openMesh is startMesh returning its error: it may run on goroutines
// other than the test's (forming a large mesh in parallel).
func openMesh(t testing.TB, name string, join []string, o meshOpts) (*node, error) {
	store, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		return nil, err
	}
	clock := state.NewClock(nil)
	ledger := &state.Ledger{Cache: store, Node: name, Clock: clock.Now}
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: o.port})
	if err != nil {
		store.Close()
		return nil, err
	}
	port := nt.GetAutoBindPort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var tr memberlist.Transport = nt
	if o.sides != nil {
		tr = &cutTransport{Transport: nt, self: addr, sides: o.sides}
	}
	if o.wrap != nil {
		tr = o.wrap(tr, addr)
	}
	tune := o.tune
	if tune == nil {
		tune = fast
	}
	log := quiet
	if o.log != nil {
		log = o.log
	}
	ring := trust.Unscoped(o.trusted...)
	if o.keyring != nil {
		ring = o.keyring
	}
	var applier gossip.Applier = storeApplier{store}
	if o.applier != nil {
		applier = o.applier(store)
	}
	m, err := gossip.New(gossip.Config{
		Name: name, Region: o.region, Bind: addr, Join: join, Keys: [][]byte{o.key}, Trusted: ring,
		Cache: store, Applier: applier, Clock: clock, RejoinInterval: cmp.Or(o.rejoin, 300*time.Millisecond), Log: log,
		FetchTimeout: o.fetchTimeout, WAN: o.wanTimings, CertFiles: o.certFiles,
		Meta: gossip.Meta{Region: o.region, Engine: o.engine}, NodeKey: o.nodeKey,
		MaxRTT: o.maxRTT, PeerDial: o.peerDial, InlineMax: o.inlineMax,
		OnPurge: func(_ string, body []byte, _ time.Time) {
			if o.onPurge != nil {
				o.onPurge(name, body)
			}
		},
		OnPurgeGap: func(time.Time) {
			if o.onPurgeGap != nil {
				o.onPurgeGap(name)
			}
		},
		Tune: func(mc *memberlist.Config) {
			tune(mc)
			mc.Transport = tr
			mc.BindPort, mc.AdvertisePort = port, port
		},
	})
	if err == nil {
		err = m.Start()
	}
	if err != nil {
		_ = nt.Shutdown()
		store.Close()
		return nil, err
	}
	n := &node{name: name, store: store, ledger: ledger, mesh: m}
	t.Cleanup(func() { n.stop() })
	return n, nil
}

func (n *node) stop() {
	_ = n.mesh.Stop()
	_ = n.store.Close()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func init() {
	if os.Getenv("GOSSIP_DEBUG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// deploy stores a new signed version of app on n, with a file whose
// content is marker, and publishes it, as the Deployer does.
func deploy(t testing.TB, n *node, key ed25519.PrivateKey, app, marker string) *state.AppState {
	t.Helper()
	return deployFiles(t, n, key, app, map[string]string{"edge.toml": "name = \"" + app + "\"\n", "public/index.html": marker})
}

// deployFiles is deploy with the version's files given.
func deployFiles(t testing.TB, n *node, key ed25519.PrivateKey, app string, files map[string]string) *state.AppState {
	t.Helper()
	st := stageFiles(t, n, key, app, files)
	n.mesh.Publish(st)
	return st
}

// stageFiles stores and commits a new version of app on n, signed with
// key, without publishing it: the state a member would send.
func stageFiles(t testing.TB, n *node, key ed25519.PrivateKey, app string, files map[string]string) *state.AppState {
	t.Helper()
	m := &cache.Manifest{App: app, Files: map[string]cache.FileRef{}, Created: time.Now().UTC()}
	for p, content := range files {
		d, size, err := n.store.PutBlob(strings.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		m.Files[p] = cache.FileRef{Digest: d.String(), Size: size}
	}
	trust.Sign(m, key)
	s := signed(t, n, key, app, trust.ActDeploy, m)
	if _, err := n.store.Commit(n.ledger.Deploy(m, s, 0)); err != nil {
		t.Fatal(err)
	}
	st, err := n.ledger.State(app)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// signed is a statement of action on app signed with key at the next
// sequence n knows of (its own state's, or the mesh's best), as the CLI
// signs at the sequence a node tells it.
func signed(t testing.TB, n *node, key ed25519.PrivateKey, app, action string, m *cache.Manifest) *trust.Statement {
	t.Helper()
	seq, err := n.ledger.Seq(app)
	if err != nil {
		t.Fatal(err)
	}
	if best := n.mesh.Best(app); best != nil {
		seq = max(seq, best.Stamp.Gen)
	}
	s := trust.NewStatement(app, action, seq+1, m)
	trust.SignStatement(s, key)
	return s
}

// remove removes app on n with a statement signed by key and publishes
// the tombstone, as the Deployer does.
func remove(t testing.TB, n *node, key ed25519.PrivateKey, app string) *state.AppState {
	t.Helper()
	if _, err := n.store.Commit(n.ledger.Remove(app, signed(t, n, key, app, trust.ActRemove, nil))); err != nil {
		t.Fatal(err)
	}
	st, err := n.ledger.State(app)
	if err != nil {
		t.Fatal(err)
	}
	n.mesh.Publish(st)
	return st
}

// logbook is a slog.Handler that keeps a node's messages, memberlist's
// too, one line each ("msg key=value ..."): tests wait on them for proof
// that a node has processed something it must not act upon.
type logbook struct {
	mu    sync.Mutex
	lines []string
}

func (l *logbook) Enabled(context.Context, slog.Level) bool { return true }
func (l *logbook) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logbook) WithGroup(string) slog.Handler            { return l }

func (l *logbook) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

// has reports whether a line has every one of parts.
func (l *logbook) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if containsAll(line, parts) {
			return true
		}
	}
	return false
}

func (l *logbook) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// logged is o with a logbook of its own, for one node.
func logged(o meshOpts) (meshOpts, *logbook) {
	l := &logbook{}
	o.log = slog.New(l)
	return o, l
}

// waitFor polls cond every 10ms until it holds or d elapses.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serving reports whether every node's state of app is want, with the
// blobs to serve it.
func serving(nodes []*node, app string, want state.Stamp) bool {
	for _, n := range nodes {
		st, err := n.ledger.State(app)
		if err != nil || st.Stamp != want {
			return false
		}
	}
	return true
}

func keys(t testing.TB) ([]byte, ed25519.PrivateKey) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return gossip.GenerateKey(), priv
}

func content(t testing.TB, n *node, app string) string {
	t.Helper()
	st, err := n.ledger.State(app)
	if err != nil || st.Manifest == nil {
		return ""
	}
	d, _ := cache.ParseDigest(st.Manifest.Files["public/index.html"].Digest)
	b, err := n.store.ReadBlob(d)
	if err != nil {
		return ""
	}
	return string(b)
}
