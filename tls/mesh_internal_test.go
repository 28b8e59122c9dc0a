package edgetls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"
)

// selfSigned is a PEM certificate for name valid from nb to na, and its
// PEM key.
func selfSigned(t *testing.T, name string, nb, na time.Time) (crt, key []byte) {
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
