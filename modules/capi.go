package modules

// This file is the one place the package speaks Wasmtime's C API directly.
//
// Why: wasmtime-go v39's Go API lacks the pooling allocator, pre-instantiated
// modules (InstancePre) and in-memory WASI stdio, and these are what bring a
// fresh store per request from hundreds of microseconds to a few. The C API
// in the static library wasmtime-go bundles has all three, so capi.h declares
// the few functions we need (checked against Wasmtime's own headers by
// capi_test.go), capi.c holds the C side of a request, and importing
// wasmtime-go puts the library on the link line.
//
// Every C object created here is freed explicitly on every path; nothing
// relies on finalizers.

// #include "capi.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	// Linked for its bundled static Wasmtime library, which the
	// declarations in capi.h resolve against.
	_ "github.com/bytecodealliance/wasmtime-go/v39"
)

// takeError turns an owned wasmtime_error_t into a Go string and frees it.
func takeError(err *C.wasmtime_error_t) string {
	var msg C.wasm_byte_vec_t
	C.wasmtime_error_message(err, &msg)
	s := C.GoStringN((*C.char)(unsafe.Pointer(msg.data)), C.int(msg.size))
	C.wasm_byte_vec_delete(&msg)
	C.wasmtime_error_delete(err)
	return s
}

// cEngine owns the C engine and the linker (WASI defined once) shared by
// every module and store.
type cEngine struct {
	eng    *C.wasm_engine_t
	linker *C.wasmtime_linker_t
	// dirtyReset: pool slots are reset by their dirty pages (pagemap.c).
	dirtyReset bool
	// warm: modules get a plan of pages kept private to their slots
	// (warm.c), bounded by the pool's keepResident.
	warm         bool
	keepResident int64
}

// cEngineConfig is what newCEngine needs to know.
type cEngineConfig struct {
	optimize bool
	// pooling: the pooling allocator with poolSize slots of maxMemory
	// each; otherwise memories are mapped on demand (the snapshot engine,
	// which runs one instance at a time).
	pooling   bool
	poolSize  int
	maxMemory int64
	// warmSlots caps the slots kept warm (max_unused_warm_slots): a slot
	// a module ran in recently keeps its memory image mapped, so the next
	// instance of that module reuses it.
	warmSlots int
	// keepResident is how much of each slot's memory is reset in place
	// rather than decommitted (see setPooling).
	keepResident int64
	// noCoW turns copy-on-write memory images off, only to measure what
	// they save (BenchmarkInstantiateSnapshot).
	noCoW bool
	// noDirtyReset keeps Wasmtime's default reset of pool slots (copy all
	// kept memory back), only to measure what the dirty-page reset saves.
	noDirtyReset bool
	// noWarm: no module gets a plan of pages kept private to its slots
	// (warm.c), only to measure what the plans save.
	noWarm bool
	// deterministic: WASI random and clocks are fixed (preinit.c), for
	// snapshots every node derives the same.
	deterministic bool
}

// newCEngine builds a C engine: epoch interruption, the optimisation
// level, copy-on-write memory images, and the allocator; and its linker.
func newCEngine(ec cEngineConfig) (*cEngine, error) {
	cfg := C.wasm_config_new()
	C.wasmtime_config_epoch_interruption_set(cfg, true)
	var opt C.wasmtime_opt_level_t = C.EDGE_OPT_LEVEL_NONE
	if ec.optimize {
		opt = C.EDGE_OPT_LEVEL_SPEED
	}
	C.wasmtime_config_cranelift_opt_level_set(cfg, opt)
	// Instances map their initial memory from the module's image instead
	// of copying data segments in: what keeps a snapshot's instantiation
	// in microseconds whatever its size. Wasmtime's default, set so that
	// it stays on.
	C.wasmtime_config_memory_init_cow_set(cfg, C.bool(!ec.noCoW))
	dirtyReset := false
	if ec.pooling {
		dirtyReset = setPooling(cfg, ec)
	}
	eng := C.wasm_engine_new_with_config(cfg) // takes ownership of cfg
	linker, err := newLinker(eng, ec.deterministic)
	if err != nil {
		C.wasm_engine_delete(eng)
		return nil, err
	}
	c := &cEngine{eng: eng, linker: linker, dirtyReset: dirtyReset, keepResident: ec.keepResident}
	// The plans work with Wasmtime's dirty-page reset, and only matter
	// where its scan would stop short.
	c.warm = dirtyReset && !ec.noWarm
	return c, nil
}

