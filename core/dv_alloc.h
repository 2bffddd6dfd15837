/* dv_alloc.h — the allocator's knobs, in one place. dejaviewd is linked with
 * jemalloc when configure finds it (it then calls dv_alloc_use_mallctl from
 * main); otherwise glibc's malloc is tuned here. Either way dv_alloc_trim
 * gives freed memory back to the system. docs/reliability.md ("Long runs")
 * has the measurements behind the choice. */
#ifndef DV_ALLOC_H
#define DV_ALLOC_H
#include <stddef.h>

typedef int dv_mallctl_fn(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
/* jemalloc is the process's allocator: its mallctl. */
void dv_alloc_use_mallctl(dv_mallctl_fn *fn);
/* Once at start, before threads: glibc's thresholds (nothing for jemalloc). */
void dv_alloc_setup(void);
/* Give freed memory back to the system now. */
void dv_alloc_trim(void);
/* "jemalloc 5.3.0-..." or "glibc malloc". */
const char *dv_alloc_name(void);
#endif
