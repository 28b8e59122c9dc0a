package modules

// #include "capi.h"
import "C"

import "unsafe"

// warmPlan reports how many pages the module's plan keeps private to its
// pool slots (warm.c), in how many runs, and how many scans it was learnt
// from; zeros for a module without a plan.
func (m *cModule) warmPlan() (pages, spans int, learnt uint64) {
	if m.warm == nil {
		return 0, 0, 0
	}
	var n C.uint32_t
	var l C.uint64_t
	p := C.edge_warm_pages(m.warm, &n, &l)
	return int(p), int(n), uint64(l)
}

// warmMerge is edge_warm_merge on runs of pages given as {first, count}:
// sorted, joined where they touch, then across the smallest gaps until at
// most max are left.
func warmMerge(runs [][2]uint32, max int) [][2]uint32 {
	if len(runs) == 0 {
		return nil
	}
	s := (*C.edge_span)(C.calloc(C.size_t(len(runs)), C.size_t(unsafe.Sizeof(C.edge_span{}))))
	defer C.free(unsafe.Pointer(s))
	spans := unsafe.Slice(s, len(runs))
	for i, r := range runs {
		spans[i].first, spans[i].count = C.uint32_t(r[0]), C.uint32_t(r[1])
	}
	n := int(C.edge_warm_merge(s, C.int(len(runs)), C.int(max)))
	out := make([][2]uint32, n)
	for i := range out {
		out[i] = [2]uint32{uint32(spans[i].first), uint32(spans[i].count)}
	}
	return out
}
