package edgetls_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	ctls "crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	edgetls "github.com/edgecdn/edge/tls"
)

// newCA creates a CA in a not yet existing directory under t.TempDir().
func newCA(t *testing.T) *edgetls.DevCA {
	t.Helper()
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatalf("LoadOrCreateDevCA: %v", err)
	}
	return ca
}

// issued records what the server's GetCertificate saw and returned.
type issued struct {
	mu    sync.Mutex
	sni   []string                              // ServerName of each ClientHello
	certs map[string]map[*ctls.Certificate]bool // by ServerName
}

func (r *issued) add(sni string, c *ctls.Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sni = append(r.sni, sni)
	if r.certs == nil {
		r.certs = make(map[string]map[*ctls.Certificate]bool)
	}
	if r.certs[sni] == nil {
		r.certs[sni] = make(map[*ctls.Certificate]bool)
	}
	r.certs[sni][c] = true
}

// pointers returns the distinct certificates handed out for sni.
func (r *issued) pointers(sni string) []*ctls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*ctls.Certificate
	for c := range r.certs[sni] {
		out = append(out, c)
	}
	return out
}

// serve runs a TLS server using ca.TLSConfig(testNames) on a real listener at
// network address laddr and returns its address and a record of issued
// certificates. It stops when the test ends.
func serve(t *testing.T, ca *edgetls.DevCA, laddr string) (string, *issued) {
	t.Helper()
	ln, err := net.Listen("tcp", laddr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	rec := &issued{}
	cfg := ca.TLSConfig(testNames)
	get := cfg.GetCertificate
	cfg.GetCertificate = func(hello *ctls.ClientHelloInfo) (*ctls.Certificate, error) {
		c, err := get(hello)
		if err == nil {
			rec.add(hello.ServerName, c)
		}
		return c, err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				_ = ctls.Server(conn, cfg).Handshake()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), rec
}

// handshake dials addr and completes a verified TLS handshake with
// serverName, trusting only pool.
func handshake(addr, serverName string, pool *x509.CertPool, maxVersion uint16) (ctls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := ctls.Dialer{Config: &ctls.Config{
		RootCAs:    pool,
		ServerName: serverName,
		MaxVersion: maxVersion,
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ctls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*ctls.Conn).ConnectionState(), nil
}

func TestHandshake(t *testing.T) {
	ca := newCA(t)
	tests := []struct {
		name       string
		listen     string
		serverName string // what the client verifies
		wantSNI    string // what the server sees; "" for IP literals
		maxVersion uint16
		wantErr    bool
	}{
		{name: "dns name", listen: "127.0.0.1:0", serverName: "example.test", wantSNI: "example.test"},
		{name: "localhost", listen: "127.0.0.1:0", serverName: "localhost", wantSNI: "localhost"},
		{name: "subdomain", listen: "127.0.0.1:0", serverName: "a-b.c_d.example.test", wantSNI: "a-b.c_d.example.test"},
		{name: "upper case", listen: "127.0.0.1:0", serverName: "WWW.Example.Test", wantSNI: "WWW.Example.Test"},
		{name: "ipv4 without SNI", listen: "127.0.0.1:0", serverName: "127.0.0.1", wantSNI: ""},
		{name: "ipv6 without SNI", listen: "[::1]:0", serverName: "::1", wantSNI: ""},
		{name: "tls 1.2", listen: "127.0.0.1:0", serverName: "example.test", wantSNI: "example.test", maxVersion: ctls.VersionTLS12},
		{name: "tls 1.1 refused", listen: "127.0.0.1:0", serverName: "example.test", maxVersion: ctls.VersionTLS11, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.listen, "[::1]") {
				if ln, err := net.Listen("tcp", tt.listen); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			addr, rec := serve(t, ca, tt.listen)
			state, err := handshake(addr, tt.serverName, ca.Pool(), tt.maxVersion)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("handshake succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if len(state.VerifiedChains) == 0 {
				t.Fatalf("no verified chains")
			}
			leaf := state.PeerCertificates[0]
			if err := leaf.VerifyHostname(tt.serverName); err != nil {
				t.Errorf("VerifyHostname: %v", err)
			}
			rec.mu.Lock()
			sni := slices.Clone(rec.sni)
			rec.mu.Unlock()
			if len(sni) != 1 || sni[0] != tt.wantSNI {
				t.Errorf("server saw SNI %q, want [%q]", sni, tt.wantSNI)
			}
			if tt.wantSNI == "" {
				for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
					if err := leaf.VerifyHostname(h); err != nil {
						t.Errorf("no-SNI leaf: VerifyHostname(%q): %v", h, err)
					}
				}
			}
		})
	}
}

