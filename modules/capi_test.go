package modules_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wasmtimeGo is the module whose static library, and headers, the package
// links against.
const wasmtimeGo = "github.com/bytecodealliance/wasmtime-go/v39"

// TestCAPIMatchesWasmtimeHeaders compiles testdata/capi_check.c, which
// includes Wasmtime's headers as shipped in the wasmtime-go module and then
// capi.h, so that a declaration in capi.h that drifted from Wasmtime's (a
// changed prototype, struct layout or constant) fails here instead of
// corrupting memory at run time. It fails, never skips, when there is no C
// compiler: cgo needs one to build this package anyway.
func TestCAPIMatchesWasmtimeHeaders(t *testing.T) {
	cc := cCompiler(t)
	include := filepath.Join(moduleDir(t, wasmtimeGo), "build", "include")
	args := append(cc[1:],
		"-fsyntax-only",
		"-Wall", "-Wextra", "-Wstrict-prototypes", "-Werror",
		"-isystem", include, // Wasmtime's own headers: their warnings are not ours
		"-I", ".", // capi.h
		filepath.Join("testdata", "capi_check.c"),
	)
	out, err := exec.Command(cc[0], args...).CombinedOutput()
	if err != nil {
		t.Fatalf("capi.h does not match Wasmtime's headers in %s (%v); fix the declarations in capi.h:\n%s", include, err, out)
	}
}

// cCompiler is the C compiler cgo uses (go env CC), with its arguments.
func cCompiler(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "CC").Output()
	if err != nil {
		t.Fatalf("go env CC: %v", err)
	}
	cc := strings.Fields(string(out))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Fatalf("no C compiler %q to check capi.h against Wasmtime's headers (install gcc, or set CC): %v", cc[0], err)
	}
	return cc
}

// moduleDir is where the go command keeps module path's source.
func moduleDir(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("go list -m %s: no module directory (%v); run go mod download", path, err)
	}
	return dir
}
