package modules_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// mappings is how many memory mappings this process has.
func mappings(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	return bytes.Count(b, []byte("\n"))
}

// An engine's pool must not map fiber stacks the node never uses: with
// Wasmtime's default of 1,000 stacks each engine took ~2,000 of the
// kernel's 65,530 mappings per process, and a test binary with a few dozen
// engines aborted inside Wasmtime ("failed to protect stack guard page").
func TestEngineMapsFewRegions(t *testing.T) {
	before := mappings(t)
	e, err := modules.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m := compile(t, e, `(module (memory (export "memory") 1) (func (export "_start")))`)
	defer m.Close()
	if added := mappings(t) - before; added > 200 {
		t.Fatalf("an engine added %d memory mappings, want at most 200", added)
	}
}
