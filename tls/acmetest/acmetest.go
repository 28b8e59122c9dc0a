// Package acmetest runs a real ACME server (Let's Encrypt's pebble, in the
// test's process, from the Go module: nothing to install) on loopback for
// tests, counting the orders and requests it gets.
package acmetest

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// CA is a real ACME server (Let's Encrypt's pebble, in-process) on a
// loopback port, counting what clients ask of it.
type CA struct {
	URL       string         // ACME directory
	RootsFile string         // PEM of the server's own HTTPS certificate (--acme-ca-root)
	Roots     *x509.CertPool // the same, as a pool
	Issuing   *x509.CertPool // pebble's root: what issued certificates chain to

	orders   atomic.Int64 // new-order requests
	requests atomic.Int64 // every request
	onOrder  atomic.Pointer[func()]
}

// OnOrder makes every later new-order request call fn before pebble
// handles it (nil: none): a test holds an order there to kill the node
// that placed it.
func (p *CA) OnOrder(fn func()) {
	if fn == nil {
		p.onOrder.Store(nil)
		return
	}
	p.onOrder.Store(&fn)
}

// Orders is how many new orders the CA was asked for.
func (p *CA) Orders() int64 { return p.orders.Load() }

// Requests is how many requests of any kind reached the CA.
func (p *CA) Requests() int64 { return p.requests.Load() }

// Options says how a test wants pebble.
type Options struct {
	// Validate on: pebble checks challenges against HTTPPort (HTTP-01) and
	// TLSPort (TLS-ALPN-01) of the address DNS gives for the name. Off
	// (PEBBLE_VA_ALWAYS_VALID=1) where validation is not the subject.
	Validate          bool
	HTTPPort, TLSPort int
	// Resolve, with Validate, gives the IPv4 address DNS answers for a
	// name (no trailing dot); nil answers 127.0.0.1 for every name.
	Resolve func(name string) net.IP
}

// Start runs pebble until the test ends. With validation on, every name
// resolves to 127.0.0.1 through a DNS server of the test's own; with it
// off (PEBBLE_VA_ALWAYS_VALID=1) pebble never contacts the node. It sets
// pebble's environment with t.Setenv, so the test cannot be parallel.
func Start(t *testing.T, opt Options) *CA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	resolver := ""
	if opt.Validate {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")
		resolver = startLoopbackDNS(t, opt.Resolve)
	} else {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "1")
	}
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(os.Stderr, "pebble ", log.Lmicroseconds)
	}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, opt.HTTPPort, opt.TLSPort, false, resolver, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	p := &CA{}
	acmeHandler := front.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
			if fn := p.onOrder.Load(); fn != nil {
				(*fn)()
			}
		}
		acmeHandler.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.URL = srv.URL + wfe.DirectoryPath

	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(srv.Certificate())
	p.RootsFile = filepath.Join(t.TempDir(), "pebble-https.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p.RootsFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	p.Issuing = x509.NewCertPool()
	p.Issuing.AddCert(authority.GetRootCert(0).Cert)
	return p
}

// startLoopbackDNS answers every A query with resolve's address (or
// 127.0.0.1) and anything else with no records, on one loopback port over
// UDP and TCP (pebble's resolver uses TCP); it returns the address.
func startLoopbackDNS(t *testing.T, resolve func(string) net.IP) string {
	t.Helper()
	if resolve == nil {
		resolve = func(string) net.IP { return net.IPv4(127, 0, 0, 1) }
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A:   resolve(strings.TrimSuffix(strings.ToLower(question.Name), ".")),
				})
			}
		}
		_ = w.WriteMsg(m)
	})
	addr := FreePort(t)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	servers := []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}}
	for _, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() { _ = srv.ActivateAndServe() })
		<-started
	}
	t.Cleanup(func() {
		for _, srv := range servers {
			_ = srv.Shutdown()
		}
		wg.Wait()
	})
	return addr
}

// FreePort returns a loopback address whose port is free on both TCP and
// UDP at the time of asking (HTTPS binds both).
func FreePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("acmetest: no port free on both TCP and UDP")
	return ""
}
