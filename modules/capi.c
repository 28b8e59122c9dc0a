// capi.c: the C side of one request. A single cgo call (edge_run) makes a
// store, instantiates the pre-instantiated module, runs it with WASI I/O
// served from memory and the edge ABI's host functions, and deletes the
// store: crossing into C once per request instead of once per Wasmtime call.
// Declarations, and why they are copies of Wasmtime's: capi.h.
//
// Every C object created here is freed on every path; nothing relies on
// finalizers.

#include <errno.h>
#include <string.h>

#include "host.h"

// edge_buf_write appends to o: the callback Wasmtime's WASI stdout and
// stderr are given, and what our fd_write and the edge ABI write through.
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

static char *edge_copy_vec(wasm_byte_vec_t *v) {
	size_t n = v->size;
	if (n > 0 && v->data[n-1] == 0) n--;
	char *s = malloc(n + 1);
	if (s) { memcpy(s, v->data, n); s[n] = 0; }
	wasm_byte_vec_delete(v);
	return s;
}

void edge_take_error(edge_outcome *out, wasmtime_error_t *err, wasm_trap_t *trap) {
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
// buffers, and proc_exit, and shadow Wasmtime's. Clocks, waits and random
// are deadline.c's (and, in the snapshot engine, preinit.c's); the rest of
// WASI (files, sockets, ...) stays Wasmtime's. A module that imports none
// of the rest runs in a store without Wasmtime's WASI context, whose set-up
// was a fifth of a hello guest's run (edge_needs_wasi).

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
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
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
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
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

// proc_exit(code): records the exit status and unwinds the guest with a
// trap; the status, not the trap, is the outcome (run.go: status 0 is
// success), as with Wasmtime's own proc_exit.
static wasm_trap_t *edge_proc_exit(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	r->outcome->exit_set = 1;
	r->outcome->exit_code = a[0].i32;
	static const char msg[] = "the guest called proc_exit";
	return wasmtime_trap_new(msg, sizeof msg - 1);
}

// ---- The edge ABI, version 1 (docs/edge-abi.md). ----

static wasm_trap_t *edge_fault(void) {
	static const char msg[] = "edge_v1: pointer outside the guest's memory";
	return wasmtime_trap_new(msg, sizeof msg - 1);
}

// request(buf, cap) -> total length; copies only if it fits.
static wasm_trap_t *edge_abi_request(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
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
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	int32_t status = a[0].i32;
	uint32_t hp = a[1].i32, hl = a[2].i32, bp = a[3].i32, bl = a[4].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, hp, hl) || !edge_in_bounds(size, bp, bl)) return edge_fault();
	if (r->responded) { a[0].i32 = EDGE_ABI_ERR_STATE; return NULL; }
	if (status < 200 || status > 599) { a[0].i32 = EDGE_ABI_ERR_STATUS; return NULL; }
	if (edge_buf_write(r->head, mem + hp, hl) < 0) { a[0].i32 = EDGE_ABI_ERR_LIMIT; return NULL; }
	r->responded = 1;
	r->status = status;
	a[0].i32 = edge_buf_write(r->body, mem + bp, bl) < 0 ? EDGE_ABI_ERR_LIMIT : EDGE_ABI_OK;
	return NULL;
}

// body_write(buf, len) -> 0 or a negative code.
static wasm_trap_t *edge_abi_body_write(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	uint32_t bp = a[0].i32, bl = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, bp, bl)) return edge_fault();
	if (!r->responded) { a[0].i32 = EDGE_ABI_ERR_STATE; return NULL; }
	a[0].i32 = edge_buf_write(r->body, mem + bp, bl) < 0 ? EDGE_ABI_ERR_LIMIT : EDGE_ABI_OK;
	return NULL;
}

// log(buf, len): one line for the node's log.
static wasm_trap_t *edge_abi_log(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	uint32_t bp = a[0].i32, bl = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, bp, bl)) return edge_fault();
	edge_buf_write(r->err, mem + bp, bl);
	edge_buf_write(r->err, (const unsigned char *)"\n", 1);
	return NULL;
}

