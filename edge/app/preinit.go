package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/wasmbin"
)

// Preinit says whether and how a route's module is pre-initialised
// (docs/preinit.md): its init function run once by the node, and every
// request served from the snapshot it leaves.
type Preinit struct {
	// Mode is PreinitAuto, PreinitOn or PreinitOff.
	Mode PreinitMode
	// Executor is the route's: with PreinitAuto an edge ABI reactor
	// (exporting _initialize) is pre-initialised, a WAGI command is not.
	Executor string
	// Recipe is what init sees: the route's environment and limits.
	Recipe modules.Recipe
}

// PreinitMode is edge.toml's preinit field: unset (auto), true or false.
type PreinitMode int

const (
	// PreinitAuto pre-initialises a module that exports wizer.initialize,
	// or an edge ABI module that exports _initialize (a reactor).
	PreinitAuto PreinitMode = iota
	// PreinitOn requires an init function and refuses the module without.
	PreinitOn
	// PreinitOff runs the module as it is.
	PreinitOff
)

// kvPreinit is the KV namespace that maps a derivation (source digest,
// recipe, engine) to the snapshot's digest, so a restart finds the
// snapshot without running init again.
const kvPreinit = "preinit"

// derivationKey names one derivation: the same source, recipe, mode and
// engine always give the same snapshot.
func (l *ModuleLoader) derivationKey(d cache.Digest, p *Preinit) string {
	h := sha256.New()
	rk := p.Recipe.Key()
	fp := l.engine.Fingerprint()
	h.Write(d[:])
	h.Write(rk[:])
	h.Write(fp[:])
	fmt.Fprintf(h, "%d/%s", p.Mode, p.Executor)
	return hex.EncodeToString(h.Sum(nil))
}

// LoadPreinit is LoadLazy for a route that may be pre-initialised. It
// returns the module to run and, when it is a snapshot, the snapshot's
// digest (a blob the app must keep). A snapshot derived before, in this
// process or (through the cache) an earlier one, is reused: neither init
// nor the compiler runs again.
func (l *ModuleLoader) LoadPreinit(name string, d cache.Digest, read func() ([]byte, error), p *Preinit) (*modules.Module, *cache.Digest, error) {
	if p == nil || p.Mode == PreinitOff {
		m, err := l.LoadLazy(name, d, read)
		return m, nil, err
	}
	key := l.derivationKey(d, p)
	v, err, _ := l.group.Do("preinit/"+key, func() (any, error) {
		if sd, ok := l.derived(key); ok {
			return l.loadDerived(name, d, read, sd)
		}
		return l.derive(name, d, read, p, key)
	})
	if err != nil {
		return nil, nil, err
	}
	r := v.(derivedModule)
	return r.m, r.snapshot, nil
}

type derivedModule struct {
	m        *modules.Module
	snapshot *cache.Digest
}

// derived finds an earlier derivation: in this process, then in the cache.
// A nil digest means "not pre-initialisable, run the source".
func (l *ModuleLoader) derived(key string) (*cache.Digest, bool) {
	l.mu.Lock()
	sd, ok := l.snapshots[key]
	l.mu.Unlock()
	if ok || l.cache == nil {
		return sd, ok
	}
	v, err := l.cache.KV(kvPreinit).Get(key)
	if err != nil {
		return nil, false
	}
	if len(v) == 0 {
		return nil, true
	}
	var sdv cache.Digest
	if len(v) != len(sdv) {
		return nil, false
	}
	copy(sdv[:], v)
	if !l.cache.HasBlob(sdv) {
		return nil, false // collected: derive again
	}
	return &sdv, true
}

func (l *ModuleLoader) loadDerived(name string, d cache.Digest, read func() ([]byte, error), sd *cache.Digest) (derivedModule, error) {
	if sd == nil {
		m, err := l.LoadLazy(name, d, read)
		return derivedModule{m: m}, err
	}
	m, err := l.LoadLazy(name, *sd, func() ([]byte, error) { return l.cache.ReadBlob(*sd) })
	return derivedModule{m: m, snapshot: sd}, err
}

