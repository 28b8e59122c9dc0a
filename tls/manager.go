package edgetls

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"

	"github.com/edgecdn/edge/cache"
)

// ACMEConfig turns on publicly trusted certificates from an ACME CA.
type ACMEConfig struct {
	// CA is the ACME directory URL; Let's Encrypt production when empty.
	CA string
	// Email is the account's contact address (may be empty).
	Email string
	// Roots, if set, are the only roots trusted for the CA's own HTTPS
	// (a test CA such as pebble); nil trusts the system's.
	Roots *x509.CertPool
	// EABKeyID and EABMACKey bind the account to an existing one at CAs
	// that require External Account Binding (both or neither).
	EABKeyID, EABMACKey string
}

// Config configures a Manager.
type Config struct {
	// Names lists what the apps serve. Required.
	Names Names
	// DevCA signs what ACME cannot certify (localhost, IP addresses,
	// clients without SNI) and everything when ACME is nil. Required.
	DevCA *DevCA
	// ACME, if set, obtains certificates for every public name of Names.
	ACME *ACMEConfig
	// Cache holds ACME certificates, keys and account (with ACME only).
	Cache *cache.Cache
	// Mesh says the node is to join a mesh: no order is placed before
	// UseMesh, and then only by each name's Orderer (mesh_storage.go).
	Mesh bool
	// SyncEvery is how often Names is compared with the managed set; 1s.
	SyncEvery time.Duration
	Log       *slog.Logger
}

// Listeners says where the node's listeners are bound, so that challenges
// are answered by them: HTTP-01 on HTTP, TLS-ALPN-01 on HTTPS. An empty
// address turns its challenge type off.
type Listeners struct {
	HTTP, HTTPS string
}

// Manager gives the node's listeners their certificates: from ACME for the
// apps' public host names, from the dev CA for local names, and none for a
// name no app serves. Lifecycle: NewManager has no side effects; TLSConfig
// and HTTPHandler may be used at once (ACME names get certificates after
// Start); Start begins obtaining; Stop is safe twice.
type Manager struct {
	cfg Config
	log *slog.Logger

	magic  atomic.Pointer[certmagic.Config]
	mcache atomic.Pointer[certmagic.Cache]
	issuer atomic.Pointer[certmagic.ACMEIssuer]
	// httpsPort is the HTTPS port redirects name ("" for 443).
	httpsPort atomic.Pointer[string]

	mu      sync.Mutex
	managed map[string]bool // names handed to certmagic
	cancel  context.CancelFunc
	done    chan struct{}
	first   map[string]time.Time // when a name was first seen, for the log

	// store is the local storage (nil without ACME); certmagic sees it
	// through meshStorage.
	store     *Storage
	peers     atomic.Pointer[Peers]
	meshReady chan struct{} // closed by UseMesh
	meshOnce  sync.Once
	patience  time.Duration // DefaultMeshPatience; shorter in tests
}

// NewManager checks cfg and builds a manager.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Names == nil || cfg.DevCA == nil {
		return nil, errors.New("edgetls: manager needs Names and a DevCA")
	}
	if cfg.ACME != nil {
		if (cfg.ACME.EABKeyID == "") != (cfg.ACME.EABMACKey == "") {
			return nil, errors.New("edgetls: external account binding needs both a key id and an HMAC key")
		}
		if cfg.Cache == nil {
			return nil, errors.New("edgetls: ACME needs the node's cache to store certificates in")
		}
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &Manager{cfg: cfg, log: cfg.Log.With("component", "tls"), managed: map[string]bool{}, first: map[string]time.Time{}, meshReady: make(chan struct{}), patience: DefaultMeshPatience}
	if cfg.ACME != nil {
		m.store = NewStorage(cfg.Cache, StorageConfig{})
	}
	return m, nil
}

// ACME reports whether the manager obtains certificates from an ACME CA.
func (m *Manager) ACME() bool { return m.cfg.ACME != nil }

// public reports whether name goes to ACME: a DNS name a public CA can
// certify (not localhost, *.local, *.internal, an IP...).
func (m *Manager) public(name string) bool {
	return m.cfg.ACME != nil && validDNSName(name) && certmagic.SubjectQualifiesForPublicCert(name) && !certmagic.SubjectIsIP(name)
}

// acmeNames is the set of names ACME should hold certificates for now.
func (m *Manager) acmeNames() []string {
	var out []string
	for _, n := range m.cfg.Names.certifiable() {
		if m.public(n) {
			out = append(out, n)
		}
	}
	return out
}

// TLSConfig is the config for the HTTPS listener (TCP and QUIC alike).
// NextProtos holds only acme-tls/1 (for TLS-ALPN-01, with ACME on); the
// server adds its own.
func (m *Manager) TLSConfig() *ctls.Config {
	c := &ctls.Config{MinVersion: ctls.VersionTLS12, GetCertificate: m.getCertificate}
	if m.cfg.ACME != nil {
		c.NextProtos = []string{acmez.ACMETLS1Protocol}
	}
	return c
}

