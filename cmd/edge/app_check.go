package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// checkApp validates the app in dir as the node will, short of compiling
// its modules: edge.toml parses, and every file and directory it names
// exists. Errors name the user's own path (site/edge.toml: routes[0]...).
// It returns the app's name.
func checkApp(dir string) (string, error) {
	file := filepath.Join(dir, app.ConfigFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: no %s here: an app directory needs one (see the README's edge.toml section)", dir, app.ConfigFile)
	}
	if err != nil {
		return "", err
	}
	m, err := app.ParseConfig(file, data)
	if err != nil {
		return "", err
	}
	for i, r := range m.Routes {
		for _, n := range namedFiles(r) {
			err := checkNamed(dir, n.name, n.wantFile)
			if err == nil && n.field == "module" {
				if err = checkWasm(filepath.Join(dir, filepath.FromSlash(n.name))); err != nil {
					err = fmt.Errorf("%q: %w", n.name, err)
				}
			}
			if err != nil {
				return "", fmt.Errorf("%s: routes[%d].%s: %w", file, i, n.field, err)
			}
		}
	}
	return m.Name, nil
}

// namedFile is a path a route names inside the app directory.
type namedFile struct {
	field, name string
	wantFile    bool // false: a directory or one file (static)
}

// namedFiles lists the paths route r names: its module, static directory,
// JavaScript handler or origin roots. An origin route may name none, and
// ParseConfig has already refused a route that is none of these kinds.
func namedFiles(r app.RouteSpec) []namedFile {
	var out []namedFile
	for _, n := range []namedFile{
		{"module", r.Module, true}, {"static", r.Static, false},
		{"script", r.Script, true}, {"origin_ca", r.OriginCA, true},
	} {
		if n.name != "" {
			out = append(out, n)
		}
	}
	return out
}

// checkNamed checks that name exists inside dir (and is a file, if wantFile).
func checkNamed(dir, name string, wantFile bool) error {
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q does not exist in %s", name, dir)
	case err != nil:
		return err
	case wantFile && !fi.Mode().IsRegular():
		return fmt.Errorf("%q is not a file", name)
	}
	return nil
}

// checkWasm refuses a module file that is not a WebAssembly binary before
// anything is uploaded; the node explains any other compile error.
func checkWasm(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	return modules.CheckMagic(head[:n])
}
