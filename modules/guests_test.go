package modules_test

import (
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// WAT guests for tests. Each is a WASI command; the hostile ones misbehave
// in one specific way so a test can check the status it earns.
const (
	// watPrint writes a fixed CGI response with one fd_write.
	watPrint = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nhello")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 31))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`

	// watLoop never returns.
	watLoop = `(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))`

	// watTrap reaches unreachable.
	watTrap = `(module (memory (export "memory") 1) (func (export "_start") unreachable))`

	// watGrow grows memory one page at a time until refused, then traps.
	watGrow = `(module (memory (export "memory") 1)
  (func (export "_start")
    (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))`

	// watFlood writes the same 64 KiB to stdout forever (until a write fails).
	watFlood = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop (br_if 0 (i32.eqz (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))))`

	// watEcho copies stdin to stdout after a CGI header, 4 KiB at a time.
	watEcho = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Content-Type: application/octet-stream\n\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 40))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop
      (i32.store (i32.const 16) (i32.const 4096))
      (i32.store (i32.const 20) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
      (if (i32.gt_u (i32.load (i32.const 24)) (i32.const 0))
        (then
          (i32.store (i32.const 28) (i32.load (i32.const 24)))
          (i32.store (i32.const 16) (i32.const 4096))
          (i32.store (i32.const 20) (i32.load (i32.const 24)))
          (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
          (br 1))))))`
)

// wasm converts a WAT guest to wasm bytes or fails the test.
func wasm(t testing.TB, wat string) []byte {
	t.Helper()
	b, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatalf("wat2wasm: %v", err)
	}
	return b
}
