package modules

// #include "capi.h"
import "C"

import (
	"context"
	"sync"
)

// cancelWatch holds the runs under way whose context can be cancelled.
// The engine's ticker checks them every EpochTick and raises the flag of a
// run whose context is done, which stops its guest wherever it is
// (deadline.c): a cancelled request stops within a tick, as a guest past
// its deadline does.
//
// Why not context.AfterFunc per run: registering with a request's context
// allocates (the callback, its once, a children map on each fresh request
// context) and takes the parent's lock twice, ~3-5% of the node's CPU on a
// hello guest, to watch for an event that almost never happens.
type cancelWatch struct {
	mu   sync.Mutex
	runs map[*C.edge_result]context.Context
}

// running is every engine's runs; each engine's ticker checks them all.
var running = cancelWatch{runs: make(map[*C.edge_result]context.Context)}

// add watches res's run until remove; a context that is never done is
// not watched.
func (w *cancelWatch) add(ctx context.Context, res *C.edge_result) {
	if ctx.Done() == nil {
		return
	}
	w.mu.Lock()
	w.runs[res] = ctx
	w.mu.Unlock()
}

// remove stops watching res. Once it returns, no cancellation is under
// way on res, so the caller may let it go.
func (w *cancelWatch) remove(ctx context.Context, res *C.edge_result) {
	if ctx.Done() == nil {
		return
	}
	w.mu.Lock()
	delete(w.runs, res)
	w.mu.Unlock()
}

// check raises the flag of every watched run whose context is done, once.
func (w *cancelWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for res, ctx := range w.runs {
		if ctx.Err() != nil {
			C.edge_cancel(res)
			delete(w.runs, res)
		}
	}
}
