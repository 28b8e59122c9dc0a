package gossip

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/memberlist"
)

// KeyPrefix starts a gossip key file's line.
const KeyPrefix = "edge-gossip-key "

// GenerateKey returns a new 32-byte gossip key (AES-256).
func GenerateKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// FormatKey is a key as one line: "edge-gossip-key BASE64".
func FormatKey(k []byte) string { return KeyPrefix + base64.StdEncoding.EncodeToString(k) }

// ParseKey reads a key given as FormatKey writes it, or bare base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), strings.TrimSpace(KeyPrefix)))
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	if err := memberlist.ValidateKey(k); err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	return k, nil
}

// LoadKey reads a key from a file, or takes s itself as the key when it
// is not a file's name.
func LoadKey(s string) ([]byte, error) {
	if b, err := os.ReadFile(s); err == nil {
		return ParseKey(string(b))
	}
	return ParseKey(s)
}
