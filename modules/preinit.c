// preinit.c: the C side of pre-initialisation (preinit.go). A snapshot
// instance runs a module's init function once in a store whose WASI
// random and clocks are deterministic, so that every node derives the same
// snapshot from the same module and recipe; its globals and memory are
// then read through the exports the instrumented module adds
// (modules/wasmbin) before the store is deleted.
//
// Which WASI init sees: the snapshot engine's linker is the request
// engine's (Wasmtime's WASI, our I/O from capi.c, deadline.c's waits,
// clocks and random) with random_get, clock_time_get and clock_res_get
// shadowed once more by the deterministic ones below, defined last. So
// init's random bytes and clock readings are fixed by module and recipe,
// while poll_oneoff and sched_yield stay deadline.c's: a sleep in init is
// a real sleep, cut short at the init deadline like a request's, which
// changes no byte of the snapshot. Init's store is made by edge_open like
// a request's, so the epoch callback stops a spinning init at its deadline
// too.

#include <string.h>

#include "host.h"

// The clocks init sees: a fixed wall-clock time, and a monotonic clock
// that starts at zero and advances a nanosecond per reading, so a loop that
// waits on it still ends (at the init deadline, at worst) while the time
// the snapshot records stays below any a request will read.
enum { EDGE_SNAP_TICK_NS = 1 };
static const uint64_t edge_snap_epoch_ns = 1767225600ull * 1000000000ull; // 2026-01-01T00:00:00Z

// splitmix64: a small generator whose stream is fixed by its seed. The
// bytes are not secret (the seed derives from the module and recipe):
// what init draws from them is frozen into the snapshot; see
// docs/preinit.md for what that means for a guest.
static uint64_t edge_splitmix(uint64_t *s) {
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

// random_get(buf, len)
static wasm_trap_t *edge_det_random_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t p = a[0].i32, len = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, p, len)) { a[0].i32 = WASI_EFAULT; return NULL; }
	for (uint32_t i = 0; i < len; i += 8) {
		// A host call is out of the epoch's reach: check the deadline
		// every 64 KiB, as deadline.c's random_get does.
		if (i % (64 << 10) == 0) {
			wasm_trap_t *stop = edge_check(r);
			if (stop) return stop;
		}
		uint64_t v = edge_splitmix(&r->rng);
		memcpy(mem + p + i, &v, len - i < 8 ? len - i : 8);
	}
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// clock_time_get(id, precision i64, time_ptr)
static wasm_trap_t *edge_det_clock_time_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t id = a[0].i32, p = a[2].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (id > 3) { a[0].i32 = WASI_EINVAL; return NULL; }
	if (!mem || !edge_in_bounds(size, p, 8)) { a[0].i32 = WASI_EFAULT; return NULL; }
	r->clock += EDGE_SNAP_TICK_NS;
	uint64_t t = id == 0 ? edge_snap_epoch_ns + r->clock : r->clock; // 0: realtime
	memcpy(mem + p, &t, 8);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// clock_res_get(id, res_ptr)
static wasm_trap_t *edge_det_clock_res_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	uint32_t id = a[0].i32, p = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (id > 3) { a[0].i32 = WASI_EINVAL; return NULL; }
	if (!mem || !edge_in_bounds(size, p, 8)) { a[0].i32 = WASI_EFAULT; return NULL; }
	uint64_t res = EDGE_SNAP_TICK_NS;
	memcpy(mem + p, &res, 8);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// edge_define_deterministic shadows WASI's random and clocks with the
// deterministic ones above, in the snapshot engine's linker only.
wasmtime_error_t *edge_define_deterministic(wasmtime_linker_t *linker) {
	static const edge_host fns[] = {
		{"random_get", "ii", 1, edge_det_random_get},
		{"clock_time_get", "iIi", 1, edge_det_clock_time_get},
		{"clock_res_get", "ii", 1, edge_det_clock_res_get},
	};
	wasmtime_linker_allow_shadowing(linker, true);
	wasmtime_error_t *err = edge_define(linker, "wasi_snapshot_preview1", fns, sizeof fns / sizeof fns[0]);
	wasmtime_linker_allow_shadowing(linker, false);
	return err;
}