static wasm_functype_t *edge_functype(const char *params, int result) {
	wasm_valtype_t *ps[8], *rs[1];
	size_t np = strlen(params);
	for (size_t i = 0; i < np; i++) ps[i] = wasm_valtype_new(params[i] == 'I' ? EDGE_VALKIND_I64 : EDGE_VALKIND_I32);
	if (result) rs[0] = wasm_valtype_new(EDGE_VALKIND_I32);
	wasm_valtype_vec_t pv, rv;
	wasm_valtype_vec_new(&pv, np, ps);
	wasm_valtype_vec_new(&rv, result ? 1 : 0, rs);
	return wasm_functype_new(&pv, &rv);
}

// edge_define defines host functions in one import module of the linker.
wasmtime_error_t *edge_define(wasmtime_linker_t *linker, const char *module, const edge_host *fns, size_t n) {
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
wasmtime_error_t *edge_define_abi(wasmtime_linker_t *linker) {
	static const edge_host fns[] = {
		{"request", "ii", 1, edge_abi_request}, {"respond", "iiiii", 1, edge_abi_respond},
		{"body_write", "ii", 1, edge_abi_body_write}, {"log", "ii", 0, edge_abi_log},
		{"fetch", "ii", 1, edge_abi_fetch}, {"fetch_response", "ii", 1, edge_abi_fetch_response},
	};
	return edge_define(linker, "edge_v1", fns, sizeof fns / sizeof fns[0]);
}

const edge_host edge_io_fns[] = {
	{"args_sizes_get", "ii", 1, edge_args_sizes_get}, {"args_get", "ii", 1, edge_args_get},
	{"environ_sizes_get", "ii", 1, edge_environ_sizes_get}, {"environ_get", "ii", 1, edge_environ_get},
	{"fd_write", "iiii", 1, edge_fd_write}, {"fd_read", "iiii", 1, edge_fd_read},
	{"fd_fdstat_get", "ii", 1, edge_fd_fdstat_get}, {"fd_close", "i", 1, edge_stdio_noop},
	{"fd_fdstat_set_flags", "ii", 1, edge_stdio_noop}, {"fd_seek", "iIii", 1, edge_fd_seek},
	{"proc_exit", "i", 0, edge_proc_exit},
};
const size_t edge_io_fns_len = sizeof edge_io_fns / sizeof edge_io_fns[0];

// edge_define_io shadows Wasmtime's WASI I/O functions with ours, and its
// clocks and waits with those of deadline.c.
wasmtime_error_t *edge_define_io(wasmtime_linker_t *linker) {
	wasmtime_linker_allow_shadowing(linker, true);
	wasmtime_error_t *err = edge_define(linker, "wasi_snapshot_preview1", edge_io_fns, edge_io_fns_len);
	if (!err) err = edge_define(linker, "wasi_snapshot_preview1", edge_deadline_fns, edge_deadline_fns_len);
	wasmtime_linker_allow_shadowing(linker, false);
	return err;
}

static int edge_name_is(const wasm_name_t *n, const char *s) {
	size_t l = strlen(s);
	return n->size == l && memcmp(n->data, s, l) == 0;
}

static int edge_served(const wasm_name_t *name, const edge_host *fns, size_t n) {
	for (size_t i = 0; i < n; i++) {
		if (edge_name_is(name, fns[i].name)) return 1;
	}
	return 0;
}

// edge_needs_wasi reports whether mod imports anything but the edge ABI
// and the WASI functions served by our own code (edge_io_fns and
// deadline.c's): only such a module needs Wasmtime's WASI context in its
// store. Wasmtime's WASI functions panic in a store without one, so any
// import we do not recognise counts as needing it.
int edge_needs_wasi(const wasmtime_module_t *mod) {
	wasm_importtype_vec_t vec;
	wasmtime_module_imports(mod, &vec);
	int needs = 0;
	for (size_t i = 0; i < vec.size && !needs; i++) {
		const wasm_name_t *m = wasm_importtype_module(vec.data[i]);
		const wasm_name_t *name = wasm_importtype_name(vec.data[i]);
		if (edge_name_is(m, "edge_v1")) continue;
		needs = !edge_name_is(m, "wasi_snapshot_preview1") ||
			!(edge_served(name, edge_io_fns, edge_io_fns_len) || edge_served(name, edge_deadline_fns, edge_deadline_fns_len));
	}
	wasm_importtype_vec_delete(&vec);
	return needs;
}

// edge_fail records a failed stage and deletes the store.
void edge_fail(edge_outcome *out, enum edge_stage stage, wasmtime_store_t *store, wasmtime_error_t *err, wasm_trap_t *trap) {
	out->stage = stage;
	edge_take_error(out, err, trap);
	wasmtime_store_delete(store);
}

// edge_entry finds the function the executor calls, after calling
// _initialize for an edge ABI reactor; it returns false with out filled in.
static bool edge_entry(wasmtime_context_t *ctx, wasmtime_instance_t *inst, int abi, wasmtime_extern_t *fn, edge_outcome *out) {
	if (!abi) {
		if (wasmtime_instance_export_get(ctx, inst, "_start", 6, fn) && fn->kind == EDGE_EXTERN_FUNC) return true;
		out->stage = EDGE_STAGE_NO_EXPORT;
		return false;
	}
	if (wasmtime_instance_export_get(ctx, inst, "_initialize", 11, fn) && fn->kind == EDGE_EXTERN_FUNC) {
		wasm_trap_t *trap = NULL;
		wasmtime_error_t *err = wasmtime_func_call(ctx, &fn->of.func, NULL, 0, NULL, 0, &trap);
		if (err || trap) {
			out->stage = EDGE_STAGE_RUN;
			edge_take_error(out, err, trap);
			return false;
		}
	}
	if (wasmtime_instance_export_get(ctx, inst, "edge_handle", 11, fn) && fn->kind == EDGE_EXTERN_FUNC) return true;
	out->stage = EDGE_STAGE_NO_EXPORT;
	return false;
}

// edge_set_wasi gives the store Wasmtime's WASI context, with stdout and
// stderr into res's buffers, for a module that imports some of Wasmtime's
// WASI functions; it returns false with the outcome in res.
static bool edge_set_wasi(wasmtime_context_t *ctx, edge_result *res) {
	wasi_config_t *wasi = wasi_config_new();
	if (!wasi) { res->outcome.stage = EDGE_STAGE_SETUP; return false; }
	// Wasmtime's side of WASI keeps fds 0-2 valid for fd_fdstat_get and
	// the like; the bytes themselves go through the functions above.
	wasi_config_set_stdout_custom(wasi, edge_buf_write, &res->out, NULL);
	wasi_config_set_stderr_custom(wasi, edge_buf_write, &res->err, NULL);
	wasmtime_error_t *err = wasmtime_context_set_wasi(ctx, wasi);
	if (err) { res->outcome.stage = EDGE_STAGE_SETUP; edge_take_error(&res->outcome, err, NULL); return false; }
	return true;
}

// edge_open makes the store of one run, with r as its data: the given
// limits, an epoch deadline at every tick (checked by deadline.c against
// the run's own clock and its cancellation), WASI with stdout and stderr
// into res's buffers unless a->no_wasi; then instantiates a->pre into
// inst. On failure it returns NULL with the outcome in res, and nothing
// left to free. Shared by requests (edge_store) and pre-initialisation
// (preinit.c).
wasmtime_store_t *edge_open(const edge_run_args *a, edge_req *r, edge_result *res, wasmtime_instance_t *inst) {
	edge_outcome *out = &res->outcome;
	r->outcome = out;
	wasmtime_store_t *store = wasmtime_store_new(a->engine, r, NULL);
	wasmtime_context_t *ctx = wasmtime_store_context(store);
	wasmtime_store_limiter(store, a->memory, a->table_elements, EDGE_STORE_INSTANCES, EDGE_STORE_TABLES, EDGE_STORE_MEMORIES);
	wasmtime_context_set_epoch_deadline(ctx, 1);
	wasmtime_store_epoch_deadline_callback(store, edge_epoch_expired, r, NULL);
	if (!a->no_wasi && !edge_set_wasi(ctx, res)) { wasmtime_store_delete(store); return NULL; }
	wasmtime_error_t *err;
	wasm_trap_t *trap = NULL;
	err = wasmtime_instance_pre_instantiate(a->pre, ctx, inst, &trap);
	if (err || trap) { edge_fail(out, EDGE_STAGE_INSTANTIATE, store, err, trap); return NULL; }
	return store;
}

// edge_store runs the request r in a fresh store (edge_open) through the
// executor's entry point. The store is deleted before it returns.
static void edge_store(const edge_run_args *a, edge_req *r, edge_result *res) {
	edge_outcome *out = &res->outcome;
	wasmtime_instance_t inst;
	wasmtime_store_t *store = edge_open(a, r, res, &inst);
	if (!store) return;
	wasmtime_context_t *ctx = wasmtime_store_context(store);
	// The module's plan of pages to keep private to the slot (warm.c).
	int warm = edge_warm_begin(a->warm);
	wasmtime_extern_t mem;
	if (warm && !(wasmtime_instance_export_get(ctx, &inst, "memory", 6, &mem) && mem.kind == EDGE_EXTERN_MEMORY)) warm = 0;
	if (warm & EDGE_WARM_WRITE) edge_warm_before(a->warm, wasmtime_memory_data(ctx, &mem.of.memory), wasmtime_memory_data_size(ctx, &mem.of.memory));
	out->instantiated_ns = edge_now_ns() - r->start_ns;
	wasmtime_extern_t fn;
	if (!edge_entry(ctx, &inst, a->abi, &fn, out)) { wasmtime_store_delete(store); return; }
	_Alignas(EDGE_VAL_ALIGN) uint8_t result[EDGE_VAL_ROOM]; // edge_handle's i32
	wasm_trap_t *trap = NULL;
	wasmtime_error_t *err = wasmtime_func_call(ctx, &fn.of.func, NULL, 0, (wasmtime_val_t *)result, a->abi ? 1 : 0, &trap);
	if (err || trap) {
		out->stage = EDGE_STAGE_RUN;
		edge_take_error(out, err, trap);
	}
	if (warm & EDGE_WARM_LEARN_AFTER) edge_warm_after(a->warm, wasmtime_memory_data(ctx, &mem.of.memory), wasmtime_memory_data_size(ctx, &mem.of.memory));
	wasmtime_store_delete(store);
}

// edge_run runs a request through a.pre in a fresh store: argv, env and
// stdin from memory, stdout and stderr into res's bounded buffers, the
// given limits, and a deadline a.timeout_ns from now that res->cancel can
// bring forward (edge_cancel).
//
// Why a takes the struct by value: it holds Go pointers (args, env, stdin),
// and cgo lets Go pass a pointer to C only if the memory it points to holds
// no Go pointers; by value, the pointers are plain arguments, as they were
// when they were passed one by one, and nothing needs pinning.
void edge_run(edge_run_args a, edge_result *res) {
	edge_req req = {
		.args = a.args, .argc = a.argc, .args_len = a.args_len,
		.env = a.env, .envc = a.envc, .env_len = a.env_len,
		.in = a.stdin_data, .in_len = a.stdin_len,
		.out = &res->out, .err = &res->err, .head = &res->head, .body = &res->out,
		.fetcher = a.fetcher,
		};
	edge_req_start(&req, a.timeout_ns, &res->cancel);
	if (a.abi) {
		// The edge ABI: WASI stdout and stderr both go to the log, the
		// response body is written through respond and body_write, and
		// the request is read through request, not stdin.
		req.out = &res->err;
		req.abi = 1;
	}
	edge_store(&a, &req, res);
	edge_fetch_free(&req);
	res->outcome.responded = req.responded;
	res->outcome.status = req.status;
	res->outcome.stopped = req.stopped;
}

void edge_buf_free(edge_buf *b) { free(b->data); b->data = NULL; }

// edge_result_free frees what a run left in res: its buffers and message.
void edge_result_free(edge_result *res) {
	edge_buf_free(&res->out);
	edge_buf_free(&res->err);
	edge_buf_free(&res->head);
	free(res->outcome.message);
	res->outcome.message = NULL;
}
