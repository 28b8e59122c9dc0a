package edgetls_test

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

// pebbleCA is a real ACME server (Let's Encrypt's pebble, in-process) on a
// loopback port, counting what clients ask of it.
type pebbleCA struct {
	URL       string         // ACME directory
	RootsFile string         // PEM of the server's own HTTPS certificate (--acme-ca-root)
	Roots     *x509.CertPool // the same, as a pool
	Issuing   *x509.CertPool // pebble's root: what issued certificates chain to

	orders   atomic.Int64 // new-order requests
	requests atomic.Int64 // every request
}

// pebbleOptions says how a test wants pebble.
type pebbleOptions struct {
	// Validate on: pebble checks challenges against HTTPPort (HTTP-01) and
	// TLSPort (TLS-ALPN-01) of the address DNS gives for the name. Off
	// (PEBBLE_VA_ALWAYS_VALID=1) where validation is not the subject.
	Validate          bool
	HTTPPort, TLSPort int
}

// startPebble runs pebble for the test. With validation on, names resolve
// to 127.0.0.1 through a DNS server of the test's own.
func startPebble(t *testing.T, opt pebbleOptions) *pebbleCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	resolver := ""
	if opt.Validate {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")
		resolver = startLoopbackDNS(t)
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

	p := &pebbleCA{}
	acmeHandler := front.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
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

// startLoopbackDNS answers every A query with 127.0.0.1 and anything else
// with no records, on one loopback port over UDP and TCP (pebble's
// resolver uses TCP); it returns the address.
func startLoopbackDNS(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})
	addr := freePort(t, "")
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

// hostsOf lists a test's names, for error messages.
func hostsOf(names []string) string { return strings.Join(names, " ") }