// setPooling configures the pooling allocator; it reports whether slots
// will be reset by their dirty pages.
func setPooling(cfg *C.wasm_config_t, ec cEngineConfig) bool {
	pool := C.wasmtime_pooling_allocation_config_new()
	C.wasmtime_pooling_allocation_config_total_core_instances_set(pool, C.uint32_t(ec.poolSize))
	C.wasmtime_pooling_allocation_config_total_memories_set(pool, C.uint32_t(ec.poolSize))
	C.wasmtime_pooling_allocation_config_total_tables_set(pool, C.uint32_t(ec.poolSize))
	// Fiber stacks serve only async calls, which the node never makes;
	// Wasmtime's default pool still maps 1,000 of them with a guard page
	// each: 2,000 memory mappings an engine, against the kernel's limit of
	// 65,530 per process (vm.max_map_count).
	C.wasmtime_pooling_allocation_config_total_stacks_set(pool, 1)
	C.wasmtime_pooling_allocation_config_max_memory_size_set(pool, C.size_t(ec.maxMemory))
	C.wasmtime_pooling_allocation_config_table_elements_set(pool, C.size_t(maxTableElements))
	// Reset the first keepResident bytes of a slot's memory (and a table's
	// first pages) in place, with memset, or memcpy from the module's
	// memory image, instead of returning them to the kernel: the next
	// instance reuses warm pages instead of faulting them in. For a
	// snapshot this is what matters: a page of the copy-on-write image
	// that a guest reads and then writes costs a fault and a TLB
	// shootdown across cores (IPIs, dear in a VM), ~50 us each measured
	// under load (docs/preinit.md). Still reset, so request N+1 never
	// sees request N's memory.
	C.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, C.size_t(ec.keepResident))
	C.wasmtime_pooling_allocation_config_table_keep_resident_set(pool, C.size_t(tableKeepResident))
	// Decommit whatever is beyond that in batches: one TLB flush for many.
	C.wasmtime_pooling_allocation_config_decommit_batch_size_set(pool, 16)
	if ec.warmSlots > 0 {
		C.wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pool, C.uint32_t(ec.warmSlots))
	}
	// Within the kept part, reset only the pages the guest wrote (the
	// kernel tells which), not a copy of all of it: pagemap.c.
	dirty := false
	if !ec.noDirtyReset && dirtyResetSafe() {
		dirty = C.edge_pool_scan_dirty(pool) != 0
	}
	C.wasmtime_pooling_allocation_strategy_set(cfg, pool) // copies the pool config
	C.wasmtime_pooling_allocation_config_delete(pool)
	return dirty
}

// newLinker defines WASI (Wasmtime's, with our I/O functions shadowing
// its own) and the edge ABI; deterministic also shadows random and clocks.
func newLinker(eng *C.wasm_engine_t, deterministic bool) (*C.wasmtime_linker_t, error) {
	linker := C.wasmtime_linker_new(eng)
	err := C.wasmtime_linker_define_wasi(linker)
	if err == nil {
		err = C.edge_define_io(linker)
	}
	if err == nil {
		err = C.edge_define_abi(linker)
	}
	if err == nil && deterministic {
		err = C.edge_define_deterministic(linker)
	}
	if err != nil {
		C.wasmtime_linker_delete(linker)
		return nil, fmt.Errorf("define WASI: %s", takeError(err))
	}
	return linker, nil
}

func (c *cEngine) incrementEpoch() { C.wasmtime_engine_increment_epoch(c.eng) }

// cModule is a compiled module and its pre-instantiation: imports resolved
// once against the linker, so each request only instantiates.
type cModule struct {
	mod *C.wasmtime_module_t
	pre *C.wasmtime_instance_pre_t
	// warm is the module's plan of pages to keep private to its pool
	// slots (warm.c); nil without the dirty-page reset.
	warm *C.edge_warm
	// noWASI: the module imports none of Wasmtime's own WASI functions,
	// so its stores are made without a WASI context (edge_needs_wasi).
	noWASI bool
}

