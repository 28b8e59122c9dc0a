package edgetls

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

// selfSigned is a PEM certificate for name valid from nb to na, and its
// PEM key.
func selfSigned(t testing.TB, name string, nb, na time.Time) (crt, key []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func certSet(issuer, name string, crt, key []byte) []File {
	dir := "certificates/" + issuer + "/" + name + "/" + name
	return []File{{Key: dir + ".crt", Value: crt}, {Key: dir + ".key", Value: key}, {Key: dir + ".json", Value: []byte("{}")}}
}

// What a member sends is checked before it is stored: a certificate for
// another name, a key of another certificate, a key outside the name's
// files, an expired certificate or an incomplete set are all refused.
func TestCheckCertFilesRefusesWrongFiles(t *testing.T) {
	now := time.Now()
	crt, key := selfSigned(t, "shop.example.com", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	otherCrt, otherKey := selfSigned(t, "evil.example.com", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	oldCrt, oldKey := selfSigned(t, "shop.example.com", now.Add(-48*time.Hour), now.Add(-time.Hour))
	good := certSet("ca", "shop.example.com", crt, key)
	if na, err := checkCertFiles(good, "shop.example.com", now); err != nil || na.IsZero() {
		t.Fatalf("good set refused: %v", err)
	}
	traversal := slices.Clone(good)
	traversal[2] = File{Key: "certificates/ca/shop.example.com/../../acme/x.json", Value: []byte("{}")}
	bad := map[string][]File{
		"another name's certificate": certSet("ca", "shop.example.com", otherCrt, otherKey),
		"a key of another cert":      certSet("ca", "shop.example.com", crt, otherKey),
		"expired":                    certSet("ca", "shop.example.com", oldCrt, oldKey),
		"incomplete":                 good[:2],
		"a key outside the name":     traversal,
		"two issuers":                append(certSet("ca", "shop.example.com", crt, key)[:2], certSet("other", "shop.example.com", crt, key)[2]),
		"filed under another name":   certSet("ca", "evil.example.com", otherCrt, otherKey),
	}
	for what, files := range bad {
		if _, err := checkCertFiles(files, "shop.example.com", now); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// The orderer of a name is the same whatever order members are listed
// in; a member leaving moves only the names it ordered; names spread
// over the members.
func TestOrdererRendezvous(t *testing.T) {
	members := []string{"a", "b", "c", "d"}
	count := map[string]int{}
	for i := range 400 {
		name := fmt.Sprintf("host%d.example.com", i)
		o := Orderer(name, members)
		count[o]++
		if got := Orderer(name, []string{"d", "c", "b", "a"}); got != o {
			t.Fatalf("%s: %s or %s by member order", name, o, got)
		}
		if o != "c" {
			if got := Orderer(name, []string{"a", "b", "d"}); got != o {
				t.Errorf("%s moved from %s to %s when c left", name, o, got)
			}
		}
	}
	for _, m := range members {
		if count[m] < 50 {
			t.Errorf("%s orders %d of 400 names: %v", m, count[m], count)
		}
	}
	if Orderer("x.example.com", nil) != "" {
		t.Error("an orderer among no members")
	}
}

// Challenge data keys are recognised only in certmagic's exact layout.
func TestChallengeName(t *testing.T) {
	for key, want := range map[string]string{
		"acme/ca-dir/challenge_tokens/shop.example.com.json": "shop.example.com",
		"acme/ca-dir/challenge_tokens/../x.json":             "",
		"acme/ca-dir/users/shop.example.com.json":            "",
		"certificates/ca/shop.example.com/shop.json":         "",
	} {
		if got := challengeName(key); got != want {
			t.Errorf("challengeName(%q) = %q, want %q", key, got, want)
		}
	}
}

// fakePeers is the mesh seen by one node: members and what each holds.
// A seam: the peer channel itself is tested in gossip and cmd/edge.
type fakePeers struct {
	self    string
	mu      sync.Mutex
	members []string
	files   map[string][]File
	fetches int
}

func (f *fakePeers) Self() string { return f.self }
func (f *fakePeers) Members() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members)
}
func (f *fakePeers) Fetch(_ context.Context, member, kind, name string) ([]File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	if kind != KindCert {
		return nil, nil
	}
	return slices.Clone(f.files[member]), nil
}
func (f *fakePeers) set(fn func(f *fakePeers)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
func (f *fakePeers) fetched() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// meshNode is a manager in a mesh of fake peers, and its storage as
// certmagic sees it.
func meshNode(t *testing.T, names ...string) (*Manager, *meshStorage) {
	t.Helper()
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m, err := NewManager(Config{Names: func() []string { return names }, DevCA: &DevCA{}, ACME: &ACMEConfig{}, Cache: c, Mesh: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return m, &meshStorage{Storage: m.store, m: m}
}

// lockAsync takes key in the background; the channel gets Lock's error.
func lockAsync(s *meshStorage, ctx context.Context, key string) chan error {
	done := make(chan error, 1)
	go func() { done <- s.Lock(ctx, key) }()
	return done
}

// pending fails if done already has a result.
func pending(t *testing.T, done chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: lock returned (%v)", what, err)
	default:
	}
}

// A member that is not the orderer takes the issue lock only once it
// holds a certificate newer than its own (a renewal waits for the
// orderer's renewal, not for the copy it already has); when the orderer
// leaves, it orders itself; before the mesh is joined, nothing is ordered.
func TestMeshLockWaitsForTheOrderer(t *testing.T) {
	const name = "shop.example.com"
	orderer, self := "x", "y"
	if Orderer(name, []string{"x", "y"}) != "x" {
		orderer, self = "y", "x"
	}
	other := "" // a second name the same member orders
	for i := 0; other == ""; i++ {
		if n := fmt.Sprintf("n%d.example.com", i); Orderer(n, []string{"x", "y"}) == orderer {
			other = n
		}
	}
	m, s := meshNode(t, name, other)
	ctx := t.Context()

	// Before UseMesh: the lock waits for the mesh.
	early, cancel := context.WithCancel(ctx)
	done := lockAsync(s, early, issueLockPrefix+name)
	pending(t, done, "before the mesh")
	cancel()
	if err := <-done; err == nil {
		t.Fatal("lock taken before the node joined its mesh")
	}

	now := time.Now()
	crt, key := selfSigned(t, name, now.Add(-time.Hour), now.Add(10*24*time.Hour))
	old := certSet("ca", name, crt, key)
	if err := s.storeFiles(ctx, old); err != nil {
		t.Fatal(err)
	}
	p := &fakePeers{self: self, members: []string{"x", "y"}, files: map[string][]File{orderer: old}}
	m.UseMesh(p)

	done = lockAsync(s, ctx, issueLockPrefix+name)
	for p.fetched() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	pending(t, done, "the orderer has only the certificate this node has")
	crt2, key2 := selfSigned(t, name, now.Add(-time.Minute), now.Add(90*24*time.Hour))
	p.set(func(f *fakePeers) { f.files[orderer] = certSet("ca", name, crt2, key2) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.notAfter(ctx, name); !got.After(now.Add(80 * 24 * time.Hour)) {
		t.Errorf("stored certificate expires %v: not the renewed one", got)
	}
	if err := s.Unlock(ctx, issueLockPrefix+name); err != nil {
		t.Fatal(err)
	}

	// The orderer of another name holds nothing, then dies.
	p.set(func(f *fakePeers) { f.files = map[string][]File{} })
	n := p.fetched()
	done = lockAsync(s, ctx, issueLockPrefix+other)
	for p.fetched() < n+3 {
		time.Sleep(10 * time.Millisecond)
	}
	pending(t, done, "the orderer is alive and ordering")
	p.set(func(f *fakePeers) { f.members = []string{self} })
	if err := <-done; err != nil {
		t.Fatalf("after the orderer died: %v", err)
	}
	if err := s.Unlock(ctx, issueLockPrefix+other); err != nil {
		t.Fatal(err)
	}

	// The orderer is alive but never provides the certificate: after
	// the patience, this node orders.
	p.set(func(f *fakePeers) { f.members = []string{"x", "y"} })
	m.patience = 0
	if err := s.Lock(ctx, issueLockPrefix+other); err != nil {
		t.Fatalf("past the patience: %v", err)
	}

	// A renewal: while this node's certificate has time left, it waits
	// for the orderer past the patience; a week before expiry it renews.
	wait, stop := context.WithCancel(ctx)
	n = p.fetched()
	done = lockAsync(s, wait, issueLockPrefix+name) // holds the 90-day certificate
	for p.fetched() < n+3 {
		time.Sleep(10 * time.Millisecond)
	}
	pending(t, done, "renewal with 90 days left")
	stop()
	<-done
	crt3, key3 := selfSigned(t, name, now.Add(-80*24*time.Hour), now.Add(3*24*time.Hour))
	if err := s.storeFiles(ctx, certSet("ca", name, crt3, key3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, issueLockPrefix+name); err != nil {
		t.Fatalf("renewal with 3 days left: %v", err)
	}
}
