package gossip

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/hashicorp/memberlist"
)

// Record is one app's state as the mesh gossips it.
type Record = *state.AppState

// Applier is what the mesh hands winning states to (edge.Deployer): it
// verifies, compiles and activates a state whose blobs are all stored, or
// returns state.ErrStale when it no longer wins.
type Applier interface {
	ApplyRemote(rec Record) error
	States() ([]Record, error)
}

// Config configures a Mesh.
type Config struct {
	// Name is the node's id in the mesh: unique, stable across restarts.
	Name   string
	Region string
	// Bind is the gossip address (UDP and TCP), also advertised.
	Bind string
	// Join lists addresses of nodes to join at start and to rejoin.
	Join []string
	// Keys is the gossip keyring; the first encrypts. Required.
	Keys [][]byte
	// Peer is the peer endpoint's listen address (default: Bind's host,
	// any port).
	Peer string
	// Meta is advertised to the others (Peer is filled in).
	Meta Meta
	// Trusted are the deploy keys states must be signed with.
	Trusted trust.Keyring
	Cache   *cache.Cache
	Applier Applier
	Clock   *state.Clock
	// RejoinInterval is how often known peers are rejoined when members
	// are missing (0: 5s).
	RejoinInterval time.Duration
	// WAN selects memberlist's timings for round trips between continents
	// (probe every 5 s with a 3 s timeout, gossip every 0.5 s, suspicion
	// 6× longer) instead of a LAN's: a mesh across regions needs them, or
	// alive nodes behind 100-250 ms links are declared dead.
	WAN bool
	// MaxRTT, if set, is the slowest round trip measured between two
	// members: memberlist's timings are derived from it (timings.go),
	// tighter than the WAN preset yet with no alive node declared dead.
	MaxRTT time.Duration
	// PeerDial, if set, dials the peer channel (tests put a simulated WAN
	// under it).
	PeerDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnPurge, if set, applies a purge statement another member published
	// (PublishPurge), checked against Trusted for app; called once per
	// statement, with the time it was signed (for the purge latency).
	OnPurge func(app string, body []byte, issued time.Time)
	// OnPurgeGap, if set, is called when this member may have missed
	// purges since the time given (purge_gap.go).
	OnPurgeGap func(since time.Time)
	// CertFiles, if set, shares this node's TLS certificates and ACME
	// challenges with the other members (peer_certs.go).
	CertFiles CertFiles
	// CertList, if set, is what this node lists as its certificates
	// (JSON) when a member asks for every member's (MemberCerts).
	CertList func() any
	// Retention is how long tombstones are gossiped and departed members
	// remembered (0: DefaultRetention).
	Retention time.Duration
	// FetchTimeout bounds one blob fetch from one peer, plus a second per
	// MiB of the blob (0: 30s); then the next peer is tried.
	FetchTimeout time.Duration
	// NodeKey, if set, signs the artifacts this node serves to members
	// (artifact_share.go); its public half is advertised in Meta.Key.
	NodeKey ed25519.PrivateKey
	// InlineMax bounds the bytes of a version's new blobs carried inside
	// the fan-out message that carries its state (inline.go): 0 is
	// DefaultInlineMax (also the most); negative turns it off, the node
	// then neither advertises nor takes such messages, as an older one.
	InlineMax int
	// Tune, if set, adjusts memberlist's configuration (the LAN or WAN
	// preset) before it starts: tests shorten timings, inject a Transport.
	Tune func(*memberlist.Config)
	Log  *slog.Logger
}

// Mesh errors.
var (
	// ErrNoKey is returned by New without a gossip key.
	ErrNoKey = errors.New("gossip: a mesh needs a gossip key (edge keygen --gossip --out mesh; edge serve --gossip-key mesh.gossip)")
)