// getCertificate picks the source for a handshake. A public name no app
// serves fails here, before certmagic (and so any ACME traffic) is reached.
func (m *Manager) getCertificate(hello *ctls.ClientHelloInfo) (*ctls.Certificate, error) {
	name := normalName(hello.ServerName)
	if !m.public(name) {
		return m.cfg.DevCA.GetCertificate(hello, m.cfg.Names)
	}
	if !m.cfg.Names.serves(name) {
		return nil, fmt.Errorf("edgetls: certificate for %q: %w", hello.ServerName, ErrNotServed)
	}
	magic := m.magic.Load()
	if magic == nil {
		return nil, fmt.Errorf("edgetls: certificate for %q: ACME not started", name)
	}
	return magic.GetCertificate(hello)
}

// Start sets certmagic up to answer challenges on ln and begins obtaining
// certificates for the apps' names, keeping the set in step with Names
// until Stop. Without ACME it does nothing.
func (m *Manager) Start(ln Listeners) error {
	if m.cfg.ACME == nil {
		return nil
	}
	magic, mcache, issuer, err := m.newCertmagic(ln)
	if err != nil {
		return err
	}
	port := ""
	if _, p, err := net.SplitHostPort(ln.HTTPS); err == nil && p != "443" {
		port = p
	}
	m.httpsPort.Store(&port)
	m.issuer.Store(issuer)
	m.mcache.Store(mcache)
	m.magic.Store(magic)
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.cancel, m.done = cancel, make(chan struct{})
	m.mu.Unlock()
	go m.syncLoop(ctx)
	return nil
}

// newCertmagic builds certmagic's cache, config and ACME issuer. Every
// certificate, key and account goes to the node's bbolt file: certmagic's
// default file storage is never used.
func (m *Manager) newCertmagic(ln Listeners) (*certmagic.Config, *certmagic.Cache, *certmagic.ACMEIssuer, error) {
	a := m.cfg.ACME
	tmpl := certmagic.ACMEIssuer{
		CA: a.CA, Email: a.Email, Agreed: true, TrustedRoots: a.Roots,
		DisableHTTPChallenge: ln.HTTP == "", DisableTLSALPNChallenge: ln.HTTPS == "",
	}
	if tmpl.CA == "" {
		tmpl.CA = certmagic.LetsEncryptProductionCA
	}
	if a.EABKeyID != "" {
		tmpl.ExternalAccount = &acme.EAB{KeyID: a.EABKeyID, MACKey: a.EABMACKey}
	}
	// Point certmagic's own challenge servers at our listeners: it finds
	// the address taken and leaves the answering to them.
	if err := listenOn(&tmpl.ListenHost, &tmpl.AltHTTPPort, ln.HTTP); err != nil {
		return nil, nil, nil, err
	}
	if err := listenOn(&tmpl.ListenHost, &tmpl.AltTLSALPNPort, ln.HTTPS); err != nil {
		return nil, nil, nil, err
	}
	zl := zapLogger(m.log)
	tmpl.Logger = zl
	var magic *certmagic.Config
	mcache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic.Load(), nil },
		Logger:           zl,
	})
	magic = certmagic.New(mcache, certmagic.Config{
		Storage: &meshStorage{Storage: m.store, m: m},
		Logger:  zl,
		OnEvent: m.onEvent,
	})
	issuer := certmagic.NewACMEIssuer(magic, tmpl)
	magic.Issuers = []certmagic.Issuer{issuer}
	return magic, mcache, issuer, nil
}

// listenOn sets host and port from a bound address, if there is one.
func listenOn(host *string, port *int, addr string) error {
	if addr == "" {
		return nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("edgetls: listener address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("edgetls: listener address %q: %w", addr, err)
	}
	*host, *port = h, n
	return nil
}

// syncLoop keeps the managed names in step with the apps'.
func (m *Manager) syncLoop(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.cfg.SyncEvery)
	defer t.Stop()
	for {
		m.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync hands new names to certmagic (which loads a stored certificate or
// orders one, retrying with backoff) and drops the names no app serves.
func (m *Manager) sync(ctx context.Context) {
	magic := m.magic.Load()
	want := m.acmeNames()
	m.mu.Lock()
	defer m.mu.Unlock()
	var add []string
	keep := map[string]bool{}
	for _, n := range want {
		keep[n] = true
		if !m.managed[n] {
			add = append(add, n)
			m.managed[n] = true
			m.first[n] = time.Now()
		}
	}
	var drop []certmagic.SubjectIssuer
	for n := range m.managed {
		if !keep[n] {
			drop = append(drop, certmagic.SubjectIssuer{Subject: n})
			delete(m.managed, n)
			delete(m.first, n)
		}
	}
	if len(drop) > 0 {
		m.mcache.Load().RemoveManaged(drop)
		m.log.Info("certificates dropped: no app serves the names", "names", subjects(drop))
	}
	if len(add) > 0 {
		if err := magic.ManageAsync(ctx, add); err != nil {
			m.log.Error("manage certificates", "names", add, "err", err)
		}
	}
}

func subjects(s []certmagic.SubjectIssuer) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Subject
	}
	return out
}

// onEvent logs what certmagic obtained, with the time since the name
// first appeared (deploy to certificate).
func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	if event != "cert_obtained" {
		return nil
	}
	name, _ := data["identifier"].(string)
	m.mu.Lock()
	since := time.Since(m.first[name])
	m.mu.Unlock()
	m.log.Info("certificate obtained", "name", name, "issuer", data["issuer"], "since_name_appeared", since)
	return nil
}

// Stop ends the sync loop and certmagic's maintenance. Safe twice.
func (m *Manager) Stop() {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel = nil
	m.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	if c := m.mcache.Load(); c != nil {
		c.Stop()
	}
}
