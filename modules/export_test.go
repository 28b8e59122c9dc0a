package modules

// NewEngineNoCoW is an engine without copy-on-write memory images, for
// benchmarks that measure what the images save.
func NewEngineNoCoW() (*Engine, error) { return newEngine(EngineConfig{}, engineTweaks{noCoW: true}) }

// DirtyResetSafe reports whether this machine allows the dirty-page
// reset: PAGEMAP_SCAN and no swap.
func DirtyResetSafe() bool { return dirtyResetSafe() }

// SwapInUse is swapInUse, for its test.
var SwapInUse = swapInUse
