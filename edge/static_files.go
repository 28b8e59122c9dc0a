package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// StaticFiles is an immutable in-memory snapshot of a static route's files.
// Serving from a snapshot means a file edited or deleted on disk after load
// cannot half-change a site, and no request path ever touches the disk, so
// traversal through "..", encoded or not, or symlinks finds nothing.
type StaticFiles struct {
	files map[string]*asset // by slash path relative to the root: "css/site.css"
	dirs  map[string]bool   // directories, for index.html and redirects
	// single is set when the route names one file rather than a directory.
	single *asset
}

// asset is one static file.
type asset struct {
	name        string
	data        []byte
	etag        string // quoted sha256 of data: the content address
	contentType string
	modTime     time.Time
}

// loadStatic snapshots dir (a file or a directory inside fsys).
func loadStatic(fsys fs.FS, dir string, budget *int64) (*StaticFiles, error) {
	root := path.Clean(dir)
	if !fs.ValidPath(root) {
		return nil, fmt.Errorf("%q must be a relative path inside the app directory", dir)
	}
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", dir, unwrapPath(err))
	}
	sf := &StaticFiles{files: map[string]*asset{}, dirs: map[string]bool{"": true}}
	if !info.IsDir() {
		sf.single, err = readAsset(fsys, root, info, budget)
		return sf, err
	}
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %v", p, unwrapPath(err))
		}
		return sf.add(fsys, root, p, d, budget)
	})
	return sf, err
}

// add records one walked entry. Symlinks are followed through fsys; when it
// is an os.Root, one that leads outside the app directory is an error here.
func (sf *StaticFiles) add(fsys fs.FS, root, p string, d fs.DirEntry, budget *int64) error {
	rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
	if root == "." {
		rel = p
	}
	if d.IsDir() {
		if rel != "." {
			sf.dirs[rel] = true
		}
		return nil
	}
	info, err := fs.Stat(fsys, p)
	if err != nil {
		return fmt.Errorf("%s: %v (a symlink must stay inside the app directory)", p, unwrapPath(err))
	}
	if info.IsDir() {
		return nil // a symlink to a directory: not followed
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", p)
	}
	a, err := readAsset(fsys, p, info, budget)
	if err == nil {
		sf.files[rel] = a
	}
	return err
}

func readAsset(fsys fs.FS, p string, info fs.FileInfo, budget *int64) (*asset, error) {
	if *budget -= info.Size(); *budget < 0 {
		return nil, fmt.Errorf("%s: static files exceed the in-memory limit", p)
	}
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, unwrapPath(err))
	}
	sum := sha256.Sum256(data)
	mod := info.ModTime().UTC().Truncate(time.Second)
	if mod.IsZero() || mod.Unix() <= 0 {
		mod = loadedAt
	}
	return &asset{
		name:        path.Base(p),
		data:        data,
		etag:        `"` + hex.EncodeToString(sum[:]) + `"`,
		contentType: contentType(p, data),
		modTime:     mod,
	}, nil
}

// contentType guesses from the extension, then from the bytes.
func contentType(name string, data []byte) string {
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

// errNotFound is returned by lookup for a path with no file.
var errNotFound = errors.New("not found")

// lookup finds the file for rel (a cleaned path relative to the route, no
// leading slash). A directory gives its index.html; redirect is set when
// the directory was asked for without its trailing slash.
func (sf *StaticFiles) lookup(rel string) (a *asset, redirect bool, err error) {
	if sf.single != nil {
		return sf.single, false, nil
	}
	dir, isDir := strings.TrimSuffix(rel, "/"), strings.HasSuffix(rel, "/") || rel == ""
	if !isDir && sf.dirs[rel] {
		return nil, true, nil
	}
	if isDir {
		rel = path.Join(dir, "index.html")
	}
	if a = sf.files[rel]; a == nil {
		return nil, false, errNotFound
	}
	return a, false, nil
}

// notFoundPage is the app's own 404.html at the root of the route, if any.
func (sf *StaticFiles) notFoundPage() *asset {
	if sf.single != nil {
		return nil
	}
	return sf.files["404.html"]
}