func TestLeafProperties(t *testing.T) {
	ca := newCA(t)
	addr, _ := serve(t, ca, "127.0.0.1:0")
	start := time.Now()
	state, err := handshake(addr, "example.test", ca.Pool(), 0)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	leaf := state.PeerCertificates[0]
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("leaf key = %T, want ECDSA P-256", leaf.PublicKey)
	}
	if got := leaf.NotAfter.Sub(start); got < 7*24*time.Hour-time.Minute || got > 7*24*time.Hour+time.Minute {
		t.Errorf("leaf valid for %v from now, want 7 days", got)
	}
	if leaf.IsCA || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("leaf IsCA=%v ExtKeyUsage=%v, want server-auth leaf", leaf.IsCA, leaf.ExtKeyUsage)
	}
	if !slices.Equal(leaf.DNSNames, []string{"example.test"}) {
		t.Errorf("leaf DNSNames = %q", leaf.DNSNames)
	}

	root := state.VerifiedChains[0][len(state.VerifiedChains[0])-1]
	if root.Subject.CommonName != "edge local development CA" {
		t.Errorf("CA CommonName = %q", root.Subject.CommonName)
	}
	if !root.IsCA || root.MaxPathLen != 0 || !root.MaxPathLenZero || root.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA IsCA=%v MaxPathLen=%d zero=%v KeyUsage=%v", root.IsCA, root.MaxPathLen, root.MaxPathLenZero, root.KeyUsage)
	}
	if pub, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key = %T, want ECDSA P-256", root.PublicKey)
	}
	if years := root.NotAfter.Sub(start).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("CA valid for %.2f years, want 10", years)
	}
	if root.SerialNumber.BitLen() < 64 || root.SerialNumber.BitLen() > 128 {
		t.Errorf("CA serial has %d bits, want random 128-bit", root.SerialNumber.BitLen())
	}
}

// fakeConn is a net.Conn that only knows its local address, like the one
// quic-go puts in ClientHelloInfo.
type fakeConn struct {
	net.Conn
	local net.Addr
}

func (c fakeConn) LocalAddr() net.Addr { return c.local }

func TestNoSNILocalAddress(t *testing.T) {
	ca := newCA(t)
	get := ca.TLSConfig(testNames).GetCertificate
	tests := []struct {
		name   string
		local  net.Addr
		verify string // besides localhost, 127.0.0.1, ::1
	}{
		{name: "tcp ipv4", local: &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8443}, verify: "192.0.2.10"},
		{name: "udp ipv6 (quic)", local: &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 8443}, verify: "2001:db8::1"},
		{name: "ipv4-mapped", local: &net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.7"), Port: 8443}, verify: "198.51.100.7"},
		{name: "link-local with zone", local: &net.UDPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 8443}, verify: "fe80::1"},
		{name: "no conn", local: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hello := &ctls.ClientHelloInfo{}
			if tt.local != nil {
				hello.Conn = fakeConn{local: tt.local}
			}
			c, err := get(hello)
			if err != nil {
				t.Fatalf("GetCertificate: %v", err)
			}
			hosts := []string{"localhost", "127.0.0.1", "::1"}
			if tt.verify != "" {
				hosts = append(hosts, tt.verify)
			}
			for _, h := range hosts {
				_, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: ca.Pool()})
				if err != nil {
					t.Errorf("Verify(%q): %v", h, err)
				}
			}
		})
	}
}

