package cache

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"time"
)

// ManifestFile is the app manifest every deployed version must carry.
const ManifestFile = "edge.toml"

// Manifest is one deployed version of an app: the files it is made of, by
// digest, signed by the deployer. The node adds Version after verifying;
// everything else is what the deployer signed. Gossip carries it as is.
type Manifest struct {
	App       string             `json:"app"`
	Version   int                `json:"version,omitempty"`
	Files     map[string]FileRef `json:"files"`
	Created   time.Time          `json:"created"`
	Signer    string             `json:"signer"`              // base64 ed25519 public key
	Signature string             `json:"signature,omitempty"` // base64, over SigningBytes
}

// FileRef names one file's content.
type FileRef struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

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

var appName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Check validates the manifest's shape: an app name, edge.toml among the
// files, valid relative paths and digests.
func (m *Manifest) Check() error {
	if !appName.MatchString(m.App) {
		return fmt.Errorf("%w: app: %q is not 1-63 of a-z 0-9 -", ErrBadManifest, m.App)
	}
	if _, ok := m.Files[ManifestFile]; !ok {
		return fmt.Errorf("%w: files: %s is missing", ErrBadManifest, ManifestFile)
	}
	for _, p := range m.Paths() {
		f := m.Files[p]
		if !fs.ValidPath(p) || p == "." {
			return fmt.Errorf("%w: files: %q is not a clean relative path", ErrBadManifest, p)
		}
		if _, err := ParseDigest(f.Digest); err != nil {
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

// Paths lists the files in sorted order.
func (m *Manifest) Paths() []string {
	ps := make([]string, 0, len(m.Files))
	for p := range m.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Digests lists the distinct digests the manifest names, sorted. Call
// Check first: digests that do not parse are skipped.
func (m *Manifest) Digests() []Digest {
	seen := map[Digest]bool{}
	var out []Digest
	for _, p := range m.Paths() {
		d, err := ParseDigest(m.Files[p].Digest)
		if err == nil && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// TotalSize is the sum of the file sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// SigningBytes is the canonical JSON of what the deployer controls: the
// app, every file with its digest and size, the creation time and the
// signer. Version and Signature are not covered. encoding/json writes
// struct fields in order and map keys sorted, so the bytes are canonical.
func (m *Manifest) SigningBytes() []byte {
	b, _ := json.Marshal(struct {
		App     string             `json:"app"`
		Files   map[string]FileRef `json:"files"`
		Created string             `json:"created"`
		Signer  string             `json:"signer"`
	}{m.App, m.Files, m.Created.UTC().Format(time.RFC3339Nano), m.Signer})
	return append([]byte("edge-manifest-v1\n"), b...)
}

// Sign sets Signer and Signature with key.
func (m *Manifest) Sign(key ed25519.PrivateKey) {
	m.Signer = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	m.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, m.SigningBytes()))
}

// Verify checks that the manifest is signed, by one of trusted, and that
// the signature covers its current content.
func (m *Manifest) Verify(trusted []ed25519.PublicKey) error {
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
	if err != nil || !ed25519.Verify(pub, m.SigningBytes(), sig) {
		return ErrBadSignature
	}
	return nil
}
