package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Digest is the sha256 of a blob: its name everywhere in the system.
type Digest [sha256.Size]byte

// String is the lower-case hex form used in manifests, ETags and logs.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest reads the hex form of a digest.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("cache: digest %q: want %d hex characters", s, 2*len(d))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("cache: digest %q: %w", s, err)
	}
	return d, nil
}

// Sum returns the digest of b.
func Sum(b []byte) Digest { return sha256.Sum256(b) }
