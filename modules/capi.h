// capi.h: the part of Wasmtime's C API the modules package uses, and the C
// side of one request (capi.c).
//
// Why copies instead of Wasmtime's own headers: they ship in the wasmtime-go
// module (build/include), but a #cgo line cannot name another module's
// directory, and wasmtime-go's own include flags apply to its package only.
// So the few declarations used are copied here (from wasmtime-go v39), and
// capi_test.go compiles testdata/capi_check.c, which
// includes the real headers and then this one, so that every copied struct,
// typedef, constant and prototype is compared with the original: a
// wasmtime-go upgrade that changes one fails the tests instead of corrupting
// memory.

#ifndef EDGE_CAPI_H
#define EDGE_CAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// ---- Copied from Wasmtime's headers (wasm.h, wasi.h, wasmtime/*.h). ----

// EDGE_COPY(T) names a struct or union whose definition is copied. It is T
// in the build; capi_check.c, which has the originals in scope, defines it
// to rename the copies so both can be compared field by field. Everything
// else here is a plain redeclaration, which the compiler itself rejects in
// capi_check.c if it differs from the original.
#ifndef EDGE_COPY
#define EDGE_COPY(T) T
#endif

typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_instance_pre wasmtime_instance_pre_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasi_config_t wasi_config_t;
typedef struct wasmtime_pooling_allocation_config_t wasmtime_pooling_allocation_config_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_importtype_t wasm_importtype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasmtime_val wasmtime_val_t; // only ever behind a pointer here

typedef uint8_t wasmtime_trap_code_t;
typedef uint8_t wasmtime_update_deadline_kind_t;
typedef uint8_t wasmtime_opt_level_t;
typedef uint8_t wasm_externkind_t;
typedef uint8_t wasmtime_extern_kind_t;
typedef uint8_t wasm_valkind_t;
typedef char wasm_byte_t;

typedef struct EDGE_COPY(wasm_byte_vec_t) {
	size_t size;
	wasm_byte_t *data;
} EDGE_COPY(wasm_byte_vec_t);
typedef wasm_byte_vec_t wasm_name_t;
typedef wasm_name_t wasm_message_t;

typedef struct EDGE_COPY(wasm_exporttype_vec_t) {
	size_t size;
	wasm_exporttype_t **data;
} EDGE_COPY(wasm_exporttype_vec_t);

typedef struct EDGE_COPY(wasm_importtype_vec_t) {
	size_t size;
	wasm_importtype_t **data;
} EDGE_COPY(wasm_importtype_vec_t);

typedef struct EDGE_COPY(wasm_valtype_vec_t) {
	size_t size;
	wasm_valtype_t **data;
} EDGE_COPY(wasm_valtype_vec_t);

typedef struct EDGE_COPY(wasmtime_instance) {
	uint64_t store_id;
	size_t __private;
} EDGE_COPY(wasmtime_instance_t);

typedef struct EDGE_COPY(wasmtime_func) {
	uint64_t store_id;
	void *__private;
} EDGE_COPY(wasmtime_func_t);

typedef struct EDGE_COPY(wasmtime_memory) {
	struct {
		uint64_t store_id;
		uint32_t __private1;
	};
	uint32_t __private2;
} EDGE_COPY(wasmtime_memory_t);

// wasmtime_extern_t is a kind byte and a union at offset 8: 32 bytes on
// 64-bit targets. Of the union's members we copy the two we read. The
// largest member is 24 bytes (wasmtime_memory_t, as are wasmtime_global_t
// and wasmtime_table_t, which we leave out), so the union is 24 bytes either
// way, and Wasmtime never writes past our copy; capi_check.c asserts that the
// sizes and offsets are the originals'.
typedef union EDGE_COPY(wasmtime_extern_union) {
	EDGE_COPY(wasmtime_func_t) func;
	EDGE_COPY(wasmtime_memory_t) memory;
} EDGE_COPY(wasmtime_extern_union_t);

typedef struct EDGE_COPY(wasmtime_extern) {
	wasmtime_extern_kind_t kind;
	EDGE_COPY(wasmtime_extern_union_t) of;
} EDGE_COPY(wasmtime_extern_t);

typedef union EDGE_COPY(wasmtime_val_raw) {
	int32_t i32;
	int64_t i64;
	float f32;
	double f64;
	uint8_t v128[16];
	uint32_t anyref;
	uint32_t externref;
	void *funcref;
} EDGE_COPY(wasmtime_val_raw_t);

typedef wasm_trap_t *(*wasmtime_func_unchecked_callback_t)(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args_and_results, size_t num_args_and_results);