// Mesh is this node's membership of the mesh.
type Mesh struct {
	cfg   Config
	log   *slog.Logger
	ml    *memberlist.Memberlist
	queue *memberlist.TransmitLimitedQueue
	peer  *peerServer
	ring  *memberlist.Keyring
	// ledger reads the state this node has applied.
	ledger *state.Ledger
	tls    *peerTLS     // the peer channel's keys, from the gossip keyring
	client *http.Client // to peers' endpoints

	mu   sync.Mutex
	best map[string]Record // the winning state known of each app
	seen map[string]string // every member ever seen: name → gossip address
	gone map[string]string // members no longer alive: name → "left" or "dead"
	// goneAt is when each member of gone went: it is forgotten after
	// the retention.
	goneAt map[string]time.Time
	// refusedWindow and refusedLogged rate-limit the refusal log.
	refusedWindow time.Time
	refusedLogged int
	live          map[string]memberlist.Node    // alive members, copied at each event
	heard         map[string]heard              // hellos from members not alive here (hello.go)
	applyq        *applyQueue                   // apps whose best state is not applied yet
	trusted       atomic.Pointer[trust.Keyring] // set by SetTrusted (SIGHUP)
	stop          chan struct{}
	wg            sync.WaitGroup
	once          sync.Once
	bytes         counters
	// refused counts states dropped for a missing, bad or untrusted
	// signature, a foreign scope or a leaping sequence.
	refused atomic.Int64
	// inlineRefused counts blobs carried in messages that the signed
	// manifest did not name (inline.go).
	inlineRefused atomic.Int64
	// purges keeps the purge statements seen (purge.go).
	purges purgeLog
	fan    fanout // the regional fan-out of states (relay.go)
	// gossipInterval and retransmitMult are memberlist's, for helloGrace;
	// hello is what this node says to members it learns of (hello.go).
	gossipInterval time.Duration
	retransmitMult int
	hello          atomic.Pointer[[]byte] // set after memberlist starts: events may come first
	// lanWarned: the LAN-timings-across-regions warning was logged.
	lanWarned sync.Once

	// gap is when this member was last in sync with the purges (purge_gap.go).
	gap purgeGap
}

// Refused is how many gossiped states this node refused since start.
func (m *Mesh) Refused() int64 { return m.refused.Load() }

// New checks cfg and builds the mesh without starting it.
func New(cfg Config) (*Mesh, error) {
	if len(cfg.Keys) == 0 {
		return nil, ErrNoKey
	}
	if cfg.Name == "" || cfg.Bind == "" || cfg.Cache == nil || cfg.Applier == nil {
		return nil, errors.New("gossip: Name, Bind, Cache and Applier are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = state.NewClock(nil)
	}
	if cfg.RejoinInterval <= 0 {
		cfg.RejoinInterval = 5 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.NodeKey != nil {
		cfg.Meta.Key = EncodeNodeKey(cfg.NodeKey.Public().(ed25519.PublicKey))
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	cfg.Meta.Caps &^= capInline
	if cfg.InlineMax >= 0 {
		cfg.Meta.Caps |= capInline
	}
	ring, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip: keyring: %w", err)
	}
	pt := newPeerTLS(func() [][]byte { return ring.GetKeys() })
	m := &Mesh{
		cfg: cfg, log: cfg.Log.With("component", "gossip", "node", cfg.Name), ring: ring,
		ledger: &state.Ledger{Cache: cfg.Cache}, tls: pt, client: newPeerClient(pt, cfg.PeerDial),
		best: map[string]Record{}, seen: map[string]string{}, gone: map[string]string{}, goneAt: map[string]time.Time{}, live: map[string]memberlist.Node{},
		heard:  map[string]heard{},
		applyq: newApplyQueue(), stop: make(chan struct{}),
	}
	m.fan.init()
	return m, nil
}

// Start loads this node's states, starts the peer endpoint, joins the
// mesh (a failed join is logged: the rejoin loop keeps trying) and starts
// the background loops.
func (m *Mesh) Start() error {
	states, err := m.cfg.Applier.States()
	if err != nil {
		return err
	}
	for _, st := range states {
		m.best[st.App] = st
	}
	host, portStr, err := net.SplitHostPort(m.cfg.Bind)
	if err != nil {
		return fmt.Errorf("gossip: --gossip %q: %w", m.cfg.Bind, err)
	}
	port, _ := strconv.Atoi(portStr)
	peerAddr := m.cfg.Peer
	if peerAddr == "" {
		peerAddr = net.JoinHostPort(host, "0")
	}
	if m.peer, err = startPeer(m, peerAddr); err != nil {
		return err
	}
	m.cfg.Meta.Peer = m.peer.addr
	mc := m.cfg.timings()
	mc.Name = m.cfg.Name
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertiseAddr, mc.AdvertisePort = host, port
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		mc.AdvertiseAddr = "" // memberlist picks a private address
	}
	mc.Keyring = m.ring
	mc.Delegate = (*delegate)(m)
	mc.Events = (*events)(m)
	mc.Logger = log.New(io.Discard, "", 0)
	if m.log.Enabled(context.Background(), slog.LevelDebug) {
		mc.Logger = slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)
	}
	if m.cfg.Tune != nil {
		m.cfg.Tune(mc)
	}
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.numNodes, RetransmitMult: 4}
	m.gossipInterval, m.retransmitMult = mc.GossipInterval, mc.RetransmitMult
	if m.ml, err = memberlist.Create(mc); err != nil {
		m.peer.close()
		return fmt.Errorf("gossip: start: %w", err)
	}
	if err := m.advertisePeer(); err != nil {
		_ = m.ml.Shutdown()
		m.peer.close()
		return err
	}
	hello := newHello(m.cfg.Name, m.ml.LocalNode().Address()) // read once: memberlist rewrites its node on UpdateNode
	m.hello.Store(&hello)
	joined := len(m.cfg.Join) == 0
	if !joined {
		if n, err := m.ml.Join(m.cfg.Join); err != nil {
			m.log.Warn("join failed, will retry", "join", m.cfg.Join, "attempt", 1, "retry_in", firstJoinWait, "err", err)
		} else {
			joined = true
			m.log.Info("joined", "contacted", n, "members", m.ml.NumMembers())
		}
	}
	m.wg.Add(3 + applyWorkers)
	go m.firstJoin(joined)
	go m.pendingLoop()
	for range applyWorkers {
		go m.applyLoop()
	}
	go m.rejoinLoop()
	m.startPurgeSync()
	m.mu.Lock()
	apps := slices.Collect(maps.Keys(m.best))
	m.mu.Unlock()
	for _, app := range apps {
		m.kick(app)
	}
	return nil
}

