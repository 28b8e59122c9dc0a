package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/edgecdn/edge/cache"
)

// Deploy keys are ed25519 keys stored as one line of text: the private key
// file (NAME.key, mode 0600) holds "edge-deploy-key BASE64(64-byte key)",
// the public key file (NAME.pub) holds "edge-deploy-pub BASE64(32 bytes)".
const (
	privKeyTag = "edge-deploy-key"
	pubKeyTag  = "edge-deploy-pub"
)

// GenerateDeployKey writes a new key pair to base+".key" and base+".pub",
// refusing to overwrite existing files.
func GenerateDeployKey(base string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeNew(base+".key", privKeyTag+" "+base64.StdEncoding.EncodeToString(priv)+"\n", 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(base+".pub", FormatPublicKey(pub)+"\n", 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

func writeNew(path, content string, mode os.FileMode) error {
	if err := cache.WriteNewFile(path, []byte(content), mode); err != nil {
		return fmt.Errorf("trust: key file: %w", err)
	}
	return nil
}

// FormatPublicKey is the text form of a public key file.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return pubKeyTag + " " + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key in base64, with or without the tag.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), pubKeyTag))
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not an ed25519 public key (base64 of 32 bytes)")
	}
	return ed25519.PublicKey(b), nil
}

// ReadPublicKey reads a NAME.pub file.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: public key: %w", err)
	}
	pub, err := ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("trust: public key %s: %w", path, err)
	}
	return pub, nil
}

// ReadPrivateKey reads a NAME.key file.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: deploy key: %w", err)
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), privKeyTag)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if !ok || err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("trust: deploy key %s: not an edge deploy key (edge keygen --out NAME writes one)", path)
	}
	return ed25519.PrivateKey(raw), nil
}