// compile compiles wasm bytes into a guest (see prepare).
func (c *cEngine) compile(wasm []byte) (*cModule, error) {
	mod, err := c.compileOnly(wasm)
	if err != nil {
		return nil, err
	}
	return c.prepare(mod)
}

// compileOnly compiles wasm bytes into a module that is not checked for
// an executor's exports.
func (c *cEngine) compileOnly(wasm []byte) (*C.wasmtime_module_t, error) {
	var mod *C.wasmtime_module_t
	var ptr *C.uint8_t
	if len(wasm) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&wasm[0]))
	}
	if err := C.wasmtime_module_new(c.eng, ptr, C.size_t(len(wasm)), &mod); err != nil {
		return nil, errors.New(takeError(err))
	}
	return mod, nil
}

// deserialize loads an artifact from bytes (Wasmtime copies them).
func (c *cEngine) deserialize(art []byte) (*cModule, error) {
	if len(art) == 0 {
		return nil, errors.New("empty artifact")
	}
	var mod *C.wasmtime_module_t
	if err := C.wasmtime_module_deserialize(c.eng, (*C.uint8_t)(unsafe.Pointer(&art[0])), C.size_t(len(art)), &mod); err != nil {
		return nil, errors.New(takeError(err))
	}
	return c.prepare(mod)
}

// deserializeFile maps an artifact file.
func (c *cEngine) deserializeFile(path string) (*cModule, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var mod *C.wasmtime_module_t
	if err := C.wasmtime_module_deserialize_file(c.eng, cpath, &mod); err != nil {
		return nil, errors.New(takeError(err))
	}
	return c.prepare(mod)
}

// prepare checks the module is a WASI command and pre-instantiates it. An
// import the linker cannot satisfy is reported here, at load time, not at
// the first request.
func (c *cEngine) prepare(mod *C.wasmtime_module_t) (*cModule, error) {
	if !exportsFunc(mod, "_start") && !exportsFunc(mod, "edge_handle") {
		C.wasmtime_module_delete(mod)
		return nil, errors.New("exports neither _start (a WAGI guest is a WASI command) nor edge_handle (an edge ABI guest)")
	}
	return c.preinstantiate(mod)
}

// preinstantiate resolves mod's imports against the linker once.
func (c *cEngine) preinstantiate(mod *C.wasmtime_module_t) (*cModule, error) {
	var pre *C.wasmtime_instance_pre_t
	if err := C.wasmtime_linker_instantiate_pre(c.linker, mod, &pre); err != nil {
		C.wasmtime_module_delete(mod)
		return nil, errors.New(takeError(err))
	}
	m := &cModule{mod: mod, pre: pre, noWASI: C.edge_needs_wasi(mod) == 0}
	if c.warm {
		m.warm = C.edge_warm_new(C.uint64_t(c.keepResident))
	}
	return m, nil
}

func exportsFunc(mod *C.wasmtime_module_t, name string) bool {
	var vec C.wasm_exporttype_vec_t
	C.wasmtime_module_exports(mod, &vec)
	defer C.wasm_exporttype_vec_delete(&vec)
	types := unsafe.Slice(vec.data, vec.size)
	for _, t := range types {
		n := C.wasm_exporttype_name(t)
		got := C.GoStringN((*C.char)(unsafe.Pointer(n.data)), C.int(n.size))
		if got == name && C.wasm_externtype_kind(C.wasm_exporttype_type(t)) == C.EDGE_EXTERNTYPE_FUNC {
			return true
		}
	}
	return false
}

// serialize returns the compiled code.
func (m *cModule) serialize() ([]byte, error) {
	var vec C.wasm_byte_vec_t
	if err := C.wasmtime_module_serialize(m.mod, &vec); err != nil {
		return nil, errors.New(takeError(err))
	}
	b := C.GoBytes(unsafe.Pointer(vec.data), C.int(vec.size))
	C.wasm_byte_vec_delete(&vec)
	return b, nil
}

func (m *cModule) exports(name string) bool { return exportsFunc(m.mod, name) }

func (m *cModule) close() {
	C.wasmtime_instance_pre_delete(m.pre)
	C.wasmtime_module_delete(m.mod)
	C.edge_warm_free(m.warm)
	m.warm = nil
}

