package modules

// This file is the one place the package speaks Wasmtime's C API directly.
//
// Why: wasmtime-go v39's Go API lacks the pooling allocator, pre-instantiated
// modules (InstancePre) and in-memory WASI stdio, and these are what bring a
// fresh store per request from hundreds of microseconds to a few. The C API
// in the static library wasmtime-go bundles has all three, so we declare the
// few functions we need and link against that library (importing wasmtime-go
// is what puts it on the link line).
//
// The declarations are copied from the headers shipped in the wasmtime-go
// module (build/include) and must match them exactly; capi_test.go checks
// every declaration against those headers, so a wasmtime-go upgrade that
// changes one fails the tests instead of corrupting memory.
//
// Every C object created here is freed explicitly on every path; nothing
// relies on finalizers.

/*
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_instance_pre wasmtime_instance_pre_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasi_config_t wasi_config_t;
typedef struct wasmtime_pooling_allocation_config_t wasmtime_pooling_allocation_config_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct wasm_byte_vec_t { size_t size; uint8_t *data; } wasm_byte_vec_t;
typedef wasm_byte_vec_t wasm_name_t;
typedef wasm_byte_vec_t wasm_message_t;
typedef struct wasm_exporttype_vec_t { size_t size; wasm_exporttype_t **data; } wasm_exporttype_vec_t;
typedef uint8_t wasmtime_trap_code_t;
typedef uint8_t wasmtime_opt_level_t;
typedef uint8_t wasm_externkind_t;
typedef uint8_t wasmtime_extern_kind_t;
typedef struct wasmtime_instance { uint64_t store_id; size_t __private; } wasmtime_instance_t;
typedef struct wasmtime_func { uint64_t store_id; void *__private; } wasmtime_func_t;
typedef struct wasmtime_val wasmtime_val_t;
// wasmtime_extern_t is a kind byte and a union whose largest member is 16
// bytes on 64-bit targets; the union here is padded far beyond that, so
// Wasmtime never writes past it, and its offset (8) is the same.
typedef struct wasmtime_memory wasmtime_memory_t;
typedef struct wasmtime_extern { wasmtime_extern_kind_t kind; union { wasmtime_func_t func; struct wasmtime_memory *unused; uint8_t pad[64]; } of; } wasmtime_extern_t;

extern wasm_config_t* wasm_config_new(void);
extern wasm_engine_t* wasm_engine_new_with_config(wasm_config_t*);
extern void wasm_engine_delete(wasm_engine_t*);
extern void wasmtime_config_epoch_interruption_set(wasm_config_t *, bool);
extern void wasmtime_config_cranelift_opt_level_set(wasm_config_t *, wasmtime_opt_level_t);
extern wasmtime_pooling_allocation_config_t *wasmtime_pooling_allocation_config_new();
extern void wasmtime_pooling_allocation_config_delete(wasmtime_pooling_allocation_config_t *);
extern void wasmtime_pooling_allocation_config_total_memories_set(wasmtime_pooling_allocation_config_t *, uint32_t);
extern void wasmtime_pooling_allocation_config_total_tables_set(wasmtime_pooling_allocation_config_t *, uint32_t);
extern void wasmtime_pooling_allocation_config_total_core_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
extern void wasmtime_pooling_allocation_config_max_memory_size_set(wasmtime_pooling_allocation_config_t *, size_t);
extern void wasmtime_pooling_allocation_config_table_elements_set(wasmtime_pooling_allocation_config_t *, size_t);
extern void wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
extern void wasmtime_pooling_allocation_config_table_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
extern void wasmtime_pooling_allocation_config_decommit_batch_size_set(wasmtime_pooling_allocation_config_t *, size_t);
extern void wasmtime_pooling_allocation_strategy_set(wasm_config_t *, const wasmtime_pooling_allocation_config_t *);
extern void wasmtime_engine_increment_epoch(wasm_engine_t *engine);

extern wasmtime_error_t *wasmtime_module_new(wasm_engine_t *engine, const uint8_t *wasm, size_t wasm_len, wasmtime_module_t **ret);
extern void wasmtime_module_delete(wasmtime_module_t *m);
extern wasmtime_error_t *wasmtime_module_serialize(wasmtime_module_t *module, wasm_byte_vec_t *ret);
extern wasmtime_error_t *wasmtime_module_deserialize(wasm_engine_t *engine, const uint8_t *bytes, size_t bytes_len, wasmtime_module_t **ret);
extern wasmtime_error_t *wasmtime_module_deserialize_file(wasm_engine_t *engine, const char *path, wasmtime_module_t **ret);
extern void wasmtime_module_exports(const wasmtime_module_t *module, wasm_exporttype_vec_t *out);
extern void wasm_exporttype_vec_delete(wasm_exporttype_vec_t*);
extern const wasm_name_t* wasm_exporttype_name(const wasm_exporttype_t*);
extern const wasm_externtype_t* wasm_exporttype_type(const wasm_exporttype_t*);
extern wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t*);

extern wasmtime_linker_t *wasmtime_linker_new(wasm_engine_t *engine);
extern void wasmtime_linker_delete(wasmtime_linker_t *linker);
extern wasmtime_error_t *wasmtime_linker_define_wasi(wasmtime_linker_t *linker);
extern wasmtime_error_t *wasmtime_linker_instantiate_pre(const wasmtime_linker_t *linker, const wasmtime_module_t *module, wasmtime_instance_pre_t **instance_pre);
extern void wasmtime_instance_pre_delete(wasmtime_instance_pre_t *instance_pre);
extern wasmtime_error_t *wasmtime_instance_pre_instantiate(const wasmtime_instance_pre_t *instance_pre, wasmtime_context_t *store, wasmtime_instance_t *instance, wasm_trap_t **trap_ptr);
extern bool wasmtime_instance_export_get(wasmtime_context_t *store, const wasmtime_instance_t *instance, const char *name, size_t name_len, wasmtime_extern_t *item);
extern wasmtime_error_t *wasmtime_func_call(wasmtime_context_t *store, const wasmtime_func_t *func, const wasmtime_val_t *args, size_t nargs, wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap);

extern wasmtime_store_t *wasmtime_store_new(wasm_engine_t *engine, void *data, void (*finalizer)(void *));
extern wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store);
extern void wasmtime_store_delete(wasmtime_store_t *store);
extern void wasmtime_store_limiter(wasmtime_store_t *store, int64_t memory_size, int64_t table_elements, int64_t instances, int64_t tables, int64_t memories);
extern void wasmtime_context_set_epoch_deadline(wasmtime_context_t *context, uint64_t ticks_beyond_current);
extern wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *context, wasi_config_t *wasi);

extern void wasmtime_error_message(const wasmtime_error_t *error, wasm_name_t *message);
extern void wasmtime_error_delete(wasmtime_error_t *error);
extern bool wasmtime_error_exit_status(const wasmtime_error_t *, int *status);
extern void wasm_trap_message(const wasm_trap_t*, wasm_message_t* out);
extern bool wasmtime_trap_code(const wasm_trap_t *, wasmtime_trap_code_t *code);
extern void wasm_trap_delete(wasm_trap_t*);
extern void wasm_byte_vec_new(wasm_byte_vec_t* out, size_t, const uint8_t*);
extern void wasm_byte_vec_delete(wasm_byte_vec_t*);

typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_valtype_vec_t { size_t size; wasm_valtype_t **data; } wasm_valtype_vec_t;
typedef uint8_t wasm_valkind_t;
typedef union wasmtime_val_raw { int32_t i32; int64_t i64; float f32; double f64; uint8_t v128[16]; uint32_t anyref; uint32_t externref; void *funcref; } wasmtime_val_raw_t;
typedef struct wasmtime_memory { struct { uint64_t store_id; uint32_t __private1; }; uint32_t __private2; } wasmtime_memory_t;
typedef wasm_trap_t *(*wasmtime_func_unchecked_callback_t)(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args_and_results, size_t num_args_and_results);
extern wasmtime_error_t *wasmtime_linker_define_func_unchecked(wasmtime_linker_t *linker, const char *module, size_t module_len, const char *name, size_t name_len, const wasm_functype_t *ty, wasmtime_func_unchecked_callback_t cb, void *data, void (*finalizer)(void *));
extern void wasmtime_linker_allow_shadowing(wasmtime_linker_t *linker, bool allow_shadowing);
extern wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *caller);
extern bool wasmtime_caller_export_get(wasmtime_caller_t *caller, const char *name, size_t name_len, wasmtime_extern_t *item);
extern void *wasmtime_context_get_data(const wasmtime_context_t *context);
extern uint8_t *wasmtime_memory_data(const wasmtime_context_t *store, const wasmtime_memory_t *memory);
extern size_t wasmtime_memory_data_size(const wasmtime_context_t *store, const wasmtime_memory_t *memory);
extern wasm_functype_t* wasm_functype_new(wasm_valtype_vec_t* params, wasm_valtype_vec_t* results);
extern void wasm_functype_delete(wasm_functype_t*);
extern wasm_valtype_t* wasm_valtype_new(wasm_valkind_t);
extern void wasm_valtype_vec_new(wasm_valtype_vec_t* out, size_t, wasm_valtype_t* const data[]);
extern wasm_trap_t *wasmtime_trap_new(const char *msg, size_t msg_len);

extern wasi_config_t *wasi_config_new();
extern bool wasi_config_set_argv(wasi_config_t *config, size_t argc, const char *argv[]);
extern bool wasi_config_set_env(wasi_config_t *config, size_t envc, const char *names[], const char *values[]);
extern void wasi_config_set_stdin_bytes(wasi_config_t *config, wasm_byte_vec_t *binary);
extern void wasi_config_set_stdout_custom(wasi_config_t *config, ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data, void (*finalizer)(void *));
extern void wasi_config_set_stderr_custom(wasi_config_t *config, ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data, void (*finalizer)(void *));

// ---- Our C side: one call per request. ----

// edge_buf collects one output stream of a guest, up to max bytes.
typedef struct {
	unsigned char *data;
	size_t len, cap, max;
	int over;      // the guest wrote more than max
	int drop_tail; // past max: accept and drop (stderr) instead of failing (stdout)
} edge_buf;

static ptrdiff_t edge_buf_write(void *p, const unsigned char *b, size_t n) {
	edge_buf *o = p;
	size_t room = o->max - o->len;
	size_t take = n;
	if (n > room) {
		o->over = 1;
		if (!o->drop_tail) return -EFBIG; // the guest's write fails
		take = room;
	}
	if (o->len + take > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + take) cap *= 2;
		if (cap > o->max) cap = o->max;
		unsigned char *d = realloc(o->data, cap);
		if (!d) return -ENOMEM;
		o->data = d;
		o->cap = cap;
	}
	memcpy(o->data + o->len, b, take);
	o->len += take;
	return (ptrdiff_t)n;
}

// edge_outcome is what a run produced besides the output buffers.
typedef struct {
	int stage;      // 0 ok, 1 instantiate failed, 2 run failed, 3 no _start, 4 setup failed
	int exit_set;   // the guest called proc_exit
	int exit_code;
	int trap_set;   // a trap code is known
	int trap_code;
	char *message;  // malloc'd, or NULL
	int responded;  // edge ABI: respond was called
	int status;
} edge_outcome;

static char *edge_copy_vec(wasm_byte_vec_t *v) {
	size_t n = v->size;
	if (n > 0 && v->data[n-1] == 0) n--;
	char *s = malloc(n + 1);
	if (s) { memcpy(s, v->data, n); s[n] = 0; }
	wasm_byte_vec_delete(v);
	return s;
}

static void edge_take_error(edge_outcome *out, wasmtime_error_t *err, wasm_trap_t *trap) {
	wasm_byte_vec_t msg = {0, NULL};
	if (err) {
		int code = 0;
		if (wasmtime_error_exit_status(err, &code)) {
			out->exit_set = 1;
			out->exit_code = code;
		}
		wasmtime_error_message(err, &msg);
		out->message = edge_copy_vec(&msg);
		wasmtime_error_delete(err);
	}
	if (trap) {
		wasmtime_trap_code_t code;
		if (wasmtime_trap_code(trap, &code)) {
			out->trap_set = 1;
			out->trap_code = code;
		}
		if (!out->message) {
			wasm_trap_message(trap, &msg);
			out->message = edge_copy_vec(&msg);
		}
		wasm_trap_delete(trap);
	}
}

// ---- WASI preview 1 I/O served from memory. ----
//
// Wasmtime's own WASI implementation routes each fd_write through an
// output stream that costs about 50 us per call here; a WAGI guest makes a
// few such calls per request. These host functions serve the calls that
// carry a request in and a response out (args, environ, fd_read on stdin,
// fd_write on stdout and stderr) straight from and into per-request
// buffers, and shadow Wasmtime's. The rest of WASI (clocks, random, fdstat,
// proc_exit, ...) stays Wasmtime's.

enum { WASI_ESUCCESS = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EFBIG = 22, WASI_ESPIPE = 70 };

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
} edge_req;

// edge_mem finds the caller's linear memory.
static uint8_t *edge_mem(wasmtime_caller_t *caller, size_t *size) {
	wasmtime_extern_t item;
	if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != 3) return NULL;
	wasmtime_context_t *ctx = wasmtime_caller_context(caller);
	const wasmtime_memory_t *m = (const wasmtime_memory_t *)&item.of;
	*size = wasmtime_memory_data_size(ctx, m);
	return wasmtime_memory_data(ctx, m);
}

static int edge_in_bounds(size_t size, uint32_t ptr, uint64_t len) {
	return (uint64_t)ptr + len <= size;
}

static edge_req *edge_req_of(wasmtime_caller_t *caller) {
	return wasmtime_context_get_data(wasmtime_caller_context(caller));
}

static void edge_put32(uint8_t *mem, uint32_t at, uint32_t v) { memcpy(mem + at, &v, 4); }
static uint32_t edge_get32(const uint8_t *mem, uint32_t at) { uint32_t v; memcpy(&v, mem + at, 4); return v; }

// sizes_get(count_ptr, buf_size_ptr) for args and environ.
static wasm_trap_t *edge_sizes(wasmtime_caller_t *caller, wasmtime_val_raw_t *a, size_t n, size_t len) {
	size_t size; uint8_t *mem = edge_mem(caller, &size);
	uint32_t cp = a[0].i32, bp = a[1].i32;
	if (!mem || !edge_in_bounds(size, cp, 4) || !edge_in_bounds(size, bp, 4)) { a[0].i32 = WASI_EFAULT; return NULL; }
	edge_put32(mem, cp, n);
	edge_put32(mem, bp, len);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// get(ptrs, buf): the strings into buf, a pointer to each into ptrs.
static wasm_trap_t *edge_strings_get(wasmtime_caller_t *caller, wasmtime_val_raw_t *a, const char *s, size_t n, size_t len) {
	size_t size; uint8_t *mem = edge_mem(caller, &size);
	uint32_t pp = a[0].i32, bp = a[1].i32;
	if (!mem || !edge_in_bounds(size, pp, 4 * (uint64_t)n) || !edge_in_bounds(size, bp, len)) { a[0].i32 = WASI_EFAULT; return NULL; }
	memcpy(mem + bp, s, len);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		edge_put32(mem, pp + 4 * i, bp + off);
		off += strlen(s + off) + 1;
	}
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

static wasm_trap_t *edge_args_sizes_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c); return edge_sizes(c, a, r->argc, r->args_len);
}
static wasm_trap_t *edge_args_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c); return edge_strings_get(c, a, r->args, r->argc, r->args_len);
}
static wasm_trap_t *edge_environ_sizes_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c); return edge_sizes(c, a, r->envc, r->env_len);
}
static wasm_trap_t *edge_environ_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c); return edge_strings_get(c, a, r->env, r->envc, r->env_len);
}

// fd_write(fd, iovs, iovs_len, nwritten)
static wasm_trap_t *edge_fd_write(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t fd = a[0].i32, iovs = a[1].i32, cnt = a[2].i32, np = a[3].i32;
	edge_buf *b = fd == 1 ? r->out : fd == 2 ? r->err : NULL;
	if (!b) { a[0].i32 = WASI_EBADF; return NULL; }
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, iovs, 8 * (uint64_t)cnt) || !edge_in_bounds(size, np, 4)) { a[0].i32 = WASI_EFAULT; return NULL; }
	uint32_t total = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t p = edge_get32(mem, iovs + 8 * i), l = edge_get32(mem, iovs + 8 * i + 4);
		if (!edge_in_bounds(size, p, l)) { a[0].i32 = WASI_EFAULT; return NULL; }
		ptrdiff_t w = edge_buf_write(b, mem + p, l);
		if (w < 0) { a[0].i32 = WASI_EFBIG; return NULL; }
		total += l;
	}
	edge_put32(mem, np, total);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// fd_read(fd, iovs, iovs_len, nread): stdin only.
static wasm_trap_t *edge_fd_read(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t fd = a[0].i32, iovs = a[1].i32, cnt = a[2].i32, np = a[3].i32;
	if (fd != 0) { a[0].i32 = WASI_EBADF; return NULL; }
	size_t in_len = r->abi ? 0 : r->in_len;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, iovs, 8 * (uint64_t)cnt) || !edge_in_bounds(size, np, 4)) { a[0].i32 = WASI_EFAULT; return NULL; }
	uint32_t total = 0;
	for (uint32_t i = 0; i < cnt && r->in_pos < in_len; i++) {
		uint32_t p = edge_get32(mem, iovs + 8 * i), l = edge_get32(mem, iovs + 8 * i + 4);
		if (!edge_in_bounds(size, p, l)) { a[0].i32 = WASI_EFAULT; return NULL; }
		size_t take = in_len - r->in_pos;
		if (take > l) take = l;
		memcpy(mem + p, r->in + r->in_pos, take);
		r->in_pos += take;
		total += take;
	}
	edge_put32(mem, np, total);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// fd_fdstat_get(fd, stat): stdio fds are reported as unknown file types
// (not terminals, so libc buffers fully) with every right.
static wasm_trap_t *edge_fd_fdstat_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	uint32_t fd = a[0].i32, p = a[1].i32;
	if (fd > 2) { a[0].i32 = WASI_EBADF; return NULL; }
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, p, 24)) { a[0].i32 = WASI_EFAULT; return NULL; }
	memset(mem + p, 0, 24);
	memset(mem + p + 8, 0xff, 16);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// fd_close(fd) and fd_fdstat_set_flags(fd, flags): accepted and ignored
// for stdio; nothing else is open.
static wasm_trap_t *edge_stdio_noop(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	a[0].i32 = a[0].i32 <= 2 ? WASI_ESUCCESS : WASI_EBADF;
	return NULL;
}

// fd_seek(fd, offset i64, whence, newoffset): stdio is not seekable.
static wasm_trap_t *edge_fd_seek(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	a[0].i32 = a[0].i32 <= 2 ? WASI_ESPIPE : WASI_EBADF;
	return NULL;
}

// ---- The edge ABI, version 1 (docs/edge-abi.md). ----

static wasm_trap_t *edge_fault(void) {
	static const char msg[] = "edge_v1: pointer outside the guest's memory";
	return wasmtime_trap_new(msg, sizeof msg - 1);
}

// request(buf, cap) -> total length; copies only if it fits.
static wasm_trap_t *edge_abi_request(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t buf = a[0].i32, cap = a[1].i32;
	if (cap >= r->in_len) {
		size_t size; uint8_t *mem = edge_mem(c, &size);
		if (!mem || !edge_in_bounds(size, buf, r->in_len)) return edge_fault();
		memcpy(mem + buf, r->in, r->in_len);
	}
	a[0].i32 = (int32_t)r->in_len;
	return NULL;
}

// respond(status, head, head_len, body, body_len) -> 0 or a negative code.
static wasm_trap_t *edge_abi_respond(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	int32_t status = a[0].i32;
	uint32_t hp = a[1].i32, hl = a[2].i32, bp = a[3].i32, bl = a[4].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, hp, hl) || !edge_in_bounds(size, bp, bl)) return edge_fault();
	if (r->responded) { a[0].i32 = -3; return NULL; }
	if (status < 200 || status > 599) { a[0].i32 = -1; return NULL; }
	if (edge_buf_write(r->head, mem + hp, hl) < 0) { a[0].i32 = -4; return NULL; }
	r->responded = 1;
	r->status = status;
	a[0].i32 = edge_buf_write(r->body, mem + bp, bl) < 0 ? -4 : 0;
	return NULL;
}

// body_write(buf, len) -> 0 or a negative code.
static wasm_trap_t *edge_abi_body_write(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t bp = a[0].i32, bl = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, bp, bl)) return edge_fault();
	if (!r->responded) { a[0].i32 = -3; return NULL; }
	a[0].i32 = edge_buf_write(r->body, mem + bp, bl) < 0 ? -4 : 0;
	return NULL;
}

// log(buf, len): one line for the node's log.
static wasm_trap_t *edge_abi_log(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t bp = a[0].i32, bl = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, bp, bl)) return edge_fault();
	edge_buf_write(r->err, mem + bp, bl);
	edge_buf_write(r->err, (const unsigned char *)"\n", 1);
	return NULL;
}

// edge_host is one host function: its name, its parameters as one letter
// each ('i' i32, 'I' i64), whether it returns an i32, and its code.
typedef struct {
	const char *name, *params;
	int result;
	wasmtime_func_unchecked_callback_t cb;
} edge_host;

static wasm_functype_t *edge_functype(const char *params, int result) {
	wasm_valtype_t *ps[8], *rs[1];
	size_t np = strlen(params);
	for (size_t i = 0; i < np; i++) ps[i] = wasm_valtype_new(params[i] == 'I' ? 1 : 0); // WASM_I64 : WASM_I32
	if (result) rs[0] = wasm_valtype_new(0);
	wasm_valtype_vec_t pv, rv;
	wasm_valtype_vec_new(&pv, np, ps);
	wasm_valtype_vec_new(&rv, result ? 1 : 0, rs);
	return wasm_functype_new(&pv, &rv);
}

// edge_define defines host functions in one import module of the linker.
static wasmtime_error_t *edge_define(wasmtime_linker_t *linker, const char *module, const edge_host *fns, size_t n) {
	for (size_t i = 0; i < n; i++) {
		wasm_functype_t *ty = edge_functype(fns[i].params, fns[i].result);
		wasmtime_error_t *err = wasmtime_linker_define_func_unchecked(linker,
			module, strlen(module), fns[i].name, strlen(fns[i].name), ty, fns[i].cb, NULL, NULL);
		wasm_functype_delete(ty);
		if (err) return err;
	}
	return NULL;
}

// edge_define_abi defines the edge_v1 host functions.
static wasmtime_error_t *edge_define_abi(wasmtime_linker_t *linker) {
	static const edge_host fns[] = {
		{"request", "ii", 1, edge_abi_request}, {"respond", "iiiii", 1, edge_abi_respond},
		{"body_write", "ii", 1, edge_abi_body_write}, {"log", "ii", 0, edge_abi_log},
	};
	return edge_define(linker, "edge_v1", fns, sizeof fns / sizeof fns[0]);
}

// edge_define_io shadows Wasmtime's WASI I/O functions with ours.
static wasmtime_error_t *edge_define_io(wasmtime_linker_t *linker) {
	static const edge_host fns[] = {
		{"args_sizes_get", "ii", 1, edge_args_sizes_get}, {"args_get", "ii", 1, edge_args_get},
		{"environ_sizes_get", "ii", 1, edge_environ_sizes_get}, {"environ_get", "ii", 1, edge_environ_get},
		{"fd_write", "iiii", 1, edge_fd_write}, {"fd_read", "iiii", 1, edge_fd_read},
		{"fd_fdstat_get", "ii", 1, edge_fd_fdstat_get}, {"fd_close", "i", 1, edge_stdio_noop},
		{"fd_fdstat_set_flags", "ii", 1, edge_stdio_noop}, {"fd_seek", "iIii", 1, edge_fd_seek},
	};
	wasmtime_linker_allow_shadowing(linker, true);
	wasmtime_error_t *err = edge_define(linker, "wasi_snapshot_preview1", fns, sizeof fns / sizeof fns[0]);
	wasmtime_linker_allow_shadowing(linker, false);
	return err;
}

// edge_run runs _start of pre in a fresh store: argv, env and stdin from
// memory, stdout and stderr into bounded buffers, the given limits, and an
// epoch deadline. The store is deleted before it returns.
static void edge_run(wasm_engine_t *engine, const wasmtime_instance_pre_t *pre, int abi,
		const char *args, size_t argc, size_t args_len,
		const char *env, size_t envc, size_t env_len,
		const uint8_t *stdin_data, size_t stdin_len,
		int64_t memory, int64_t table_elements, uint64_t deadline,
		edge_buf *stdout_buf, edge_buf *stderr_buf, edge_buf *head_buf, edge_outcome *out) {
	edge_req req = {args, argc, args_len, env, envc, env_len, stdin_data, stdin_len, 0, stdout_buf, stderr_buf, head_buf, stdout_buf, 0, 0, 0};
	if (abi) {
		// The edge ABI: WASI stdout and stderr both go to the log, the
		// response body is written through respond and body_write, and
		// the request is read through request, not stdin.
		req.out = stderr_buf;
		req.abi = 1;
	}
	wasi_config_t *wasi = wasi_config_new();
	if (!wasi) { out->stage = 4; return; }
	// Wasmtime's side of WASI keeps fds 0-2 valid for fd_fdstat_get and
	// the like; the bytes themselves go through the functions above.
	wasi_config_set_stdout_custom(wasi, edge_buf_write, stdout_buf, NULL);
	wasi_config_set_stderr_custom(wasi, edge_buf_write, stderr_buf, NULL);

	wasmtime_store_t *store = wasmtime_store_new(engine, &req, NULL);
	wasmtime_context_t *ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, memory, table_elements, 10, 10, 1);
	wasmtime_context_set_epoch_deadline(ctx, deadline);
	wasmtime_error_t *err = wasmtime_context_set_wasi(ctx, wasi);
	if (err) {
		out->stage = 4;
		edge_take_error(out, err, NULL);
		wasmtime_store_delete(store);
		return;
	}
	wasmtime_instance_t inst;
	wasm_trap_t *trap = NULL;
	err = wasmtime_instance_pre_instantiate(pre, ctx, &inst, &trap);
	if (err || trap) {
		out->stage = 1;
		edge_take_error(out, err, trap);
		wasmtime_store_delete(store);
		return;
	}
	wasmtime_extern_t fn;
	_Alignas(16) uint8_t results[64]; // room for one wasmtime_val_t, whatever its layout
	size_t nresults = 0;
	if (abi) {
		if (wasmtime_instance_export_get(ctx, &inst, "_initialize", 11, &fn) && fn.kind == 0) {
			err = wasmtime_func_call(ctx, &fn.of.func, NULL, 0, NULL, 0, &trap);
			if (err || trap) {
				out->stage = 2;
				edge_take_error(out, err, trap);
				wasmtime_store_delete(store);
				return;
			}
		}
		if (!wasmtime_instance_export_get(ctx, &inst, "edge_handle", 11, &fn) || fn.kind != 0) {
			out->stage = 3;
			wasmtime_store_delete(store);
			return;
		}
		nresults = 1;
	} else if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6, &fn) || fn.kind != 0) {
		out->stage = 3;
		wasmtime_store_delete(store);
		return;
	}
	err = wasmtime_func_call(ctx, &fn.of.func, NULL, 0, (wasmtime_val_t *)results, nresults, &trap);
	if (err || trap) {
		out->stage = 2;
		edge_take_error(out, err, trap);
	}
	out->responded = req.responded;
	out->status = req.status;
	wasmtime_store_delete(store);
}

static void edge_buf_free(edge_buf *b) { free(b->data); b->data = NULL; }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	// Linked for its bundled static Wasmtime library, which our C
	// declarations above resolve against.
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
}

// newCEngine builds the C engine: epoch interruption, the optimisation
// level, and a pooling allocator with poolSize slots of maxMemory each.
func newCEngine(optimize bool, poolSize int, maxMemory int64) (*cEngine, error) {
	cfg := C.wasm_config_new()
	C.wasmtime_config_epoch_interruption_set(cfg, true)
	var opt C.wasmtime_opt_level_t // WASMTIME_OPT_LEVEL_NONE
	if optimize {
		opt = 1 // WASMTIME_OPT_LEVEL_SPEED
	}
	C.wasmtime_config_cranelift_opt_level_set(cfg, opt)
	pool := C.wasmtime_pooling_allocation_config_new()
	C.wasmtime_pooling_allocation_config_total_core_instances_set(pool, C.uint32_t(poolSize))
	C.wasmtime_pooling_allocation_config_total_memories_set(pool, C.uint32_t(poolSize))
	C.wasmtime_pooling_allocation_config_total_tables_set(pool, C.uint32_t(poolSize))
	C.wasmtime_pooling_allocation_config_max_memory_size_set(pool, C.size_t(maxMemory))
	C.wasmtime_pooling_allocation_config_table_elements_set(pool, C.size_t(maxTableElements))
	// Reset the first pages of a slot's memory and table with memset
	// instead of returning them to the kernel: small guests then reuse warm
	// pages instead of faulting them in and flushing TLBs on every request.
	// Still zeroed, so request N+1 never sees request N's memory.
	C.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, C.size_t(keepResident))
	C.wasmtime_pooling_allocation_config_table_keep_resident_set(pool, C.size_t(keepResident))
	// Decommit whatever is beyond that in batches: one TLB flush for many.
	C.wasmtime_pooling_allocation_config_decommit_batch_size_set(pool, 16)
	C.wasmtime_pooling_allocation_strategy_set(cfg, pool) // copies the pool config
	C.wasmtime_pooling_allocation_config_delete(pool)
	eng := C.wasm_engine_new_with_config(cfg) // takes ownership of cfg
	linker := C.wasmtime_linker_new(eng)
	err := C.wasmtime_linker_define_wasi(linker)
	if err == nil {
		err = C.edge_define_io(linker)
	}
	if err == nil {
		err = C.edge_define_abi(linker)
	}
	if err != nil {
		C.wasmtime_linker_delete(linker)
		C.wasm_engine_delete(eng)
		return nil, fmt.Errorf("define WASI: %s", takeError(err))
	}
	return &cEngine{eng: eng, linker: linker}, nil
}

func (c *cEngine) incrementEpoch() { C.wasmtime_engine_increment_epoch(c.eng) }

// cModule is a compiled module and its pre-instantiation: imports resolved
// once against the linker, so each request only instantiates.
type cModule struct {
	mod *C.wasmtime_module_t
	pre *C.wasmtime_instance_pre_t
}

// compile compiles wasm bytes.
func (c *cEngine) compile(wasm []byte) (*cModule, error) {
	var mod *C.wasmtime_module_t
	var ptr *C.uint8_t
	if len(wasm) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&wasm[0]))
	}
	if err := C.wasmtime_module_new(c.eng, ptr, C.size_t(len(wasm)), &mod); err != nil {
		return nil, errors.New(takeError(err))
	}
	return c.prepare(mod)
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
	var pre *C.wasmtime_instance_pre_t
	if err := C.wasmtime_linker_instantiate_pre(c.linker, mod, &pre); err != nil {
		C.wasmtime_module_delete(mod)
		return nil, errors.New(takeError(err))
	}
	return &cModule{mod: mod, pre: pre}, nil
}

func exportsFunc(mod *C.wasmtime_module_t, name string) bool {
	var vec C.wasm_exporttype_vec_t
	C.wasmtime_module_exports(mod, &vec)
	defer C.wasm_exporttype_vec_delete(&vec)
	types := unsafe.Slice(vec.data, vec.size)
	for _, t := range types {
		n := C.wasm_exporttype_name(t)
		got := C.GoStringN((*C.char)(unsafe.Pointer(n.data)), C.int(n.size))
		if got == name && C.wasm_externtype_kind(C.wasm_exporttype_type(t)) == 0 { // WASM_EXTERN_FUNC
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
}

// keepResident is how much of each slot's memory and table is reset in
// place rather than decommitted.
const keepResident = 1 << 20

// runResult is what one run produced, copied into Go memory.
type runResult struct {
	stdout, stderr []byte
	stdoutOver     bool
	stage          int // 0 ok, 1 instantiate, 2 run, 3 no _start, 4 setup
	exitSet        bool
	exitCode       int
	trapSet        bool
	trapCode       int
	message        string
	duration       time.Duration
	// The edge ABI's response: head lines and status (body in stdout).
	head      []byte
	headOver  bool
	responded bool
	status    int
}

// maxABIHead bounds the header lines an edge ABI guest may send.
const maxABIHead = 64 << 10

// Trap code values of wasmtime_trap_code_t used here.
const trapInterrupt = 10 // WASMTIME_TRAP_CODE_INTERRUPT

// run is one request: a single cgo call creates the store, instantiates
// from the pre-instantiated module, calls _start and deletes the store.
func (c *cEngine) run(m *cModule, abi bool, cmd *Command, lim Limits, deadline uint64) *runResult {
	argbuf, argc := packStrings(cmd.Args)
	envbuf, envc := packEnv(cmd.Env)
	var stdin *C.uint8_t
	if len(cmd.Stdin) > 0 {
		stdin = (*C.uint8_t)(unsafe.Pointer(&cmd.Stdin[0]))
	}
	bufs := (*[3]C.edge_buf)(C.calloc(3, C.size_t(unsafe.Sizeof(C.edge_buf{}))))
	out := (*C.edge_outcome)(C.calloc(1, C.size_t(unsafe.Sizeof(C.edge_outcome{}))))
	defer C.free(unsafe.Pointer(bufs))
	defer C.free(unsafe.Pointer(out))
	bufs[0].max, bufs[1].max, bufs[1].drop_tail = C.size_t(lim.MaxOutput), C.size_t(lim.MaxStderr), 1
	bufs[2].max = maxABIHead
	var cabi C.int
	if abi {
		cabi = 1
	}
	start := time.Now()
	C.edge_run(c.eng, m.pre, cabi,
		(*C.char)(unsafe.Pointer(&argbuf[0])), C.size_t(argc), C.size_t(len(argbuf)-1),
		(*C.char)(unsafe.Pointer(&envbuf[0])), C.size_t(envc), C.size_t(len(envbuf)-1),
		stdin, C.size_t(len(cmd.Stdin)),
		C.int64_t(lim.Memory), C.int64_t(lim.TableElements), C.uint64_t(deadline),
		&bufs[0], &bufs[1], &bufs[2], out)
	runtime.KeepAlive(argbuf)
	runtime.KeepAlive(envbuf)
	runtime.KeepAlive(cmd)
	r := &runResult{
		stdout:     C.GoBytes(unsafe.Pointer(bufs[0].data), C.int(bufs[0].len)),
		stderr:     C.GoBytes(unsafe.Pointer(bufs[1].data), C.int(bufs[1].len)),
		stdoutOver: bufs[0].over != 0,
		stage:      int(out.stage),
		exitSet:    out.exit_set != 0,
		exitCode:   int(out.exit_code),
		trapSet:    out.trap_set != 0,
		trapCode:   int(out.trap_code),
		duration:   time.Since(start),
		head:       C.GoBytes(unsafe.Pointer(bufs[2].data), C.int(bufs[2].len)),
		headOver:   bufs[2].over != 0,
		responded:  out.responded != 0,
		status:     int(out.status),
	}
	if out.message != nil {
		r.message = C.GoString(out.message)
		C.free(unsafe.Pointer(out.message))
	}
	C.edge_buf_free(&bufs[0])
	C.edge_buf_free(&bufs[1])
	C.edge_buf_free(&bufs[2])
	return r
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
