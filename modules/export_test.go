package modules

// NewEngineNoCoW is an engine without copy-on-write memory images, for
// benchmarks that measure what the images save.
func NewEngineNoCoW() (*Engine, error) { return newEngine(EngineConfig{}, engineTweaks{noCoW: true}) }

// NewEngineNoWarm is an engine whose modules get no plan of pages kept
// private to their slots (warm.c), for tests that compare.
func NewEngineNoWarm() (*Engine, error) { return newEngine(EngineConfig{}, engineTweaks{noWarm: true}) }

// DirtyResetSafe reports whether this machine allows the dirty-page
// reset: PAGEMAP_SCAN and no swap.
func DirtyResetSafe() bool { return dirtyResetSafe() }

// SwapInUse is swapInUse, for its test.
var SwapInUse = swapInUse

// WarmPlan reports m's plan of pages kept private to its slots (warm.c):
// pages covered, runs, scans merged.
func WarmPlan(m *Module) (pages, spans int, learnt uint64) { return m.c.warmPlan() }

// WarmMerge is warmMerge, for its test.
var WarmMerge = warmMerge

// UsesWASIContext reports whether m's stores get Wasmtime's WASI context
// (edge_needs_wasi in capi.c).
func UsesWASIContext(m *Module) bool { return !m.c.noWASI }

// WatchedRuns is how many runs the cancellation watch holds.
func WatchedRuns() int {
	running.mu.Lock()
	defer running.mu.Unlock()
	return len(running.runs)
}

// Ticks is how many epoch ticks the engine's ticker has made.
func (e *Engine) Ticks() uint64 { return e.ticks.Load() }

const IdleTicks = idleTicks
