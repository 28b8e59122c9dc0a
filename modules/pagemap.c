// pagemap.c: resetting a pool slot by the pages its guest wrote, not by all
// of its memory.
//
// Why: after each run Wasmtime's pooling allocator resets the first
// linear_memory_keep_resident bytes of the slot's memory in place. Without
// help it copies the module's memory image back over all of them: 2.4 MiB
// for the pre-initialised Go hello, a memcpy that was ~80 % of a request
// (docs/preinit.md), though a request writes ~30 pages. With its
// PAGEMAP_SCAN option (Linux 6.7+) Wasmtime asks the kernel which pages of
// the slot are private copies (written since they were mapped from the
// image, or zero-filled) and resets only those; the rest still map the
// image or the zero page, unchanged. Its Rust API has the switch
// (PoolingAllocationConfig::pagemap_scan, off by default); its C API in
// wasmtime-go v39 has none.
//
// So edge_pool_scan_dirty sets that field in the pooling configuration
// directly, at its offset in the bundled library's layout, after checking
// that layout: every setter the C API does have must write where that
// layout says, and the two Enabled fields after them must hold their
// defaults (No, No). Any mismatch (another Wasmtime build) leaves the
// configuration untouched and the node resets slots the old way.
// TestDirtyPageResetInEffect checks, on a kernel that supports the ioctl,
// that Wasmtime really opened the page map.

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "capi.h"

// Offsets in wasmtime-go v39.0.1's PoolingAllocationConfig (a Rust struct
// whose field order the compiler chose), found by setting each field
// through its C setter and reading the bytes back.
enum {
	POOL_SIZE = 136,
	OFF_DECOMMIT_BATCH = 80,
	OFF_ASYNC_STACK_KEEP = 96,
	OFF_MEMORY_KEEP = 104,
	OFF_TABLE_KEEP = 112,
	OFF_WARM_SLOTS = 128,
	OFF_MPK = 132,     // memory_protection_keys: Enabled
	OFF_PAGEMAP = 133, // pagemap_scan: Enabled
	ENABLED_AUTO = 0,  // enum Enabled { Auto, Yes, No }
	ENABLED_NO = 2,
};

static int at_size(const unsigned char *p, int off, uint64_t want) {
	uint64_t v;
	memcpy(&v, p + off, sizeof v);
	return v == want;
}

static int at_u32(const unsigned char *p, int off, uint32_t want) {
	uint32_t v;
	memcpy(&v, p + off, sizeof v);
	return v == want;
}

// edge_pool_layout_known reports whether a fresh pooling configuration of
// the linked Wasmtime is laid out as the offsets above say.
static int edge_pool_layout_known(void) {
	wasmtime_pooling_allocation_config_t *c = wasmtime_pooling_allocation_config_new();
	const unsigned char *p = (const unsigned char *)c;
	int ok = malloc_usable_size(c) >= POOL_SIZE && p[OFF_MPK] == ENABLED_NO && p[OFF_PAGEMAP] == ENABLED_NO;
	wasmtime_pooling_allocation_config_decommit_batch_size_set(c, 0x5eed0001);
	wasmtime_pooling_allocation_config_async_stack_keep_resident_set(c, 0x5eed0002);
	wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(c, 0x5eed0003);
	wasmtime_pooling_allocation_config_table_keep_resident_set(c, 0x5eed0004);
	wasmtime_pooling_allocation_config_max_unused_warm_slots_set(c, 0x5eed0005);
	ok = ok && at_size(p, OFF_DECOMMIT_BATCH, 0x5eed0001) && at_size(p, OFF_ASYNC_STACK_KEEP, 0x5eed0002) &&
		at_size(p, OFF_MEMORY_KEEP, 0x5eed0003) && at_size(p, OFF_TABLE_KEEP, 0x5eed0004) &&
		at_u32(p, OFF_WARM_SLOTS, 0x5eed0005) && p[OFF_MPK] == ENABLED_NO && p[OFF_PAGEMAP] == ENABLED_NO;
	wasmtime_pooling_allocation_config_delete(c);
	return ok;
}

// edge_pool_scan_dirty sets pool's pagemap_scan to Auto (Wasmtime uses the
// ioctl when the kernel has it, and resets the old way otherwise). It
// returns 1 if it did, 0 if the layout is not the one it knows.
int edge_pool_scan_dirty(wasmtime_pooling_allocation_config_t *pool) {
	if (!edge_pool_layout_known()) return 0;
	((unsigned char *)pool)[OFF_PAGEMAP] = ENABLED_AUTO;
	return 1;
}

// struct pm_scan_arg of <linux/fs.h> (Linux 6.7), which Debian 12's kernel
// headers predate.
struct edge_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define EDGE_PAGEMAP_SCAN _IOWR('f', 16, struct edge_pm_scan_arg)
#define EDGE_PAGE_CATEGORIES 0xff

// edge_pagemap_scan_supported reports whether this kernel answers
// PAGEMAP_SCAN, the probe Wasmtime makes before using it.
int edge_pagemap_scan_supported(void) {
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	uint64_t region[3];
	struct edge_pm_scan_arg a = {
		.size = sizeof a, .vec = (uint64_t)(uintptr_t)region, .vec_len = 1, .max_pages = 1,
		.category_mask = EDGE_PAGE_CATEGORIES,
	};
	int ok = ioctl(fd, EDGE_PAGEMAP_SCAN, &a) >= 0;
	close(fd);
	return ok;
}
