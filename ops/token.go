package ops

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecdn/edge/cache"
)

// TokenFile is where a node keeps the admin token it generated, in its
// data dir, readable only by its owner.
const TokenFile = "admin.token"

// LoadOrCreateToken returns the token in dir/admin.token, creating a random
// one on first use. An operator who sets a token explicitly never needs it.
func LoadOrCreateToken(dir string) (token string, created bool, err error) {
	path := filepath.Join(dir, TokenFile)
	tok, err := ReadToken(path)
	if err == nil {
		return tok, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok = hex.EncodeToString(b[:])
	if err := cache.WriteNewFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("ops: token: %w", err)
	}
	return tok, true, nil
}

// ReadToken reads a token file, refusing an empty one.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("ops: %s: token shorter than 16 characters", path)
	}
	return tok, nil
}
