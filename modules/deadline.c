// deadline.c: a request's deadline and cancellation hold wherever its
// guest is, in wasm code or waiting in a host call.
//
// In wasm code the engine's epoch reaches the guest: the store's epoch
// deadline is always the next tick, and at each tick Wasmtime calls
// edge_epoch_expired, which ends the guest once the request's deadline has
// passed or the request was cancelled. A host call is outside wasm code,
// where no epoch reaches. Wasmtime's own poll_oneoff slept as long as it
// was asked: a guest sleeping 3 s on a route with a 200 ms timeout
// answered 200 after 3 s and held its slot all along, and its random_get
// filled 128 MiB in 7 s, deaf to a 10 ms deadline. So every WASI function
// that waits, takes long or tells the time is ours (poll_oneoff,
// sched_yield, random_get, clock_time_get, clock_res_get): a sleep ends at
// the deadline, or at once when the request is cancelled, and the guest is
// stopped. Our other host functions check the same at entry (edge_check).

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#ifdef __APPLE__
#include <stdlib.h> // arc4random_buf
#else
#include <sys/random.h>
#endif

#include "host.h"

enum { WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1 };
enum { WASI_EVENT_CLOCK = 0, WASI_EVENT_FD_READ = 1, WASI_EVENT_FD_WRITE = 2 };
enum { WASI_SUBCLOCK_ABSTIME = 1 };
enum { WASI_SUBSCRIPTION_SIZE = 48, WASI_EVENT_SIZE = 32 };

static uint64_t edge_ns(const struct timespec *ts) {
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

uint64_t edge_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return edge_ns(&ts);
}

static uint64_t edge_add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

void edge_req_start(edge_req *r, uint64_t timeout_ns, const int *cancel) {
	r->start_ns = edge_now_ns();
	r->deadline_ns = edge_add_sat(r->start_ns, timeout_ns);
	r->cancel = cancel;
}

static int edge_cancelled(const edge_req *r) { return __atomic_load_n(r->cancel, __ATOMIC_ACQUIRE); }

// edge_stop_reason is why r must stop at monotonic time now (enum
// edge_stop), or EDGE_STOP_NONE.
static int edge_stop_reason(const edge_req *r, uint64_t now) {
	if (edge_cancelled(r)) return EDGE_STOP_CANCEL;
	if (now >= r->deadline_ns) return EDGE_STOP_DEADLINE;
	return EDGE_STOP_NONE;
}

static const char *edge_stop_message(int why) {
	return why == EDGE_STOP_CANCEL ? "edge: the request was cancelled" : "edge: the request's deadline passed";
}

// edge_stop_trap records why the guest stops and returns the trap that
// ends it.
static wasm_trap_t *edge_stop_trap(edge_req *r, int why) {
	r->stopped = why;
	const char *m = edge_stop_message(why);
	return wasmtime_trap_new(m, strlen(m));
}

// edge_check is the entry check of a host function: a trap if the request
// must stop, else NULL.
wasm_trap_t *edge_check(edge_req *r) {
	int why = edge_stop_reason(r, edge_now_ns());
	return why ? edge_stop_trap(r, why) : NULL;
}

// edge_epoch_expired is the store's epoch deadline callback: it runs once a
// tick while the guest runs wasm code.
wasmtime_error_t *edge_epoch_expired(wasmtime_context_t *ctx, void *data, uint64_t *delta, wasmtime_update_deadline_kind_t *kind) {
	(void)ctx;
	edge_req *r = data;
	int why = edge_stop_reason(r, edge_now_ns());
	if (why) {
		r->stopped = why;
		return wasmtime_error_new(edge_stop_message(why));
	}
	*delta = 1;
	*kind = EDGE_UPDATE_DEADLINE_CONTINUE;
	return NULL;
}