func TestSNIName(t *testing.T) {
	ca := newCA(t)
	get := ca.TLSConfig(testNames).GetCertificate
	tests := []struct {
		sni     string
		verify  string
		wantErr bool
	}{
		{sni: "example.test", verify: "example.test"},
		{sni: "example.test.", verify: "example.test"},
		{sni: "10.1.2.3", verify: "10.1.2.3"}, // IP in SNI: some clients send it
		{sni: "2001:db8::2", verify: "2001:db8::2"},
		{sni: "xn--bcher-kva.test", verify: "xn--bcher-kva.test"},
		{sni: "bad name", wantErr: true},
		{sni: "-lead.test", wantErr: true},
		{sni: "trail-.test", wantErr: true},
		{sni: "a..b", wantErr: true},
		{sni: ".", wantErr: true},
		{sni: "*.example.test", wantErr: true},
		{sni: "bücher.test", wantErr: true},
		{sni: "fe80::1%eth0", wantErr: true},
		{sni: strings.Repeat("a", 64) + ".test", wantErr: true},
		{sni: strings.Repeat("abcdefg.", 32) + "test", wantErr: true}, // 260 bytes
		{sni: "x\x00y.test", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.sni), func(t *testing.T) {
			c, err := get(&ctls.ClientHelloInfo{ServerName: tt.sni})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("GetCertificate(%q) issued %v, want error", tt.sni, c.Leaf.DNSNames)
				}
				if !errors.Is(err, edgetls.ErrInvalidName) || !strings.HasPrefix(err.Error(), "edgetls: ") {
					t.Errorf("error %q: want edgetls: prefix wrapping ErrInvalidName", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetCertificate(%q): %v", tt.sni, err)
			}
			if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: tt.verify, Roots: ca.Pool()}); err != nil {
				t.Errorf("Verify(%q): %v", tt.verify, err)
			}
		})
	}
}

