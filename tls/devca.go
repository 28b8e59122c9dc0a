package edgetls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	ctls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgecdn/edge/cache"
)

// File names inside the CA directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca.key"
)

const (
	caCommonName = "edge local development CA"
	caValidity   = 10 * 365 * 24 * time.Hour

	leafValidity = 7 * 24 * time.Hour
	leafRenewal  = 24 * time.Hour // re-issue when this close to expiry
	leafBackdate = time.Hour      // tolerate client clocks slightly behind

	// maxCachedLeaves bounds the leaf cache: SNI names are chosen by
	// clients, so an unbounded cache would let anyone grow our memory.
	maxCachedLeaves = 1024
)

// ErrInvalidName is returned (wrapped) by the GetCertificate callback of
// [DevCA.TLSConfig] when the client asks for a name that is neither a valid
// DNS name nor an IP address.
var ErrInvalidName = errors.New("not a valid DNS name or IP address")

// DevCA is a local certificate authority created on first start in the data
// dir. It signs short-lived leaf certificates on demand so that clients
// trusting the CA certificate ([DevCA.CertPath], [DevCA.Pool]) can verify
// the node under any name or local IP address.
//
// A DevCA is safe for concurrent use.
type DevCA struct {
	certPath string
	cert     *x509.Certificate
	key      crypto.Signer

	now func() time.Time // replaced in tests

	mu     sync.Mutex
	leaves map[string]*ctls.Certificate // by cache key, see leafFor
}

// LoadOrCreateDevCA loads the CA from dir (ca.pem + ca.key) or creates it
// there (dir is created 0700 if missing; ca.key written 0600; writes are
// atomic: temp file + rename, so a crash never leaves half a key).
//
// An existing CA is never overwritten: a corrupt ca.pem or ca.key, a key
// that does not match the certificate, an expired CA or a ca.pem without its
// ca.key is an error naming the file. The one repair done is for a ca.key
// without ca.pem (a crash between the two writes): the certificate is
// re-created from the existing key.
func LoadOrCreateDevCA(dir string) (*DevCA, error) {
	if dir == "" {
		return nil, errors.New("edgetls: CA directory not set")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("edgetls: create CA directory %s: %w", dir, err)
	}
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)

	keyPEM, keyErr := os.ReadFile(keyPath)
	certPEM, certErr := os.ReadFile(certPath)
	keyMissing := errors.Is(keyErr, fs.ErrNotExist)
	certMissing := errors.Is(certErr, fs.ErrNotExist)

	switch {
	case keyErr != nil && !keyMissing:
		return nil, fmt.Errorf("edgetls: read CA key %s: %w", keyPath, unwrapPath(keyErr, keyPath))
	case certErr != nil && !certMissing:
		return nil, fmt.Errorf("edgetls: read CA certificate %s: %w", certPath, unwrapPath(certErr, certPath))

	case keyErr == nil && certErr == nil:
		key, err := parseKey(keyPath, keyPEM)
		if err != nil {
			return nil, err
		}
		cert, err := parseCACert(certPath, certPEM, key, time.Now())
		if err != nil {
			return nil, err
		}
		return newDevCA(certPath, cert, key), nil

	case keyMissing && certErr == nil:
		return nil, fmt.Errorf("edgetls: load CA key %s: %w (%s exists without it; restore the key, or delete both files to create a new CA that clients must trust again)",
			keyPath, fs.ErrNotExist, certPath)

	case keyErr == nil && certMissing:
		key, err := parseKey(keyPath, keyPEM)
		if err != nil {
			return nil, err
		}
		return createCACert(certPath, key)

	default: // both missing: first start
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("edgetls: generate CA key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("edgetls: encode CA key: %w", err)
		}
		// Key first: if we crash before the certificate is written,
		// the next start re-creates the certificate from this key.
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := cache.WriteNewFile(keyPath, keyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("edgetls: write CA key %s: %w", keyPath, err)
		}
		return createCACert(certPath, key)
	}
}

func newDevCA(certPath string, cert *x509.Certificate, key crypto.Signer) *DevCA {
	return &DevCA{
		certPath: certPath,
		cert:     cert,
		key:      key,
		now:      time.Now,
		leaves:   make(map[string]*ctls.Certificate),
	}
}

