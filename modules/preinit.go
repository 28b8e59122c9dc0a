package modules

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/modules/wasmbin"
)

// preinitVersion names the snapshot procedure: the rewriter, the
// deterministic WASI that init sees. Change it whenever either changes
// what a snapshot holds, so snapshots derived by older code miss.
const preinitVersion = "edge-preinit/1"

// Recipe says how a module is pre-initialised: which export to call and
// what WASI shows it. A JavaScript engine, say, is given its script on
// Stdin (or in Env) and parses it in init; an edge ABI reactor needs
// nothing. Everything in it is part of Key, so two recipes that could
// give different snapshots never share one.
type Recipe struct {
	// Init is the export to call. Empty picks the first of
	// wasmbin.InitExports the module exports (wizer.initialize, then
	// _initialize).
	Init  string
	Args  []string
	Env   [][2]string
	Stdin []byte
	// Limits bound the init run (memory, timeout, log size), as a
	// request's do.
	Limits Limits
}

// Key identifies the recipe: with the module's digest and the engine's
// fingerprint it names a snapshot.
func (r *Recipe) Key() [32]byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(preinitVersion))
	field([]byte(r.Init))
	field(packStringsKey(r.Args))
	env, _ := packEnv(r.Env)
	field(env)
	field(r.Stdin)
	var mem [8]byte
	binary.BigEndian.PutUint64(mem[:], uint64(r.Limits.WithDefaults().Memory))
	field(mem[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func packStringsKey(ss []string) []byte {
	b, _ := packStrings(ss)
	return b
}

// Preinitialized is a pre-initialised module.
type Preinitialized struct {
	// Wasm is the snapshot: the source module with init's globals and
	// memory baked in, and the init exports and start function removed.
	Wasm []byte
	Init string // the export that was called
	// Log is what init wrote to stdout and stderr.
	Log []byte
	// Took is the whole derivation: instrument, compile, init, rewrite.
	Took time.Duration
}

// Preinit instantiates wasm once with the recipe, calls its init
// function, and returns a module whose instances start where init left
// off: the node's own Wizer. Init sees argv, env and stdin from the recipe
// and WASI random bytes and clocks that are fixed by the module and the
// recipe, so every node derives the same bytes from the same input.
//
// What is frozen, and what a guest must not rely on: docs/preinit.md.
func (e *Engine) Preinit(name string, wasm []byte, rc Recipe) (*Preinitialized, error) {
	start := time.Now()
	init := rc.Init
	if init == "" {
		var err error
		if init, err = wasmbin.FindInit(wasm); err != nil {
			return nil, fmt.Errorf("modules: preinit %s: %w: %w", name, ErrInvalidModule, err)
		}
		if init == "" {
			return nil, fmt.Errorf("modules: preinit %s: %w", name, ErrNoInit)
		}
	}
	inst, plan, err := wasmbin.Instrument(wasm, init)
	if err != nil {
		return nil, fmt.Errorf("modules: preinit %s: %w: %w", name, preinitErr(err), err)
	}
	se, err := e.snapEngine()
	if err != nil {
		return nil, fmt.Errorf("modules: preinit %s: %w", name, err)
	}
	lim := e.capLimits(rc.Limits)
	e.enter()
	st, log, err := se.snapshot(&e.instrumented, inst, plan, &rc, lim, seed(wasm, &rc))
	e.leave()
	if err != nil {
		return nil, fmt.Errorf("modules: preinit %s: %w: %w", name, ErrPreinit, err)
	}
	out, err := wasmbin.Rewrite(wasm, plan, st)
	if err != nil {
		return nil, fmt.Errorf("modules: preinit %s: %w: %w", name, ErrPreinit, err)
	}
	return &Preinitialized{Wasm: out, Init: init, Log: log, Took: time.Since(start)}, nil
}

func preinitErr(err error) error {
	if errors.Is(err, wasmbin.ErrMalformed) {
		return ErrInvalidModule
	}
	return ErrPreinit
}

// seed is the seed of the random bytes init draws: fixed by the module
// and the recipe, so snapshots are reproducible, and different for
// different modules.
func seed(wasm []byte, rc *Recipe) uint64 {
	d := sha256.Sum256(wasm)
	k := rc.Key()
	s := sha256.Sum256(append(d[:], k[:]...))
	return binary.LittleEndian.Uint64(s[:8])
}

// snapEngine is the engine init runs in, made on first use: Cranelift
// without optimisation (the instrumented module runs once, so compiling
// fast matters more than running fast), memories mapped on demand (one
// instance at a time), and the deterministic WASI.
func (e *Engine) snapEngine() (*cEngine, error) {
	e.snapOnce.Do(func() {
		c, err := newCEngine(cEngineConfig{deterministic: true})
		e.snap.Store(c)
		e.snapErr = err
	})
	return e.snap.Load(), e.snapErr
}

// snapshotState is the part of Engine that holds the snapshot engine.
type snapshotState struct {
	snapOnce sync.Once
	snap     atomic.Pointer[cEngine] // read by the epoch ticker
	snapErr  error
	// instrumented is the last instrumented module compiled for init.
	instrumented instrumentedCache
}
