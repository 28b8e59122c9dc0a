package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
)

func openCache(t testing.TB, dir string) *cache.Cache {
	t.Helper()
	c, err := cache.Open(filepath.Join(dir, "edge.db"), cache.Options{Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func demoWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(examples.Demo(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runsHello checks a loaded C hello module really runs.
func runsHello(t *testing.T, m *modules.Module) {
	t.Helper()
	resp, _, err := m.Engine().RunWAGI(context.Background(), m, &modules.Command{Args: []string{"hello"}, Env: [][2]string{{"QUERY_STRING", "name=cache"}}}, modules.Limits{})
	if err != nil {
		t.Fatalf("module does not run: %v", err)
	}
	if string(resp.Body) != "Hello, cache! (from C)\n" {
		t.Fatalf("module answered %q", resp.Body)
	}
}

// TestLoaderCompilesOnce: 64 simultaneous first loads of one module share
// one compile, and a second loader on the same cache compiles nothing.
func TestLoaderCompilesOnce(t *testing.T) {
	c := openCache(t, t.TempDir())
	engine := newTestEngine(t)
	wasm := demoWasm(t, "hello.wasm")
	loader := app.NewModuleLoader(engine, c, quietLog)
	var wg sync.WaitGroup
	mods := make([]*modules.Module, 64)
	for i := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := loader.Load("hello.wasm", wasm)
			if err != nil {
				t.Error(err)
			}
			mods[i] = m
		}()
	}
	wg.Wait()
	if n := c.Counters().Compiles.Load(); n != 1 {
		t.Fatalf("64 concurrent loads compiled %d times, want 1", n)
	}
	for _, m := range mods[1:] {
		if m != mods[0] {
			t.Fatal("concurrent loads returned different modules")
		}
	}
	runsHello(t, mods[0])

	again := app.NewModuleLoader(engine, c, quietLog) // as after a restart
	m, err := again.Load("hello.wasm", wasm)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Counters().Compiles.Load(); n != 1 {
		t.Errorf("a second loader compiled again (compiles = %d)", n)
	}
	if n := c.Counters().Deserializes.Load(); n != 1 {
		t.Errorf("deserializes = %d, want 1", n)
	}
	runsHello(t, m)
}

// TestLoaderHealsBadArtifacts: an artifact that passes its checksum but is
// not loadable (bytes from elsewhere under the right key) and an artifact
// keyed for another engine both end in a fresh compile, never a failure.
func TestLoaderHealsBadArtifacts(t *testing.T) {
	c := openCache(t, t.TempDir())
	engine := newTestEngine(t)
	wasm := demoWasm(t, "hello.wasm")
	key := cache.ArtifactKey{Module: cache.Sum(wasm), Fingerprint: engine.Fingerprint()}
	if err := c.PutArtifact(key, []byte("\x7fELF not really an artifact"), "hello.wasm", engine.Target()); err != nil {
		t.Fatal(err)
	}
	m, err := app.NewModuleLoader(engine, c, quietLog).Load("hello.wasm", wasm)
	if err != nil {
		t.Fatalf("load with a bad artifact: %v", err)
	}
	runsHello(t, m)
	if got := c.Counters().ArtifactCorrupt.Load(); got != 1 {
		t.Errorf("corrupt artifacts counted = %d, want 1", got)
	}
	if got := c.Counters().Compiles.Load(); got != 1 {
		t.Errorf("compiles = %d, want 1 (the bad artifact replaced)", got)
	}
	good, err := getArtifact(c, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Deserialize("hello.wasm", good); err != nil {
		t.Errorf("the replacement artifact does not load: %v", err)
	}
}

// TestArtifactsOfAnotherEngine: an engine configured differently (here
// Cranelift's "none" level) has another fingerprint, so its artifacts are
// keyed apart; this node's loader never loads them, and this node's engine
// refuses their bytes if handed them anyway.
func TestArtifactsOfAnotherEngine(t *testing.T) {
	c := openCache(t, t.TempDir())
	host := newTestEngine(t)
	other, err := modules.NewEngineWith(modules.EngineConfig{OptLevel: "none", Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	if other.Fingerprint() == host.Fingerprint() {
		t.Fatal("differently configured engines share a fingerprint")
	}
	wasm := demoWasm(t, "hello.wasm")
	if _, err := app.NewModuleLoader(other, c, quietLog).Load("hello.wasm", wasm); err != nil {
		t.Fatal(err)
	}
	foreign, err := getArtifact(c, cache.ArtifactKey{Module: cache.Sum(wasm), Fingerprint: other.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	if len(foreign) == 0 {
		t.Fatal("no artifact stored for the other engine")
	}
	hm, err := app.NewModuleLoader(host, c, quietLog).Load("hello.wasm", wasm)
	if err != nil {
		t.Fatal(err)
	}
	runsHello(t, hm)
	if n := c.Counters().Compiles.Load(); n != 2 {
		t.Errorf("compiles = %d, want 2 (one per engine)", n)
	}
	if arts, _ := c.Artifacts(); len(arts) != 2 {
		t.Errorf("want one artifact per engine, have %d", len(arts))
	}
}

// TestIncompatibleArtifactRefused: bytes compiled by an engine without
// epoch interruption (as an older node might have) are refused by ours,
// which relies on epochs to stop runaway guests, with ErrInvalidModule.
func TestIncompatibleArtifactRefused(t *testing.T) {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(false)
	plain := wasmtime.NewEngineWithConfig(cfg)
	m, err := wasmtime.NewModule(plain, demoWasm(t, "hello.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	art, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestEngine(t).Deserialize("hello.wasm", art); !errors.Is(err, modules.ErrInvalidModule) {
		t.Errorf("loading an artifact compiled without epoch interruption: err = %v, want ErrInvalidModule", err)
	}
}

// TestOtherTargetsRefused: the bundled Wasmtime has only the host's code
// generator; asking for another target is an error, not a process abort.
func TestOtherTargetsRefused(t *testing.T) {
	for _, target := range []string{"aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu", "x86_64-pc-windows-msvc"} {
		if target == newTestEngine(t).Target() {
			continue
		}
		if _, err := modules.NewEngineWith(modules.EngineConfig{Target: target}); err == nil {
			t.Errorf("target %s accepted", target)
		}
	}
	e, err := modules.NewEngineWith(modules.EngineConfig{Target: newTestEngine(t).Target()})
	if err != nil {
		t.Fatalf("the host's own triple refused: %v", err)
	}
	e.Close()
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestEngine(t testing.TB) *modules.Engine {
	t.Helper()
	e, err := modules.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// getArtifact is a private copy of an artifact, through WithArtifact.
func getArtifact(c *cache.Cache, k cache.ArtifactKey) ([]byte, error) {
	var data []byte
	err := c.WithArtifact(k, func(b []byte) error {
		data = bytes.Clone(b)
		return nil
	})
	return data, err
}
