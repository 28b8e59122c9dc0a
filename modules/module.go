package modules

import "fmt"

// Module is a compiled, pre-instantiated guest, shared by every request
// that runs it.
type Module struct {
	engine *Engine
	name   string
	c      *cModule
}

// Name is the name the module was compiled under (its file name in an app).
func (m *Module) Name() string { return m.name }

// Engine is the engine that compiled m; only its stores can run m.
func (m *Module) Engine() *Engine { return m.engine }

// Compile validates, compiles and pre-instantiates wasm. The name only
// labels errors and logs. A module that is not valid wasm, is not a WASI
// command (no _start export), or imports what the node does not provide is
// refused with ErrInvalidModule and the engine's explanation.
func (e *Engine) Compile(name string, wasm []byte) (*Module, error) {
	err := CheckMagic(wasm)
	var c *cModule
	if err == nil {
		c, err = e.c.compile(wasm)
	}
	if err != nil {
		return nil, fmt.Errorf("modules: compile %s: %w: %w", name, ErrInvalidModule, err)
	}
	return &Module{engine: e, name: name, c: c}, nil
}

// Exports reports whether m exports a function called name: how a loader
// checks a module suits its route's executor ("_start" for WAGI,
// "edge_handle" for the edge ABI).
func (m *Module) Exports(name string) bool { return m.c.exports(name) }

// Close releases the compiled code. It must not be called while the module
// may still run.
func (m *Module) Close() { m.c.close() }

// Serialize returns m's compiled code, to be stored and loaded later by an
// engine with the same fingerprint.
func (m *Module) Serialize() ([]byte, error) {
	b, err := m.c.serialize()
	if err != nil {
		return nil, fmt.Errorf("modules: serialize %s: %w", m.name, err)
	}
	return b, nil
}

// Deserialize loads compiled code produced by Serialize; Wasmtime copies
// the bytes. Foreign or damaged bytes are refused with ErrInvalidModule,
// never run.
func (e *Engine) Deserialize(name string, artifact []byte) (*Module, error) {
	c, err := e.c.deserialize(artifact)
	if err != nil {
		return nil, fmt.Errorf("modules: load artifact of %s: %w: %w", name, ErrInvalidModule, err)
	}
	return &Module{engine: e, name: name, c: c}, nil
}

// DeserializeFile loads compiled code from a file by mapping it, the
// fastest way to start a large module. The file must never be written
// again while any module uses it (Wasmtime runs code from the mapping);
// cache.ArtifactFile provides files written once and renamed into place.
func (e *Engine) DeserializeFile(name, path string) (*Module, error) {
	c, err := e.c.deserializeFile(path)
	if err != nil {
		return nil, fmt.Errorf("modules: load artifact of %s: %w: %w", name, ErrInvalidModule, err)
	}
	return &Module{engine: e, name: name, c: c}, nil
}
