package app

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/cache"
)

// StaticFiles is an immutable snapshot of a static route's files: blobs
// in the node's cache by digest, or bytes in memory for an app loaded
// without a cache.
// Serving from a snapshot means a file edited or deleted on disk after load
// cannot half-change a site, and no request path ever touches the disk, so
// traversal through "..", encoded or not, or symlinks finds nothing.
type StaticFiles struct {
	files map[string]*Asset // by slash path relative to the root: "css/site.css"
	dirs  map[string]bool   // directories, for index.html and redirects
	// single is set when the route names one file rather than a directory.
	single *Asset
}

// Asset is one static file: its bytes in memory, or a blob in the cache.
type Asset struct {
	Name        string
	data        []byte       // nil when the bytes live in store
	store       *cache.Cache // the blob's home, when data is nil
	Digest      cache.Digest
	Size        int64
	ETag        string // quoted sha256 of the content: its address
	ContentType string
	ModTime     time.Time
	// Header is the response header values, precomputed at load.
	Header AssetHeader

	// hot is the verified content held in memory: always for an asset
	// loaded without a cache, while admitted to an ObjectCache otherwise.
	hot atomic.Pointer[hotBody]
	// loading is set while one request reads the blob into the cache, so
	// concurrent misses stream instead of all reading it.
	loading atomic.Bool
}

// Open returns a reader over the asset's content. A cached blob is read
// one chunk at a time, so memory stays bounded whatever its size.
// A damaged blob is refused before any byte is sent, and dropped from the
// cache so the app's next load imports the file again.
func (a *Asset) Open() (io.ReadSeeker, error) {
	if a.data != nil || a.store == nil {
		return bytes.NewReader(a.data), nil
	}
	r, err := a.store.OpenBlob(a.Digest)
	if err == nil {
		err = r.Prefetch()
	}
	if errors.Is(err, cache.ErrCorrupt) {
		err = errors.Join(err, a.store.DropBlob(a.Digest))
	}
	return r, err
}

// assetSource is where loaded files go: the cache, or memory within a
// budget. It remembers every blob it kept, for the app's record.
type assetSource struct {
	cache  *cache.Cache
	budget int64
	blobs  map[string]bool
	index  *fileIndex // nil: always read and hash
}

// module finds a module's digest and stores it as a blob. When the file
// index knows the file and the cache has it, nothing is read: read then
// loads the bytes only if the module must be compiled.
func (src *assetSource) module(fsys fs.FS, p string) (cache.Digest, func() ([]byte, error), error) {
	info, err := fs.Stat(fsys, p)
	if err != nil {
		return cache.Digest{}, nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if d, ok := src.index.lookup(p, info); ok && src.cache.HasBlob(d) {
		src.blobs[d.String()] = true
		// The stored blob, checked against d as it is read.
		return d, func() ([]byte, error) { return src.cache.ReadBlob(d) }, nil
	}
	wasm, err := fs.ReadFile(fsys, p)
	if err != nil {
		return cache.Digest{}, nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	d := cache.Sum(wasm)
	src.blobs[d.String()] = true
	if src.cache != nil && !src.cache.HasBlob(d) {
		if _, err := src.cache.PutBlobVerified(bytes.NewReader(wasm), d, 0); err != nil {
			return d, nil, fmt.Errorf("store: %w", err)
		}
	}
	src.index.remember(p, info, d)
	return d, func() ([]byte, error) { return wasm, nil }, nil
}

// loadStatic snapshots dir (a file or a directory inside fsys).
func loadStatic(fsys fs.FS, dir string, src *assetSource) (*StaticFiles, error) {
	root := path.Clean(dir)
	if !fs.ValidPath(root) {
		return nil, fmt.Errorf("%q must be a relative path inside the app directory", dir)
	}
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", dir, unwrapPath(err))
	}
	sf := &StaticFiles{files: map[string]*Asset{}, dirs: map[string]bool{"": true}}
	if !info.IsDir() {
		sf.single, err = src.read(fsys, root, info)
		return sf, err
	}
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %v", p, unwrapPath(err))
		}
		return sf.add(fsys, root, p, d, src)
	})
	return sf, err
}

// add records one walked entry. Symlinks are followed through fsys; when it
// is an os.Root, one that leads outside the app directory is an error here.
func (sf *StaticFiles) add(fsys fs.FS, root, p string, d fs.DirEntry, src *assetSource) error {
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
	a, err := src.read(fsys, p, info)
	if err == nil {
		sf.files[rel] = a
	}
	return err
}

