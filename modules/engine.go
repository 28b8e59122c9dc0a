package modules

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// EpochTick is how often the engine's epoch advances. A guest's deadline is
// counted in ticks, so a deadline is honoured to within one tick.
const EpochTick = 5 * time.Millisecond

// Engine is the process's one Wasmtime engine. Modules compiled by it may be
// run concurrently from any goroutine; each run gets its own store.
type Engine struct {
	wt     *wasmtime.Engine
	linker *wasmtime.Linker
	log    *slog.Logger

	fingerprint [32]byte

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// EngineConfig configures NewEngineWith. The zero value is this host.
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
}

// NewEngine returns an engine for this host. See NewEngineWith.
func NewEngine(log *slog.Logger) (*Engine, error) {
	return NewEngineWith(EngineConfig{Log: log})
}

// NewEngineWith configures the engine (epoch interruption on, so a runaway
// guest can be stopped) and, for this host, starts the epoch ticker. Close
// stops it.
func NewEngineWith(ec EngineConfig) (*Engine, error) {
	if ec.Log == nil {
		ec.Log = slog.Default()
	}
	if ec.Target != "" && ec.Target != targetTriple("") {
		return nil, fmt.Errorf("modules: target %q: this build of Wasmtime compiles only for %s", ec.Target, targetTriple(""))
	}
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	switch ec.OptLevel {
	case "", "speed":
		ec.OptLevel = "speed"
		cfg.SetCraneliftOptLevel(wasmtime.OptLevelSpeed)
	case "none":
		cfg.SetCraneliftOptLevel(wasmtime.OptLevelNone)
	default:
		return nil, fmt.Errorf("modules: opt level %q: use speed or none", ec.OptLevel)
	}
	wt := wasmtime.NewEngineWithConfig(cfg)
	linker := wasmtime.NewLinker(wt)
	if err := linker.DefineWasi(); err != nil {
		return nil, fmt.Errorf("modules: define WASI: %w", err)
	}
	e := &Engine{
		wt:          wt,
		linker:      linker,
		log:         ec.Log.With("component", "modules"),
		fingerprint: fingerprint(ec.OptLevel),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go e.tick()
	return e, nil
}

// tick advances the epoch so that stores past their deadline trap.
func (e *Engine) tick() {
	defer close(e.done)
	t := time.NewTicker(EpochTick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.wt.IncrementEpoch()
		}
	}
}

// Close stops the epoch ticker. It is safe to call more than once. Modules
// must not be run after Close.
func (e *Engine) Close() {
	e.stopOnce.Do(func() {
		close(e.stop)
		<-e.done
	})
}

// deadlineTicks converts a timeout into an epoch deadline, rounding up and
// adding one tick because the current tick is already partly gone.
func deadlineTicks(timeout time.Duration) uint64 {
	return uint64((timeout+EpochTick-1)/EpochTick) + 1
}