// One mutex and condition variable for every waiting guest: edge_cancel
// raises a request's flag under the mutex and wakes all waiters, and each
// checks its own flag. Cancellations are rare; a wait per guest would cost
// a condition variable per request.
static pthread_mutex_t edge_wait_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t edge_wait_cv;
static pthread_once_t edge_wait_once = PTHREAD_ONCE_INIT;

static void edge_wait_init(void) {
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
#ifndef __APPLE__
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); // not moved by a change of the wall clock
#endif
	pthread_cond_init(&edge_wait_cv, &attr);
	pthread_condattr_destroy(&attr);
}

// edge_wait_until blocks until the monotonic clock reads until or the
// request is cancelled, whichever comes first.
static void edge_wait_until(const edge_req *r, uint64_t until) {
	pthread_once(&edge_wait_once, edge_wait_init);
	pthread_mutex_lock(&edge_wait_mu);
	for (;;) {
		uint64_t now = edge_now_ns();
		if (edge_cancelled(r) || now >= until) break;
#ifdef __APPLE__
		uint64_t d = until - now;
		struct timespec ts = {.tv_sec = d / 1000000000u, .tv_nsec = d % 1000000000u};
		pthread_cond_timedwait_relative_np(&edge_wait_cv, &edge_wait_mu, &ts);
#else
		struct timespec ts = {.tv_sec = until / 1000000000u, .tv_nsec = until % 1000000000u};
		pthread_cond_timedwait(&edge_wait_cv, &edge_wait_mu, &ts);
#endif
	}
	pthread_mutex_unlock(&edge_wait_mu);
}

void edge_cancel(edge_result *res) {
	pthread_once(&edge_wait_once, edge_wait_init);
	pthread_mutex_lock(&edge_wait_mu);
	__atomic_store_n(&res->cancel, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&edge_wait_cv);
	pthread_mutex_unlock(&edge_wait_mu);
}

// edge_sleep waits until the monotonic time wake, but never past the
// request's deadline: a sleep that would outlast it ends there, and the
// guest is stopped, as it is when the request is cancelled.
static wasm_trap_t *edge_sleep(edge_req *r, uint64_t wake) {
	edge_wait_until(r, wake < r->deadline_ns ? wake : r->deadline_ns);
	if (edge_cancelled(r)) return edge_stop_trap(r, EDGE_STOP_CANCEL);
	if (wake >= r->deadline_ns) return edge_stop_trap(r, EDGE_STOP_DEADLINE);
	return NULL;
}

// edge_clock reads a clock as the guest sees it: realtime is the host's;
// monotonic counts from the start of the request (never 0), so it tells
// nothing of the host's uptime. The CPU-time clocks are not provided.
static int edge_clock(const edge_req *r, uint32_t id, uint64_t *t) {
	struct timespec ts;
	switch (id) {
	case WASI_CLOCK_REALTIME:
		clock_gettime(CLOCK_REALTIME, &ts);
		*t = edge_ns(&ts);
		return WASI_ESUCCESS;
	case WASI_CLOCK_MONOTONIC:
		*t = edge_now_ns() - r->start_ns + 1;
		return WASI_ESUCCESS;
	}
	return WASI_EINVAL;
}

// clock_time_get(id, precision i64, time_ptr)
static wasm_trap_t *edge_clock_time_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t id = a[0].i32, tp = a[2].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, tp, 8)) { a[0].i32 = WASI_EFAULT; return NULL; }
	uint64_t t;
	int err = edge_clock(r, id, &t);
	if (!err) edge_put64(mem, tp, t);
	a[0].i32 = err;
	return NULL;
}

