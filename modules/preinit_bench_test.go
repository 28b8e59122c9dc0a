package modules_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// watBig is an edge ABI reactor whose init fills 20 MiB of memory with a
// non-zero pattern, so its snapshot carries 20 MiB of data segments; its
// handler answers at once.
const watBig = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 321)
  (func (export "_initialize") (memory.fill (i32.const 65536) (i32.const 0x5a) (i32.const 20971520)))
  (func (export "edge_handle") (result i32)
    (drop (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 65536) (i32.const 2)))
    (i32.const 0)))`

// BenchmarkInstantiateSnapshot runs a request through the snapshot of
// watBig, 20 MiB of initialised memory, with Wasmtime's copy-on-write
// memory images (the node's setting) and without them (every instance
// copies the data segments in): what cow-on costs is instantiation, not
// the image's size.
func BenchmarkInstantiateSnapshot(b *testing.B) {
	src := wasm(b, watBig)
	for _, tc := range []struct {
		name string
		new  func() (*modules.Engine, error)
	}{
		{"cow-on", func() (*modules.Engine, error) { return modules.NewEngine(nil) }},
		{"cow-on-keep-64KiB", func() (*modules.Engine, error) {
			return modules.NewEngineWith(modules.EngineConfig{KeepResident: 64 << 10})
		}},
		{"cow-off", modules.NewEngineNoCoW},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := tc.new()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(e.Close)
			p, err := e.Preinit("big.wasm", src, modules.Recipe{})
			if err != nil {
				b.Fatal(err)
			}
			m, err := e.Compile("big.wasm", p.Wasm)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(m.Close)
			req := edgeGet(b)
			faults := minorFaults()
			for b.Loop() {
				resp, _, err := e.RunEdge(context.Background(), m, req, modules.Limits{})
				if err != nil || string(resp.Body) != "ZZ" {
					b.Fatalf("%v %v", resp, err)
				}
			}
			b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
			b.ReportMetric(float64(len(p.Wasm))/(1<<20), "snapshot-MiB")
		})
	}
}

// minorFaults is the process's minor page faults so far: a benchmark
// reports them per request, since under load a copy-on-write fault (and
// the TLB shootdown it brings) is what a fresh instance pays for.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// cpuTime is the CPU time the process has used so far, user and system,
// in nanoseconds: per request, it is what a run costs the machine, which
// on a loaded machine wall time per request (ns/op) overstates.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkRunEdgeConcurrent runs the C guest and the Go snapshot from 64
// goroutines, as 64 connections would, with at most inflight guests at
// once (the node's limiter): the pool-shaping question is how many slots
// to keep busy. It reports minor faults per request, the cost that
// dominated under load before slots were reset in place.
func BenchmarkRunEdgeConcurrent(b *testing.B) {
	e := newEngine(b)
	guests := []struct {
		name string
		m    *modules.Module
		g    edgeGuest
	}{
		{"c", compileDemo(b, e, "hello-edge.wasm"), edgeGuests[0]},
		{"go-preinit", preinitDemo(b, e, "hello-edge-go.wasm"), edgeGuests[1]},
	}
	req := edgeGet(b)
	for _, g := range guests {
		for _, inflight := range []int{2, 8, 64} {
			b.Run(fmt.Sprintf("%s/inflight-%d", g.name, inflight), func(b *testing.B) {
				slots := make(chan struct{}, inflight)
				faults := minorFaults()
				b.SetParallelism(32) // 64 goroutines on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						slots <- struct{}{}
						_, _, err := e.RunEdge(context.Background(), g.m, req, g.g.lim)
						<-slots
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
			})
		}
	}
}

// BenchmarkSlotReset runs the C guest and the Go snapshot on an engine
// whose pool slots are reset by the pages the guest wrote (the node's
// default where the kernel has PAGEMAP_SCAN) and on one that copies all
// kept memory back after every run (Wasmtime's default), in the same run:
// for the Go snapshot that copy is 2.4 MiB per request.
func BenchmarkSlotReset(b *testing.B) {
	for _, tc := range []struct {
		name string
		new  func() (*modules.Engine, error)
	}{
		{"dirty-pages", func() (*modules.Engine, error) { return modules.NewEngine(nil) }},
		{"full-copy", func() (*modules.Engine, error) {
			return modules.NewEngineWith(modules.EngineConfig{FullSlotReset: true})
		}},
	} {
		e, err := tc.new()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(e.Close)
		if tc.name == "dirty-pages" && !e.DirtyPageReset() {
			b.Log("this kernel has no PAGEMAP_SCAN: both engines copy all kept memory")
		}
		for _, g := range []struct {
			name string
			m    *modules.Module
			g    edgeGuest
		}{
			{"c", compileDemo(b, e, "hello-edge.wasm"), edgeGuests[0]},
			{"go-preinit", preinitDemo(b, e, "hello-edge-go.wasm"), edgeGuests[1]},
		} {
			b.Run(tc.name+"/"+g.name, func(b *testing.B) { benchEdgeModule(b, e, g.m, g.g) })
		}
	}
}
