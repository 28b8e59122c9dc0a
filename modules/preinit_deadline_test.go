package modules_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// TestPreinitInitStoppedInHostCalls: init runs in the snapshot engine,
// whose WASI is a request's (deadline.c) with only random and clocks made
// deterministic. An init that sleeps or draws random bytes in one long host
// call is stopped at the recipe's deadline as a request is, instead of
// holding the deploy for the whole sleep (Wasmtime's poll_oneoff) or
// filling 128 MiB deaf to the deadline.
func TestPreinitInitStoppedInHostCalls(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name, wat string
		lim       modules.Limits
	}{
		{"poll_oneoff", `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize")` + fmt.Sprintf(pollSub, 1, int64(longSleep), 0) + `))`,
			modules.Limits{Timeout: 100 * time.Millisecond}},
		{"random_get", `(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (memory (export "memory") 2048)
  (func (export "_initialize") (drop (call $r (i32.const 0) (i32.const 134217728)))))`,
			modules.Limits{Timeout: 10 * time.Millisecond, Memory: 128 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := e.Preinit("hostile.wasm", wasm(t, tt.wat), modules.Recipe{Limits: tt.lim})
			if !errors.Is(err, modules.ErrPreinit) || !errors.Is(err, modules.ErrDeadline) {
				t.Fatalf("err %v, want ErrPreinit and ErrDeadline", err)
			}
			if took := time.Since(start); took >= longSleep {
				t.Errorf("took %v: init outlasted its deadline", took)
			}
		})
	}
}
