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
