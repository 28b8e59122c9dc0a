package edgetls_test

import (
	"bytes"
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	edgetls "github.com/edgecdn/edge/tls"
	"github.com/edgecdn/edge/tls/acmetest"
)

// servedNames is the apps' host list, changed by tests.
type servedNames struct {
	mu    sync.Mutex
	names []string
}

func (s *servedNames) List() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

func (s *servedNames) Set(names ...string) {
	s.mu.Lock()
	s.names = names
	s.mu.Unlock()
}

// node is a Manager with real listeners (edge.Server: h1/h2 on TCP, h3 on
// UDP, plain HTTP) and a handler that names the protocol.
type node struct {
	m     *edgetls.Manager
	srv   *edge.Server
	store *cache.Cache
}

// nodeOptions says how to start a node.
type nodeOptions struct {
	data     string // data dir: edge.db and the dev CA
	names    *servedNames
	ca       *acmetest.CA
	httpAddr string // "" for 127.0.0.1:0
	tlsAddr  string
	// challenges: which listeners answer them (both when nil).
	challenges *edgetls.Listeners
}

func startNode(t *testing.T, o nodeOptions) *node {
	t.Helper()
	store, err := cache.Open(filepath.Join(o.data, "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	devca, err := edgetls.LoadOrCreateDevCA(filepath.Join(o.data, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := edgetls.NewManager(edgetls.Config{
		Names: o.names.List, DevCA: devca, Cache: store, SyncEvery: 20 * time.Millisecond,
		ACME: &edgetls.ACMEConfig{CA: o.ca.URL, Email: "ops@example.com", Roots: o.ca.Roots},
		Log:  testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{m: m, store: store}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.Host)
	})
	n.srv = edge.NewServer(edge.ServerConfig{
		HTTPAddr: or(o.httpAddr, "127.0.0.1:0"), HTTPSAddr: or(o.tlsAddr, "127.0.0.1:0"),
		TLS: m.TLSConfig(), PlainHTTP: m.HTTPHandler,
	}, handler)
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	ln := edgetls.Listeners{HTTP: n.srv.HTTPAddr(), HTTPS: n.srv.HTTPSAddr()}
	if o.challenges != nil {
		ln = *o.challenges
	}
	if err := m.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

// testLogger shows the node's log with -v only.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stop shuts the node down; safe twice.
func (n *node) stop() {
	n.m.Stop()
	_ = n.srv.Shutdown(context.Background())
	_ = n.store.Close()
}