// clock_res_get(id, resolution_ptr)
static wasm_trap_t *edge_clock_res_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	uint32_t id = a[0].i32, rp = a[1].i32;
	if (id != WASI_CLOCK_REALTIME && id != WASI_CLOCK_MONOTONIC) { a[0].i32 = WASI_EINVAL; return NULL; }
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, rp, 8)) { a[0].i32 = WASI_EFAULT; return NULL; }
	edge_put64(mem, rp, 1);
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// edge_clock_wake is when the clock subscription at sub fires, on the
// monotonic clock, given that it reads now; or an errno.
static int edge_clock_wake(const edge_req *r, const uint8_t *mem, uint32_t sub, uint64_t now, uint64_t *wake) {
	uint32_t id = edge_get32(mem, sub + 16);
	uint64_t timeout = edge_get64(mem, sub + 24), cur;
	int err = edge_clock(r, id, &cur);
	if (err) return err;
	if (!(edge_get16(mem, sub + 40) & WASI_SUBCLOCK_ABSTIME)) {
		*wake = edge_add_sat(now, timeout);
	} else {
		*wake = timeout <= cur ? now : edge_add_sat(now, timeout - cur);
	}
	return WASI_ESUCCESS;
}

static void edge_event(uint8_t *mem, uint32_t at, uint64_t userdata, uint16_t err, uint8_t type, uint64_t nbytes) {
	memset(mem + at, 0, WASI_EVENT_SIZE);
	edge_put64(mem, at, userdata);
	edge_put16(mem, at + 8, err);
	mem[at + 10] = type;
	edge_put64(mem, at + 16, nbytes);
}

// edge_fd_ready is the event of an fd subscription: stdio lives in memory,
// so it is ready at once, with what is left to read or room to write.
static void edge_fd_ready(const edge_req *r, uint8_t *mem, uint32_t sub, uint32_t ev) {
	uint8_t type = mem[sub + 8];
	uint32_t fd = edge_get32(mem, sub + 16);
	const edge_buf *b = fd == 1 ? r->out : fd == 2 ? r->err : NULL;
	uint16_t err = WASI_ESUCCESS;
	uint64_t nbytes = 0;
	if (type == WASI_EVENT_FD_READ && fd == 0) nbytes = r->abi ? 0 : r->in_len - r->in_pos;
	else if (type == WASI_EVENT_FD_WRITE && b) nbytes = b->max - b->len;
	else err = WASI_EBADF;
	edge_event(mem, ev, edge_get64(mem, sub), err, type, nbytes);
}

// edge_poll_plan reads the subscriptions: the earliest clock wake, and
// whether an event is due at once (an fd, a bad clock, a clock already
// due). It returns an errno for a subscription of no known type.
static int edge_poll_plan(const edge_req *r, const uint8_t *mem, uint32_t in, uint32_t cnt, uint64_t now, uint64_t *wake, int *at_once) {
	*wake = UINT64_MAX;
	*at_once = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t sub = in + WASI_SUBSCRIPTION_SIZE * i;
		uint64_t w;
		switch (mem[sub + 8]) {
		case WASI_EVENT_CLOCK:
			if (edge_clock_wake(r, mem, sub, now, &w) != WASI_ESUCCESS || w <= now) *at_once = 1;
			else if (w < *wake) *wake = w;
			break;
		case WASI_EVENT_FD_READ:
		case WASI_EVENT_FD_WRITE:
			*at_once = 1;
			break;
		default:
			return WASI_EINVAL;
		}
	}
	return WASI_ESUCCESS;
}

// edge_poll_events writes the events due by monotonic time due (clock
// wakes computed from now, as in edge_poll_plan) and returns their count.
static uint32_t edge_poll_events(const edge_req *r, uint8_t *mem, uint32_t in, uint32_t out, uint32_t cnt, uint64_t now, uint64_t due) {
	uint32_t k = 0;
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t sub = in + WASI_SUBSCRIPTION_SIZE * i, ev = out + WASI_EVENT_SIZE * k;
		if (mem[sub + 8] != WASI_EVENT_CLOCK) {
			edge_fd_ready(r, mem, sub, ev);
			k++;
			continue;
		}
		uint64_t w;
		int err = edge_clock_wake(r, mem, sub, now, &w);
		if (err || w <= due) {
			edge_event(mem, ev, edge_get64(mem, sub), err, WASI_EVENT_CLOCK, 0);
			k++;
		}
	}
	return k;
}

