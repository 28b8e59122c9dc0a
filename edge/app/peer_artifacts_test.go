package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
)

// TestPeerArtifacts: a loader trusting its peers loads a module from the
// artifact another node compiled (no compile here, the artifact stored
// for the next start); an artifact that does not load (garbage under the
// right key) or no peer's artifact ends in a compile; a loader not told to
// trust its peers never asks them.
func TestPeerArtifacts(t *testing.T) {
	engine := newTestEngine(t)
	wasm := demoWasm(t, "hello.wasm")
	d := cache.Sum(wasm)
	compiler := openCache(t, t.TempDir())
	if _, err := app.NewModuleLoader(engine, compiler, quietLog).Load("hello.wasm", wasm); err != nil {
		t.Fatal(err)
	}
	var art []byte
	k := cache.ArtifactKey{Module: d, Fingerprint: engine.Fingerprint()}
	if err := compiler.WithArtifact(k, func(b []byte) error { art = append([]byte(nil), b...); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		trust   bool
		serve   []byte
		err     error
		compile int64
	}{
		{"trusted, a peer's artifact", true, art, nil, 0},
		{"trusted, garbage", true, []byte("\x7fELF not an artifact"), nil, 1},
		{"trusted, none", true, nil, errors.New("no member serves this artifact"), 1},
		{"not trusted", false, art, nil, 1},
	} {
		store := openCache(t, t.TempDir())
		loader := app.NewModuleLoader(engine, store, quietLog)
		asked := 0
		if c.trust {
			loader.TrustPeerArtifacts(func(_ context.Context, got cache.ArtifactKey) ([]byte, string, error) {
				asked++
				if got != k {
					t.Errorf("%s: asked for %+v, want %+v", c.name, got, k)
				}
				return c.serve, "peer", c.err
			})
		}
		m, err := loader.Load("hello.wasm", wasm)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		runsHello(t, m)
		if n := store.Counters().Compiles.Load(); n != c.compile {
			t.Errorf("%s: %d compiles, want %d", c.name, n, c.compile)
		}
		if c.trust && asked != 1 {
			t.Errorf("%s: peers asked %d times, want 1", c.name, asked)
		}
		if _, err := store.ArtifactFile(k); err != nil {
			t.Errorf("%s: no artifact stored for the next start: %v", c.name, err)
		}
	}
}
