package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

var gcFloorSink []byte

// collectionsWhile counts the collections while 256 MiB of short-lived
// 12 KiB buffers (an HTTP/3 request's worth) are allocated.
func collectionsWhile() uint32 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range (256 << 20) / (12 << 10) {
		gcFloorSink = make([]byte, 12<<10)
	}
	runtime.ReadMemStats(&after)
	gcFloorSink = nil
	return after.NumGC - before.NumGC
}

// heapGoal is the runtime's current collection target.
func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestGCFloorSetsTarget: with this test's small live heap Go's default
// target is a few MiB (a collection every few MiB allocated); under the
// floor it is the floor, not more (the runtime's 4 MiB minimum is scaled
// by the percent, and a percent computed from the live heap alone put it
// at 80 MiB). After stop the process has its percent back.
func TestGCFloorSetsTarget(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	before := heapGoal()
	stop := startGCFloor(gcFloor)
	got := heapGoal()
	stop()
	t.Logf("heap target %.1f MiB by default, %.1f MiB under the floor", float64(before)/(1<<20), float64(got)/(1<<20))
	switch {
	case before < gcFloor && (got < gcFloor || got > gcFloor*5/4):
		t.Errorf("heap target %d under a %d floor (default %d), want the floor, up to a quarter more", got, gcFloor, before)
	case before >= gcFloor && got > before*5/4:
		t.Errorf("heap target %d under the floor, default %d: a target above the floor must stay the default's", got, before)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("after stop the GC percent is %d, want 100 back", p)
	}
}

// TestGCFloorCollectsLessOften counts what the floor saves: collections
// while 256 MiB of short-lived 12 KiB buffers (an HTTP/3 request's worth)
// are allocated. Go's default took 21-84 here, under the floor 4-10 (the
// pacer starts a cycle before the target, by how much depends on load).
func TestGCFloorCollectsLessOften(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	without := collectionsWhile()
	stop := startGCFloor(gcFloor)
	with := collectionsWhile()
	stop()
	t.Logf("collections for 256 MiB of garbage: %d by default, %d under the floor", without, with)
	if with > 16 {
		t.Errorf("%d collections for 256 MiB under a %d MiB floor, want at most 16", with, gcFloor>>20)
	}
}

// TestGCFloorLeavesOperatorSettings: GOGC or GOMEMLIMIT set by the
// operator: the floor stays out of the way.
func TestGCFloorLeavesOperatorSettings(t *testing.T) {
	t.Setenv("GOGC", "50")
	prev := debug.SetGCPercent(50)
	defer debug.SetGCPercent(prev)
	stop := startGCFloor(gcFloor)
	defer stop()
	if p := debug.SetGCPercent(50); p != 50 {
		t.Errorf("GOGC=50 set, the floor changed the percent to %d", p)
	}
}
