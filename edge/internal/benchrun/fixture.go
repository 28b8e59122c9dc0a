package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	mrand "math/rand/v2"

	edgetls "github.com/edgecdn/edge/tls"
)

// fixture is what every server is given: one app directory (its public/
// files are what nginx, Caddy and the Go peer serve), and one CA. The node
// issues its certificates from that CA (its dev CA in its data directory);
// the peers get one leaf of the same kind (ECDSA P-256) from it.
type fixture struct {
	work, appDir, public string
	edgeData             string
	// edgePlain and baselinePlain are the nodes' plain-HTTP listeners
	// (host:port), chosen when they start.
	edgePlain, baselinePlain string
	certFile, keyFile        string
	edgeBin, peerBin         string
}

// The files served: one small, one large.
const (
	smallFile = "/4k.bin"
	largeFile = "/1m.bin"
)

// benchApp is the node's app: the C hello guests, the JavaScript hello
// (modules/examples/hello-js) and the static files.
const benchApp = `name = "bench"
hosts = ["*"]

[[routes]]
path   = "/api/hello"
module = "hello.wasm"

[[routes]]
path     = "/api/hello-edge"
module   = "hello-edge.wasm"
executor = "edge"

[[routes]]
path    = "/api/hello-js"
script  = "hello-js.js"
timeout = "5s"

[[routes]]
path   = "/..."
static = "public"
`

func newFixture(work, root string) (*fixture, error) {
	fx := &fixture{
		work: work, appDir: filepath.Join(work, "app"), edgeData: filepath.Join(work, "edge-data"),
		certFile: filepath.Join(work, "cert.pem"), keyFile: filepath.Join(work, "key.pem"),
		edgeBin: filepath.Join(work, "edge"), peerBin: filepath.Join(work, "benchpeer"),
	}
	fx.public = filepath.Join(fx.appDir, "public")
	if err := os.MkdirAll(fx.public, 0o755); err != nil {
		return nil, err
	}
	rng := mrand.NewChaCha8([32]byte{13})
	for name, size := range map[string]int{smallFile: 4 << 10, largeFile: 1 << 20} {
		b := make([]byte, size)
		_, _ = rng.Read(b)
		if err := os.WriteFile(filepath.Join(fx.public, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(fx.appDir, "edge.toml"), []byte(benchApp), 0o644); err != nil {
		return nil, err
	}
	for dst, src := range map[string]string{"hello.wasm": "demo/hello.wasm", "hello-edge.wasm": "demo/hello-edge.wasm", "hello-js.js": "hello-js/handler.js"} {
		b, err := os.ReadFile(filepath.Join(root, "modules", "examples", src))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(fx.appDir, dst), b, 0o644); err != nil {
			return nil, err
		}
	}
	return fx, fx.writeCert()
}

// writeCert creates the node's dev CA and a leaf from it for the peers.
func (fx *fixture) writeCert() error {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(fx.edgeData, "tls"))
	if err != nil {
		return err
	}
	caCert, caKey, err := readCA(filepath.Dir(ca.CertPath()))
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(fx.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(fx.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
}

// readCA parses the dev CA's ca.pem and ca.key.
func readCA(dir string) (*x509.Certificate, any, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("dev CA files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA certificate: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA key: %w", err)
	}
	return cert, key, nil
}
