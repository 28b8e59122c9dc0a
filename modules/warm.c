// warm.c: keeping the pages a module's requests write private to its pool
// slots, so that a request writes them without a page fault.
//
// Why: with the dirty-page reset (pagemap.c) Wasmtime asks the kernel for
// the slot's private pages after each run and copies the image back over
// them; they stay private, so the next instance in the slot writes them
// for free. But it reads at most 32 runs of pages in one PAGEMAP_SCAN and
// decommits everything after the 32nd run. The JavaScript engine's
// hello writes 168 pages in 95 runs spread over 4 MB of the Go heap, so
// about 130 of them were dropped after every request and faulted in again
// by the next: each a read fault mapping the image page, then a
// copy-on-write fault whose TLB shootdown interrupts every other CPU (in
// this VM, tens of microseconds each): 10 ms of a 10 ms request.
//
// So each module has a plan: at most EDGE_WARM_SPANS runs of pages that
// cover what its requests write, the gaps between runs filled in where
// they are smallest. Before each call the plan's pages are written into
// being (edge_warm_before); from then on the slot's private pages form a
// few long runs, Wasmtime's scan reaches their end, and it resets them by
// copying instead of dropping them. The pages of a gap cost a 4 KiB copy
// per request, not a fault. The plan is learnt from the slots themselves:
// after the first runs of a module, and every EDGE_WARM_EVERY runs after
// that, a scan of the slot's private pages (the same categories Wasmtime
// looks for) is merged into it.
//
// None of this changes what a guest sees: the write before the call
// changes no byte, and every private page is still reset before the slot
// is reused. A module whose writes already fit in a few runs (the C
// hello, a pre-initialised Go guest) gets no plan and pays for nothing
// but the scans.

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host.h"

enum {
	// EDGE_WARM_SPANS: the most runs a plan has. Wasmtime's scan reads
	// 32; the rest leaves room for runs a request writes off the plan.
	EDGE_WARM_SPANS = 20,
	// A module's first EDGE_WARM_LEARN runs are scanned, then one in
	// EDGE_WARM_EVERY.
	EDGE_WARM_LEARN = 8,
	EDGE_WARM_EVERY = 64,
	// The most runs one scan reports; a slot with more is learnt in part.
	EDGE_WARM_SCAN = 1024,
};

struct edge_warm {
	pthread_mutex_t mu;
	edge_span spans[EDGE_WARM_SPANS];
	uint32_t n;        // spans in use; 0: no plan
	uint32_t budget;   // the most pages a plan may cover
	uint64_t runs;     // runs seen (atomic)
	uint64_t learnt;   // scans merged (atomic), for tests
};

static size_t edge_page;

edge_warm *edge_warm_new(uint64_t keep_resident) {
	edge_warm *w = calloc(1, sizeof *w);
	if (!w) return NULL;
	pthread_mutex_init(&w->mu, NULL);
	if (!edge_page) edge_page = (size_t)sysconf(_SC_PAGESIZE);
	// Wasmtime's scan stops after keep_resident bytes of private pages;
	// keep a quarter of it for what requests write off the plan.
	w->budget = (uint32_t)(keep_resident / edge_page / 4 * 3);
	return w;
}

void edge_warm_free(edge_warm *w) {
	if (!w) return;
	pthread_mutex_destroy(&w->mu);
	free(w);
}

// edge_warm_pages reports how many pages w's plan covers, and in how many
// runs; for tests and metrics.
uint32_t edge_warm_pages(edge_warm *w, uint32_t *spans, uint64_t *learnt) {
	pthread_mutex_lock(&w->mu);
	uint32_t pages = 0;
	for (uint32_t i = 0; i < w->n; i++) pages += w->spans[i].count;
	*spans = w->n;
	pthread_mutex_unlock(&w->mu);
	*learnt = __atomic_load_n(&w->learnt, __ATOMIC_RELAXED);
	return pages;
}

// edge_warm_begin decides what a run of w's module does besides its
// guest (EDGE_WARM_WRITE: edge_warm_before, EDGE_WARM_LEARN_AFTER:
// edge_warm_after), so that a module without a plan, between scans,
// costs an atomic add and nothing else.
int edge_warm_begin(edge_warm *w) {
	if (!w) return 0;
	uint64_t run = __atomic_add_fetch(&w->runs, 1, __ATOMIC_RELAXED);
	int todo = __atomic_load_n(&w->n, __ATOMIC_RELAXED) > 0 ? EDGE_WARM_WRITE : 0;
	if (run <= EDGE_WARM_LEARN || run % EDGE_WARM_EVERY == 0) todo |= EDGE_WARM_LEARN_AFTER;
	return todo;
}

// edge_warm_before writes the plan's pages into being in the memory of a
// fresh instance (size bytes at mem) before its guest runs: one atomic add
// of zero per page, a write that changes nothing. A page already private
// to the slot costs a TLB miss (~40 ns; MADV_POPULATE_WRITE, one call per
// run of pages, measured 4-10 times dearer for a warm slot); one that is
// not present yet is allocated as a private copy by a write fault, which
// needs no TLB shootdown, unlike a write after a read.
void edge_warm_before(edge_warm *w, uint8_t *mem, size_t size) {
	edge_span spans[EDGE_WARM_SPANS];
	pthread_mutex_lock(&w->mu);
	uint32_t n = w->n;
	memcpy(spans, w->spans, n * sizeof spans[0]);
	pthread_mutex_unlock(&w->mu);
	size_t pages = size / edge_page;
	for (uint32_t i = 0; i < n; i++) {
		size_t first = spans[i].first, end = first + spans[i].count;
		if (end > pages) end = pages;
		for (size_t p = first; p < end; p++) {
			__atomic_fetch_add((volatile uint8_t *)(mem + p * edge_page), 0, __ATOMIC_RELAXED);
		}
	}
}

