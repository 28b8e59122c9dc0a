package modules_test

import (
	"context"
	"reflect"
	"runtime"
	"syscall"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// watScatter is an edge ABI reactor whose requests write one byte in
// every eighth page of its 4 MiB snapshot, after reading it: 128 separate
// runs of written pages, four times what Wasmtime's dirty-page reset
// reads from the kernel in one scan, so without a plan (warm.c) each
// request after the first faults ~96 pages in twice (a read, then a
// copy-on-write). Init fills the memory, so all of it is the snapshot's
// image. A request answers "dirty" if it finds a byte an earlier request
// wrote.
const watScatter = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
  (data (i32.const 0) "cleandirty")
  (func (export "_initialize")
    (memory.fill (i32.const 4096) (i32.const 0x5a) (i32.const 0x3ff000)))
  (func (export "edge_handle") (result i32)
    (local $i i32) (local $at i32) (local $ok i32)
    (local.set $ok (i32.const 1))
    (loop $pages
      (local.set $at (i32.add (i32.const 0x8064) (i32.mul (local.get $i) (i32.const 0x8000))))
      (local.set $ok (i32.and (local.get $ok) (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x5a))))
      (i32.store8 (local.get $at) (i32.const 0xee))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $pages (i32.lt_u (local.get $i) (i32.const 127))))
    (drop (call $respond (i32.const 200) (i32.const 0) (i32.const 0)
      (select (i32.const 0) (i32.const 5) (local.get $ok)) (i32.const 5)))
    (i32.const 0)))`

// TestWarmPlanKeepsWritesPrivate: a module whose requests write many
// separate pages gets a plan within its first runs; from then on a
// request in a warm slot takes (almost) no page faults, where the same
// module without plans takes ~190; and no request ever sees what an
// earlier one wrote.
func TestWarmPlanKeepsWritesPrivate(t *testing.T) {
	withPlan, err := modules.NewEngineWith(modules.EngineConfig{PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(withPlan.Close)
	if !withPlan.DirtyPageReset() {
		m := preinitWAT(t, withPlan, watScatter)
		if pages, _, _ := modules.WarmPlan(m); pages != 0 {
			t.Fatalf("a plan of %d pages without the dirty-page reset", pages)
		}
		t.Skip("no dirty-page reset here (PAGEMAP_SCAN, Linux 6.7+, no swap): plans are off")
	}
	noPlan, err := modules.NewEngineNoWarm()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(noPlan.Close)

	faults := func(e *modules.Engine) (int64, *modules.Module) {
		m := preinitWAT(t, e, watScatter)
		for i := range 10 { // learn, and warm a slot
			runScatter(t, e, m, i)
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		before := threadFaults(t)
		for i := range 20 {
			runScatter(t, e, m, i)
		}
		return (threadFaults(t) - before) / 20, m
	}
	with, m := faults(withPlan)
	without, _ := faults(noPlan)
	pages, spans, learnt := modules.WarmPlan(m)
	t.Logf("page faults per request: %d with a plan (%d pages in %d runs, %d scans), %d without", with, pages, spans, learnt, without)
	if spans == 0 || spans > 20 || pages < 127 {
		t.Fatalf("plan of %d pages in %d runs: want the 127 written pages in at most 20 runs", pages, spans)
	}
	if without < 100 {
		t.Fatalf("%d faults per request without a plan: the guest no longer shows the problem", without)
	}
	if with*10 > without {
		t.Fatalf("%d faults per request with a plan, %d without: the plan does not keep the pages private", with, without)
	}
}

func preinitWAT(t *testing.T, e *modules.Engine, wat string) *modules.Module {
	t.Helper()
	p, err := e.Preinit("scatter.wasm", wasm(t, wat), modules.Recipe{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile("scatter.wasm", p.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func runScatter(t *testing.T, e *modules.Engine, m *modules.Module, i int) {
	t.Helper()
	resp, out, err := e.RunEdge(context.Background(), m, edgeGet(t), modules.Limits{})
	if err != nil {
		t.Fatalf("run %d: %v (log %q)", i, err, out.Stderr)
	}
	if string(resp.Body) != "clean" {
		t.Fatalf("run %d found memory written by an earlier run: %q", i, resp.Body)
	}
}

// threadFaults is the calling thread's minor page faults so far.
func threadFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestWarmMerge: runs are sorted, joined where they overlap or touch, and
// then across the narrowest gaps until few enough are left (of equal
// gaps, the first ones are kept).
func TestWarmMerge(t *testing.T) {
	for _, c := range []struct {
		in   [][2]uint32
		max  int
		want [][2]uint32
	}{
		{nil, 4, nil},
		{[][2]uint32{{10, 2}}, 4, [][2]uint32{{10, 2}}},
		{[][2]uint32{{20, 1}, {10, 2}, {12, 3}, {11, 1}}, 4, [][2]uint32{{10, 5}, {20, 1}}},
		{[][2]uint32{{0, 1}, {3, 1}, {10, 1}, {12, 1}}, 2, [][2]uint32{{0, 4}, {10, 3}}},
		{[][2]uint32{{0, 1}, {2, 1}, {4, 1}, {6, 1}}, 3, [][2]uint32{{0, 1}, {2, 1}, {4, 3}}},
		{[][2]uint32{{0, 1}, {5, 1}, {100, 4}}, 1, [][2]uint32{{0, 104}}},
		{[][2]uint32{{5, 10}, {0, 20}}, 4, [][2]uint32{{0, 20}}},
	} {
		got := modules.WarmMerge(c.in, c.max)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("merge %v into %d: %v, want %v", c.in, c.max, got, c.want)
		}
	}
}
