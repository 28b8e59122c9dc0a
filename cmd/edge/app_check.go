package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgecdn/edge/edge/app"
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
		field, name, wantFile := "module", r.Module, true
		if r.Static != "" {
			field, name, wantFile = "static", r.Static, false // a directory or one file
		}
		if err := checkNamed(dir, name, wantFile); err != nil {
			return "", fmt.Errorf("%s: routes[%d].%s: %w", file, i, field, err)
		}
	}
	return m.Name, nil
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
