// host.h: what the C files of one run share (capi.c, deadline.c,
// preinit.c): the run's state as the store sees it, and the helpers host
// functions use to reach the guest's memory. Not part of the C API copy in
// capi.h (which cgo and capi_test.go see); nothing here is called from Go.

#ifndef EDGE_HOST_H
#define EDGE_HOST_H

#include <string.h>

#include "capi.h"

// WASI preview 1 errno values the host functions return.
enum {
	WASI_ESUCCESS = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EFBIG = 22,
	WASI_EINVAL = 28, WASI_EIO = 29, WASI_ESPIPE = 70,
};

// edge_req is one request's WASI state: the store's data.
typedef struct {
	const char *args; size_t argc, args_len;   // "a\0b\0"
	const char *env; size_t envc, env_len;     // "K=V\0K=V\0"
	const uint8_t *in; size_t in_len, in_pos;  // WASI stdin; the request, for the edge ABI
	edge_buf *out, *err;                       // WASI stdout and stderr
	// The edge ABI's response.
	edge_buf *head, *body;
	int responded, status;
	int abi; // the edge ABI: WASI stdin is empty
	// When the request must stop (deadline.c): the start and the deadline
	// on the monotonic clock, the flag the Go side raises when the request
	// is cancelled, and why the guest was stopped (enum edge_stop).
	uint64_t start_ns, deadline_ns;
	const int *cancel;
	int stopped;
	// Pre-initialisation (preinit.c): the deterministic random stream and
	// clock that init sees.
	uint64_t rng, clock;
	// Outbound fetch (fetch.c): the Go side's handle for this run (0: no
	// fetches here), and the last fetch's answer or error text.
	uintptr_t fetcher;
	uint8_t *fetched; size_t fetched_len; int fetched_owned;
	// Where proc_exit records the exit status (set by edge_open).
	edge_outcome *outcome;
} edge_req;

// edge_mem finds the caller's linear memory.
static inline uint8_t *edge_mem(wasmtime_caller_t *caller, size_t *size) {
	wasmtime_extern_t item;
	if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != EDGE_EXTERN_MEMORY) return NULL;
	wasmtime_context_t *ctx = wasmtime_caller_context(caller);
	const wasmtime_memory_t *m = &item.of.memory;
	*size = wasmtime_memory_data_size(ctx, m);
	return wasmtime_memory_data(ctx, m);
}

static inline int edge_in_bounds(size_t size, uint32_t ptr, uint64_t len) {
	return (uint64_t)ptr + len <= size;
}

static inline edge_req *edge_req_of(wasmtime_caller_t *caller) {
	return wasmtime_context_get_data(wasmtime_caller_context(caller));
}

static inline void edge_put16(uint8_t *mem, uint32_t at, uint16_t v) { memcpy(mem + at, &v, 2); }
static inline void edge_put32(uint8_t *mem, uint32_t at, uint32_t v) { memcpy(mem + at, &v, 4); }
static inline void edge_put64(uint8_t *mem, uint32_t at, uint64_t v) { memcpy(mem + at, &v, 8); }
static inline uint16_t edge_get16(const uint8_t *mem, uint32_t at) { uint16_t v; memcpy(&v, mem + at, 2); return v; }
static inline uint32_t edge_get32(const uint8_t *mem, uint32_t at) { uint32_t v; memcpy(&v, mem + at, 4); return v; }
static inline uint64_t edge_get64(const uint8_t *mem, uint32_t at) { uint64_t v; memcpy(&v, mem + at, 8); return v; }

// edge_host is one host function: its name, its parameters as one letter
// each ('i' i32, 'I' i64), whether it returns an i32, and its code.
typedef struct {
	const char *name, *params;
	int result;
	wasmtime_func_unchecked_callback_t cb;
} edge_host;

// capi.c: defining host functions in one import module of the linker;
// making a run's store and instantiating (edge_open), and recording a
// failure.
wasmtime_error_t *edge_define(wasmtime_linker_t *linker, const char *module, const edge_host *fns, size_t n);
wasmtime_store_t *edge_open(const edge_run_args *a, edge_req *r, edge_result *res, wasmtime_instance_t *inst);
void edge_fail(edge_outcome *out, enum edge_stage stage, wasmtime_store_t *store, wasmtime_error_t *err, wasm_trap_t *trap);
void edge_take_error(edge_outcome *out, wasmtime_error_t *err, wasm_trap_t *trap);

// deadline.c: the run's clock, its stop check, and the WASI functions
// that wait or tell the time. edge_req_start starts r's clock with a
// deadline timeout_ns away and the cancel flag the Go side raises; every
// store made by edge_open needs it, since edge_check reads both.
uint64_t edge_now_ns(void);
void edge_req_start(edge_req *r, uint64_t timeout_ns, const int *cancel);
wasm_trap_t *edge_check(edge_req *r);
wasmtime_error_t *edge_epoch_expired(wasmtime_context_t *ctx, void *data, uint64_t *delta, wasmtime_update_deadline_kind_t *kind);
extern const edge_host edge_deadline_fns[];
extern const size_t edge_deadline_fns_len;
// capi.c: the WASI functions served by our own code (not deadline.c's).
extern const edge_host edge_io_fns[];
extern const size_t edge_io_fns_len;

// warm.c: before a guest runs, write the module's plan of pages into
// being; after, learn the plan from what the slot holds. edge_warm_begin
// says which of the two a run does.
enum { EDGE_WARM_WRITE = 1, EDGE_WARM_LEARN_AFTER = 2 };
int edge_warm_begin(edge_warm *w);
void edge_warm_before(edge_warm *w, uint8_t *mem, size_t size);
void edge_warm_after(edge_warm *w, uint8_t *mem, size_t size);

// fetch.c: the edge ABI's outbound fetch, and freeing what it kept.
wasm_trap_t *edge_abi_fetch(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n);
wasm_trap_t *edge_abi_fetch_response(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n);
void edge_fetch_free(edge_req *r);

#endif
