package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Module is a compiled guest, shared by every request that runs it.
type Module struct {
	engine *Engine
	name   string
	digest string
	wt     *wasmtime.Module
}

// Name is the name the module was compiled under (its file name in an app).
func (m *Module) Name() string { return m.name }

// Engine is the engine that compiled m; only its stores can run m.
func (m *Module) Engine() *Engine { return m.engine }

// Digest is the hex sha256 of the module's wasm bytes.
func (m *Module) Digest() string { return m.digest }

// Compile validates and compiles wasm. The name only labels errors and logs.
// A module that is not valid wasm, or that is not a WASI command (no _start
// export), is refused with ErrInvalidModule and the engine's explanation.
func (e *Engine) Compile(name string, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	wt, err := wasmtime.NewModule(e.wt, wasm)
	if err != nil {
		return nil, fmt.Errorf("modules: compile %s: %w: %w", name, ErrInvalidModule, err)
	}
	if !exportsFunc(wt, "_start") {
		wt.Close()
		return nil, fmt.Errorf("modules: compile %s: %w: no exported _start function (a WAGI guest is a WASI command)", name, ErrInvalidModule)
	}
	return &Module{engine: e, name: name, digest: hex.EncodeToString(sum[:]), wt: wt}, nil
}

// Close releases the compiled code. Runs in flight keep it alive.
func (m *Module) Close() { m.wt.Close() }

func exportsFunc(m *wasmtime.Module, name string) bool {
	for _, ex := range m.Exports() {
		if ex.Name() == name && ex.Type().FuncType() != nil {
			return true
		}
	}
	return false
}

// Serialize returns m's compiled code, to be stored and loaded later by an
// engine with the same fingerprint.
func (m *Module) Serialize() ([]byte, error) {
	b, err := m.wt.Serialize()
	if err != nil {
		return nil, fmt.Errorf("modules: serialize %s: %w", m.name, err)
	}
	return b, nil
}

// Deserialize loads compiled code produced by Serialize. artifact must be a
// private copy that nothing will overwrite (Wasmtime copies it here, but
// the rule keeps every path safe). wasmDigest is the module's hex sha256.
// Foreign or damaged bytes are refused with ErrInvalidModule, never run.
func (e *Engine) Deserialize(name, wasmDigest string, artifact []byte) (*Module, error) {
	wt, err := wasmtime.NewModuleDeserialize(e.wt, artifact)
	if err != nil {
		return nil, fmt.Errorf("modules: load artifact of %s: %w: %w", name, ErrInvalidModule, err)
	}
	if !exportsFunc(wt, "_start") {
		wt.Close()
		return nil, fmt.Errorf("modules: load artifact of %s: %w: no _start export", name, ErrInvalidModule)
	}
	return &Module{engine: e, name: name, digest: wasmDigest, wt: wt}, nil
}

// DeserializeFile loads compiled code from a file by mapping it, the
// fastest way to start a large module. The file must never be written
// again while any module uses it (Wasmtime runs code from the mapping);
// cache.ArtifactFile provides files written once and renamed into place.
func (e *Engine) DeserializeFile(name, wasmDigest, path string) (*Module, error) {
	wt, err := wasmtime.NewModuleDeserializeFile(e.wt, path)
	if err != nil {
		return nil, fmt.Errorf("modules: load artifact of %s: %w: %w", name, ErrInvalidModule, err)
	}
	if !exportsFunc(wt, "_start") {
		wt.Close()
		return nil, fmt.Errorf("modules: load artifact of %s: %w: no _start export", name, ErrInvalidModule)
	}
	return &Module{engine: e, name: name, digest: wasmDigest, wt: wt}, nil
}
