package gossip

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync"
	"time"
)

// The peer channel is TLS 1.3 with mutual authentication by keys derived
// from the gossip keyring: every key K of the ring yields an ed25519 key
// pair (seed HMAC-SHA256(K, "edge-peer-tls-v1")), which every member
// holding K derives alike and no one else can. A node presents a
// certificate for the key derived from its primary gossip key and accepts
// a peer whose certificate carries the key derived from any key of its
// ring, so a rotation never locks a member out. No bearer crosses the
// wire: a passive listener sees a TLS handshake and ciphertext, and a
// captured session replayed later fails the handshake (fresh ephemeral
// keys on both sides; no 0-RTT).
type peerTLS struct {
	keys  func() [][]byte // the ring's keys, primary first
	mu    sync.Mutex
	certs map[[32]byte]*tls.Certificate
}

func newPeerTLS(keys func() [][]byte) *peerTLS {
	return &peerTLS{keys: keys, certs: map[[32]byte]*tls.Certificate{}}
}

// derive is the ed25519 key of the peer channel for gossip key k.
func derive(k []byte) ed25519.PrivateKey {
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte("edge-peer-tls-v1"))
	return ed25519.NewKeyFromSeed(mac.Sum(nil))
}

// cert is the certificate this node presents: self-signed with the key
// derived from the primary gossip key, made once per key.
func (p *peerTLS) cert() (*tls.Certificate, error) {
	keys := p.keys()
	if len(keys) == 0 {
		return nil, errors.New("gossip: peer channel: no gossip key")
	}
	id := sha256.Sum256(keys[0])
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.certs[id]; c != nil {
		return c, nil
	}
	priv := derive(keys[0])
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "edge mesh peer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	p.certs[id] = c
	return c, nil
}

// errNotMember is a peer whose certificate no key of the ring derives.
var errNotMember = errors.New("gossip: peer channel: the peer's certificate is not derived from a key of this mesh's keyring")

// verify accepts a peer whose certificate's public key is derived from a
// key of the ring; chains and names mean nothing here: the key is pinned.
func (p *peerTLS) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return errNotMember
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return errNotMember
	}
	pub, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok {
		return errNotMember
	}
	for _, k := range p.keys() {
		if derive(k).Public().(ed25519.PublicKey).Equal(pub) {
			return nil
		}
	}
	return errNotMember
}

func (p *peerTLS) server() *tls.Config {
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		ClientAuth:            tls.RequireAnyClientCert, // verified by verify
		GetCertificate:        func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return p.cert() },
		VerifyPeerCertificate: p.verify,
	}
}

func (p *peerTLS) client() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The server's key is pinned by verify instead of a CA chain.
		InsecureSkipVerify:    true, //nolint:gosec // verified by VerifyPeerCertificate
		GetClientCertificate:  func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return p.cert() },
		VerifyPeerCertificate: p.verify,
	}
}

// PeerTLS returns the server and client TLS configurations of the peer
// channel of a mesh with these gossip keys (the first is primary): for
// tools and tests that speak to a peer endpoint as a member would.
func PeerTLS(keys [][]byte) (server, client *tls.Config) {
	p := newPeerTLS(func() [][]byte { return keys })
	return p.server(), p.client()
}
