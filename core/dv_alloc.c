/* dv_alloc.c — the allocator's knobs (see dv_alloc.h). */
#include "dv_alloc.h"
#include <malloc.h>
#include <stdio.h>

static dv_mallctl_fn *dv_mallctl;
static char dv_alloc_label[96] = "glibc malloc";

void dv_alloc_use_mallctl(dv_mallctl_fn *fn)
{
	dv_mallctl = fn;
	const char *v = NULL;
	size_t len = sizeof v;
	if (fn && fn("version", &v, &len, NULL, 0) == 0 && v)
		snprintf(dv_alloc_label, sizeof dv_alloc_label, "jemalloc %s", v);
	else if (fn)
		snprintf(dv_alloc_label, sizeof dv_alloc_label, "jemalloc");
}

void dv_alloc_setup(void)
{
	if (dv_mallctl)
		return; /* jemalloc: its defaults (decay of unused pages over 10 s) */
	/* glibc: blocks of 1 MiB and more (network weights and buffers, decoded
	 * photos) are mapped on their own and unmapped when freed. A fixed
	 * threshold also stops glibc from raising it as such blocks are freed,
	 * after which the next configuration generation's networks would land in
	 * the heap and stay there (make soak: RSS doubled at each reload). */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* Two heaps for all threads: with one per thread (glibc's default, up to
	 * eight per core), each reload under traffic left holes in every
	 * worker's heap and resident memory crept up ~1.5 MiB a reload (make
	 * soak); with two it levels off. Threads keep their own small caches
	 * (tcache), so the sharing costs little. */
	mallopt(M_ARENA_MAX, 2);
}

void dv_alloc_trim(void)
{
	if (dv_mallctl) {
		/* every arena's unused dirty pages back to the system ("arena.4096"
		 * is MALLCTL_ARENAS_ALL) */
		dv_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
		return;
	}
	malloc_trim(0);
}

const char *dv_alloc_name(void) { return dv_alloc_label; }
