package js_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/edgecdn/edge/modules/js"
	"github.com/edgecdn/edge/modules/wasmbin"
)

// TestEngineDigest: the committed engine decompresses to the bytes
// digest.go names (a stale digest would key snapshots wrongly), and it is
// an edge ABI reactor.
func TestEngineDigest(t *testing.T) {
	b, err := js.Wasm()
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(b) != js.Digest() {
		t.Fatal("engine.wasm.gz does not match digest.go: run go generate ./modules/js")
	}
	init, err := wasmbin.FindInit(b)
	if err != nil || init != "_initialize" {
		t.Fatalf("init export %q, %v; want _initialize", init, err)
	}
	if !bytes.Contains(b, []byte("edge_handle")) {
		t.Fatal("the engine does not export edge_handle")
	}
}

// TestEngineReproducible rebuilds the engine from guest/ as go generate
// does and compares it with the committed one. It needs goja from the
// module proxy and a minute or more of build, so it runs when
// EDGE_JS_REBUILD=1 is set; the bytes are the same only with the Go
// version that built the committed engine (go.mod's toolchain line).
func TestEngineReproducible(t *testing.T) {
	if os.Getenv("EDGE_JS_REBUILD") != "1" {
		t.Skip("set EDGE_JS_REBUILD=1 to rebuild the JavaScript engine and compare it with engine.wasm.gz")
	}
	out := filepath.Join(t.TempDir(), "engine.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = "guest"
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != js.Digest() {
		t.Fatal("a rebuild differs from engine.wasm.gz: run go generate ./modules/js (and check the Go version)")
	}
}