// The values of Wasmtime's constants we use, under our names: capi_check.c
// asserts each equals the original (WASMTIME_EXTERN_FUNC, ...).
enum {
	EDGE_EXTERN_FUNC = 0,          // WASMTIME_EXTERN_FUNC: a wasmtime_extern_t kind
	EDGE_EXTERN_MEMORY = 3,        // WASMTIME_EXTERN_MEMORY
	EDGE_EXTERNTYPE_FUNC = 0,      // WASM_EXTERN_FUNC: a wasm_externkind_t
	EDGE_VALKIND_I32 = 0,          // WASM_I32
	EDGE_VALKIND_I64 = 1,          // WASM_I64
	EDGE_OPT_LEVEL_NONE = 0,       // WASMTIME_OPT_LEVEL_NONE
	EDGE_OPT_LEVEL_SPEED = 1,      // WASMTIME_OPT_LEVEL_SPEED
	EDGE_TRAP_CODE_INTERRUPT = 10, // WASMTIME_TRAP_CODE_INTERRUPT: the epoch deadline passed
	EDGE_UPDATE_DEADLINE_CONTINUE = 0, // WASMTIME_UPDATE_DEADLINE_CONTINUE
};

// EDGE_VAL_ROOM is the stack room edge_run gives the one result of
// edge_handle: a wasmtime_val_t, whose layout we do not copy. capi_check.c
// asserts it fits, at EDGE_VAL_ALIGN.
#define EDGE_VAL_ROOM 64
#define EDGE_VAL_ALIGN 16

wasm_config_t *wasm_config_new(void);
wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *);
void wasm_engine_delete(wasm_engine_t *);
void wasmtime_config_epoch_interruption_set(wasm_config_t *, bool);
void wasmtime_config_cranelift_opt_level_set(wasm_config_t *, wasmtime_opt_level_t);
wasmtime_pooling_allocation_config_t *wasmtime_pooling_allocation_config_new(void);
void wasmtime_pooling_allocation_config_delete(wasmtime_pooling_allocation_config_t *);
void wasmtime_pooling_allocation_config_total_memories_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_tables_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_core_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_stacks_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_memory_size_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_table_elements_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_table_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_decommit_batch_size_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_max_unused_warm_slots_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_async_stack_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_config_memory_init_cow_set(wasm_config_t *, bool);
void wasmtime_pooling_allocation_strategy_set(wasm_config_t *, const wasmtime_pooling_allocation_config_t *);
void wasmtime_engine_increment_epoch(wasm_engine_t *engine);

wasmtime_error_t *wasmtime_module_new(wasm_engine_t *engine, const uint8_t *wasm, size_t wasm_len, wasmtime_module_t **ret);
void wasmtime_module_delete(wasmtime_module_t *m);
wasmtime_error_t *wasmtime_module_serialize(wasmtime_module_t *module, wasm_byte_vec_t *ret);
wasmtime_error_t *wasmtime_module_deserialize(wasm_engine_t *engine, const uint8_t *bytes, size_t bytes_len, wasmtime_module_t **ret);
wasmtime_error_t *wasmtime_module_deserialize_file(wasm_engine_t *engine, const char *path, wasmtime_module_t **ret);
void wasmtime_module_exports(const wasmtime_module_t *module, wasm_exporttype_vec_t *out);
void wasm_exporttype_vec_delete(wasm_exporttype_vec_t *);
const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *);
const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *);
void wasmtime_module_imports(const wasmtime_module_t *module, wasm_importtype_vec_t *out);
void wasm_importtype_vec_delete(wasm_importtype_vec_t *);
const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *);
const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *);
wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *);

wasmtime_linker_t *wasmtime_linker_new(wasm_engine_t *engine);
void wasmtime_linker_delete(wasmtime_linker_t *linker);
wasmtime_error_t *wasmtime_linker_define_wasi(wasmtime_linker_t *linker);
void wasmtime_linker_allow_shadowing(wasmtime_linker_t *linker, bool allow_shadowing);
wasmtime_error_t *wasmtime_linker_define_func_unchecked(wasmtime_linker_t *linker, const char *module, size_t module_len, const char *name, size_t name_len, const wasm_functype_t *ty, wasmtime_func_unchecked_callback_t cb, void *data, void (*finalizer)(void *));
wasmtime_error_t *wasmtime_linker_instantiate_pre(const wasmtime_linker_t *linker, const wasmtime_module_t *module, wasmtime_instance_pre_t **instance_pre);
void wasmtime_instance_pre_delete(wasmtime_instance_pre_t *instance_pre);
wasmtime_error_t *wasmtime_instance_pre_instantiate(const wasmtime_instance_pre_t *instance_pre, wasmtime_context_t *store, wasmtime_instance_t *instance, wasm_trap_t **trap_ptr);
bool wasmtime_instance_export_get(wasmtime_context_t *store, const wasmtime_instance_t *instance, const char *name, size_t name_len, wasmtime_extern_t *item);
wasmtime_error_t *wasmtime_func_call_unchecked(wasmtime_context_t *store, const wasmtime_func_t *func, wasmtime_val_raw_t *args_and_results, size_t args_and_results_len, wasm_trap_t **trap);
wasmtime_error_t *wasmtime_func_call(wasmtime_context_t *store, const wasmtime_func_t *func, const wasmtime_val_t *args, size_t nargs, wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap);

