package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcFloor is the heap size under which the node does not collect. Go's
// default (GOGC=100) collects each time the heap doubles, and a node
// serving small files from its object cache has a live heap of a few MiB
// while each request allocates ~12 KiB in quic-go, http3 and net/http
// (over HTTP/3 a third of it the response queued on its stream). It
// collected every ~3 MiB: 3.6-3.9 times per 1,000 HTTP/3 requests of a
// 4 KiB file, 20 times a second at full load, each cycle waking a mark
// worker on every core, and the scavenger handing freed pages back to the
// kernel to be faulted in again (0.14-0.17 page faults per request).
// Under the floor: 0.46-0.56 collections per 1,000 requests, 0.004 page
// faults per request.
//
// A node whose live heap is more than half the floor (a filled object
// cache) is not affected: it collects as Go's default does, when the heap
// has doubled. What the floor costs is memory: up to gcFloor bytes of
// garbage between collections on a node whose live heap is small.
const gcFloor = 32 << 20

// gcMinimumHeap is the runtime's smallest collection target at GOGC=100
// (heapMinimum in runtime/mgcpacer.go), scaled by the GC percent.
const gcMinimumHeap = 4 << 20

// The runtime's figures the next collection's target is computed from:
// target = live + (live + stacks + globals) × percent / 100.
var gcFloorMetrics = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// gcFloorKeeper adjusts the GC percent after every collection so the next
// one comes when the heap reaches the floor, or later where Go's default
// would put it.
type gcFloorKeeper struct {
	floor   uint64
	mu      sync.Mutex
	stopped bool
	set     int // the percent last set
	prev    int // the percent before start, restored by stop
	sample  []metrics.Sample
}

// The process has one keeper, shared by the nodes it runs (tests start
// several): the first start makes it, the last stop ends it.
var (
	gcFloorMu    sync.Mutex
	gcFloorUsers int
	gcFloorOne   *gcFloorKeeper
)

// startGCFloor keeps the heap's collection target at least floor bytes
// until stop is called. An operator's GOGC or GOMEMLIMIT wins: with either
// set, it does nothing.
func startGCFloor(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gcFloorMu.Lock()
	defer gcFloorMu.Unlock()
	if gcFloorUsers++; gcFloorUsers == 1 {
		gcFloorOne = newGCFloorKeeper(floor)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			gcFloorMu.Lock()
			defer gcFloorMu.Unlock()
			if gcFloorUsers--; gcFloorUsers == 0 {
				gcFloorOne.stop()
				gcFloorOne = nil
			}
		})
	}
}

func newGCFloorKeeper(floor uint64) *gcFloorKeeper {
	k := &gcFloorKeeper{floor: floor}
	for _, name := range gcFloorMetrics {
		k.sample = append(k.sample, metrics.Sample{Name: name})
	}
	k.prev = debug.SetGCPercent(100)
	k.set = 100
	k.adjust()
	k.arm()
	return k
}

// arm runs afterGC once the next collection has found the sentinel
// unreachable.
func (k *gcFloorKeeper) arm() {
	runtime.AddCleanup(new(gcSentinel), func(k *gcFloorKeeper) { k.afterGC() }, k)
}

// gcSentinel is dropped as soon as it is made: its cleanup marks the end
// of a collection. It holds a pointer so the tiny allocator, which packs
// small pointer-free objects together, does not keep it alive with them.
type gcSentinel struct{ _ *byte }

func (k *gcFloorKeeper) afterGC() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.adjustLocked()
	k.arm()
}

func (k *gcFloorKeeper) adjust() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.adjustLocked()
}

// adjustLocked sets the percent that puts the next collection at the
// floor, or where the default would put it when that is higher.
func (k *gcFloorKeeper) adjustLocked() {
	metrics.Read(k.sample)
	var v [3]uint64
	for i, s := range k.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	live, roots := v[0], max(v[0]+v[1]+v[2], 1<<20)
	pct := 100
	if live+roots < k.floor {
		// The runtime's minimum target (4 MiB) is scaled by the percent
		// too: past floor/4 MiB × 100 that minimum alone would overshoot.
		pct = int(min((k.floor-live)*100/roots, k.floor*100/gcMinimumHeap))
	}
	// Small changes are not worth the heap lock SetGCPercent takes.
	if pct*8 < k.set*7 || pct*8 > k.set*9 {
		debug.SetGCPercent(pct)
		k.set = pct
	}
}

// stop restores the percent the process had.
func (k *gcFloorKeeper) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.stopped = true
		debug.SetGCPercent(k.prev)
	}
}