// tableKeepResident is how much of each slot's table is reset in place
// rather than decommitted.
const tableKeepResident = 1 << 20

// stage is how far a run got (enum edge_stage in capi.h).
type stage int

const (
	stageOK          stage = C.EDGE_STAGE_OK
	stageInstantiate stage = C.EDGE_STAGE_INSTANTIATE
	stageRun         stage = C.EDGE_STAGE_RUN
	stageNoExport    stage = C.EDGE_STAGE_NO_EXPORT
	stageSetup       stage = C.EDGE_STAGE_SETUP
)

// String names the stage a guest failed in, for error messages.
func (s stage) String() string {
	switch s {
	case stageInstantiate:
		return "instantiate"
	case stageRun:
		return "run"
	}
	return fmt.Sprintf("stage %d", int(s))
}

// stopReason is why a guest was stopped before it finished (enum
// edge_stop in capi.h).
type stopReason int

const (
	stopNone     stopReason = C.EDGE_STOP_NONE
	stopDeadline stopReason = C.EDGE_STOP_DEADLINE
	stopCancel   stopReason = C.EDGE_STOP_CANCEL
)

// runResult is what one run produced, copied into Go memory. It holds
// the C side's result and the run's Output too, so that a run costs one
// allocation for the three.
type runResult struct {
	// res is what edge_run fills in. It holds only C pointers, so cgo
	// lets C have it, as the field it is (cgo checks the memory of the
	// field passed, not of the struct around it).
	res C.edge_result
	// out is what execute returns to the caller.
	out Output

	stdout, stderr []byte
	stdoutOver     bool
	stage          stage
	exitSet        bool
	exitCode       int
	trapSet        bool
	trapCode       int
	message        string
	stopped        stopReason
	duration       time.Duration
	instantiate    time.Duration // of duration: a fresh store and a ready instance
	// The edge ABI's response: head lines and status (body in stdout).
	head      []byte
	headOver  bool
	responded bool
	status    int
}

// maxABIHead bounds the header lines an edge ABI guest may send.
const maxABIHead = 64 << 10

// run is one request: a single cgo call creates the store, instantiates
// from the pre-instantiated module, calls _start (or edge_handle) and
// deletes the store. The guest is stopped timeout after it starts, or
// within an epoch tick of ctx being done (cancelWatch).
func (c *cEngine) run(ctx context.Context, m *cModule, abi bool, cmd *Command, lim Limits, timeout time.Duration) *runResult {
	a, argbuf, envbuf := c.runArgs(m, cmd, lim, timeout)
	if abi {
		a.abi = 1
		var done func()
		a.fetcher, done = fetchHandle(ctx, timeout)
		defer done()
	}
	// In Go memory, which C may use for the length of the call it is
	// passed to (the store holds pointers to its buffers only while the
	// guest runs, and is deleted before edge_run returns): one cgo call
	// fewer per run than calloc and free.
	r := new(runResult)
	setResultLimits(&r.res, lim)
	start := time.Now()
	running.add(ctx, &r.res)
	C.edge_run(a, &r.res)
	running.remove(ctx, &r.res)
	runtime.KeepAlive(argbuf)
	runtime.KeepAlive(envbuf)
	runtime.KeepAlive(cmd)
	r.take(&r.res)
	r.duration = time.Since(start)
	return r
}

// runArgs lays out one run's input for C: a guest stopped timeout after it
// starts. The buffers it returns must stay alive until the C call returns.
func (c *cEngine) runArgs(m *cModule, cmd *Command, lim Limits, timeout time.Duration) (C.edge_run_args, []byte, []byte) {
	argbuf, argc, envbuf, envc := cmd.layOut()
	a := C.edge_run_args{
		engine:         c.eng,
		pre:            m.pre,
		args:           (*C.char)(unsafe.Pointer(&argbuf[0])),
		argc:           C.size_t(argc),
		args_len:       C.size_t(len(argbuf) - 1),
		env:            (*C.char)(unsafe.Pointer(&envbuf[0])),
		envc:           C.size_t(envc),
		env_len:        C.size_t(len(envbuf) - 1),
		stdin_len:      C.size_t(len(cmd.Stdin)),
		memory:         C.int64_t(lim.Memory),
		table_elements: C.int64_t(lim.TableElements),
		timeout_ns:     C.uint64_t(max(timeout, 0)),
		warm:           m.warm,
	}
	if m.noWASI {
		a.no_wasi = 1
	}
	if len(cmd.Stdin) > 0 {
		a.stdin_data = (*C.uint8_t)(unsafe.Pointer(&cmd.Stdin[0]))
	}
	return a, argbuf, envbuf
}

