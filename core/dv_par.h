/* dv_par.h — a worker's face threads: the faces of one request (their
 * landmark and embedding passes, and a shared matcher's searches) split over
 * the worker's own thread and face_threads - 1 helpers, each helper with its
 * own landmarker and embedder instances. A request with one pass to make runs on the worker
 * alone; the helpers sleep between requests. */
#ifndef DV_PAR_H
#define DV_PAR_H
#include <stdatomic.h>

/* The most threads a worker splits a request's faces over (face_threads). */
#define DV_PAR_MAX 16

struct dv_par;

/* What the pools of one server share: how many of its workers are running a
 * request now (each counts itself in and out) and the CPUs the process may
 * use. A split uses the cores the other requests leave idle. */
struct dv_par_load {
	atomic_int busy;
	int cpus;
};
/* The CPUs this process may use (at least 1). */
int dv_par_cpus(void);

/* A pool of helpers threads (0 gives a pool that runs everything on the
 * caller) sharing load (or NULL: the helpers are always used); NULL when a
 * thread cannot be started. */
struct dv_par *dv_par_new(int helpers, struct dv_par_load *load);
/* Stops and joins the helpers. NULL is fine. */
void dv_par_free(struct dv_par *p);
/* Threads a split may use now: the caller and as many helpers as there are
 * idle cores for — the CPUs over the busy workers (a request alone on a
 * 2-core machine: 2; two at once: 1 each). */
int dv_par_threads(const struct dv_par *p);
/* Run fn(arg, k) for k = 0 .. n-1 (n <= dv_par_threads): k = 0 on the
 * calling thread, k >= 1 on helper k - 1; returns when all are done. */
void dv_par_run(struct dv_par *p, int n, void (*fn)(void *arg, int k), void *arg);
/* The contiguous share [*lo, *hi) of part k when m items are split into n. */
void dv_par_share(int m, int n, int k, int *lo, int *hi);

#endif
