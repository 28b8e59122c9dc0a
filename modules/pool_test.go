package modules_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// watSnoop looks at one address of its memory: it prints "clean" if the
// byte is zero and "dirty" otherwise, then writes a marker there. With
// any argument it then traps, leaving its slot mid-request. The address is
// its first argument, in the first page (reset in place) or far beyond the
// resident part (decommitted), so both ways a slot is cleaned are checked.
const watSnoop = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $asz (param i32 i32) (result i32)))
  (memory (export "memory") 64)
  (data (i32.const 16) "Content-Type: text/plain\n\ncleandirty")
  (global $addr (mut i32) (i32.const 1024))
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 26))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (local.get $ptr)) (i32.store (i32.const 4) (local.get $len))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (drop (call $asz (i32.const 100) (i32.const 104)))
    ;; argc 3 (module, "far", ...) means look 3 MiB in
    (if (i32.ge_u (i32.load (i32.const 100)) (i32.const 3)) (then (global.set $addr (i32.const 3145728))))
    (if (i32.load8_u (global.get $addr))
      (then (call $print (i32.const 47) (i32.const 5)))
      (else (call $print (i32.const 42) (i32.const 5))))
    (i32.store8 (global.get $addr) (i32.const 255))
    ;; argc 2 or 4 means trap now
    (if (i32.eq (i32.rem_u (i32.load (i32.const 100)) (i32.const 2)) (i32.const 0)) (then unreachable))))`

// TestPooledSlotsStartClean runs a guest that reports whether memory it
// is about to dirty is already dirty, many times on an engine with only two
// pool slots, alternating clean exits and traps: every run must find its
// memory zeroed, whatever the previous run in that slot did.
func TestPooledSlotsStartClean(t *testing.T) {
	e, err := modules.NewEngineWith(modules.EngineConfig{PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	m := compile(t, e, watSnoop)
	for i := 0; i < 200; i++ {
		args := []string{"snoop"}
		if i%4 >= 2 {
			args = append(args, "far", "x") // look 3 MiB in
		}
		trap := i%2 == 1
		if trap {
			args = append(args, "trap")
		}
		out, err := e.Run(context.Background(), m, &modules.Command{Args: args}, modules.Limits{})
		if trap != errors.Is(err, modules.ErrTrap) {
			t.Fatalf("run %d (args %v): err = %v, trap expected %v", i, args, err, trap)
		}
		if _, body, _ := bytes.Cut(out.Stdout, []byte("\n\n")); string(body) != "clean" {
			t.Fatalf("run %d (args %v) found memory left by an earlier run: %q", i, args, body)
		}
	}
}

// TestPoolHammer runs many goroutines through the pool at once (under
// -race in make test): every run succeeds and finds clean memory.
func TestPoolHammer(t *testing.T) {
	e := newEngine(t)
	good := compile(t, e, watPrint)
	snoop := compile(t, e, watSnoop)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if i%3 == 0 {
					out, err := e.Run(context.Background(), snoop, &modules.Command{Args: []string{"s"}}, modules.Limits{})
					if err != nil || !bytes.HasSuffix(out.Stdout, []byte("clean")) {
						errs <- fmt.Errorf("snoop: %v %q", err, out.Stdout)
						return
					}
					continue
				}
				out, err := e.Run(context.Background(), good, &modules.Command{}, modules.Limits{})
				if err != nil || !bytes.HasSuffix(out.Stdout, []byte("hello")) {
					errs <- fmt.Errorf("good: %v %q", err, out.Stdout)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRSSFlat runs many requests and checks the process's resident memory
// does not grow with them: every C-side resource of a run is freed. Set
// EDGE_SOAK_RUNS to run more (the figure is for 1,000,000).
func TestRSSFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100k guests")
	}
	runs := 100_000
	if n, err := strconv.Atoi(os.Getenv("EDGE_SOAK_RUNS")); err == nil {
		runs = n
	}
	e := newEngine(t)
	m := compile(t, e, watPrint)
	work := func(n int) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/4; i++ {
					if _, err := e.Run(context.Background(), m, &modules.Command{Args: []string{"x"}, Env: [][2]string{{"A", "b"}}, Stdin: []byte("in")}, modules.Limits{}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	work(runs / 10) // warm up pools and caches
	runtime.GC()
	before := rssKiB(t)
	work(runs)
	runtime.GC()
	after := rssKiB(t)
	t.Logf("RSS after warm-up %d KiB, after %d more runs %d KiB", before, runs, after)
	if after > before+32*1024 {
		t.Errorf("RSS grew by %d KiB over %d runs", after-before, runs)
	}
}

func rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}