// snapshot returns the names and contents of the files in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca1, err := edgetls.LoadOrCreateDevCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	if len(before) != 2 || before["ca.pem"] == "" || before["ca.key"] == "" {
		t.Fatalf("CA dir holds %d files, want exactly ca.pem and ca.key", len(before))
	}
	ca2, err := edgetls.LoadOrCreateDevCA(dir)
	if err != nil {
		t.Fatalf("second LoadOrCreateDevCA: %v", err)
	}
	if ca1.CertPath() != ca2.CertPath() || ca2.CertPath() != filepath.Join(dir, "ca.pem") {
		t.Errorf("CertPath %q then %q, want %q", ca1.CertPath(), ca2.CertPath(), filepath.Join(dir, "ca.pem"))
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Errorf("second load changed the CA files")
	}
	// The reloaded CA issues leaves the first CA's pool trusts.
	addr, _ := serve(t, ca2, "127.0.0.1:0")
	if _, err := handshake(addr, "example.test", ca1.Pool(), 0); err != nil {
		t.Errorf("handshake with reloaded CA, trusting the original: %v", err)
	}
	// And the file on disk is what clients like curl get.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(before["ca.pem"])) {
		t.Fatalf("ca.pem holds no certificate")
	}
	if _, err := handshake(addr, "localhost", pool, 0); err != nil {
		t.Errorf("handshake trusting %s: %v", ca2.CertPath(), err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := filepath.Join(t.TempDir(), "data", "tls")
	if _, err := edgetls.LoadOrCreateDevCA(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		dir:                          fs.ModeDir | 0o700,
		filepath.Join(dir, "ca.key"): 0o600,
		filepath.Join(dir, "ca.pem"): 0o644,
	} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits; it must never add any.
		if got := fi.Mode(); got&^want != 0 || (filepath.Base(name) == "ca.key" && got != want) {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}

func TestBadFiles(t *testing.T) {
	otherKey := func(t *testing.T) []byte {
		ca := newCA(t)
		b, err := os.ReadFile(filepath.Join(filepath.Dir(ca.CertPath()), "ca.key"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	truncated := func(t *testing.T, path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		block.Bytes = block.Bytes[:len(block.Bytes)/2]
		return pem.EncodeToMemory(block)
	}
	tests := []struct {
		name     string
		file     string // which file to break
		contents func(t *testing.T, path string) []byte
		remove   bool
		wantFile string // file the error must name
		wantMsg  string
	}{
		{name: "garbage key", file: "ca.key", wantFile: "ca.key", wantMsg: "no PEM block",
			contents: func(*testing.T, string) []byte { return []byte("not a key\n") }},
		{name: "truncated key", file: "ca.key", wantFile: "ca.key", wantMsg: "load CA key",
			contents: truncated},
		{name: "key of wrong type", file: "ca.key", wantFile: "ca.key", wantMsg: `unexpected PEM block "CERTIFICATE"`,
			contents: func(t *testing.T, path string) []byte {
				b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "ca.pem"))
				return b
			}},
		{name: "empty key", file: "ca.key", wantFile: "ca.key", wantMsg: "no PEM block",
			contents: func(*testing.T, string) []byte { return nil }},
		{name: "missing key", file: "ca.key", remove: true, wantFile: "ca.key", wantMsg: "file does not exist"},
		{name: "garbage cert", file: "ca.pem", wantFile: "ca.pem", wantMsg: "no PEM block",
			contents: func(*testing.T, string) []byte { return []byte("-----BEGIN CERT") }},
		{name: "truncated cert", file: "ca.pem", wantFile: "ca.pem", wantMsg: "load CA certificate",
			contents: truncated},
		{name: "key in cert file", file: "ca.pem", wantFile: "ca.pem", wantMsg: `unexpected PEM block "PRIVATE KEY"`,
			contents: func(t *testing.T, path string) []byte {
				b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "ca.key"))
				return b
			}},
		{name: "key of another CA", file: "ca.key", wantFile: "ca.pem", wantMsg: "does not match",
			contents: func(t *testing.T, _ string) []byte { return otherKey(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tls")
			if _, err := edgetls.LoadOrCreateDevCA(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.file)
			if tt.remove {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, tt.contents(t, path), 0o600); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)

			ca, err := edgetls.LoadOrCreateDevCA(dir)
			if err == nil {
				t.Fatalf("LoadOrCreateDevCA succeeded (%s), want error", ca.CertPath())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "edgetls: ") {
				t.Errorf("error %q lacks the edgetls: prefix", msg)
			}
			if want := filepath.Join(dir, tt.wantFile); !strings.Contains(msg, want) {
				t.Errorf("error %q does not name %s", msg, want)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not say %q", msg, tt.wantMsg)
			}
			if tt.remove && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q does not wrap fs.ErrNotExist", msg)
			}
			if after := snapshot(t, dir); !mapsEqual(before, after) {
				t.Errorf("failed load changed the CA directory")
			}
		})
	}
}

// A crash after writing ca.key but before ca.pem is repaired by re-creating
// the certificate from the existing key.
func TestMissingCertRecreatedFromKey(t *testing.T) {
	ca1 := newCA(t)
	dir := filepath.Dir(ca1.CertPath())
	keyBefore, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ca1.CertPath()); err != nil {
		t.Fatal(err)
	}
	ca2, err := edgetls.LoadOrCreateDevCA(dir)
	if err != nil {
		t.Fatalf("LoadOrCreateDevCA: %v", err)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(dir, "ca.key")); !bytes.Equal(keyBefore, keyAfter) {
		t.Errorf("ca.key was replaced")
	}
	if _, err := os.Stat(ca2.CertPath()); err != nil {
		t.Errorf("ca.pem not re-created: %v", err)
	}
	addr, _ := serve(t, ca2, "127.0.0.1:0")
	if _, err := handshake(addr, "example.test", ca2.Pool(), 0); err != nil {
		t.Errorf("handshake: %v", err)
	}
}

