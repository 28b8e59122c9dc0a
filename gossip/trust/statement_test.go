package trust_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
)

func TestStatement(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	ring := trust.Unscoped(pub)
	m := &cache.Manifest{App: "site", Version: 3, Created: time.Unix(1700000000, 0), Files: map[string]cache.FileRef{"edge.toml": {Digest: strings.Repeat("a", 64), Size: 1}}}
	fresh := func(action string) *trust.Statement {
		var mm *cache.Manifest
		if action != trust.ActRemove {
			mm = m
		}
		s := trust.NewStatement("site", action, 7, mm)
		trust.SignStatement(s, key)
		return s
	}
	for _, a := range []string{trust.ActDeploy, trust.ActActivate, trust.ActRemove} {
		if err := trust.VerifyStatement(fresh(a), ring); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	cases := []struct {
		name   string
		change func(*trust.Statement)
		want   error
	}{
		{"none", func(s *trust.Statement) { *s = trust.Statement{} }, trust.ErrNoStatement},
		{"seq raised", func(s *trust.Statement) { s.Seq++ }, trust.ErrBadSignature},
		{"action", func(s *trust.Statement) { s.Action = trust.ActActivate; s.Version = 1 }, trust.ErrBadSignature},
		{"manifest", func(s *trust.Statement) { s.Manifest = strings.Repeat("b", 64) }, trust.ErrBadSignature},
		{"app", func(s *trust.Statement) { s.App = "shop" }, trust.ErrBadSignature},
		{"other key", func(s *trust.Statement) { trust.SignStatement(s, other) }, trust.ErrUntrustedKey},
		{"seq past the limit", func(s *trust.Statement) { s.Seq = trust.MaxSeq + 1; trust.SignStatement(s, key) }, trust.ErrBadStatement},
		{"bad name", func(s *trust.Statement) { s.App = "../x"; trust.SignStatement(s, key) }, trust.ErrBadStatement},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := fresh(trust.ActDeploy)
			c.change(s)
			if err := trust.VerifyStatement(s, ring); !errors.Is(err, c.want) {
				t.Errorf("VerifyStatement = %v, want %v", err, c.want)
			}
		})
	}
	s := fresh(trust.ActActivate)
	if err := s.Describes("site", false, 3, m); err != nil {
		t.Errorf("activate v3: %v", err)
	}
	if err := s.Describes("site", false, 2, m); !errors.Is(err, trust.ErrBadStatement) {
		t.Errorf("activate signed for v3 used for v2: %v", err)
	}
	if err := fresh(trust.ActDeploy).Describes("site", true, 0, nil); !errors.Is(err, trust.ErrBadStatement) {
		t.Errorf("a deploy statement on a tombstone: %v", err)
	}
}

func TestScopedKeys(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	file := filepath.Join(dir, "ci.pub")
	if err := os.WriteFile(file, []byte(trust.FormatPublicKey(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := trust.ReadTrustKey(file + ":blog,docs-*")
	if err != nil {
		t.Fatal(err)
	}
	ring := trust.Keyring{k}
	for app, ok := range map[string]bool{"blog": true, "docs-v2": true, "shop": false, "blogx": false} {
		s := trust.NewStatement(app, trust.ActRemove, 1, nil)
		trust.SignStatement(s, key)
		err := trust.VerifyStatement(s, ring)
		if ok != (err == nil) || (!ok && !errors.Is(err, trust.ErrOutOfScope)) {
			t.Errorf("%s: %v", app, err)
		}
	}
	// A scope in the file, narrowed by the flag.
	if err := os.WriteFile(file, []byte(trust.FormatPublicKey(pub)+" apps=blog,shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k, err = trust.ReadTrustKey(file + ":blog"); err != nil || !k.Allows("blog") || k.Allows("shop") {
		t.Errorf("file scope narrowed by the flag: %+v %v", k.Apps, err)
	}
	if k, err = trust.ReadTrustKey(file); err != nil || !k.Allows("shop") || k.Allows("docs") {
		t.Errorf("file scope: %+v %v", k.Apps, err)
	}
	if _, err := trust.ReadTrustKey(file + ":bad/name"); err == nil {
		t.Errorf("a pattern with a slash was accepted")
	}
}