// newCResult allocates a result in C memory, for a store that outlives
// the call it is made in (preinit.c's snapshot); the caller frees it.
func newCResult(lim Limits) *C.edge_result {
	res := (*C.edge_result)(C.calloc(1, C.size_t(unsafe.Sizeof(C.edge_result{}))))
	setResultLimits(res, lim)
	return res
}

func setResultLimits(res *C.edge_result, lim Limits) {
	res.out.max = C.size_t(lim.MaxOutput)
	res.err.max, res.err.drop_tail = C.size_t(lim.MaxStderr), 1
	res.head.max = maxABIHead
}

// take copies a run's result (r.res, or a C-allocated one) into r, in
// Go memory, and frees its buffers, in one cgo call (none when the guest
// wrote nothing). The call comes before r holds any Go pointer: cgo
// checks all of r when given a pointer into it that is not written as
// &r.res at the call.
func (r *runResult) take(res *C.edge_result) {
	out := &res.outcome
	stdout, stderr, head := goBytes(res.out), goBytes(res.err), goBytes(res.head)
	var message string
	if out.message != nil {
		message = C.GoString(out.message)
	}
	r.stdoutOver, r.headOver = res.out.over != 0, res.head.over != 0
	r.stage = stage(out.stage)
	r.exitSet, r.exitCode = out.exit_set != 0, int(out.exit_code)
	r.trapSet, r.trapCode = out.trap_set != 0, int(out.trap_code)
	r.responded, r.status = out.responded != 0, int(out.status)
	r.stopped = stopReason(out.stopped)
	r.instantiate = time.Duration(out.instantiated_ns)
	if out.message != nil || res.out.data != nil || res.err.data != nil || res.head.data != nil {
		C.edge_result_free(res)
	}
	r.stdout, r.stderr, r.head, r.message = stdout, stderr, head, message
}

// goBytes copies an output buffer into Go memory. Not C.GoBytes: its C.int
// length goes negative past 2 GiB.
func goBytes(b C.edge_buf) []byte {
	out := make([]byte, int(b.len))
	if b.len > 0 {
		copy(out, unsafe.Slice((*byte)(unsafe.Pointer(b.data)), int(b.len)))
	}
	return out
}

// layOut returns cmd's argv and env as packStrings lays them out, one
// byte longer than their strings (C reads len-1 bytes of each): packed
// from Args and Env, or what WAGICommand laid out, where argv's extra
// byte is the env's first.
func (cmd *Command) layOut() (args []byte, argc int, env []byte, envc int) {
	if cmd.laid == nil {
		args, argc = packStrings(cmd.Args)
		env, envc = packEnv(cmd.Env)
		return args, argc, env, envc
	}
	return cmd.laid[:cmd.argsLen+1], cmd.argc, cmd.laid[cmd.argsLen:], cmd.envc
}

// packEnv lays out "KEY=VALUE" entries as packStrings does, without
// building the joined strings first.
func packEnv(env [][2]string) ([]byte, int) {
	n := 1
	for _, kv := range env {
		n += len(kv[0]) + len(kv[1]) + 2
	}
	buf := make([]byte, 0, n)
	for _, kv := range env {
		buf = append(buf, kv[0]...)
		buf = append(buf, '=')
		buf = append(buf, kv[1]...)
		buf = append(buf, 0)
	}
	return append(buf, 0), len(env)
}

// packStrings lays strings out NUL-terminated in one buffer, which C splits
// again: one allocation instead of one C string per variable. A NUL inside
// a string would cut it short, so NULs are refused upstream (manifest env)
// or cannot occur (HTTP header values are checked by net/http).
func packStrings(ss []string) ([]byte, int) {
	n := 1
	for _, s := range ss {
		n += len(s) + 1
	}
	buf := make([]byte, 0, n)
	for _, s := range ss {
		buf = append(buf, s...)
		buf = append(buf, 0)
	}
	return append(buf, 0), len(ss)
}