// createCACert self-signs a new CA certificate for key and writes it to
// certPath.
func createCACert(certPath string, key crypto.Signer) (*DevCA, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("edgetls: create CA certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName},
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("edgetls: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("edgetls: create CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := cache.WriteNewFile(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("edgetls: write CA certificate %s: %w", certPath, err)
	}
	return newDevCA(certPath, cert, key), nil
}

// parseKey decodes the PEM private key read from path.
func parseKey(path string, data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("edgetls: load CA key %s: no PEM block found (file is corrupt)", path)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("edgetls: load CA key %s: unexpected PEM block %q, want \"PRIVATE KEY\"", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("edgetls: load CA key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("edgetls: load CA key %s: unsupported key type %T", path, key)
	}
	return signer, nil
}

// parseCACert decodes the PEM CA certificate read from path and checks that
// it is a usable CA for key at time now.
func parseCACert(path string, data []byte, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: no PEM block found (file is corrupt)", path)
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: unexpected PEM block %q, want \"CERTIFICATE\"", path, block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: %w", path, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: not a CA certificate (IsCA/KeyUsageCertSign missing)", path)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: public key does not match the private key in %s",
			path, filepath.Join(filepath.Dir(path), caKeyFile))
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("edgetls: load CA certificate %s: expired on %s; delete %s and %s to create a new CA",
			path, cert.NotAfter.UTC().Format(time.RFC3339), path, filepath.Join(filepath.Dir(path), caKeyFile))
	}
	return cert, nil
}

// CertPath is the CA certificate file to give clients (curl --cacert).
func (ca *DevCA) CertPath() string { return ca.certPath }