func TestLeafCache(t *testing.T) {
	ca := newCA(t)
	addr, rec := serve(t, ca, "127.0.0.1:0")
	for _, name := range []string{"example.test", "example.test", "other.test", "127.0.0.1", "127.0.0.1"} {
		if _, err := handshake(addr, name, ca.Pool(), 0); err != nil {
			t.Fatalf("handshake %s: %v", name, err)
		}
	}
	tests := []struct{ sni string }{{"example.test"}, {"other.test"}, {""}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("sni=%q", tt.sni), func(t *testing.T) {
			if got := rec.pointers(tt.sni); len(got) != 1 {
				t.Errorf("%d distinct certificates for %q, want 1 (cached)", len(got), tt.sni)
			}
		})
	}
	if a, b := rec.pointers("example.test"), rec.pointers("other.test"); len(a) == 1 && len(b) == 1 && a[0] == b[0] {
		t.Errorf("same certificate for different names")
	}
}

func TestLeafRenewal(t *testing.T) {
	ca := newCA(t)
	var mu sync.Mutex
	now := time.Now()
	edgetls.SetClock(ca, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	get := ca.TLSConfig(testNames).GetCertificate
	hello := &ctls.ClientHelloInfo{ServerName: "example.test"}

	first, err := get(hello)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		advance time.Duration
		wantNew bool
	}{
		{name: "fresh", advance: time.Hour, wantNew: false},
		{name: "5 days old", advance: 5*24*time.Hour - time.Hour, wantNew: false},
		{name: "within a day of expiry", advance: 24*time.Hour + time.Minute, wantNew: true},
	}
	prev := first
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			advance(st.advance)
			c, err := get(hello)
			if err != nil {
				t.Fatal(err)
			}
			if gotNew := c != prev; gotNew != st.wantNew {
				t.Errorf("re-issued = %v, want %v", gotNew, st.wantNew)
			}
			if st.wantNew && !c.Leaf.NotAfter.After(prev.Leaf.NotAfter) {
				t.Errorf("re-issued leaf expires %v, not after %v", c.Leaf.NotAfter, prev.Leaf.NotAfter)
			}
			prev = c
		})
	}
}

func TestConcurrentHandshakes(t *testing.T) {
	ca := newCA(t)
	addr, rec := serve(t, ca, "127.0.0.1:0")
	const clients, names = 32, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			name := fmt.Sprintf("host%d.example.test", i%names)
			if i%names == 0 {
				name = "127.0.0.1" // no SNI
			}
			state, err := handshake(addr, name, ca.Pool(), 0)
			if err == nil {
				err = state.PeerCertificates[0].VerifyHostname(name)
			}
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Racing first handshakes for one name all end up with the cached leaf.
	for i := 1; i < names; i++ {
		name := fmt.Sprintf("host%d.example.test", i)
		if got := rec.pointers(name); len(got) != 1 {
			t.Errorf("%s: %d distinct certificates, want 1", name, len(got))
		}
	}
}

func ExampleLoadOrCreateDevCA() {
	data, err := os.MkdirTemp("", "edge-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(data)

	// First start creates data/tls/ca.pem and ca.key; later starts load them.
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(data, "tls"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("curl --cacert", filepath.Base(ca.CertPath()))

	cfg := ca.TLSConfig(func() []string { return []string{"www.example.test"} })
	cfg.NextProtos = []string{"h2", "http/1.1"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: cfg,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello over %s", r.Proto)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	// A client trusting only the dev CA verifies the node by IP.
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &ctls.Config{RootCAs: ca.Pool()},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))
	// Output:
	// curl --cacert ca.pem
	// hello over HTTP/2.0
}
