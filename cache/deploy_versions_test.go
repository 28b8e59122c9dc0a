package cache_test

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
)

func openDeployCache(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// manifestOf stores files as blobs and returns a manifest naming them.
func manifestOf(t *testing.T, c *cache.Cache, files map[string]string) *cache.Manifest {
	t.Helper()
	m := &cache.Manifest{App: "site", Files: map[string]cache.FileRef{}, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for p, content := range files {
		d, n, err := c.PutBlob(strings.NewReader(content), 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Files[p] = cache.FileRef{Digest: d.String(), Size: n}
	}
	return m
}

func TestManifestSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, other, _ := ed25519.GenerateKey(rand.Reader)
	trusted := []ed25519.PublicKey{pub}
	fresh := func() *cache.Manifest {
		m := &cache.Manifest{App: "site", Created: time.Unix(1700000000, 0), Files: map[string]cache.FileRef{
			"edge.toml": {Digest: strings.Repeat("a", 64), Size: 10},
			"x.wasm":    {Digest: strings.Repeat("b", 64), Size: 20},
		}}
		m.Sign(key)
		return m
	}
	if err := fresh().Verify(trusted); err != nil {
		t.Fatalf("signed manifest: %v", err)
	}
	m := fresh()
	m.Version = 7 // assigned by the node after signing: not covered
	if err := m.Verify(trusted); err != nil {
		t.Errorf("version set after signing: %v", err)
	}
	cases := []struct {
		name   string
		change func(*cache.Manifest)
		want   error
	}{
		{"unsigned", func(m *cache.Manifest) { m.Signature = "" }, cache.ErrUnsigned},
		{"app", func(m *cache.Manifest) { m.App = "other" }, cache.ErrBadSignature},
		{"digest", func(m *cache.Manifest) { m.Files["x.wasm"] = cache.FileRef{Digest: strings.Repeat("c", 64), Size: 20} }, cache.ErrBadSignature},
		{"size", func(m *cache.Manifest) { m.Files["x.wasm"] = cache.FileRef{Digest: strings.Repeat("b", 64), Size: 21} }, cache.ErrBadSignature},
		{"file added", func(m *cache.Manifest) { m.Files["y"] = cache.FileRef{Digest: strings.Repeat("b", 64)} }, cache.ErrBadSignature},
		{"file removed", func(m *cache.Manifest) { delete(m.Files, "x.wasm") }, cache.ErrBadSignature},
		{"created", func(m *cache.Manifest) { m.Created = m.Created.Add(time.Second) }, cache.ErrBadSignature},
		{"signer swapped", func(m *cache.Manifest) { m.Signer = cache.FormatPublicKey(otherPub)[len("edge-deploy-pub "):] }, cache.ErrUntrustedKey},
		{"signed by other", func(m *cache.Manifest) { m.Sign(other) }, cache.ErrUntrustedKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fresh()
			c.change(m)
			if err := m.Verify(trusted); !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	// Trusting the other key too: a manifest it signed passes, but its
	// signature does not carry over to a manifest claiming another signer.
	m = fresh()
	m.Sign(other)
	if err := m.Verify([]ed25519.PublicKey{pub, otherPub}); err != nil {
		t.Errorf("signed by a second trusted key: %v", err)
	}
}

func TestManifestCheck(t *testing.T) {
	d := strings.Repeat("a", 64)
	cases := map[string]*cache.Manifest{
		"no edge.toml": {App: "site", Files: map[string]cache.FileRef{"x": {Digest: d}}},
		"bad name":     {App: "Site!", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}}},
		"escaping":     {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "../x": {Digest: d}}},
		"absolute":     {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "/x": {Digest: d}}},
		"bad digest":   {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: "zz"}}},
		"file and dir": {App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: d}, "a": {Digest: d}, "a/b": {Digest: d}}},
	}
	for name, m := range cases {
		if err := m.Check(); !errors.Is(err, cache.ErrBadManifest) {
			t.Errorf("%s: Check = %v", name, err)
		}
	}
}