// advertisePeer replaces an unspecified peer listen host (0.0.0.0, ::)
// with the address memberlist advertises, so that peers can dial it.
func (m *Mesh) advertisePeer() error {
	host, port, err := net.SplitHostPort(m.peer.addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return nil
	}
	m.mu.Lock()
	m.cfg.Meta.Peer = net.JoinHostPort(m.ml.LocalNode().Addr.String(), port)
	m.mu.Unlock()
	return m.ml.UpdateNode(time.Second)
}

func (m *Mesh) numNodes() int {
	if m.ml == nil {
		return 1
	}
	return m.ml.NumMembers()
}

// Addr is the gossip address, PeerAddr the peer endpoint's.
func (m *Mesh) Addr() string {
	if m.ml != nil {
		return m.ml.LocalNode().Address()
	}
	return m.cfg.Bind
}
func (m *Mesh) PeerAddr() string { return m.peer.addr }

// Keyring is the live gossip keyring: install (AddKey), use (UseKey) and
// remove (RemoveKey) keys for a rotation without downtime.
func (m *Mesh) Keyring() *memberlist.Keyring { return m.ring }

// Stop leaves the mesh gracefully (the others see "left", not "dead"),
// then stops everything. Safe to call twice.
func (m *Mesh) Stop() error {
	var err error
	m.once.Do(func() {
		close(m.stop)
		m.applyq.close()
		if m.ml != nil {
			m.sayGoodbye(time.Second)
			err = m.ml.Leave(2 * time.Second)
			err = errors.Join(err, m.ml.Shutdown())
		}
		if m.peer != nil {
			m.peer.close()
		}
		m.wg.Wait()
		m.client.CloseIdleConnections()
	})
	return err
}

// Publish spreads a state made on this node (Deployer OnChange).
func (m *Mesh) Publish(rec Record) {
	m.cfg.Clock.Observe(rec.Stamp.HLC)
	m.mu.Lock()
	cur := m.best[rec.App]
	if cur != nil && !cur.Stamp.Less(rec.Stamp) {
		m.mu.Unlock()
		return
	}
	m.best[rec.App] = rec
	m.mu.Unlock()
	m.note(rec, m.cfg.Name, false)
	var prev *cache.Manifest // what the members most likely hold: their blobs are not sent
	if cur != nil {
		prev = cur.Manifest
	}
	go m.fanOut(rec, prev) // the caller may hold the deployer's lock
}

