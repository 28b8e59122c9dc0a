package edgetls

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzCheckCertFiles feeds a member's answer to a certificate request
// (the JSON list of files gossip.FetchCertFiles decodes) to the check
// made before anything is stored. What it accepts is exactly certmagic's
// three files for the name, under one issuer, each once (storeFiles
// writes the .json last, so it must be there), with a chain whose leaf
// covers the name and is valid now, its key matching, and the expiry it
// returns is that leaf's.
func FuzzCheckCertFiles(f *testing.F) {
	const name = "shop.example.com"
	now := time.Now()
	crt, key := selfSigned(f, name, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	good := certSet("ca", name, crt, key)
	for _, files := range [][]File{
		good,
		good[:2],
		append(good[:2:2], good[1]),
		append(certSet("ca", name, crt, key)[:2], certSet("other", name, crt, key)[2]),
		certSet("..", name, crt, key),
		certSet("ca", "evil.example.com", crt, key),
		nil,
	} {
		b, err := json.Marshal(files)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"key":"certificates/ca/shop.example.com/shop.example.com.json","value":"e30="}]`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		var files []File
		if json.Unmarshal(answer, &files) != nil {
			return
		}
		notAfter, err := checkCertFiles(files, name, now)
		if err != nil {
			return
		}
		if len(files) != 3 {
			t.Fatalf("accepted %d files", len(files))
		}
		var got [3][]byte // .crt, .key, .json
		issuer := ""
		for _, f := range files {
			parts := strings.Split(f.Key, "/")
			if !isCertKey(f.Key, name) || (issuer != "" && parts[1] != issuer) {
				t.Fatalf("accepted key %q among %q", f.Key, files)
			}
			issuer = parts[1]
			for i, ext := range []string{".crt", ".key", ".json"} {
				if strings.HasSuffix(f.Key, ext) {
					if got[i] != nil {
						t.Fatalf("accepted two %s files", ext)
					}
					got[i] = f.Value
				}
			}
		}
		if got[0] == nil || got[1] == nil || got[2] == nil {
			t.Fatalf("accepted a set without its .crt, .key or .json: %q", files)
		}
		if _, err := tls.X509KeyPair(got[0], got[1]); err != nil {
			t.Fatalf("accepted a key that does not match: %v", err)
		}
		leaf, err := firstCert(got[0])
		if err != nil || leaf.VerifyHostname(name) != nil || now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) || !leaf.NotAfter.Equal(notAfter) {
			t.Fatalf("accepted a leaf not for %s now, or returned %v for it: %v", name, notAfter, err)
		}
	})
}
