package modules_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// The sleepers below ask for a long sleep (longSleep) on routes with a
// short timeout: before the deadline reached host calls, each slept it all
// and answered 200. A sleep this long never ends inside a test run, so a
// run that returns at all ended at the deadline.
const longSleep = 30 * time.Second

// pollSub writes one clock subscription at address 0 (userdata 42, clock
// id, timeout, flags) and polls it into an event at 64, nevents at 128;
// the guest traps unless exactly the one event came back, without error.
const pollSub = `
    (i64.store (i32.const 0) (i64.const 42))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const %d))
    (i64.store (i32.const 24) (i64.const %d))
    (i32.store16 (i32.const 40) (i32.const %d))
    (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 128)) (i32.const 1)) (then unreachable))
    (if (i64.ne (i64.load (i32.const 64)) (i64.const 42)) (then unreachable))
    (if (i32.load16_u (i32.const 72)) (then unreachable))`

// watSleeper is a WAGI guest that sleeps in poll_oneoff (clock id,
// timeout in ns, flags: 1 for an absolute time), then answers "slept".
func watSleeper(clock int, timeout int64, flags int) string {
	return `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "Content-Type: text/plain\n\nslept")
  (func (export "_start")` + fmt.Sprintf(pollSub, clock, timeout, flags) + `
    (i32.store (i32.const 144) (i32.const 256)) (i32.store (i32.const 148) (i32.const 31))
    (drop (call $w (i32.const 1) (i32.const 144) (i32.const 1) (i32.const 152)))))`
}

// watEdgeSleeper is an edge ABI guest that sleeps in poll_oneoff, then
// responds.
func watEdgeSleeper(timeout int64) string {
	return `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "Content-Type: text/plain\n")
  (func (export "edge_handle") (result i32)` + fmt.Sprintf(pollSub, 1, timeout, 0) + `
    (drop (call $respond (i32.const 200) (i32.const 256) (i32.const 25) (i32.const 0) (i32.const 0)))
    (i32.const 0)))`
}

// watYielder spins on sched_yield.
const watYielder = `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop (drop (call $yield)) (br 0))))`

// watRandomBig asks random_get for 128 MiB at once: Wasmtime's own took
// 7 s, deaf to the deadline.
const watRandomBig = `(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (memory (export "memory") 2048)
  (func (export "_start") (drop (call $r (i32.const 0) (i32.const 134217728)))))`

// watRandom fills 32 bytes with random_get and answers "random" unless
// they are all zero.
const watRandom = `(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "Content-Type: text/plain\n\nrandom")
  (func (export "_start")
    (if (call $r (i32.const 64) (i32.const 32)) (then unreachable))
    (if (i64.eqz (i64.or (i64.or (i64.load (i32.const 64)) (i64.load (i32.const 72)))
                         (i64.or (i64.load (i32.const 80)) (i64.load (i32.const 88))))) (then unreachable))
    (i32.store (i32.const 300) (i32.const 512)) (i32.store (i32.const 304) (i32.const 32))
    (drop (call $w (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 308)))))`