struct edge_snap {
	wasmtime_store_t *store;
	wasmtime_instance_t inst;
	edge_req req;
};

// edge_snap_start instantiates a.pre and calls the export init, with
// argv, env and stdin from a (stdout and stderr go to res->err, the log).
// It returns NULL with the outcome in res if either fails.
edge_snap *edge_snap_start(edge_run_args a, const char *init, size_t init_len, uint64_t seed, edge_result *res) {
	edge_snap *s = calloc(1, sizeof *s);
	if (!s) { res->outcome.stage = EDGE_STAGE_SETUP; return NULL; }
	s->req = (edge_req){
		.args = a.args, .argc = a.argc, .args_len = a.args_len,
		.env = a.env, .envc = a.envc, .env_len = a.env_len,
		.in = a.stdin_data, .in_len = a.stdin_len,
		.out = &res->err, .err = &res->err, .head = &res->head, .body = &res->out,
		.rng = seed,
	};
	edge_req_start(&s->req, a.timeout_ns, &res->cancel);
	s->store = edge_open(&a, &s->req, res, &s->inst);
	if (!s->store) { free(s); return NULL; }
	wasmtime_context_t *ctx = wasmtime_store_context(s->store);
	wasmtime_extern_t fn;
	if (!wasmtime_instance_export_get(ctx, &s->inst, init, init_len, &fn) || fn.kind != EDGE_EXTERN_FUNC) {
		res->outcome.stage = EDGE_STAGE_NO_EXPORT;
		edge_snap_free(s);
		return NULL;
	}
	wasm_trap_t *trap = NULL;
	wasmtime_error_t *err = wasmtime_func_call(ctx, &fn.of.func, NULL, 0, NULL, 0, &trap);
	if (err || trap) {
		res->outcome.stage = EDGE_STAGE_RUN;
		res->outcome.stopped = s->req.stopped;
		edge_take_error(&res->outcome, err, trap);
		edge_snap_free(s);
		return NULL;
	}
	// What runs from here on is the instrumented module's own getters
	// (modules/wasmbin), not the guest's code: they must not be cut off
	// by an init that finished just before its deadline.
	s->req.deadline_ns = UINT64_MAX;
	return s;
}

// edge_snap_global calls the getter export name and copies its raw value
// (16 bytes, of which the global's type uses 4, 8 or 16) into out. It
// returns 0 on success.
int edge_snap_global(edge_snap *s, const char *name, size_t len, uint8_t out[16]) {
	wasmtime_context_t *ctx = wasmtime_store_context(s->store);
	wasmtime_extern_t fn;
	if (!wasmtime_instance_export_get(ctx, &s->inst, name, len, &fn) || fn.kind != EDGE_EXTERN_FUNC) return -1;
	wasmtime_val_raw_t v;
	memset(&v, 0, sizeof v);
	wasm_trap_t *trap = NULL;
	wasmtime_error_t *err = wasmtime_func_call_unchecked(ctx, &fn.of.func, &v, 1, &trap);
	if (err) { wasmtime_error_delete(err); return -1; }
	if (trap) { wasm_trap_delete(trap); return -1; }
	memcpy(out, &v, 16);
	return 0;
}

// edge_snap_memory returns the instance's linear memory, valid until
// edge_snap_free, or NULL.
uint8_t *edge_snap_memory(edge_snap *s, const char *name, size_t len, size_t *size) {
	wasmtime_context_t *ctx = wasmtime_store_context(s->store);
	wasmtime_extern_t item;
	if (!wasmtime_instance_export_get(ctx, &s->inst, name, len, &item) || item.kind != EDGE_EXTERN_MEMORY) return NULL;
	*size = wasmtime_memory_data_size(ctx, &item.of.memory);
	return wasmtime_memory_data(ctx, &item.of.memory);
}

void edge_snap_free(edge_snap *s) {
	wasmtime_store_delete(s->store);
	free(s);
}