// ---- Learning the plan. ----

// struct pm_scan_arg and page categories of <linux/fs.h> (Linux 6.7).
struct edge_warm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct edge_warm_region { uint64_t start, end, categories; };
#define EDGE_WARM_PAGEMAP_SCAN _IOWR('f', 16, struct edge_warm_scan_arg)
enum { PAGE_IS_WRITTEN = 1 << 1, PAGE_IS_FILE = 1 << 2, PAGE_IS_PRESENT = 1 << 3, PAGE_IS_PFNZERO = 1 << 5 };

static int edge_warm_fd(void) {
	static int fd = -2;
	int f = __atomic_load_n(&fd, __ATOMIC_ACQUIRE);
	if (f != -2) return f;
	f = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int want = -2;
	if (!__atomic_compare_exchange_n(&fd, &want, f, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (f >= 0) close(f);
		f = want;
	}
	return f;
}

// edge_warm_scan finds the private pages of size bytes at mem as
// Wasmtime's reset does (present, written, neither the zero page nor the
// image's file page): at most max runs into out, in pages from mem. It
// returns how many, or -1.
static int edge_warm_scan(uint8_t *mem, size_t size, edge_span *out, int max) {
	int fd = edge_warm_fd();
	if (fd < 0) return -1;
	struct edge_warm_region *r = malloc(max * sizeof *r);
	if (!r) return -1;
	struct edge_warm_scan_arg a = {
		.size = sizeof a, .start = (uint64_t)(uintptr_t)mem, .end = (uint64_t)(uintptr_t)mem + size,
		.vec = (uint64_t)(uintptr_t)r, .vec_len = (uint64_t)max,
		.category_inverted = PAGE_IS_PFNZERO | PAGE_IS_FILE,
		.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_PFNZERO | PAGE_IS_FILE,
	};
	int n = ioctl(fd, EDGE_WARM_PAGEMAP_SCAN, &a);
	for (int i = 0; i < n; i++) {
		out[i].first = (uint32_t)((r[i].start - a.start) / edge_page);
		out[i].count = (uint32_t)((r[i].end - r[i].start) / edge_page);
	}
	free(r);
	return n;
}

static int edge_span_cmp(const void *a, const void *b) {
	const edge_span *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int edge_u32_desc(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x > y ? -1 : x < y;
}

// edge_warm_merge sorts and joins n runs in place (overlapping or
// adjacent ones first, then across the smallest gaps) until at most max
// remain; it returns how many.
int edge_warm_merge(edge_span *s, int n, int max) {
	if (n <= 0) return 0;
	qsort(s, n, sizeof *s, edge_span_cmp);
	int m = 0;
	for (int i = 1; i < n; i++) {
		uint64_t end = (uint64_t)s[m].first + s[m].count;
		if (s[i].first <= end) {
			uint64_t e2 = (uint64_t)s[i].first + s[i].count;
			if (e2 > end) s[m].count = (uint32_t)(e2 - s[m].first);
		} else {
			s[++m] = s[i];
		}
	}
	n = m + 1;
	if (n <= max) return n;
	if (max <= 1) { // one run, from the first page to the last
		s[0].count = s[n - 1].first + s[n - 1].count - s[0].first;
		return 1;
	}
	// Keep the max-1 widest gaps; join across every gap narrower than the
	// narrowest of them (ties: the first ones).
	uint32_t *gaps = malloc((n - 1) * sizeof *gaps);
	if (!gaps) return n;
	for (int i = 0; i + 1 < n; i++) gaps[i] = s[i + 1].first - (s[i].first + s[i].count);
	qsort(gaps, n - 1, sizeof *gaps, edge_u32_desc);
	uint32_t cut = gaps[max - 2]; // the narrowest gap kept
	int keep_at_cut = 0;          // gaps equal to cut that are kept
	for (int i = 0; i < max - 1; i++) keep_at_cut += gaps[i] == cut;
	free(gaps);
	m = 0;
	for (int i = 1; i < n; i++) {
		uint32_t gap = s[i].first - (s[m].first + s[m].count);
		int keep = gap > cut || (gap == cut && keep_at_cut > 0);
		if (gap == cut && keep) keep_at_cut--;
		if (keep) s[++m] = s[i];
		else s[m].count = s[i].first + s[i].count - s[m].first;
	}
	return m + 1;
}

// edge_warm_after learns from the memory of an instance whose guest has
// run (size bytes at mem, before the store is dropped): on a module's
// first runs and one run in EDGE_WARM_EVERY, the slot's private pages are
// merged into the plan, if they are spread over more runs than Wasmtime
// keeps or the module already has a plan, and the result fits the budget.
void edge_warm_after(edge_warm *w, uint8_t *mem, size_t size) {
	edge_span *s = malloc((EDGE_WARM_SCAN + EDGE_WARM_SPANS) * sizeof *s);
	if (!s) return;
	int n = edge_warm_scan(mem, size, s, EDGE_WARM_SCAN);
	if (n < 0) { free(s); return; }
	pthread_mutex_lock(&w->mu);
	if (n > EDGE_WARM_SPANS || w->n > 0) {
		memcpy(s + n, w->spans, w->n * sizeof *s);
		int m = edge_warm_merge(s, n + (int)w->n, EDGE_WARM_SPANS);
		uint64_t pages = 0;
		for (int i = 0; i < m; i++) pages += s[i].count;
		if (pages <= w->budget) {
			memcpy(w->spans, s, m * sizeof *s);
			__atomic_store_n(&w->n, (uint32_t)m, __ATOMIC_RELAXED);
			__atomic_add_fetch(&w->learnt, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&w->mu);
	free(s);
}
