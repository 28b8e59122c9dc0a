package app

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
)

// ModuleLoader turns wasm bytes into a runnable module at most once per
// process per module, through the AOT cache when there is one: an artifact
// compiled earlier for this engine is loaded in milliseconds instead of
// compiled in seconds. Concurrent loads of one module share one compile.
type ModuleLoader struct {
	engine *modules.Engine
	cache  *cache.Cache // nil: compile every time the process starts
	log    *slog.Logger
	group  singleflight.Group

	mu     sync.Mutex
	loaded map[cache.Digest]*modules.Module
	// snapshots maps a derivation key to its snapshot's digest (nil: the
	// module is not pre-initialisable); see preinit.go.
	snapshots   map[string]*cache.Digest
	derivations atomic.Int64
	peers       PeerArtifacts // nil: never load a peer's artifact
}

// NewModuleLoader returns a loader for engine backed by c (which may be nil).
func NewModuleLoader(engine *modules.Engine, c *cache.Cache, log *slog.Logger) *ModuleLoader {
	if log == nil {
		log = slog.Default()
	}
	return &ModuleLoader{engine: engine, cache: c, log: log.With("component", "loader"), loaded: map[cache.Digest]*modules.Module{}, snapshots: map[string]*cache.Digest{}}
}

// Engine is the engine modules are loaded into.
func (l *ModuleLoader) Engine() *modules.Engine { return l.engine }

// Load returns the compiled module for wasm. name labels logs and errors.
func (l *ModuleLoader) Load(name string, wasm []byte) (*modules.Module, error) {
	return l.LoadLazy(name, cache.Sum(wasm), func() ([]byte, error) { return wasm, nil })
}

// LoadLazy is Load for a caller that knows the module's digest d but has
// not read it: read is called only if the module must be compiled (no
// usable artifact), and must return bytes that hash to d (checking them if
// they come from somewhere that can change).
func (l *ModuleLoader) LoadLazy(name string, d cache.Digest, read func() ([]byte, error)) (*modules.Module, error) {
	if m := l.lookup(d); m != nil {
		return m, nil
	}
	v, err, _ := l.group.Do(string(d[:]), func() (any, error) {
		if m := l.lookup(d); m != nil {
			return m, nil
		}
		m, err := l.load(name, d, read)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.loaded[d] = m
		l.mu.Unlock()
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*modules.Module), nil
}

func (l *ModuleLoader) lookup(d cache.Digest) *modules.Module {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded[d]
}

func (l *ModuleLoader) key(d cache.Digest) cache.ArtifactKey {
	return cache.ArtifactKey{Module: d, Fingerprint: l.engine.Fingerprint()}
}

// load tries the artifact, then compiles. Any artifact that fails to load
// (damaged, or from another engine despite its key) is deleted and
// replaced: a stale cache costs one compile, never a failure.
func (l *ModuleLoader) load(name string, d cache.Digest, read func() ([]byte, error)) (*modules.Module, error) {
	if l.cache != nil {
		if m, err := l.fromArtifact(name, d); err == nil {
			return m, nil
		} else if !errors.Is(err, cache.ErrNotFound) {
			l.log.Warn("artifact unusable, recompiling", "module", name, "digest", d, "err", err)
		}
		if m := l.fromPeer(name, d); m != nil {
			return m, nil
		}
	}
	wasm, err := read()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	m, err := l.engine.Compile(name, wasm)
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	l.log.Info("compiled module", "module", name, "digest", d, "duration", took)
	if l.cache == nil {
		return m, nil
	}
	l.cache.Counters().ObserveCompile(took)
	if err := l.store(name, d, m); err != nil {
		l.log.Warn("could not store artifact; the module still runs", "module", name, "err", err)
	}
	return m, nil
}

// fromArtifact maps the artifact's immutable file (written once from the
// checked bbolt copy), never bbolt's own pages.
func (l *ModuleLoader) fromArtifact(name string, d cache.Digest) (*modules.Module, error) {
	start := time.Now()
	path, err := l.cache.ArtifactFile(l.key(d))
	if err != nil {
		return nil, err
	}
	m, err := l.engine.DeserializeFile(name, path)
	if errors.Is(err, modules.ErrInvalidModule) {
		l.cache.Counters().ArtifactCorrupt.Add(1)
		if derr := l.cache.DeleteArtifact(l.key(d)); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	l.cache.Counters().ObserveDeserialize(took)
	l.log.Debug("loaded module from artifact", "module", name, "digest", d, "duration", took)
	return m, nil
}

func (l *ModuleLoader) store(name string, d cache.Digest, m *modules.Module) error {
	art, err := m.Serialize()
	if err != nil {
		return err
	}
	if err := l.cache.PutArtifact(l.key(d), art, name, l.engine.Target()); err != nil {
		return fmt.Errorf("store artifact: %w", err)
	}
	return nil
}
