// Package js holds the node's JavaScript engine: goja
// (github.com/dop251/goja) compiled to an edge ABI reactor, whose source is
// in guest/ (its own Go module, so the node's go.mod does not depend on
// goja). Routes with executor = "js" run it pre-initialised with their
// script (docs/js.md).
//
// The engine is committed compressed (engine.wasm.gz), with its digest in
// digest.go, so `go build ./cmd/edge` needs nothing but Go; `go generate
// ./modules/js` (run by `make examples`) rebuilds both reproducibly.
package js

//go:generate go run ./internal/mkengine

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
)

//go:embed engine.wasm.gz
var engineGz []byte

// Name labels the engine in logs and errors.
const Name = "js-engine.wasm"

// Wasm returns the engine's wasm bytes, decompressed afresh on every call:
// a node needs them only to derive a snapshot (the compiled snapshot comes
// from the AOT cache afterwards), so they are not kept in memory.
func Wasm() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(engineGz))
	if err != nil {
		return nil, fmt.Errorf("js: engine: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("js: engine: %w", err)
	}
	return b, nil
}

// Digest is the SHA-256 of the engine's wasm bytes (not of the .gz).
func Digest() [32]byte { return engineDigest }