wasmtime_store_t *wasmtime_store_new(wasm_engine_t *engine, void *data, void (*finalizer)(void *));
wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store);
void wasmtime_store_delete(wasmtime_store_t *store);
void wasmtime_store_limiter(wasmtime_store_t *store, int64_t memory_size, int64_t table_elements, int64_t instances, int64_t tables, int64_t memories);
void wasmtime_context_set_epoch_deadline(wasmtime_context_t *context, uint64_t ticks_beyond_current);
void wasmtime_store_epoch_deadline_callback(wasmtime_store_t *store, wasmtime_error_t *(*func)(wasmtime_context_t *context, void *data, uint64_t *epoch_deadline_delta, wasmtime_update_deadline_kind_t *update_kind), void *data, void (*finalizer)(void *));
wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *context, wasi_config_t *wasi);
void *wasmtime_context_get_data(const wasmtime_context_t *context);
wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *caller);
bool wasmtime_caller_export_get(wasmtime_caller_t *caller, const char *name, size_t name_len, wasmtime_extern_t *item);
uint8_t *wasmtime_memory_data(const wasmtime_context_t *store, const wasmtime_memory_t *memory);
size_t wasmtime_memory_data_size(const wasmtime_context_t *store, const wasmtime_memory_t *memory);

void wasmtime_error_message(const wasmtime_error_t *error, wasm_name_t *message);
void wasmtime_error_delete(wasmtime_error_t *error);
wasmtime_error_t *wasmtime_error_new(const char *);
bool wasmtime_error_exit_status(const wasmtime_error_t *, int *status);
void wasm_trap_message(const wasm_trap_t *, wasm_message_t *out);
bool wasmtime_trap_code(const wasm_trap_t *, wasmtime_trap_code_t *code);
wasm_trap_t *wasmtime_trap_new(const char *msg, size_t msg_len);
void wasm_trap_delete(wasm_trap_t *);
void wasm_byte_vec_delete(wasm_byte_vec_t *);

wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *params, wasm_valtype_vec_t *results);
void wasm_functype_delete(wasm_functype_t *);
wasm_valtype_t *wasm_valtype_new(wasm_valkind_t);
void wasm_valtype_vec_new(wasm_valtype_vec_t *out, size_t, wasm_valtype_t *const data[]);

wasi_config_t *wasi_config_new(void);
void wasi_config_set_stdout_custom(wasi_config_t *config, ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data, void (*finalizer)(void *));
void wasi_config_set_stderr_custom(wasi_config_t *config, ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data, void (*finalizer)(void *));

// ---- Ours: one request per call (capi.c). ----

// edge_stage is how far a run got; the Go side maps it onto the package's
// sentinel errors (runResult.err).
enum edge_stage {
	EDGE_STAGE_OK = 0,
	EDGE_STAGE_INSTANTIATE = 1, // instantiation failed or trapped
	EDGE_STAGE_RUN = 2,         // _initialize, _start or edge_handle failed or trapped
	EDGE_STAGE_NO_EXPORT = 3,   // the function the executor calls is not exported
	EDGE_STAGE_SETUP = 4,       // the store's WASI context could not be made
};

// edge_stop is why a guest was stopped before it finished (edge_outcome's
// stopped); the Go side maps it onto ErrDeadline and ErrCanceled.
enum edge_stop {
	EDGE_STOP_NONE = 0,
	EDGE_STOP_DEADLINE = 1, // the request's deadline passed
	EDGE_STOP_CANCEL = 2,   // the request was cancelled (the client left)
};

// The edge ABI's results of respond and body_write (docs/edge-abi.md). The
// guest SDKs (modules/sdk) carry the same values; -2 is the SDKs' own, for
// a header they refuse before calling respond, and the host never returns it.
enum {
	EDGE_ABI_OK = 0,
	EDGE_ABI_ERR_STATUS = -1, // status outside 200-599
	EDGE_ABI_ERR_STATE = -3,  // respond twice, or body_write before respond
	EDGE_ABI_ERR_LIMIT = -4,  // over the output limit
	// fetch (fetch.c, fetch.go): why an outbound request was refused.
	EDGE_ABI_ERR_FETCH_REFUSED = -5,   // not an allowed host, or a forbidden address
	EDGE_ABI_ERR_FETCH_COUNT = -6,     // more fetches than the route allows
	EDGE_ABI_ERR_FETCH_TOO_LARGE = -7, // response over the route's cap
	EDGE_ABI_ERR_FETCH_FAILED = -8,    // network error, or the deadline passed
	EDGE_ABI_ERR_FETCH_BAD = -9,       // malformed fetch request
};

