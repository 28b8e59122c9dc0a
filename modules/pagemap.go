package modules

// #include "capi.h"
import "C"

import (
	"os"
	"strings"
)

// pagemapScanSupported reports whether the kernel answers PAGEMAP_SCAN,
// without which pool slots are reset by copying all their kept memory.
func pagemapScanSupported() bool { return C.edge_pagemap_scan_supported() != 0 }

// dirtyResetSafe reports whether pool slots may be reset by their dirty
// pages (pagemap.c): the kernel must have PAGEMAP_SCAN, and no swap may be
// on. Wasmtime picks the pages to reset among those present in memory; a
// written page swapped out meanwhile is not present, so it would be
// neither reset nor dropped, and the next guest in the slot would read it
// back. Swap turned on after the engine starts is not seen: a node that
// may swap should not run on a kernel with PAGEMAP_SCAN, or should turn it
// on before starting.
func dirtyResetSafe() bool {
	swaps, err := os.ReadFile("/proc/swaps")
	return err == nil && !swapInUse(string(swaps)) && pagemapScanSupported()
}

// swapInUse reports whether /proc/swaps lists a swap area below its
// header line.
func swapInUse(swaps string) bool {
	lines := strings.Split(strings.TrimSpace(swaps), "\n")
	return len(lines) > 1
}
