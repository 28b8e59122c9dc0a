package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeApp writes files (path → content) into a new app directory.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCheckAppRouteKinds: edge deploy's local check accepts every kind of
// route the node loads (a JavaScript route names a script, an origin
// route no file at all) and names the field of a missing file. It used to
// read every non-static route as a module route and refuse a JavaScript
// or origin app with `routes[0].module: "" is not a file`.
func TestCheckAppRouteKinds(t *testing.T) {
	ok := map[string]map[string]string{
		"js": {
			"edge.toml":  "name = \"js\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/api\"\nscript = \"handler.js\"\n",
			"handler.js": "addEventListener('fetch', e => e.respondWith(new Response('hi')))",
		},
		"origin": {
			"edge.toml": "name = \"cdn\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = \"http://127.0.0.1:9\"\n",
		},
	}
	for kind, files := range ok {
		if _, err := checkApp(writeApp(t, files)); err != nil {
			t.Errorf("%s app refused: %v", kind, err)
		}
	}
	bad := map[string]struct {
		files map[string]string
		want  string
	}{
		"missing script": {map[string]string{
			"edge.toml": "name = \"js\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/api\"\nscript = \"handler.js\"\n",
		}, `routes[0].script: "handler.js" does not exist`},
		"missing origin_ca": {map[string]string{
			"edge.toml": "name = \"cdn\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = \"https://127.0.0.1:9\"\norigin_ca = \"ca.pem\"\n",
		}, `routes[0].origin_ca: "ca.pem" does not exist`},
		"module not wasm": {map[string]string{
			"edge.toml": "name = \"m\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/api\"\nmodule = \"app.wasm\"\n",
			"app.wasm":  "#!/bin/sh\necho hi\n",
		}, `routes[0].module: "app.wasm": not a WebAssembly module: it starts with "#!/bin/sh\necho h"`},
		"missing module": {map[string]string{
			"edge.toml": "name = \"m\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/api\"\nmodule = \"app.wasm\"\n",
		}, `routes[0].module: "app.wasm" does not exist`},
	}
	for name, c := range bad {
		_, err := checkApp(writeApp(t, c.files))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
}