// poll_oneoff(in, out, nsubscriptions, nevents_ptr): fd subscriptions are
// ready at once; otherwise it sleeps until the earliest clock, bounded by
// the request's deadline and cancelled with the request.
static wasm_trap_t *edge_poll_oneoff(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t in = a[0].i32, out = a[1].i32, cnt = a[2].i32, np = a[3].i32;
	wasm_trap_t *stop = edge_check(r);
	if (stop) return stop;
	if (cnt == 0) { a[0].i32 = WASI_EINVAL; return NULL; }
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, in, (uint64_t)WASI_SUBSCRIPTION_SIZE * cnt) ||
		!edge_in_bounds(size, out, (uint64_t)WASI_EVENT_SIZE * cnt) || !edge_in_bounds(size, np, 4)) {
		a[0].i32 = WASI_EFAULT;
		return NULL;
	}
	uint64_t now = edge_now_ns(), wake, due = now;
	int at_once, err = edge_poll_plan(r, mem, in, cnt, now, &wake, &at_once);
	if (err) { a[0].i32 = err; return NULL; }
	if (!at_once) {
		if ((stop = edge_sleep(r, wake))) return stop;
		due = wake;
	}
	edge_put32(mem, np, edge_poll_events(r, mem, in, out, cnt, now, due));
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// sched_yield(): a guest spinning on it is still a guest running.
static wasm_trap_t *edge_sched_yield(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	wasm_trap_t *stop = edge_check(edge_req_of(c));
	if (stop) return stop;
	sched_yield();
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

// edge_fill_random fills b with n bytes from the kernel's CSPRNG.
static int edge_fill_random(uint8_t *b, size_t n) {
#ifdef __APPLE__
	arc4random_buf(b, n);
#else
	while (n > 0) {
		ssize_t got = getrandom(b, n, 0);
		if (got < 0 && errno == EINTR) continue;
		if (got < 0) return -1;
		b += got;
		n -= (size_t)got;
	}
#endif
	return 0;
}

// EDGE_RANDOM_PIECE is how much random_get fills between two checks of the
// deadline: well under a millisecond of work.
enum { EDGE_RANDOM_PIECE = 64 << 10 };

// random_get(buf, len): filled in pieces, checking the deadline between
// them.
static wasm_trap_t *edge_random_get(void *env, wasmtime_caller_t *c, wasmtime_val_raw_t *a, size_t n) {
	edge_req *r = edge_req_of(c);
	uint32_t bp = a[0].i32, len = a[1].i32;
	size_t size; uint8_t *mem = edge_mem(c, &size);
	if (!mem || !edge_in_bounds(size, bp, len)) { a[0].i32 = WASI_EFAULT; return NULL; }
	for (uint32_t off = 0;; off += EDGE_RANDOM_PIECE) {
		wasm_trap_t *stop = edge_check(r);
		if (stop) return stop;
		if (off >= len) break;
		uint32_t k = len - off < EDGE_RANDOM_PIECE ? len - off : EDGE_RANDOM_PIECE;
		if (edge_fill_random(mem + bp + off, k)) { a[0].i32 = WASI_EIO; return NULL; }
	}
	a[0].i32 = WASI_ESUCCESS;
	return NULL;
}

const edge_host edge_deadline_fns[] = {
	{"poll_oneoff", "iiii", 1, edge_poll_oneoff}, {"sched_yield", "", 1, edge_sched_yield},
	{"clock_time_get", "iIi", 1, edge_clock_time_get}, {"clock_res_get", "ii", 1, edge_clock_res_get},
	{"random_get", "ii", 1, edge_random_get},
};
const size_t edge_deadline_fns_len = sizeof edge_deadline_fns / sizeof edge_deadline_fns[0];
