// fetch.c: the edge ABI's outbound fetch (docs/edge-abi.md). The guest
// hands over a request as text; the host function calls into Go
// (edgeFetchGo in fetch.go), which checks it against the route's allowed
// hosts, makes it through the node's HTTP cache, and returns the answer
// (or why it was refused) as malloc'd text, which fetch_response copies
// into the guest's memory.
//
// While Go waits on the network the calling goroutine is parked: this
// thread sleeps and holds no Go processor (P), so other goroutines and
// guests keep every core. What a waiting guest does hold is this OS
// thread, its instance slot and its limiter slot; the route's deadline
// bounds how long.

#include "host.h"
#include "_cgo_export.h"

static const char edge_no_fetch[] = "edge_v1 fetch: outbound requests are not available here "
	"(the route lists no allowed_outbound_hosts, or this is pre-initialisation)";

static void edge_fetch_keep(edge_req *r, uint8_t *data, size_t len, int owned) {
	edge_fetch_free(r);
	r->fetched = data;
	r->fetched_len = len;
	r->fetched_owned = owned;
}

// edge_fetch_free drops what the last fetch kept.
void edge_fetch_free(edge_req *r) {
	if (r->fetched_owned) free(r->fetched);
	r->fetched = NULL;
	r->fetched_len = 0;
	r->fetched_owned = 0;
}

// fetch(req, req_len) -> the answer's length, or a negative code with the
// reason kept for fetch_response.
wasm_trap_t *edge_abi_fetch(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	uint32_t p = a[0].i32, l = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, p, l)) {
		static const char msg[] = "edge_v1: pointer outside the guest's memory";
		return wasmtime_trap_new(msg, sizeof msg - 1);
	}
	if (!r->fetcher) {
		edge_fetch_keep(r, (uint8_t *)edge_no_fetch, sizeof edge_no_fetch - 1, 0);
		a[0].i32 = EDGE_ABI_ERR_FETCH_REFUSED;
		return NULL;
	}
	uint8_t *out = NULL;
	size_t out_len = 0;
	int32_t rc = edgeFetchGo(r->fetcher, mem + p, l, &out, &out_len);
	edge_fetch_keep(r, out, out_len, 1);
	// The fetch may have waited until the deadline, or the client left.
	stop = edge_check(r);
	if (stop) return stop;
	a[0].i32 = rc < 0 ? rc : (int32_t)out_len;
	return NULL;
}

// fetch_response(buf, cap) -> the length of the last fetch's answer (or
// error text); copies it only if it fits, like request.
wasm_trap_t *edge_abi_fetch_response(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	uint32_t buf = a[0].i32, cap = a[1].i32;
	if (cap >= r->fetched_len && r->fetched_len > 0) {
		size_t size; uint8_t *mem = edge_mem(c, &size);
		if (!mem || !edge_in_bounds(size, buf, r->fetched_len)) {
			static const char msg[] = "edge_v1: pointer outside the guest's memory";
			return wasmtime_trap_new(msg, sizeof msg - 1);
		}
		memcpy(mem + buf, r->fetched, r->fetched_len);
	}
	a[0].i32 = (int32_t)r->fetched_len;
	return NULL;
}
