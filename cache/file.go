package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrFileExists is returned by WriteNewFile when path already exists.
var ErrFileExists = errors.New("file already exists")

// WriteNewFile creates path holding data, whole or not at all: data goes
// to a temporary file in the same directory, is synced, and is then
// hard-linked into place, which fails if path exists, so a file made
// concurrently (a key, a token, a CA) is never replaced. Where the file
// system has no hard links it falls back to a rename after checking.
func WriteNewFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, false)
}

// ReplaceFile writes data to path whole, replacing any file there by name
// only: a reader that has the old file open or mapped keeps its bytes.
func ReplaceFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, true)
}

func writeFile(path string, data []byte, perm fs.FileMode, replace bool) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp) // after a link or a failure; a rename leaves nothing
	if err := place(tmp, path, replace); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // make the entry durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// writeTemp writes data to a new synced temporary file in dir.
func writeTemp(dir, base string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// place moves tmp to path, refusing to replace an existing path unless
// replace is set.
func place(tmp, path string, replace bool) error {
	if replace {
		return os.Rename(tmp, path)
	}
	lerr := os.Link(tmp, path)
	if lerr == nil {
		return nil
	}
	if _, err := os.Lstat(path); errors.Is(lerr, fs.ErrExist) || err == nil {
		return fmt.Errorf("%s: %w; not replacing it", path, ErrFileExists)
	}
	return os.Rename(tmp, path)
}