// read loads one file: into the cache as a blob (streamed, so a file of
// any size is fine), or into memory within the budget.
func (src *assetSource) read(fsys fs.FS, p string, info fs.FileInfo) (*Asset, error) {
	mod := info.ModTime().UTC().Truncate(time.Second)
	if mod.IsZero() || mod.Unix() <= 0 {
		mod = loadedAt
	}
	a := &Asset{Name: path.Base(p), ModTime: mod, Size: info.Size()}
	var err error
	if src.cache != nil {
		err = src.readToCache(fsys, p, info, a)
	} else {
		err = src.readToMemory(fsys, p, a)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	a.ETag = `"` + a.Digest.String() + `"`
	a.buildHeader()
	if a.data != nil {
		a.hot.Store(&hotBody{data: a.data})
	}
	src.blobs[a.Digest.String()] = true
	return a, nil
}

func (src *assetSource) readToMemory(fsys fs.FS, p string, a *Asset) error {
	if src.budget -= a.Size; src.budget < 0 {
		return errors.New("static files exceed the in-memory limit")
	}
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return unwrapPath(err)
	}
	a.data, a.Digest, a.Size = data, cache.Sum(data), int64(len(data))
	a.ContentType = contentType(p, data)
	return nil
}

// readToCache hashes the file first and imports it only when the cache
// lacks it, so a restart re-reads the app but rewrites nothing.
func (src *assetSource) readToCache(fsys fs.FS, p string, info fs.FileInfo, a *Asset) error {
	if d, ok := src.index.lookup(p, info); ok && src.cache.HasBlob(d) {
		a.Digest, a.store = d, src.cache
		a.ContentType = mime.TypeByExtension(path.Ext(p))
		if a.ContentType == "" { // sniff the stored copy's first bytes
			r, err := src.cache.OpenBlob(d)
			if err != nil {
				return err
			}
			head := make([]byte, 512)
			n, err := io.ReadFull(r, head)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return err
			}
			a.ContentType = http.DetectContentType(head[:n])
		}
		return nil
	}
	head, d, size, err := hashFile(fsys, p)
	if err != nil {
		return err
	}
	defer func() { src.index.remember(p, info, d) }()
	a.Digest, a.Size, a.store = d, size, src.cache
	a.ContentType = contentType(p, head)
	if src.cache.HasBlob(d) {
		return nil
	}
	f, err := fsys.Open(p)
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	if _, err := src.cache.PutBlobVerified(f, d, 0); err != nil {
		return fmt.Errorf("import (did the file change while loading?): %w", err)
	}
	return nil
}

// hashFile returns the first 512 bytes (for content sniffing), the sha256
// and the size of a file, reading it once.
func hashFile(fsys fs.FS, p string) (head []byte, d cache.Digest, size int64, err error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, d, 0, unwrapPath(err)
	}
	defer f.Close()
	h := sha256.New()
	head = make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, d, 0, err
	}
	head = head[:n]
	h.Write(head)
	rest, err := io.Copy(h, f)
	if err != nil {
		return nil, d, 0, err
	}
	h.Sum(d[:0])
	return head, d, int64(n) + rest, nil
}

// contentType guesses from the extension, then from the bytes.
func contentType(name string, data []byte) string {
	if ct := mediaTypes[strings.ToLower(path.Ext(name))]; ct != "" {
		return ct
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

// mediaTypes are the streaming formats a host's MIME table often lacks;
// players and MSE want them exact.
var mediaTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".m4s":  "video/iso.segment",
	".mpd":  "application/dash+xml",
	".ts":   "video/mp2t",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
}

// ErrNotFound is returned by Lookup for a path with no file.
var ErrNotFound = errors.New("not found")

// Lookup finds the file for rel (a cleaned path relative to the route, no
// leading slash). A directory gives its index.html; redirect is set when
// the directory was asked for without its trailing slash.
func (sf *StaticFiles) Lookup(rel string) (a *Asset, redirect bool, err error) {
	if sf.single != nil {
		return sf.single, false, nil
	}
	dir, isDir := strings.TrimSuffix(rel, "/"), strings.HasSuffix(rel, "/") || rel == ""
	if !isDir && sf.dirs[rel] {
		return nil, true, nil
	}
	switch {
	case isDir && dir == "":
		rel = "index.html" // the site's root: no path.Join per request
	case isDir:
		rel = path.Join(dir, "index.html")
	}
	if a = sf.files[rel]; a == nil {
		return nil, false, ErrNotFound
	}
	return a, false, nil
}

// NotFoundPage is the app's own 404.html at the root of the route, if any.
func (sf *StaticFiles) NotFoundPage() *Asset {
	if sf.single != nil {
		return nil
	}
	return sf.files["404.html"]
}
