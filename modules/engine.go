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

	target      string // "" for this host
	fingerprint [32]byte

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// EngineConfig configures NewEngineWith. The zero value is this host.
type EngineConfig struct {
	Log *slog.Logger
	// Target is a target triple such as "aarch64-unknown-linux-gnu" to
	// compile for another machine. Such an engine compiles and serializes
	// but cannot run anything. Empty means this host.
	Target string
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
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	cfg.SetCraneliftOptLevel(wasmtime.OptLevelSpeed)
	if ec.Target != "" {
		if err := cfg.SetTarget(ec.Target); err != nil {
			return nil, fmt.Errorf("modules: target %q: %w", ec.Target, err)
		}
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
		target:      ec.Target,
		fingerprint: fingerprint(ec.Target),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	if ec.Target == "" {
		go e.tick()
	} else {
		close(e.done)
	}
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
