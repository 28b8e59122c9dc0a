package modules

// The C side of Preinit (preinit.c), next to capi.go's for requests.

// #include "capi.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/edgecdn/edge/modules/wasmbin"
)

// snapshot compiles the instrumented module, runs its init once and reads
// the state the plan names. It returns what init logged too.
func (c *cEngine) snapshot(ic *instrumentedCache, inst []byte, plan *wasmbin.Plan, rc *Recipe, lim Limits, seed uint64) (*wasmbin.State, []byte, error) {
	m, release, err := ic.acquire(c, inst)
	if err != nil {
		return nil, nil, fmt.Errorf("compile the instrumented module: %w", err)
	}
	defer release()
	cmd := &Command{Args: rc.Args, Env: rc.Env, Stdin: rc.Stdin}
	a, argbuf, envbuf := c.runArgs(m, cmd, lim, lim.Timeout)
	res := newCResult(lim) // the snapshot's store holds it until edge_snap_free
	defer C.free(unsafe.Pointer(res))
	name := C.CString(plan.Init)
	defer C.free(unsafe.Pointer(name))
	s := C.edge_snap_start(a, name, C.size_t(len(plan.Init)), C.uint64_t(seed), res)
	runtime.KeepAlive(argbuf)
	runtime.KeepAlive(envbuf)
	runtime.KeepAlive(cmd)
	if s == nil {
		r := new(runResult)
		r.take(res)
		if err := r.err(context.Background()); err != nil {
			return nil, r.stderr, &InitError{Init: plan.Init, Err: err, Log: r.stderr}
		}
		return nil, r.stderr, fmt.Errorf("%s did not run", plan.Init)
	}
	defer C.edge_snap_free(s)
	st, err := readState(s, plan)
	r := new(runResult)
	r.take(res)
	return st, r.stderr, err
}

// readState copies the globals and memory of a snapshot instance.
func readState(s *C.edge_snap, plan *wasmbin.Plan) (*wasmbin.State, error) {
	st := &wasmbin.State{Globals: make([]wasmbin.Value, len(plan.Globals))}
	for i, g := range plan.Globals {
		name := C.CString(g.Getter)
		rc := C.edge_snap_global(s, name, C.size_t(len(g.Getter)), (*C.uint8_t)(unsafe.Pointer(&st.Globals[i][0])))
		C.free(unsafe.Pointer(name))
		if rc != 0 {
			return nil, fmt.Errorf("read global %d", g.Index)
		}
	}
	if plan.MemoryExport == "" {
		return st, nil
	}
	name := C.CString(plan.MemoryExport)
	defer C.free(unsafe.Pointer(name))
	var size C.size_t
	p := C.edge_snap_memory(s, name, C.size_t(len(plan.MemoryExport)), &size)
	if p == nil {
		return nil, errors.New("read memory: not exported")
	}
	st.Memory = make([]byte, int(size))
	copy(st.Memory, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(size)))
	return st, nil
}
