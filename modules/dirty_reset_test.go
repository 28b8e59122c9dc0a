package modules_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// watDirty is an edge ABI reactor for the dirty-page reset. Its init
// writes a pattern into two pages (so its snapshot has an image with a
// zero page inside it); each request checks that every place an earlier
// request could have written holds what the snapshot holds, answers
// "clean" or "dirty", then writes over all of them: the image's pages, the
// zero page inside the image, a page past the image, 40 pages written
// one in two (more separate runs of dirty pages than Wasmtime reads from
// the kernel in one go), and memory it grows by 12 MiB, both within the
// kept 8 MiB and beyond it.
const watDirty = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (data (i32.const 256) "cleandirty")
  (func (export "_initialize")
    (memory.fill (i32.const 0x10000) (i32.const 0x5a) (i32.const 4096))
    (memory.fill (i32.const 0x13000) (i32.const 0x5a) (i32.const 4096)))
  (func $is (param $addr i32) (param $want i32) (result i32)
    (i32.eq (i32.load8_u (local.get $addr)) (local.get $want)))
  (func (export "edge_handle") (result i32)
    (local $ok i32) (local $i i32)
    (local.set $ok (i32.and (i32.and
      (call $is (i32.const 0x10064) (i32.const 0x5a))
      (call $is (i32.const 0x11064) (i32.const 0)))
      (i32.and
      (call $is (i32.const 0x13064) (i32.const 0x5a))
      (call $is (i32.const 0x80000) (i32.const 0)))))
    (local.set $ok (i32.and (local.get $ok) (i32.eq (memory.size) (i32.const 16))))
    (loop $scan
      (local.set $ok (i32.and (local.get $ok)
        (call $is (i32.add (i32.const 0x20000) (i32.mul (local.get $i) (i32.const 8192))) (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $scan (i32.lt_u (local.get $i) (i32.const 40))))
    (drop (memory.grow (i32.const 192)))
    (local.set $ok (i32.and (local.get $ok) (i32.and
      (call $is (i32.const 0x100064) (i32.const 0))
      (call $is (i32.const 0xc00064) (i32.const 0)))))
    (drop (if (result i32) (local.get $ok)
      (then (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 256) (i32.const 5)))
      (else (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 261) (i32.const 5)))))
    (memory.fill (i32.const 0x10000) (i32.const 0xee) (i32.const 0x4000))
    (i32.store8 (i32.const 0x80000) (i32.const 0xee))
    (local.set $i (i32.const 0))
    (loop $dirty
      (i32.store8 (i32.add (i32.const 0x20000) (i32.mul (local.get $i) (i32.const 8192))) (i32.const 0xee))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $dirty (i32.lt_u (local.get $i) (i32.const 40))))
    (i32.store8 (i32.const 0x100064) (i32.const 0xee))
    (i32.store8 (i32.const 0xc00064) (i32.const 0xee))
    (i32.const 0)))`

// TestDirtyPageResetLeavesNothing runs watDirty's snapshot again and
// again on an engine of two pool slots: each run must find its memory as
// the snapshot left it, whichever way the reset took (dirty pages copied
// back from the image or zeroed, the rest of the slot decommitted).
func TestDirtyPageResetLeavesNothing(t *testing.T) {
	e, err := modules.NewEngineWith(modules.EngineConfig{PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	t.Logf("dirty-page reset: %v", e.DirtyPageReset())
	p, err := e.Preinit("dirty.wasm", wasm(t, watDirty), modules.Recipe{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile("dirty.wasm", p.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	req := edgeGet(t)
	for i := 0; i < 50; i++ {
		resp, out, err := e.RunEdge(context.Background(), m, req, modules.Limits{})
		if err != nil {
			t.Fatalf("run %d: %v (log %q)", i, err, out.Stderr)
		}
		if string(resp.Body) != "clean" {
			t.Fatalf("run %d found memory written by an earlier run: %q", i, resp.Body)
		}
	}
}

// TestDirtyPageResetInEffect checks that where the kernel has
// PAGEMAP_SCAN the engine turned Wasmtime's use of it on, and that
// Wasmtime really did: it opened the page map. This is what fails if a
// new Wasmtime moves the field pagemap.c sets.
func TestDirtyPageResetInEffect(t *testing.T) {
	e, err := modules.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if !modules.DirtyResetSafe() {
		if e.DirtyPageReset() {
			t.Fatal("dirty-page reset reported on a machine without PAGEMAP_SCAN or with swap on")
		}
		t.Log("no PAGEMAP_SCAN (Linux 6.7+) or swap on: slots are reset by copying")
		return
	}
	if !e.DirtyPageReset() {
		t.Fatal("the kernel has PAGEMAP_SCAN but the engine did not turn it on: has the pooling configuration's layout changed (pagemap.c)?")
	}
	if !pagemapOpen(t) {
		t.Fatal("Wasmtime did not open /proc/self/pagemap: the byte pagemap.c set is not pagemap_scan")
	}
	full, err := modules.NewEngineWith(modules.EngineConfig{FullSlotReset: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(full.Close)
	if full.DirtyPageReset() {
		t.Error("FullSlotReset: the engine still resets by dirty pages")
	}
}

// TestSwapTurnsDirtyResetOff: a page swapped out is not seen by the scan
// that picks the pages to reset, so any swap area listed in /proc/swaps
// keeps the dirty-page reset off.
func TestSwapTurnsDirtyResetOff(t *testing.T) {
	const header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	for _, tc := range []struct {
		swaps string
		want  bool
	}{
		{header, false},
		{"", false},
		{header + "/dev/vda3                               partition\t2097148\t\t0\t\t-2\n", true},
		{header + "/swapfile file 1048572 1024 -3\n/dev/zram0 partition 4194300 0 100\n", true},
	} {
		if got := modules.SwapInUse(tc.swaps); got != tc.want {
			t.Errorf("swapInUse(%q) = %v, want %v", tc.swaps, got, tc.want)
		}
	}
}

// pagemapOpen reports whether the process has its page map open.
func pagemapOpen(t *testing.T) bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasSuffix(target, "/pagemap") {
			return true
		}
	}
	return false
}
