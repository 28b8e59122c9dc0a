package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/edgecdn/edge/ops/api"
)

// Bundle is a packed app directory: its unsigned manifest, and where the
// bytes of each digest are.
type Bundle struct {
	// Manifest names every file by digest; Deploy signs it.
	Manifest *api.Manifest
	root     *os.Root
	fsys     fs.FS
	source   map[string]string // digest → one path holding it
}

// Pack hashes every file under dir for app. Hidden files and directories
// (.git) are left out; a symlink must stay inside dir.
func Pack(dir, app string) (*Bundle, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	b := &Bundle{root: root, fsys: root.FS(), source: map[string]string{}, Manifest: &api.Manifest{
		App: app, Files: map[string]api.FileRef{}, Created: time.Now().UTC().Truncate(time.Second),
	}}
	if err := fs.WalkDir(b.fsys, ".", b.add); err != nil {
		root.Close()
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return b, nil
}

// Close releases the app directory.
func (b *Bundle) Close() error { return b.root.Close() }

func (b *Bundle) add(p string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	if p != "." && strings.HasPrefix(path.Base(p), ".") {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if d.IsDir() {
		return nil
	}
	info, err := fs.Stat(b.fsys, p)
	if err != nil {
		return fmt.Errorf("%s: %w (a symlink must stay inside the app directory)", p, err)
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	ref, err := b.hash(p)
	if err != nil {
		return err
	}
	b.Manifest.Files[p] = ref
	b.source[ref.Digest] = p
	return nil
}

func (b *Bundle) hash(p string) (api.FileRef, error) {
	f, err := b.fsys.Open(p)
	if err != nil {
		return api.FileRef{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return api.FileRef{}, fmt.Errorf("%s: %w", p, err)
	}
	return api.FileRef{Digest: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// size is the size of the file holding digest.
func (b *Bundle) size(digest string) int64 { return b.Manifest.Files[b.source[digest]].Size }

func (b *Bundle) digests() []string {
	ds := make([]string, 0, len(b.source))
	for d := range b.source {
		ds = append(ds, d)
	}
	return ds
}
