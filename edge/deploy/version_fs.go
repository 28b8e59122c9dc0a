package deploy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"time"

	"github.com/edgecdn/edge/cache"
)

// versionFS is a deployed version's files as an fs.FS: the manifest's file
// map, with every file's bytes read from its blob in the cache. Files have
// the manifest's creation time as ModTime, so Last-Modified is stable
// across restarts and nodes. Directories are implied by the paths.
type versionFS struct {
	store *cache.Cache
	files map[string]cache.FileRef
	dirs  map[string][]string // dir → sorted child names
	mod   time.Time
}

func newVersionFS(store *cache.Cache, m *cache.Manifest) *versionFS {
	v := &versionFS{store: store, files: m.Files, dirs: map[string][]string{}, mod: m.Created.UTC()}
	children := map[string]map[string]bool{".": {}}
	for p := range m.Files {
		for child := p; child != "."; child = path.Dir(child) {
			parent := path.Dir(child)
			if children[parent] == nil {
				children[parent] = map[string]bool{}
			}
			children[parent][path.Base(child)] = true
		}
	}
	for dir, names := range children {
		for n := range names {
			v.dirs[dir] = append(v.dirs[dir], n)
		}
		slices.Sort(v.dirs[dir])
		if v.dirs[dir] == nil {
			v.dirs[dir] = []string{}
		}
	}
	return v
}

func (v *versionFS) Open(name string) (fs.File, error) {
	info, err := v.stat(name, "open")
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return &versionDir{fs: v, name: name, info: info}, nil
	}
	d, _ := cache.ParseDigest(v.files[name].Digest)
	r, err := v.store.OpenBlob(d)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &versionFile{BlobReader: r, info: info}, nil
}

func (v *versionFS) Stat(name string) (fs.FileInfo, error) { return v.stat(name, "stat") }

func (v *versionFS) stat(name, op string) (*versionInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := v.files[name]; ok {
		return &versionInfo{name: path.Base(name), size: f.Size, mod: v.mod}, nil
	}
	if _, ok := v.dirs[name]; ok {
		return &versionInfo{name: path.Base(name), dir: true, mod: v.mod}, nil
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (v *versionFS) ReadFile(name string) ([]byte, error) {
	f, ok := v.files[name]
	if !ok {
		_, err := v.stat(name, "read")
		if err == nil {
			err = &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
		}
		return nil, err
	}
	d, _ := cache.ParseDigest(f.Digest)
	b, err := v.store.ReadBlob(d)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

func (v *versionFS) ReadDir(name string) ([]fs.DirEntry, error) {
	info, err := v.stat(name, "readdir")
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	var out []fs.DirEntry
	for _, child := range v.dirs[name] {
		ci, _ := v.stat(path.Join(name, child), "readdir")
		out = append(out, fs.FileInfoToDirEntry(ci))
	}
	return out, nil
}

type versionInfo struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (i *versionInfo) Name() string       { return i.name }
func (i *versionInfo) Size() int64        { return i.size }
func (i *versionInfo) ModTime() time.Time { return i.mod }
func (i *versionInfo) IsDir() bool        { return i.dir }
func (i *versionInfo) Sys() any           { return nil }
func (i *versionInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

type versionFile struct {
	*cache.BlobReader
	info *versionInfo
}

func (f *versionFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *versionFile) Close() error               { return nil }

type versionDir struct {
	fs   *versionFS
	name string
	info *versionInfo
	read int
}

func (d *versionDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *versionDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *versionDir) Close() error { return nil }

func (d *versionDir) ReadDir(n int) ([]fs.DirEntry, error) {
	all, _ := d.fs.ReadDir(d.name)
	rest := all[d.read:]
	if n <= 0 {
		d.read = len(all)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.read += len(rest)
	return rest, nil
}

// versionSource names a deployed version in logs and errors.
func versionSource(app string, version int) string {
	return fmt.Sprintf("%s@v%d", app, version)
}

var (
	_ fs.StatFS     = (*versionFS)(nil)
	_ fs.ReadDirFS  = (*versionFS)(nil)
	_ fs.ReadFileFS = (*versionFS)(nil)
)