// watStdinOrSleep polls stdin for reading and a long clock at once: stdin
// lives in memory, so the poll returns at once with the stdin event.
const watStdinOrSleep = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "Content-Type: text/plain\n\nready")
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 7))
    (i32.store8 (i32.const 8) (i32.const 1))
    (i32.store (i32.const 16) (i32.const 0))
    (i64.store (i32.const 48) (i64.const 8))
    (i32.store8 (i32.const 56) (i32.const 0))
    (i32.store (i32.const 64) (i32.const 1))
    (i64.store (i32.const 72) (i64.const 30000000000))
    (if (call $poll (i32.const 0) (i32.const 128) (i32.const 2) (i32.const 256)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 256)) (i32.const 1)) (then unreachable))
    (if (i64.ne (i64.load (i32.const 128)) (i64.const 7)) (then unreachable))
    (if (i64.ne (i64.load (i32.const 144)) (i64.const 5)) (then unreachable))
    (i32.store (i32.const 300) (i32.const 512)) (i32.store (i32.const 304) (i32.const 31))
    (drop (call $w (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 308)))))`

// TestSleepEndsAtDeadline: a guest sleeping in a host call is stopped at
// its deadline with ErrDeadline, whichever clock and form it sleeps on.
func TestSleepEndsAtDeadline(t *testing.T) {
	e := newEngine(t)
	lim := modules.Limits{Timeout: 200 * time.Millisecond}
	abs := time.Now().Add(longSleep).UnixNano()
	for _, tc := range []struct{ name, wat string }{
		{"relative monotonic", watSleeper(1, int64(longSleep), 0)},
		{"relative realtime", watSleeper(0, int64(longSleep), 0)},
		{"absolute realtime", watSleeper(0, abs, 1)},
		{"absolute monotonic", watSleeper(1, int64(longSleep), 1)},
		{"sched_yield", watYielder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.Run(context.Background(), compile(t, e, tc.wat), &modules.Command{}, lim)
			if !errors.Is(err, modules.ErrDeadline) {
				t.Fatalf("err = %v, want ErrDeadline", err)
			}
			if out.Duration >= longSleep {
				t.Errorf("ran %v: the sleep outlasted the deadline", out.Duration)
			}
		})
	}
	t.Run("random_get", func(t *testing.T) {
		lim := modules.Limits{Timeout: 10 * time.Millisecond, Memory: 128 << 20}
		if _, err := e.Run(context.Background(), compile(t, e, watRandomBig), &modules.Command{}, lim); !errors.Is(err, modules.ErrDeadline) {
			t.Fatalf("err = %v, want ErrDeadline", err)
		}
	})
	t.Run("edge ABI", func(t *testing.T) {
		req := modules.EdgeRequest(httptest.NewRequest("GET", "/", nil), nil)
		_, _, err := e.RunEdge(context.Background(), compile(t, e, watEdgeSleeper(int64(longSleep))), req, lim)
		if !errors.Is(err, modules.ErrDeadline) {
			t.Fatalf("err = %v, want ErrDeadline", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := e.Run(ctx, compile(t, e, watSleeper(1, int64(longSleep), 0)), &modules.Command{}, modules.Limits{Timeout: time.Minute})
		if !errors.Is(err, modules.ErrDeadline) {
			t.Fatalf("err = %v, want ErrDeadline", err)
		}
	})
}

// TestSleepWithinDeadline: sleeps shorter than the time left, and polls
// that are ready at once, return normally.
func TestSleepWithinDeadline(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct{ name, wat, body string }{
		{"short sleep", watSleeper(1, int64(10*time.Millisecond), 0), "slept"},
		{"absolute time passed", watSleeper(0, 1, 1), "slept"},
		{"stdin ready before the clock", watStdinOrSleep, "ready"},
		{"random_get", watRandom, "random"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.Run(context.Background(), compile(t, e, tc.wat), &modules.Command{Stdin: []byte("hello")}, modules.Limits{Timeout: time.Minute})
			if err != nil {
				t.Fatalf("%v; stderr %q", err, out.Stderr)
			}
			if want := "Content-Type: text/plain\n\n" + tc.body; string(out.Stdout) != want {
				t.Errorf("stdout %q, want %q", out.Stdout, want)
			}
		})
	}
}

// TestCancelStopsGuest: cancelling the request's context stops its guest
// with ErrCanceled, whether it sleeps in a host call or spins in wasm.
func TestCancelStopsGuest(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct{ name, wat string }{
		{"sleeping", watSleeper(1, int64(longSleep), 0)},
		{"spinning", watLoop},
		{"yielding", watYielder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			out, err := e.Run(ctx, compile(t, e, tc.wat), &modules.Command{}, modules.Limits{Timeout: 2 * longSleep})
			if !errors.Is(err, modules.ErrCanceled) {
				t.Fatalf("err = %v, want ErrCanceled", err)
			}
			if out.Duration >= longSleep {
				t.Errorf("ran %v after its cancellation", out.Duration)
			}
		})
	}
	t.Run("before the start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.Run(ctx, compile(t, e, watPrint), &modules.Command{}, modules.Limits{})
		if !errors.Is(err, modules.ErrCanceled) {
			t.Fatalf("err = %v, want ErrCanceled", err)
		}
	})
}
