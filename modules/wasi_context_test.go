package modules_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// watExit prints a CGI response, then calls proc_exit with the status in
// %s; watExitPrestat does the same after asking Wasmtime's own WASI for
// fd 3's preopen (which exists in no store of ours: EBADF, 8), and traps
// if the answer is anything else.
const (
	watExit = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nbye")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 29))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const %s))
    unreachable))`
	watExitPrestat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nbye")
  (func (export "_start")
    (if (i32.ne (call $prestat (i32.const 3) (i32.const 64)) (i32.const 8)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 29))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const %s))
    unreachable))`
)

// sharedEngine is one engine for the tests that need nothing special of
// theirs. Each engine holds ~2,000 memory mappings until the process
// ends, whatever its pool size, and the package's tests together come
// close to the kernel's limit (vm.max_map_count, 65,530): a new test
// should share this one rather than add an engine.
var sharedEngine = sync.OnceValues(func() (*modules.Engine, error) { return modules.NewEngine(nil) })

func shared(t testing.TB) *modules.Engine {
	t.Helper()
	e, err := sharedEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestWASIContext: which stores get Wasmtime's WASI context, and proc_exit
// in stores with and without one.
func TestWASIContext(t *testing.T) {
	e := shared(t)
	t.Run("only where imported", func(t *testing.T) { testWASIContextOnlyWhereImported(t, e) })
	t.Run("proc_exit", func(t *testing.T) { testProcExitWithAndWithoutWASIContext(t, e) })
}

// testWASIContextOnlyWhereImported: a store gets Wasmtime's WASI context
// only for a module that imports one of Wasmtime's own WASI functions;
// the demo's C guests, WAGI and edge ABI, import only functions the node
// serves itself, so their stores are made without one.
func testWASIContextOnlyWhereImported(t *testing.T, e *modules.Engine) {
	tests := []struct {
		name string
		m    *modules.Module
		want bool
	}{
		{"fd_write only", compile(t, e, watPrint), false},
		{"proc_exit", compile(t, e, strings.Replace(watExit, "%s", "0", 1)), false},
		{"fd_prestat_get", compile(t, e, strings.Replace(watExitPrestat, "%s", "0", 1)), true},
		{"C WAGI hello", compileDemo(t, e, "hello.wasm"), false},
		{"C edge ABI hello", compileDemo(t, e, "hello-edge.wasm"), false},
		{"Go WAGI hello", compileDemo(t, e, "hello-go.wasm"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			if got := modules.UsesWASIContext(m); got != tt.want {
				t.Errorf("uses a WASI context = %v, want %v", got, tt.want)
			}
		})
	}
}

// testProcExitWithAndWithoutWASIContext: proc_exit is the node's own in
// every store: status 0 is success with the output kept, any other status
// fails as a trap that names it, whether or not the store has Wasmtime's
// WASI context.
func testProcExitWithAndWithoutWASIContext(t *testing.T, e *modules.Engine) {
	lim := modules.Limits{Memory: 4 << 20, Timeout: 5 * time.Second, MaxOutput: 1 << 20}
	for _, wat := range []string{watExit, watExitPrestat} {
		for _, status := range []string{"0", "3"} {
			m := compile(t, e, strings.Replace(wat, "%s", status, 1))
			name := "without WASI context"
			if modules.UsesWASIContext(m) {
				name = "with WASI context"
			}
			t.Run(name+"/status "+status, func(t *testing.T) {
				out, err := e.Run(context.Background(), m, &modules.Command{Args: []string{"x"}}, lim)
				if !strings.HasSuffix(string(out.Stdout), "bye") {
					t.Errorf("stdout %q, want the response written before exit", out.Stdout)
				}
				if status == "0" {
					if err != nil {
						t.Fatalf("exit 0: %v", err)
					}
					return
				}
				if !errors.Is(err, modules.ErrTrap) || !strings.Contains(err.Error(), "exited with status 3") {
					t.Fatalf("exit 3: err = %v, want ErrTrap naming the status", err)
				}
			})
		}
	}
}
