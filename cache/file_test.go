package cache_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// TestWriteNewFileNeverReplaces: a second write to the same path is
// refused, the first content stays, and no temporary file is left.
func TestWriteNewFileNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := cache.WriteNewFile(p, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cache.WriteNewFile(p, []byte("second"), 0o600); !errors.Is(err, cache.ErrFileExists) {
		t.Fatalf("second write: %v, want ErrFileExists", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first" {
		t.Errorf("content %q, want the first write's", b)
	}
	if info, _ := os.Stat(p); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	if err := cache.ReplaceFile(p, []byte("third"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "third" {
		t.Errorf("after ReplaceFile: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporaries)", len(entries))
	}
}
