package trust_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/gossip/trust"
)

// TestTrustKeyFileHoldsSeveralKeys: a --trust-key file lists one key a
// line, each with its own scope, narrowed by the flag's; comments and
// blank lines are skipped; a bad line names its number; ReadTrustKey
// still wants exactly one.
func TestTrustKeyFileHoldsSeveralKeys(t *testing.T) {
	a, _, _ := ed25519.GenerateKey(rand.Reader)
	b, _, _ := ed25519.GenerateKey(rand.Reader)
	file := filepath.Join(t.TempDir(), "ring.pub")
	text := "# deploy keys\n" + trust.FormatPublicKey(a) + "\n\n" + trust.FormatPublicKey(b) + " apps=blog,shop\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := trust.ReadTrustKeys(file + ":blog,docs")
	if err != nil || len(keys) != 2 {
		t.Fatalf("two keys: %v %v", keys, err)
	}
	if !keys[0].Pub.Equal(a) || !keys[0].Allows("docs") || keys[0].Allows("shop") {
		t.Errorf("first key: scope %v, want the flag's", keys[0].Apps)
	}
	if !keys[1].Pub.Equal(b) || !keys[1].Allows("blog") || keys[1].Allows("shop") || keys[1].Allows("docs") {
		t.Errorf("second key: scope %v, want blog alone", keys[1].Apps)
	}
	if _, err := trust.ReadTrustKey(file); err == nil || !strings.Contains(err.Error(), "2 keys") {
		t.Errorf("ReadTrustKey of a two-key file: %v", err)
	}
	if err := os.WriteFile(file, []byte(trust.FormatPublicKey(a)+"\nnot a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.ReadTrustKeys(file); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad second line: %v, want its line number", err)
	}
	if err := os.WriteFile(file, []byte("# no keys yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trust.ReadTrustKeys(file); err == nil {
		t.Error("a file with no key was accepted")
	}
}

// TestTrustKeyFlagScopeNeverWidens: the --trust-key argument's scope
// narrows a key's scope from the file, never widens it. A file pattern
// used to be kept whenever the flag's patterns matched its text, so
// apps=shop* narrowed by :shop? let the key sign for shop-eu, which the
// flag refuses; and apps=* narrowed by :blog kept nothing at all.
func TestTrustKeyFlagScopeNeverWidens(t *testing.T) {
	a, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		file, flag      string
		allows, refuses []string
	}{
		{"shop*", "shop?", []string{}, []string{"shop-eu", "shopx", "blog"}},
		{"*", "blog", []string{"blog"}, []string{"shop"}},
		{"docs-*,blog", "docs-a,blog", []string{"docs-a", "blog"}, []string{"docs-b"}},
		{"docs-[a-c]", "*", []string{"docs-a"}, []string{"docs-d"}},
		{"blog-*", "*-prod", []string{}, []string{"blog-prod", "blog-dev", "shop-prod"}},
	} {
		file := filepath.Join(t.TempDir(), "ring.pub")
		if err := os.WriteFile(file, []byte(trust.FormatPublicKey(a)+" apps="+c.file+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		k, err := trust.ReadTrustKey(file + ":" + c.flag)
		if err != nil {
			t.Fatal(err)
		}
		for _, app := range c.allows {
			if !k.Allows(app) {
				t.Errorf("apps=%s narrowed by :%s (scope %v) refuses %s", c.file, c.flag, k.Apps, app)
			}
		}
		for _, app := range c.refuses {
			if k.Allows(app) {
				t.Errorf("apps=%s narrowed by :%s (scope %v) allows %s", c.file, c.flag, k.Apps, app)
			}
		}
	}
}
