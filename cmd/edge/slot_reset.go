package main

import "fmt"

// The ways a guest's pool slot is reset after each run (--slot-reset).
//
// dirty, the default, resets only the pages the guest wrote, found with
// the kernel's PAGEMAP_SCAN: a Go or JavaScript snapshot of megabytes
// costs ~60 µs a request instead of ~260 µs copied back whole. The scan is
// a system call per run, though: a guest of a few pages (C, Rust, WAT)
// starts in ~2 µs with full and ~4.5 µs with dirty (p50 of
// BenchmarkFreshStoreLatency, same run; docs/preinit.md). A node that
// serves only small modules can choose full.
const (
	slotResetDirty = "dirty"
	slotResetFull  = "full"
)

// checkSlotReset refuses a --slot-reset the node does not know.
func checkSlotReset(s string) error {
	switch s {
	case "", slotResetDirty, slotResetFull:
		return nil
	}
	return fmt.Errorf("--slot-reset %q: want %s (reset the pages a guest wrote; default) or %s (reset the whole slot: cheaper for guests of a few pages)", s, slotResetDirty, slotResetFull)
}
