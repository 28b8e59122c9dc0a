package trust_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/trust"
)

// TestVerifyPurge: a purge signed by a key scoped to the app passes; one
// unsigned, signed by an untrusted key, out of the key's scope, altered
// after signing, or too old is refused with its reason.
func TestVerifyPurge(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	ring := trust.Keyring{{Pub: pub, Apps: []string{"shop"}, Source: "shop.pub"}}
	now := time.Now()
	signed := func(app string, key ed25519.PrivateKey) *trust.PurgeStatement {
		p := trust.NewPurgeStatement(app, []byte(`{"tag":"t"}`))
		trust.SignPurge(p, key)
		return p
	}
	if err := trust.VerifyPurge(signed("shop", priv), ring, now, 10*time.Minute); err != nil {
		t.Fatalf("good purge refused: %v", err)
	}
	unsigned := trust.NewPurgeStatement("shop", []byte(`{"tag":"t"}`))
	altered := signed("shop", priv)
	altered.Purge = []byte(`{"prefix":"https://shop.example/"}`)
	old := trust.NewPurgeStatement("shop", []byte(`{"tag":"t"}`))
	old.Time = now.Add(-time.Hour)
	trust.SignPurge(old, priv)
	for _, tt := range []struct {
		name string
		p    *trust.PurgeStatement
		want error
	}{
		{"unsigned", unsigned, trust.ErrNoStatement},
		{"untrusted key", signed("shop", other), trust.ErrUntrustedKey},
		{"out of scope", signed("blog", priv), trust.ErrOutOfScope},
		{"altered", altered, trust.ErrBadSignature},
		{"too old", old, trust.ErrStalePurge},
	} {
		if err := trust.VerifyPurge(tt.p, ring, now, 10*time.Minute); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
