package modules

// NewEngineNoCoW is an engine without copy-on-write memory images, for
// benchmarks that measure what the images save.
func NewEngineNoCoW() (*Engine, error) { return newEngine(EngineConfig{}, engineTweaks{noCoW: true}) }

// NewEngineFullReset is an engine whose pool slots are reset by copying
// all their kept memory back (Wasmtime's default), for benchmarks that
// measure what the dirty-page reset saves.
func NewEngineFullReset() (*Engine, error) {
	return newEngine(EngineConfig{}, engineTweaks{noDirtyReset: true})
}

// PagemapScanSupported reports whether this kernel has PAGEMAP_SCAN.
func PagemapScanSupported() bool { return pagemapScanSupported() }
