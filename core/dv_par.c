/* dv_par.c — a worker's helper threads (dv_par.h). Each helper waits on its
 * own condition variable for a task, runs it and signals the caller, which
 * has run part 0 meanwhile. No task is ever queued behind another: a pool
 * belongs to one worker, which waits for every part before it goes on. */
#include "dv_par.h"
#include "dv_log.h"
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

struct dv_helper {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	void (*fn)(void *, int);
	void *arg;
	int k;
	unsigned long long req; /* the caller's request id, for the lines logged meanwhile */
	bool busy, quit;
};

struct dv_par {
	int n;
	struct dv_par_load *load;
	int cpu;         /* the caller's CPU the helpers were last kept off, or -1 */
	cpu_set_t allowed; /* the CPUs this process may use */
	struct dv_helper h[];
};

static void *dv_helper_main(void *a)
{
	struct dv_helper *h = a;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->busy && !h->quit)
			pthread_cond_wait(&h->go, &h->mu);
		if (!h->busy)
			break;
		pthread_mutex_unlock(&h->mu);
		dv_log_set_request(h->req);
		h->fn(h->arg, h->k);
		dv_log_set_request(0);
		pthread_mutex_lock(&h->mu);
		h->busy = false;
		pthread_cond_signal(&h->done);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int dv_par_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

struct dv_par *dv_par_new(int helpers, struct dv_par_load *load)
{
	if (helpers < 0)
		helpers = 0;
	if (helpers > DV_PAR_MAX - 1)
		helpers = DV_PAR_MAX - 1;
	struct dv_par *p = calloc(1, sizeof *p + sizeof p->h[0] * (size_t)helpers);
	if (!p)
		return NULL;
	p->cpu = -1;
	p->load = load;
	if (sched_getaffinity(0, sizeof p->allowed, &p->allowed) != 0)
		CPU_ZERO(&p->allowed);
	for (int i = 0; i < helpers; i++) {
		struct dv_helper *h = &p->h[i];
		pthread_mutex_init(&h->mu, NULL);
		pthread_cond_init(&h->go, NULL);
		pthread_cond_init(&h->done, NULL);
		if (pthread_create(&h->tid, NULL, dv_helper_main, h) != 0) {
			pthread_mutex_destroy(&h->mu);
			pthread_cond_destroy(&h->go);
			pthread_cond_destroy(&h->done);
			dv_par_free(p);
			return NULL;
		}
		pthread_setname_np(h->tid, "dv-face"); /* top -H, /proc/PID/task/TID/comm */
		p->n = i + 1;
	}
	return p;
}

void dv_par_free(struct dv_par *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		struct dv_helper *h = &p->h[i];
		pthread_mutex_lock(&h->mu);
		h->quit = true;
		pthread_cond_signal(&h->go);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->tid, NULL);
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->go);
		pthread_cond_destroy(&h->done);
	}
	free(p);
}

int dv_par_threads(const struct dv_par *p)
{
	if (!p)
		return 1;
	int n = p->n + 1;
	if (p->load) {
		int busy = atomic_load(&p->load->busy);
		int fit = p->load->cpus / (busy > 1 ? busy : 1);
		if (fit < n)
			n = fit > 1 ? fit : 1;
	}
	return n;
}

void dv_par_run(struct dv_par *p, int n, void (*fn)(void *arg, int k), void *arg)
{
	int pool = p ? p->n : 0, helpers = n - 1 < pool ? n - 1 : pool;
	/* Keep the helpers off the caller's CPU. Left to itself the scheduler
	 * wakes a thread where its waker runs (for the shared cache), and a
	 * helper woken after an idle spell then waits for the caller's part to
	 * end before it runs: measured, a split of two embedder passes took
	 * as long as the two on one thread. */
	int cpu = helpers > 0 ? sched_getcpu() : -1;
	if (cpu >= 0 && cpu != p->cpu && CPU_COUNT(&p->allowed) > 1 && CPU_ISSET(cpu, &p->allowed)) {
		cpu_set_t others = p->allowed;
		CPU_CLR(cpu, &others);
		for (int i = 0; i < p->n; i++)
			pthread_setaffinity_np(p->h[i].tid, sizeof others, &others);
		p->cpu = cpu;
	}
	for (int i = 0; i < helpers; i++) {
		struct dv_helper *h = &p->h[i];
		pthread_mutex_lock(&h->mu);
		h->fn = fn;
		h->arg = arg;
		h->k = i + 1;
		h->req = dv_log_request();
		h->busy = true;
		pthread_cond_signal(&h->go);
		pthread_mutex_unlock(&h->mu);
	}
	/* parts beyond the pool's threads run here too (never with a pool
	 * sized as dv_par_threads says) */
	fn(arg, 0);
	for (int k = helpers + 1; k < n; k++)
		fn(arg, k);
	for (int i = 0; i < helpers; i++) {
		struct dv_helper *h = &p->h[i];
		pthread_mutex_lock(&h->mu);
		while (h->busy)
			pthread_cond_wait(&h->done, &h->mu);
		pthread_mutex_unlock(&h->mu);
	}
}

void dv_par_share(int m, int n, int k, int *lo, int *hi)
{
	*lo = (int)((long long)m * k / n);
	*hi = (int)((long long)m * (k + 1) / n);
}
