package trust

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/edgecdn/edge/cache"
)

// Manifest errors.
var (
	// ErrUnsigned is returned for a manifest without a signature.
	ErrUnsigned = errors.New("manifest is not signed (edge deploy --key FILE)")
	// ErrUntrustedKey is returned for a manifest signed by a key the node
	// was not told to trust (edge serve --trust-key FILE).
	ErrUntrustedKey = errors.New("manifest is signed by a key this node does not trust")
	// ErrBadSignature is returned when the signature does not match the
	// content: the manifest was altered after signing.
	ErrBadSignature = errors.New("manifest signature does not match its content (tampered?)")
	// ErrBadManifest is returned for a manifest that is malformed.
	ErrBadManifest = errors.New("invalid deploy manifest")
)

// Check validates a manifest's shape: an app name, valid relative paths
// and digests, no path both a file and a directory.
func Check(m *cache.Manifest) error {
	if !cache.ValidLabel(m.App) {
		return fmt.Errorf("%w: app: %q is not 1-63 of a-z 0-9 -", ErrBadManifest, m.App)
	}
	for _, p := range m.Paths() {
		f := m.Files[p]
		if !fs.ValidPath(p) || p == "." {
			return fmt.Errorf("%w: files: %q is not a clean relative path", ErrBadManifest, p)
		}
		if _, err := cache.ParseDigest(f.Digest); err != nil {
			return fmt.Errorf("%w: files[%q].digest: %w", ErrBadManifest, p, err)
		}
		if f.Size < 0 {
			return fmt.Errorf("%w: files[%q].size: negative", ErrBadManifest, p)
		}
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, clash := m.Files[dir]; clash {
				return fmt.Errorf("%w: files: %q is a file and the directory of %q", ErrBadManifest, dir, p)
			}
		}
	}
	return nil
}

// SigningBytes is the canonical JSON of what the deployer controls: the
// app, every file with its digest and size, the creation time and the
// signer. Version and Signature are not covered. encoding/json writes
// struct fields in order and map keys sorted, so the bytes are canonical.
func SigningBytes(m *cache.Manifest) []byte {
	b, _ := json.Marshal(struct {
		App     string                   `json:"app"`
		Files   map[string]cache.FileRef `json:"files"`
		Created string                   `json:"created"`
		Signer  string                   `json:"signer"`
	}{m.App, m.Files, m.Created.UTC().Format(time.RFC3339Nano), m.Signer})
	return append([]byte("edge-manifest-v1\n"), b...)
}

// Sign sets m's Signer and Signature with key.
func Sign(m *cache.Manifest, key ed25519.PrivateKey) {
	m.Signer = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, SigningBytes(m)))
}

// Verify checks that m is signed, by one of trusted, and that the
// signature covers its current content.
func Verify(m *cache.Manifest, trusted []ed25519.PublicKey) error {
	if m.Signature == "" || m.Signer == "" {
		return ErrUnsigned
	}
	pub, err := ParsePublicKey(m.Signer)
	if err != nil {
		return fmt.Errorf("%w: signer: %w", ErrBadManifest, err)
	}
	known := false
	for _, k := range trusted {
		known = known || k.Equal(pub)
	}
	if !known {
		return fmt.Errorf("%w (signer %s)", ErrUntrustedKey, m.Signer)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || !ed25519.Verify(pub, SigningBytes(m), sig) {
		return ErrBadSignature
	}
	return nil
}
