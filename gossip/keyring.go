package gossip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// PeerToken is the bearer token of the peer endpoint for one gossip key:
// an HMAC of the key, so that every node holding the key can compute it
// and no one else can, and the key itself never crosses the wire.
func PeerToken(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("edge-peer-v1"))
	return hex.EncodeToString(mac.Sum(nil))
}