// sayGoodbye tells every member this node is leaving on purpose, so they
// list it as "left" rather than "dead". memberlist's own leave message
// does not reach its event delegate with that distinction. Bounded by d.
func (m *Mesh) sayGoodbye(d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.sendDirect(append([]byte{msgBye}, m.cfg.Name...))
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// sendDirect sends msg over TCP to every other member, 16 at a time, and
// returns, when every send has ended, how many succeeded.
func (m *Mesh) sendDirect(msg []byte) int {
	if m.ml == nil {
		return 0
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for _, n := range m.liveNodes() {
		if n.Name == m.cfg.Name {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(n memberlist.Node) {
			defer func() { <-sem; wg.Done() }()
			if err := m.ml.SendReliable(&n, msg); err != nil {
				m.log.Debug("direct send failed", "to", n.Name, "err", err)
			} else {
				ok.Add(1)
			}
			m.bytes.sent.Add(int64(len(msg)))
		}(n)
	}
	wg.Wait()
	return int(ok.Load())
}

// receive takes a state from a peer: ignored unless it beats the best
// known, refused (not passed on, not applied) unless its manifest is
// signed by a trusted key, then applied in the background. holder names a
// member that has (or fetches first) its blobs; pass says this node must
// pass it on in its region once it has the blobs (relay.go). via says
// where it came from, for the log.
func (m *Mesh) receive(rec Record, via, holder string, pass bool) {
	m.receiveWith(rec, via, holder, pass, nil)
}

// receiveWith is receive of a state that came with blobs of its version
// (inline.go): they are kept, once checked against the verified state of
// the same stamp, before the state is queued for applying.
func (m *Mesh) receiveWith(rec Record, via, holder string, pass bool, blobs [][]byte) {
	m.mu.Lock()
	cur := m.best[rec.App]
	m.mu.Unlock()
	if cur != nil && !cur.Stamp.Less(rec.Stamp) {
		if cur.Stamp == rec.Stamp && holder != "" {
			m.keepInline(cur, holder, blobs) // checked against what was verified, not this copy
			m.adoptHolder(rec, holder, pass)
		}
		return
	}
	if err := m.verify(rec, cur); err != nil {
		if m.refused.Add(1); !m.logRefusal(time.Now()) {
			return
		}
		m.log.Warn("state refused", "app", rec.App, "gen", rec.Stamp.Gen, "origin", rec.Stamp.Node, "via", via, "err", err)
		return
	}
	if cur == nil {
		// Nothing in memory (a tombstone pruned after the retention):
		// what this node applied is the floor, so an old signed state
		// cannot come back.
		if applied, err := m.ledger.State(rec.App); err == nil && !applied.Stamp.Less(rec.Stamp) {
			return
		}
	}
	m.cfg.Clock.Observe(rec.Stamp.HLC) // only readings of states we accept
	// rec is verified: its blobs are kept before an apply worker can look
	m.dropInline(rec.App, rec.Stamp)
	m.keepInline(rec, holder, blobs)
	m.mu.Lock()
	if cur := m.best[rec.App]; cur != nil && !cur.Stamp.Less(rec.Stamp) {
		m.mu.Unlock()
		return
	}
	m.best[rec.App] = rec
	m.mu.Unlock()
	m.log.Debug("state received", "app", rec.App, "gen", rec.Stamp.Gen, "origin", rec.Stamp.Node, "via", via, "holder", holder, "pass", pass, "inline", len(blobs))
	m.note(rec, holder, pass)
	m.kick(rec.App)
}

// verify checks that a state is ordered by a statement signed by a key
// this node trusts for the app, that the statement describes the state,
// and that its sequence does not leap past the best known (a sequence
// near the limit would leave no room for later changes). Deploys,
// rollbacks and tombstones alike: the gossip key authenticates members,
// not changes.
func (m *Mesh) verify(rec Record, cur Record) error {
	if err := rec.Verify(m.keys()); err != nil {
		return err
	}
	base := 0
	if cur != nil {
		base = cur.Stamp.Gen
	}
	if rec.Stamp.Gen > base {
		return state.CheckSeq(base, rec.Stamp.Gen)
	}
	return nil
}

// Best is the winning state this node knows of app (nil: none).
func (m *Mesh) Best(app string) Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.best[app]
}

// kick queues app's winning state for applying.
func (m *Mesh) kick(app string) { m.applyq.add(app) }

// NumMembers is how many members are alive.
func (m *Mesh) NumMembers() int { return m.numNodes() }

// Name is this node's name in the mesh.
func (m *Mesh) Name() string { return m.cfg.Name }