// derive runs init once and records the snapshot (or that there is none).
func (l *ModuleLoader) derive(name string, d cache.Digest, read func() ([]byte, error), p *Preinit, key string) (derivedModule, error) {
	wasm, err := read()
	if err != nil {
		return derivedModule{}, err
	}
	init, err := wasmbin.FindInit(wasm)
	if err != nil && p.Mode == PreinitOn {
		return derivedModule{}, fmt.Errorf("preinit %s: %w: %w", name, modules.ErrInvalidModule, err)
	}
	// In auto mode a module the rewriter cannot read goes to the compiler
	// as it is, which explains what is wrong with it in its own words.
	eligible := err == nil && (init == "wizer.initialize" || init == "_initialize" && p.Executor == "edge" || p.Recipe.Init != "")
	if !eligible {
		if p.Mode == PreinitOn {
			return derivedModule{}, fmt.Errorf("preinit: %s exports no init function (wizer.initialize, or _initialize for an edge ABI reactor)", name)
		}
		if err == nil {
			l.remember(key, nil)
		}
		m, err := l.LoadLazy(name, d, func() ([]byte, error) { return wasm, nil })
		return derivedModule{m: m}, err
	}
	snap, err := l.engine.Preinit(name, wasm, p.Recipe)
	if err != nil {
		return derivedModule{}, err
	}
	l.derivations.Add(1)
	sd := cache.Sum(snap.Wasm)
	l.log.Info("pre-initialised module", "module", name, "init", snap.Init, "snapshot", sd, "bytes", len(snap.Wasm), "duration", snap.Took)
	if len(snap.Log) > 0 {
		l.log.Info("init output", "module", name, "log", string(snap.Log))
	}
	if l.cache != nil {
		if _, err := l.cache.PutBlobVerified(bytes.NewReader(snap.Wasm), sd, 0); err != nil {
			return derivedModule{}, fmt.Errorf("preinit %s: store snapshot: %w", name, err)
		}
	}
	l.remember(key, &sd)
	m, err := l.LoadLazy(name, sd, func() ([]byte, error) { return snap.Wasm, nil })
	return derivedModule{m: m, snapshot: &sd}, err
}

// remember records a derivation in memory and in the cache; a failure to
// write the cache costs a derivation at the next start, nothing more.
func (l *ModuleLoader) remember(key string, sd *cache.Digest) {
	l.mu.Lock()
	l.snapshots[key] = sd
	l.mu.Unlock()
	if l.cache == nil {
		return
	}
	var v []byte
	if sd != nil {
		v = sd[:]
	}
	if err := l.cache.KV(kvPreinit).Put(key, v); err != nil {
		l.log.Warn("could not record snapshot", "err", err)
	}
}

// Derivations counts the snapshots this loader derived (ran init for):
// zero after a restart that found them all in the cache.
func (l *ModuleLoader) Derivations() int64 { return l.derivations.Load() }

// preinitOf builds a route's Preinit from its spec.
func preinitOf(spec *RouteSpec, name string, lim modules.Limits) *Preinit {
	p := &Preinit{Executor: spec.Executor}
	switch {
	case spec.Preinit == nil:
		p.Mode = PreinitAuto
	case *spec.Preinit:
		p.Mode = PreinitOn
	default:
		p.Mode = PreinitOff
	}
	p.Recipe = modules.Recipe{Args: []string{name}, Env: sortedEnv(spec.Env), Limits: lim}
	return p
}

func sortedEnv(m map[string]string) [][2]string {
	env := make([][2]string, 0, len(m))
	for k, v := range m {
		env = append(env, [2]string{k, v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i][0] < env[j][0] })
	return env
}

var errNoEngine = errors.New("module: no engine to compile it")
