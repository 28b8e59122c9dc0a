package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// watCounter is an edge ABI reactor whose init reads its environment
// (the route's env, at derivation) into memory; each request answers with
// it. A request after a fresh init would see no environment.
const watCounter = `(module
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_initialize") (drop (call $environ_get (i32.const 1000) (i32.const 70000))))
  (func (export "edge_handle") (result i32)
    (drop (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 70000) (i32.const 11)))
    (i32.const 0)))`

// writePreinitApp writes an app whose one route runs watCounter (or wat)
// with the given extra route lines.
func writePreinitApp(t *testing.T, wat, route string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "g.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	toml := "name = \"p\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/g\"\nmodule = \"g.wasm\"\nexecutor = \"edge\"\nenv = { WHO = \"init\" }\n" + route
	if err := os.WriteFile(filepath.Join(dir, app.ConfigFile), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serveOnce(t *testing.T, a *app.App) string {
	t.Helper()
	rt := a.Routes[0]
	req := modules.EdgeRequest(httptest.NewRequest(http.MethodGet, "/g", nil), nil)
	resp, out, err := rt.Module.Engine().RunEdge(context.Background(), rt.Module, req, rt.Limits)
	if err != nil {
		t.Fatalf("run: %v (log %q)", err, out.Stderr)
	}
	return string(resp.Body)
}

// TestPreinitRestartRunsNothing: the first start derives the snapshot
// (init runs once, the snapshot is compiled once); a restart on the same
// cache, with a new engine and loader, runs neither init nor the compiler,
// and serves the same snapshot.
func TestPreinitRestartRunsNothing(t *testing.T) {
	dir := writePreinitApp(t, watCounter, "")
	cdir := t.TempDir()
	load := func() (*app.App, *app.ModuleLoader, *cache.Cache) {
		c, err := cache.Open(filepath.Join(cdir, "edge.db"), cache.Options{Log: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		loader := app.NewModuleLoader(newTestEngine(t), c, quietLog)
		a, err := app.LoadAppDir(dir, app.LoadOptions{Loader: loader, Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		return a, loader, c
	}
	a1, l1, c1 := load()
	if got := serveOnce(t, a1); got != "WHO=init\x00\x00\x00" {
		t.Fatalf("first start answers %q", got)
	}
	if l1.Derivations() != 1 || c1.Counters().Compiles.Load() != 1 {
		t.Fatalf("first start: %d derivations, %d compiles; want 1 and 1", l1.Derivations(), c1.Counters().Compiles.Load())
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	a2, l2, c2 := load()
	t.Cleanup(func() { _ = c2.Close() })
	if got := serveOnce(t, a2); got != "WHO=init\x00\x00\x00" {
		t.Fatalf("restart answers %q", got)
	}
	if l2.Derivations() != 0 || c2.Counters().Compiles.Load() != 0 || c2.Counters().Deserializes.Load() != 1 {
		t.Fatalf("restart: %d derivations, %d compiles, %d artifact loads; want 0, 0, 1",
			l2.Derivations(), c2.Counters().Compiles.Load(), c2.Counters().Deserializes.Load())
	}
	if strings.Join(a1.Blobs, ",") != strings.Join(a2.Blobs, ",") || len(a1.Blobs) != 2 {
		t.Fatalf("blobs %v then %v, want the source and the snapshot twice", a1.Blobs, a2.Blobs)
	}
}

// TestPreinitTwoNodes: two nodes (own cache, own engine) derive the same
// snapshot from the same app, down to its digest.
func TestPreinitTwoNodes(t *testing.T) {
	dir := writePreinitApp(t, watCounter, "")
	var blobs [2]string
	for i := range blobs {
		c := openCache(t, t.TempDir())
		loader := app.NewModuleLoader(newTestEngine(t), c, quietLog)
		a, err := app.LoadAppDir(dir, app.LoadOptions{Loader: loader, Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		blobs[i] = strings.Join(a.Blobs, ",")
	}
	if blobs[0] != blobs[1] {
		t.Fatalf("two nodes derived different snapshots: %s vs %s", blobs[0], blobs[1])
	}
}

func TestPreinitModes(t *testing.T) {
	noInit := `(module (import "edge_v1" "respond" (func $r (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "edge_handle") (result i32) (drop (call $r (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))) (i32.const 0)))`
	tests := []struct {
		name, wat, route string
		derivations      int64
		err              string
	}{
		{"auto reactor", watCounter, "", 1, ""},
		{"off", watCounter, "preinit = false\n", 0, ""},
		{"auto without init", noInit, "", 0, ""},
		{"on without init", noInit, "preinit = true\n", 0, "exports no init function"},
		{"init traps", strings.Replace(watCounter, "(drop (call $environ_get (i32.const 1000) (i32.const 70000)))", "unreachable", 1), "", 0, "pre-initialisation failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loader := app.NewModuleLoader(newTestEngine(t), nil, quietLog)
			_, err := app.LoadAppDir(writePreinitApp(t, tt.wat, tt.route), app.LoadOptions{Loader: loader})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "routes[0]") {
					t.Fatalf("err %v, want one naming routes[0] and %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := loader.Derivations(); n != tt.derivations {
				t.Fatalf("%d derivations, want %d", n, tt.derivations)
			}
		})
	}
}

func TestPreinitOnStaticRouteRefused(t *testing.T) {
	_, err := app.ParseConfig("edge.toml", []byte("name = \"s\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\npreinit = true\n"))
	if err == nil || !strings.Contains(err.Error(), "routes[0].preinit") {
		t.Fatalf("err %v, want routes[0].preinit refused", err)
	}
}

// TestPreinitAutoLeavesJunkToTheCompiler: in auto mode a file that is not
// wasm is refused with the compiler's explanation, as before preinit.
func TestPreinitAutoLeavesJunkToTheCompiler(t *testing.T) {
	dir := writePreinitApp(t, watCounter, "")
	if err := os.WriteFile(filepath.Join(dir, "g.wasm"), []byte("\x00asm\x01\x00\x00\x00\x01\x05"), 0o644); err != nil {
		t.Fatal(err)
	}
	loader := app.NewModuleLoader(newTestEngine(t), nil, quietLog)
	_, err := app.LoadAppDir(dir, app.LoadOptions{Loader: loader})
	if err == nil || strings.Contains(err.Error(), "wasmbin") || !strings.Contains(err.Error(), "invalid module") {
		t.Fatalf("err %v, want the compiler's invalid module error", err)
	}
}
