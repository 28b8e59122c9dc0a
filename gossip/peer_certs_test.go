package gossip_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip"
)

// secretKey stands for a certificate's private key a member shares.
const secretKey = "-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n"

// TestCertFilesMembersOnly: a member of the mesh fetches another's
// certificate files over the peer channel; a client without the gossip
// key (another mesh's key, no client certificate, plain HTTP) gets no
// byte of them; a member that shares nothing says so.
func TestCertFilesMembersOnly(t *testing.T) {
	key, priv := keys(t)
	o := meshOpts{key: key, trusted: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}}
	owner := o
	var mu sync.Mutex
	var asked []string
	owner.certFiles = func(kind, name string) ([]gossip.CertFile, error) {
		mu.Lock()
		asked = append(asked, kind+" "+name)
		mu.Unlock()
		if kind == gossip.CertKindCert && name == "shop.example.com" {
			return []gossip.CertFile{{Key: "certificates/ca/shop.example.com/shop.example.com.key", Value: []byte(secretKey)}}, nil
		}
		return nil, nil
	}
	a := startMesh(t, "a", nil, owner)
	b := startMesh(t, "b", []string{a.mesh.Addr()}, o)
	waitFor(t, 5*time.Second, "a mesh of 2", func() bool { return alive(a) == 2 && alive(b) == 2 })
	if got := b.mesh.AliveMembers(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("AliveMembers = %v", got)
	}

	ctx := t.Context()
	files, err := b.mesh.FetchCertFiles(ctx, "a", gossip.CertKindCert, "shop.example.com")
	if err != nil || len(files) != 1 || string(files[0].Value) != secretKey {
		t.Fatalf("member fetch: %v %+v", err, files)
	}
	if files, err := b.mesh.FetchCertFiles(ctx, "a", gossip.CertKindCert, "other.example.com"); err != nil || len(files) != 0 {
		t.Errorf("a name a holds nothing for: %v %+v", err, files)
	}
	if _, err := a.mesh.FetchCertFiles(ctx, "b", gossip.CertKindCert, "shop.example.com"); !errors.Is(err, gossip.ErrNoCertSharing) {
		t.Errorf("b shares no certificates, fetch = %v", err)
	}
	mu.Lock()
	n := len(asked)
	mu.Unlock()

	url := "https://" + a.mesh.PeerAddr() + "/v1/tls/cert/shop.example.com"
	_, strangerTLS := gossip.PeerTLS([][]byte{gossip.GenerateKey()})
	noCert := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13} //nolint:gosec // the attacker's client
	for what, tc := range map[string]*tls.Config{"another mesh's key": strangerTLS, "no client certificate": noCert} {
		if body, err := get(ctx, &http.Transport{TLSClientConfig: tc}, url); err == nil {
			t.Errorf("%s: fetched %q", what, body)
		}
	}
	if body, err := get(ctx, &http.Transport{}, "http://"+a.mesh.PeerAddr()+"/v1/tls/cert/shop.example.com"); err == nil {
		t.Errorf("plain HTTP fetched %q", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != n {
		t.Errorf("strangers' requests reached the certificate store: %v", asked[n:])
	}
}

// get fetches url through rt and returns the body of a 200.
func get(ctx context.Context, rt http.RoundTripper, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), errors.New(resp.Status)
	}
	return string(body), nil
}