// TestVersionsRetention commits versions beyond the retention count: the
// oldest go, with the blobs only they used; shared blobs and those of
// retained versions survive, GC included.
func TestVersionsRetention(t *testing.T) {
	c := openDeployCache(t)
	toml := "name = \"site\"\n"
	for i, page := range []string{"one", "two", "three"} {
		m := manifestOf(t, c, map[string]string{"edge.toml": toml, "page": page})
		pruned, err := c.CommitVersion(m, 2)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != i+1 {
			t.Errorf("version %d, want %d", m.Version, i+1)
		}
		if i == 2 && (len(pruned) != 1 || pruned[0] != 1) {
			t.Errorf("pruned %v, want [1]", pruned)
		}
	}
	has := func(s string) bool { return c.HasBlob(cache.Sum([]byte(s))) }
	if has("one") || !has("two") || !has("three") || !has(toml) {
		t.Errorf("blobs after pruning: one %v two %v three %v toml %v", has("one"), has("two"), has("three"), has(toml))
	}
	if _, err := c.GC(); err != nil {
		t.Fatal(err)
	}
	if !has("two") || !has("three") || !has(toml) {
		t.Error("GC removed blobs of retained versions")
	}
	if err := c.ActivateVersion("site", 1); !errors.Is(err, cache.ErrNoVersion) {
		t.Errorf("activate a pruned version: %v", err)
	}
	if err := c.ActivateVersion("site", 2); err != nil {
		t.Fatal(err)
	}
	h, err := c.History("site")
	if err != nil || h.Active != 2 || len(h.Versions) != 2 || h.ActiveManifest().Files["page"].Digest != cache.Sum([]byte("two")).String() {
		t.Fatalf("history %+v, %v", h, err)
	}
	if err := c.RemoveApp("site"); err != nil {
		t.Fatal(err)
	}
	if has("two") || has("three") {
		t.Error("blobs of a removed app kept")
	}
	if all, _ := c.Deployed(); len(all) != 0 {
		t.Errorf("deployed after remove: %v", all)
	}
}

func TestCommitVersionNeedsEveryBlob(t *testing.T) {
	c := openDeployCache(t)
	m := manifestOf(t, c, map[string]string{"edge.toml": "x"})
	m.Files["gone"] = cache.FileRef{Digest: cache.Sum([]byte("never stored")).String(), Size: 12}
	var miss *cache.MissingBlobsError
	if _, err := c.CommitVersion(m, 0); !errors.As(err, &miss) || len(miss.Digests) != 1 || m.Version != 0 {
		t.Fatalf("CommitVersion = %v (version %d)", err, m.Version)
	}
	if all, _ := c.Deployed(); len(all) != 0 {
		t.Errorf("a refused version was recorded: %v", all)
	}
}

func TestDeployKeyFiles(t *testing.T) {
	base := filepath.Join(t.TempDir(), "k")
	pub, err := cache.GenerateDeployKey(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.GenerateDeployKey(base); err == nil {
		t.Error("a second keygen overwrote the key")
	}
	priv, err := cache.ReadPrivateKey(base + ".key")
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("private key: %v", err)
	}
	got, err := cache.ReadPublicKey(base + ".pub")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	if _, err := cache.ReadPrivateKey(base + ".pub"); err == nil {
		t.Error("a public key file read as a private key")
	}
}

// FuzzManifest feeds arbitrary JSON to what a node does with a submitted
// manifest before trusting it: decode, Check, Verify. None may panic, and
// nothing unsigned may verify.
func FuzzManifest(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	m := &cache.Manifest{App: "site", Files: map[string]cache.FileRef{"edge.toml": {Digest: strings.Repeat("a", 64), Size: 1}}}
	m.Sign(key)
	seed, _ := json.Marshal(m)
	f.Add(seed)
	f.Add([]byte(`{"app":"site","files":{"edge.toml":{"digest":"zz"}},"signature":"!!"}`))
	f.Add([]byte(`{"files":{"../x":{}, "a":{}, "a/b":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m cache.Manifest
		if json.Unmarshal(data, &m) != nil {
			return
		}
		_ = m.Check()
		_ = m.Digests()
		if m.Verify([]ed25519.PublicKey{pub}) == nil && string(data) != string(seed) {
			again, _ := json.Marshal(&m)
			var clean cache.Manifest
			_ = json.Unmarshal(again, &clean)
			if string(clean.SigningBytes()) != string(mustSeed(seed).SigningBytes()) {
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