// waitCert polls until the node holds a certificate for name.
func waitCert(t *testing.T, n *node, name string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for !n.m.HasCertificate(name) {
		if time.Now().After(deadline) {
			t.Fatalf("no certificate for %s after %v; certs: %+v", name, time.Since(start), n.m.Certs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// get fetches https://name/ from the node over h2 or h3, trusting only
// roots, and returns the body and the leaf's serial.
func get(t *testing.T, n *node, name string, roots *x509.CertPool, h3 bool) (string, string) {
	t.Helper()
	addr := n.srv.HTTPSAddr()
	_, port, _ := net.SplitHostPort(addr)
	rt, closeRT := acmetest.Transport(addr, name, roots, h3)
	defer closeRT()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(name, port)+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET https://%s/ (h3=%v): %v", name, h3, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.TLS.PeerCertificates[0].SerialNumber.String()
}

// tlsHandshake dials the node's HTTPS port with SNI name.
func tlsHandshake(n *node, name string, roots *x509.CertPool) error {
	d := &ctls.Dialer{Config: &ctls.Config{RootCAs: roots, ServerName: name}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", n.srv.HTTPSAddr())
	if err == nil {
		conn.Close()
	}
	return err
}

// isolateHome points HOME and XDG dirs at an empty directory, so that a
// write outside the node's data dir (certmagic's default file storage)
// would be seen.
func isolateHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	return home
}

func TestACMEIssueServeRestart(t *testing.T) {
	home := isolateHome(t)
	pebble := acmetest.Start(t, acmetest.Options{})
	data := t.TempDir()
	const name = "shop.example.com"
	names := &servedNames{names: []string{"*", name, "localhost", "127.0.0.1"}}
	n := startNode(t, nodeOptions{data: data, names: names, ca: pebble})

	took := waitCert(t, n, name)
	t.Logf("first certificate for %s in %v", name, took)
	if got := pebble.Orders(); got != 1 {
		t.Errorf("%d orders placed for one name, want 1", got)
	}
	body, serial := get(t, n, name, pebble.Issuing, false)
	if body != "HTTP/2.0 "+name+":"+port(n.srv.HTTPSAddr()) {
		t.Errorf("h2 body %q", body)
	}
	body3, serial3 := get(t, n, name, pebble.Issuing, true)
	if body3 != "HTTP/3.0 "+name+":"+port(n.srv.HTTPSAddr()) || serial3 != serial {
		t.Errorf("h3 body %q serial %s, want HTTP/3.0 and serial %s as on h2", body3, serial3, serial)
	}

	t.Run("plain http redirects, except challenges", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for path, want := range map[string]int{"/a?b=c": http.StatusPermanentRedirect, "/.well-known/acme-challenge/x": http.StatusOK} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+n.srv.HTTPAddr()+path, nil)
			req.Host = name
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
			if want == http.StatusPermanentRedirect {
				if loc := resp.Header.Get("Location"); loc != "https://"+name+":"+port(n.srv.HTTPSAddr())+path {
					t.Errorf("Location %q", loc)
				}
			}
		}
		// A host without a certificate is served on plain HTTP.
		req, _ := http.NewRequest(http.MethodGet, "http://"+n.srv.HTTPAddr()+"/", nil)
		req.Host = "localhost"
		if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET http://localhost/: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("an SNI no app serves fails with no ACME traffic", func(t *testing.T) {
		before := pebble.Requests()
		for _, sni := range []string{"other.example.com", "x." + name, "*." + name} {
			if err := tlsHandshake(n, sni, pebble.Issuing); err == nil {
				t.Errorf("handshake for %q succeeded", sni)
			}
		}
		time.Sleep(100 * time.Millisecond) // room for any background order to start
		if got := pebble.Requests(); got != before {
			t.Errorf("%d requests at the CA after handshakes for unserved names", got-before)
		}
	})

	t.Run("restart reuses the stored certificate", func(t *testing.T) {
		n.stop()
		n2 := startNode(t, nodeOptions{data: data, names: names, ca: pebble})
		waitCert(t, n2, name)
		if _, s := get(t, n2, name, pebble.Issuing, false); s != serial {
			t.Errorf("after restart serial %s, want the stored %s", s, serial)
		}
		if got := pebble.Orders(); got != 1 {
			t.Errorf("%d orders after restart, want still 1", got)
		}
		n = n2
	})

	t.Run("a removed name loses its certificate", func(t *testing.T) {
		names.Set("*", "localhost")
		deadline := time.Now().Add(10 * time.Second)
		for n.m.HasCertificate(name) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if err := tlsHandshake(n, name, pebble.Issuing); err == nil {
			t.Errorf("handshake for a removed name succeeded")
		}
	})

	t.Run("private keys only in the bbolt file", func(t *testing.T) {
		checkKeysOnlyInDB(t, data, home)
	})
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// checkKeysOnlyInDB fails if any file under the dirs holds a PEM private
// key, other than edge.db and the dev CA's own key.
func checkKeysOnlyInDB(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if base := filepath.Base(path); base == "edge.db" || base == "ca.key" && filepath.Base(filepath.Dir(path)) == "tls" {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte("PRIVATE KEY")) {
				t.Errorf("%s holds a private key", path)
			}
			return nil
		})
	}
	if entries, _ := os.ReadDir(dirs[len(dirs)-1]); len(entries) > 0 {
		t.Errorf("%d entries written to HOME (%s), want none", len(entries), entries[0].Name())
	}
}

// Real validation: pebble checks each challenge type against the node's
// own listener, the name resolving to it through the test's DNS server.
func TestACMEChallengesValidated(t *testing.T) {
	for _, typ := range []string{"http-01", "tls-alpn-01"} {
		t.Run(typ, func(t *testing.T) {
			isolateHome(t)
			// Bind first: pebble must know the ports it validates on.
			httpLn, tlsLn := acmetest.FreePort(t), acmetest.FreePort(t)
			pebble := acmetest.Start(t, acmetest.Options{Validate: true, HTTPPort: portNum(t, httpLn), TLSPort: portNum(t, tlsLn)})
			const name = "validated.example.com"
			ch := &edgetls.Listeners{HTTP: httpLn}
			if typ == "tls-alpn-01" {
				ch = &edgetls.Listeners{HTTPS: tlsLn}
			}
			n := startNode(t, nodeOptions{data: t.TempDir(), names: &servedNames{names: []string{name}},
				ca: pebble, httpAddr: httpLn, tlsAddr: tlsLn, challenges: ch})
			waitCert(t, n, name)
			if body, _ := get(t, n, name, pebble.Issuing, false); body == "" {
				t.Errorf("empty body")
			}
		})
	}
}

func portNum(t *testing.T, addr string) int {
	var n int
	if _, err := fmt.Sscan(port(addr), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
