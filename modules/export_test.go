package modules

// NewEngineNoCoW is an engine without copy-on-write memory images, for
// benchmarks that measure what the images save.
func NewEngineNoCoW() (*Engine, error) { return newEngine(EngineConfig{}, true) }