// Per-store limits on instances, tables and memories: a guest is one
// instance of one module, and a Go guest needs a few tables.
enum {
	EDGE_STORE_INSTANCES = 10,
	EDGE_STORE_TABLES = 10,
	EDGE_STORE_MEMORIES = 1,
};

// edge_buf collects one output stream of a guest, up to max bytes. The
// caller zeroes it and sets max and drop_tail; edge_buf_free frees data.
typedef struct {
	unsigned char *data;
	size_t len, cap, max;
	int over;      // the guest wrote more than max
	int drop_tail; // past max: accept and drop (stderr) instead of failing (stdout)
} edge_buf;

// edge_outcome is what a run produced besides the output buffers.
typedef struct {
	enum edge_stage stage;
	int exit_set; // the guest called proc_exit
	int exit_code;
	int trap_set; // a trap code is known
	int trap_code;
	char *message; // malloc'd, or NULL
	int responded; // edge ABI: respond was called
	int status;
	int stopped; // enum edge_stop
	uint64_t instantiated_ns; // from the run's start to a ready instance; 0: none
} edge_outcome;

// edge_run_args is one request's input. Its pointers are borrowed for the
// call only.
typedef struct {
	wasm_engine_t *engine;
	const wasmtime_instance_pre_t *pre;
	int abi;                        // the edge ABI (edge_handle) rather than WAGI (_start)
	const char *args;               // "a\0b\0"
	size_t argc, args_len;
	const char *env;                // "K=V\0K=V\0"
	size_t envc, env_len;
	const uint8_t *stdin_data;      // WASI stdin; the request, for the edge ABI
	size_t stdin_len;
	int64_t memory, table_elements; // the store's limits
	uint64_t timeout_ns;            // the deadline, from the start of the run
	uintptr_t fetcher;              // the run's outbound fetch handle (fetch.go), or 0
	struct edge_warm *warm;         // the module's plan of pages to keep private (warm.c), or NULL
	int no_wasi;                    // the module imports none of Wasmtime's WASI: its store gets no WASI context
} edge_run_args;

// edge_result is one request's output, written by edge_run.
typedef struct {
	edge_buf out;  // WASI stdout for WAGI; the response body for the edge ABI
	edge_buf err;  // WASI stderr (and stdout, for the edge ABI); the edge ABI's log
	edge_buf head; // the edge ABI's response header lines
	edge_outcome outcome;
	int cancel; // raised by edge_cancel, from another thread
} edge_result;

void edge_run(edge_run_args a, edge_result *res);
void edge_cancel(edge_result *res);
void edge_buf_free(edge_buf *b);
void edge_result_free(edge_result *res);
wasmtime_error_t *edge_define_io(wasmtime_linker_t *linker);
wasmtime_error_t *edge_define_abi(wasmtime_linker_t *linker);
int edge_needs_wasi(const wasmtime_module_t *mod);

// ---- Pre-initialisation (preinit.c). ----

// edge_snap is one instance of an instrumented module whose init has run,
// kept until its state has been read.
typedef struct edge_snap edge_snap;

edge_snap *edge_snap_start(edge_run_args a, const char *init, size_t init_len, uint64_t seed, edge_result *res);
int edge_snap_global(edge_snap *s, const char *name, size_t len, uint8_t out[16]);
uint8_t *edge_snap_memory(edge_snap *s, const char *name, size_t len, size_t *size);
void edge_snap_free(edge_snap *s);
wasmtime_error_t *edge_define_deterministic(wasmtime_linker_t *linker);

// ---- Resetting pool slots by their dirty pages (pagemap.c). ----

int edge_pool_scan_dirty(wasmtime_pooling_allocation_config_t *pool);
int edge_pagemap_scan_supported(void);

// ---- Keeping the pages requests write private to their slots (warm.c). ----

typedef struct edge_warm edge_warm;

edge_warm *edge_warm_new(uint64_t keep_resident);
void edge_warm_free(edge_warm *w);
uint32_t edge_warm_pages(edge_warm *w, uint32_t *spans, uint64_t *learnt);
typedef struct { uint32_t first, count; } edge_span;
int edge_warm_merge(edge_span *s, int n, int max);

#endif
