package trust_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
)

func TestManifestSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, other, _ := ed25519.GenerateKey(rand.Reader)
	trusted := []ed25519.PublicKey{pub}
	fresh := func() *cache.Manifest {
		m := &cache.Manifest{App: "site", Created: time.Unix(1700000000, 0), Files: map[string]cache.FileRef{
			"edge.toml": {Digest: strings.Repeat("a", 64), Size: 10},
			"x.wasm":    {Digest: strings.Repeat("b", 64), Size: 20},
		}}
		trust.Sign(m, key)
		return m
	}
	if err := trust.Verify(fresh(), trusted); err != nil {
		t.Fatalf("signed manifest: %v", err)
	}
	m := fresh()
	m.Version = 7 // assigned by the node after signing: not covered
	if err := trust.Verify(m, trusted); err != nil {
		t.Errorf("version set after signing: %v", err)
	}
	cases := []struct {
		name   string
		change func(*cache.Manifest)
		want   error
	}{
		{"unsigned", func(m *cache.Manifest) { m.Signature = "" }, trust.ErrUnsigned},
		{"app", func(m *cache.Manifest) { m.App = "other" }, trust.ErrBadSignature},
		{"digest", func(m *cache.Manifest) { m.Files["x.wasm"] = cache.FileRef{Digest: strings.Repeat("c", 64), Size: 20} }, trust.ErrBadSignature},
		{"size", func(m *cache.Manifest) { m.Files["x.wasm"] = cache.FileRef{Digest: strings.Repeat("b", 64), Size: 21} }, trust.ErrBadSignature},
		{"file added", func(m *cache.Manifest) { m.Files["y"] = cache.FileRef{Digest: strings.Repeat("b", 64)} }, trust.ErrBadSignature},
		{"file removed", func(m *cache.Manifest) { delete(m.Files, "x.wasm") }, trust.ErrBadSignature},
		{"created", func(m *cache.Manifest) { m.Created = m.Created.Add(time.Second) }, trust.ErrBadSignature},
		{"signer swapped", func(m *cache.Manifest) { m.Signer = trust.FormatPublicKey(otherPub)[len("edge-deploy-pub "):] }, trust.ErrUntrustedKey},
		{"signed by other", func(m *cache.Manifest) { trust.Sign(m, other) }, trust.ErrUntrustedKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fresh()
			c.change(m)
			if err := trust.Verify(m, trusted); !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	// Trusting the other key too: a manifest it signed passes, but its
	// signature does not carry over to a manifest claiming another signer.
	m = fresh()
	trust.Sign(m, other)
	if err := trust.Verify(m, []ed25519.PublicKey{pub, otherPub}); err != nil {
		t.Errorf("signed by a second trusted key: %v", err)
	}
}

func TestManifestCheck(t *testing.T) {
	d := strings.Repeat("a", 64)
	cases := map[string]*cache.Manifest{
		"bad name":     {App: "Site!", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}}},
		"escaping":     {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "../x": {Digest: d}}},
		"absolute":     {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "/x": {Digest: d}}},
		"bad digest":   {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: "zz"}}},
		"file and dir": {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "a": {Digest: d}, "a/b": {Digest: d}}},
	}
	for name, m := range cases {
		if err := trust.Check(m); !errors.Is(err, trust.ErrBadManifest) {
			t.Errorf("%s: Check = %v", name, err)
		}
	}
}

func TestDeployKeyFiles(t *testing.T) {
	base := filepath.Join(t.TempDir(), "k")
	pub, err := trust.GenerateDeployKey(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.GenerateDeployKey(base); err == nil {
		t.Error("a second keygen overwrote the key")
	}
	priv, err := trust.ReadPrivateKey(base + ".key")
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("private key: %v", err)
	}
	got, err := trust.ReadPublicKey(base + ".pub")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	if _, err := trust.ReadPrivateKey(base + ".pub"); err == nil {
		t.Error("a public key file read as a private key")
	}
}

// FuzzManifest feeds arbitrary JSON to what a node does with a submitted
// manifest before trusting it: decode, Check, Verify. None may panic, and
// nothing unsigned may verify.
func FuzzManifest(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	m := &cache.Manifest{App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: strings.Repeat("a", 64), Size: 1}}}
	trust.Sign(m, key)
	seed, _ := json.Marshal(m)
	f.Add(seed)
	f.Add([]byte(`{"app":"site","files":{"edge.toml":{"digest":"zz"}},"signature":"!!"}`))
	f.Add([]byte(`{"files":{"../x":{}, "a":{}, "a/b":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m cache.Manifest
		if json.Unmarshal(data, &m) != nil {
			return
		}
		_ = trust.Check(&m)
		_ = m.Digests()
		if trust.Verify(&m, []ed25519.PublicKey{pub}) == nil && string(data) != string(seed) {
			again, _ := json.Marshal(&m)
			var clean cache.Manifest
			_ = json.Unmarshal(again, &clean)
			if string(trust.SigningBytes(&clean)) != string(trust.SigningBytes(mustSeed(seed))) {
				t.Fatalf("a manifest not signed by the key verified: %s", data)
			}
		}
	})
}

func mustSeed(b []byte) *cache.Manifest {
	var m cache.Manifest
	_ = json.Unmarshal(b, &m)
	return &m
}