// Pool returns a cert pool holding the CA, for tests and clients. Each call
// returns a new pool, so callers may add to it.
func (ca *DevCA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// TLSConfig returns a server config that issues leaf certificates signed
// by the CA, only for names the node answers for: a name names lists
// exactly, "localhost", an IP the connection arrived on (or loopback, or
// listed), and, when there is no SNI (clients connecting to an IP), a
// certificate for localhost, 127.0.0.1 and ::1 plus the local address the
// connection arrived on (ClientHelloInfo.Conn.LocalAddr(), when it is an
// IP). Any other SNI fails the handshake with ErrNotServed before any key
// is generated: a client cannot make the node sign for names of its
// choosing. Leaves are ECDSA P-256, valid 7 days, cached in memory per
// name and re-issued when within 1 day of expiry; safe for concurrent use.
// MinVersion TLS 1.2. The caller sets NextProtos (h2, http/1.1, h3) itself
// on the clone it gets.
//
// Each call returns a new config; all of them share the CA's leaf cache.
func (ca *DevCA) TLSConfig(names Names) *ctls.Config {
	return &ctls.Config{
		MinVersion: ctls.VersionTLS12,
		GetCertificate: func(hello *ctls.ClientHelloInfo) (*ctls.Certificate, error) {
			return ca.GetCertificate(hello, names)
		},
	}
}

// GetCertificate is the GetCertificate callback of TLSConfig, for callers
// that choose among several sources of certificates per handshake.
func (ca *DevCA) GetCertificate(hello *ctls.ClientHelloInfo, names Names) (*ctls.Certificate, error) {
	if hello.ServerName == "" {
		return ca.leafForNoSNI(hello.Conn)
	}
	name := normalName(hello.ServerName)
	if ip, err := netip.ParseAddr(name); err == nil && ip.Zone() == "" {
		// Clients should not put IPs in SNI, but some do.
		ip = ip.Unmap()
		if !localIP(ip, hello.Conn) && !names.serves(ip.String()) {
			return nil, fmt.Errorf("edgetls: certificate for %q: %w", hello.ServerName, ErrNotServed)
		}
		return ca.leafFor(ip.String(), nil, []net.IP{ip.AsSlice()})
	}
	if !validDNSName(name) {
		return nil, fmt.Errorf("edgetls: issue certificate for %q: %w", hello.ServerName, ErrInvalidName)
	}
	if name != "localhost" && !names.serves(name) {
		return nil, fmt.Errorf("edgetls: certificate for %q: %w", hello.ServerName, ErrNotServed)
	}
	return ca.leafFor(name, []string{name}, nil)
}

// localIP reports whether ip is loopback or the address conn arrived on.
func localIP(ip netip.Addr, conn net.Conn) bool {
	if ip.IsLoopback() {
		return true
	}
	if conn == nil {
		return false
	}
	local, ok := addrIP(conn.LocalAddr())
	return ok && local == ip
}

// leafForNoSNI returns the certificate for clients that sent no SNI: they
// dialled an IP, most likely a loopback one or the one they arrived on.
func (ca *DevCA) leafForNoSNI(conn net.Conn) (*ctls.Certificate, error) {
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	key := "\x00no-sni" // cannot collide with a DNS name or IP
	if conn != nil {
		if local, ok := addrIP(conn.LocalAddr()); ok && !local.IsLoopback() && !local.IsUnspecified() {
			ips = append(ips, local.AsSlice())
			key += " " + local.String()
		}
	}
	return ca.leafFor(key, []string{"localhost"}, ips)
}

// addrIP extracts the IP of a connection address (TCP for TLS, UDP for
// QUIC), without zone and with IPv4-mapped addresses unmapped.
func addrIP(addr net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	if !ip.IsValid() {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

// leafFor returns the cached leaf stored under key, issuing (and caching) a
// new one for dnsNames and ips when there is none or it is close to expiry.
func (ca *DevCA) leafFor(key string, dnsNames []string, ips []net.IP) (*ctls.Certificate, error) {
	now := ca.now()
	ca.mu.Lock()
	if c := ca.leaves[key]; c != nil && fresh(c, now) {
		ca.mu.Unlock()
		return c, nil
	}
	ca.mu.Unlock()

	// Issue without holding the lock so that handshakes for other names
	// are not held up. Two handshakes racing for the same new name may
	// both issue; the first to store wins and both return its leaf.
	c, err := ca.issue(now, dnsNames, ips)
	if err != nil {
		label := key
		if len(dnsNames) > 0 {
			label = dnsNames[0]
		}
		return nil, fmt.Errorf("edgetls: issue certificate for %q: %w", label, err)
	}

	ca.mu.Lock()
	defer ca.mu.Unlock()
	if old := ca.leaves[key]; old != nil && fresh(old, now) {
		return old, nil
	}
	if _, ok := ca.leaves[key]; !ok && len(ca.leaves) >= maxCachedLeaves {
		ca.evictLocked(now)
	}
	ca.leaves[key] = c
	return c, nil
}

// fresh reports whether leaf c need not be re-issued yet.
func fresh(c *ctls.Certificate, now time.Time) bool {
	return now.Add(leafRenewal).Before(c.Leaf.NotAfter)
}

// evictLocked makes room in the full leaf cache: it drops every leaf due
// for re-issue and, if that frees nothing, one arbitrary leaf.
func (ca *DevCA) evictLocked(now time.Time) {
	for k, c := range ca.leaves {
		if !fresh(c, now) {
			delete(ca.leaves, k)
		}
	}
	for k := range ca.leaves {
		if len(ca.leaves) < maxCachedLeaves {
			break
		}
		delete(ca.leaves, k)
	}
}

// issue creates a leaf certificate for dnsNames and ips signed by the CA.
func (ca *DevCA) issue(now time.Time, dnsNames []string, ips []net.IP) (*ctls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-leafBackdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	switch {
	case len(dnsNames) > 0 && len(dnsNames[0]) <= 64: // ub-common-name
		tmpl.Subject.CommonName = dnsNames[0]
	case len(dnsNames) == 0 && len(ips) > 0:
		tmpl.Subject.CommonName = ips[0].String()
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ctls.Certificate{
		Certificate: [][]byte{der},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// validDNSName reports whether name (lower case, no trailing dot) is a
// host name we issue for: dot-separated labels of 1-63 letters, digits,
// hyphens or underscores, not starting or ending with a hyphen, at most 253
// bytes in all. Wildcards are refused: no client asks for "*" in SNI.
func validDNSName(name string) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// unwrapPath drops the *fs.PathError around err when it names path, which
// the caller's message already names.
func unwrapPath(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err
	}
	return err
}
