package modules

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// EpochTick is how often the engine's epoch advances. A guest running wasm
// code checks its deadline and cancellation at each tick, so both are
// honoured to within one tick; a guest waiting in a host call is woken at
// once (deadline.c).
const EpochTick = 5 * time.Millisecond

// idleTicks is how many ticks with no run under way stop the ticker: half
// a second.
const idleTicks = 100

// Engine is the process's one Wasmtime engine, with the pooling allocator:
// every instance's memory and tables come from slots reserved once, so a
// fresh store per request costs microseconds, not a round of mmap calls.
// Modules compiled by it may be run concurrently from any goroutine.
type Engine struct {
	c   *cEngine
	log *slog.Logger
	cfg EngineConfig

	fingerprint [32]byte

	snapshotState

	// busy counts the runs (requests and pre-initialisations) under way;
	// the epoch ticker pauses once it has been zero for idleTicks, and the
	// run that finds it paused wakes it. An idle node is then not woken
	// every EpochTick, and a loaded one pays no channel send per run.
	busy   atomic.Int64
	paused atomic.Bool
	wake   chan struct{}
	ticks  atomic.Uint64 // epoch ticks so far, for tests

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// EngineConfig configures NewEngineWith. The zero value means defaults.
type EngineConfig struct {
	Log *slog.Logger
	// Target is a target triple to compile for. Empty means this host.
	// The Wasmtime library bundled with wasmtime-go is built with only the
	// host's code generator, so any other target is refused here (asking
	// for one would abort the process inside Wasmtime).
	Target string
	// OptLevel is Cranelift's optimisation level: "speed" (the default)
	// or "none", which compiles faster and runs slower. It is part of the
	// engine's fingerprint: artifacts of one level never load in the other.
	OptLevel string
	// PoolSize is how many instances may exist at once (the pooling
	// allocator's slots). Runs beyond it fail, so keep the node's in-flight
	// limit below it.
	PoolSize int
	// MaxMemory is the most linear memory one guest may have, in bytes:
	// the size of each pool slot. Routes may ask for less, not more.
	MaxMemory int64
	// MaxOutput bounds what any guest may write (its response, or its
	// log), in bytes: routes may ask for less, not more. The output buffer
	// never grows past it.
	MaxOutput int64
	// KeepResident is how much of a pool slot's memory is reset in place
	// after each run instead of being returned to the kernel: a guest
	// whose memory fits is reset with a memset or a copy of its image and
	// never faults; beyond it, pages are faulted in again on the next run.
	// With the dirty-page reset it counts only the pages the guest wrote.
	// It costs that much resident memory per slot a guest has used.
	KeepResident int64
	// FullSlotReset turns the dirty-page reset off (pagemap.c): after
	// each run the kept part of the slot is copied back whole, as
	// Wasmtime does by default. That is cheaper for guests with little
	// memory (the C hello: ~3-6 µs less CPU per request, its 128 KiB
	// copied instead of a system call) and far dearer for snapshots (the
	// Go hello: ~150-250 µs more).
	FullSlotReset bool
}

// Engine defaults.
const (
	DefaultPoolSize  = 256
	DefaultMaxMemory = 256 << 20
	DefaultMaxOutput = 64 << 20
	// DefaultKeepResident covers a pre-initialised Go guest's memory
	// (2.4 MiB for the demo's hello) with room for its heap to grow.
	DefaultKeepResident = 8 << 20
)

// MaxOutputCeiling is the most output any node may allow a guest: the
// output is held in host memory until the guest returns.
const MaxOutputCeiling = 1 << 30

// maxTableElements bounds each guest table; Go guests use a few thousand.
const maxTableElements = 100_000

// NewEngine returns an engine for this host with default settings.
func NewEngine(log *slog.Logger) (*Engine, error) {
	return NewEngineWith(EngineConfig{Log: log})
}

// NewEngineWith configures the engine (epoch interruption on, so a runaway
// guest can be stopped; the pooling allocator) and starts the epoch ticker.
// Close stops it.
func NewEngineWith(ec EngineConfig) (*Engine, error) {
	return newEngine(ec, engineTweaks{})
}

// engineTweaks turn off what the node always wants, only for benchmarks
// that measure what it saves.
type engineTweaks struct {
	noCoW  bool // copy-on-write memory images
	noWarm bool // plans of pages kept private to slots (warm.c)
}

// newEngine is NewEngineWith with tweaks.
func newEngine(ec EngineConfig, tw engineTweaks) (*Engine, error) {
	if ec.Log == nil {
		ec.Log = slog.Default()
	}
	disableErrorBacktraces()
	if ec.Target != "" && ec.Target != targetTriple("") {
		return nil, fmt.Errorf("modules: target %q: this build of Wasmtime compiles only for %s", ec.Target, targetTriple(""))
	}
	if ec.PoolSize <= 0 {
		ec.PoolSize = DefaultPoolSize
	}
	if ec.MaxMemory <= 0 {
		ec.MaxMemory = DefaultMaxMemory
	}
	if ec.MaxOutput <= 0 {
		ec.MaxOutput = DefaultMaxOutput
	}
	if ec.MaxOutput > MaxOutputCeiling {
		return nil, fmt.Errorf("modules: max output %d bytes: at most %d (1 GiB)", ec.MaxOutput, MaxOutputCeiling)
	}
	if ec.KeepResident <= 0 {
		ec.KeepResident = DefaultKeepResident
	}
	switch ec.OptLevel {
	case "":
		ec.OptLevel = "speed"
	case "speed", "none":
	default:
		return nil, fmt.Errorf("modules: opt level %q: use speed or none", ec.OptLevel)
	}
	c, err := newCEngine(cEngineConfig{optimize: ec.OptLevel == "speed", pooling: true, poolSize: ec.PoolSize, maxMemory: ec.MaxMemory, keepResident: ec.KeepResident, noCoW: tw.noCoW, noDirtyReset: ec.FullSlotReset, noWarm: tw.noWarm})
	if err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	e := &Engine{
		c:           c,
		log:         ec.Log.With("component", "modules"),
		cfg:         ec,
		fingerprint: fingerprint(ec.OptLevel),
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	// Without PAGEMAP_SCAN (Linux before 6.7) each run's slot is reset by
	// copying all its kept memory back: 2.4 MiB for a Go snapshot.
	e.log.Debug("engine ready", "dirty_page_reset", c.dirtyReset, "keep_resident", ec.KeepResident)
	go e.tick()
	return e, nil
}

// disableErrorBacktraces stops Wasmtime capturing a Rust backtrace for
// every error it returns. With RUST_BACKTRACE=1 in the environment (common
// on developer machines) each guest exit through proc_exit, as every Go
// guest does, paid for a backtrace, and the first one in a process paid
// ~50 ms to load debug information. RUST_LIB_BACKTRACE governs only error
// values, so a Wasmtime panic still prints its backtrace. An operator who
// sets RUST_LIB_BACKTRACE explicitly keeps their choice.
func disableErrorBacktraces() {
	if _, set := os.LookupEnv("RUST_LIB_BACKTRACE"); !set {
		_ = os.Setenv("RUST_LIB_BACKTRACE", "0")
	}
}

// MaxMemory is the most linear memory a guest of this engine may have.
func (e *Engine) MaxMemory() int64 { return e.cfg.MaxMemory }

// DirtyPageReset reports whether pool slots are reset by the pages their
// guest wrote (Wasmtime's PAGEMAP_SCAN, see pagemap.c) rather than by
// copying all of their kept memory back.
func (e *Engine) DirtyPageReset() bool { return e.c.dirtyReset }

// MaxOutput is the most output a guest of this engine may write.
func (e *Engine) MaxOutput() int64 { return e.cfg.MaxOutput }

// tick advances the epochs of the request engine and, once made, the
// snapshot engine: at each tick a running guest checks its deadline and
// cancellation (edge_epoch_expired in deadline.c). After idleTicks ticks
// with no run under way it stops until enter wakes it: a run's epoch
// deadline is one tick past the epoch it starts at, so a run that finds
// the ticker stopped is still checked one EpochTick after it restarts.
// Under load it never stops, so requests pay no wake-ups.
func (e *Engine) tick() {
	defer close(e.done)
	t := time.NewTicker(EpochTick)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.ticks.Add(1)
			e.c.incrementEpoch()
			if s := e.snap.Load(); s != nil {
				s.incrementEpoch()
			}
			running.check()
		}
		if e.busy.Load() != 0 {
			idle = 0
			continue
		}
		if idle++; idle < idleTicks {
			continue
		}
		idle = 0
		if !e.pauseUntilRun(t) {
			return
		}
	}
}

// pauseUntilRun stops t until a run enters; it reports false once the
// engine is closed. paused is set before busy is read and read by enter
// after busy is raised, so either the ticker sees the run or the run
// sees the pause.
func (e *Engine) pauseUntilRun(t *time.Ticker) bool {
	e.paused.Store(true)
	defer e.paused.Store(false)
	if e.busy.Load() != 0 {
		return true
	}
	t.Stop()
	select {
	case <-e.stop:
		return false
	case <-e.wake:
	}
	t.Reset(EpochTick)
	return true
}

// enter marks a run under way until leave; the first one wakes the
// ticker if it is paused. A wake sent as a pause was called off (the
// ticker saw this run) waits in the channel and only shortens the next
// pause to nothing: idleTicks more ticks.
func (e *Engine) enter() {
	if e.busy.Add(1) == 1 && e.paused.Load() {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

func (e *Engine) leave() { e.busy.Add(-1) }

// Close stops the epoch ticker. It is safe to call more than once. The C
// engine is kept: modules compiled by it may still be referenced, and a
// node has one engine for its lifetime.
func (e *Engine) Close() {
	e.stopOnce.Do(func() {
		close(e.stop)
		<-e.done
	})
}
