/* Unit tests for core/dv_par.c: a worker's face threads run part 0 on the
 * caller and every other part on its own helper, all parts before
 * dv_par_run returns, many times over without a lost wake-up; shares cover
 * the items once, in order; a split takes only the idle cores. */
#include "../tap.h"
#include "dv_log.h"
#include "dv_par.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct rec {
	pthread_t tid[DV_PAR_MAX];
	atomic_int runs[DV_PAR_MAX];
	int *items;
	int m, n;
};

static unsigned long long seen_req[DV_PAR_MAX];

static void req_part(void *arg, int k)
{
	(void)arg;
	seen_req[k] = dv_log_request();
}

static void part(void *arg, int k)
{
	struct rec *r = arg;
	r->tid[k] = pthread_self();
	atomic_fetch_add(&r->runs[k], 1);
	int lo, hi;
	dv_par_share(r->m, r->n, k, &lo, &hi);
	for (int i = lo; i < hi; i++)
		r->items[i]++;
}

int main(void)
{
	/* shares: every item once, in order, sizes within one of each other */
	int ok_share = 1;
	for (int m = 0; m <= 40; m++)
		for (int n = 1; n <= 8; n++) {
			int next = 0, lo, hi;
			for (int k = 0; k < n; k++) {
				dv_par_share(m, n, k, &lo, &hi);
				if (lo != next || hi < lo || hi - lo > m / n + 1 || hi - lo < m / n)
					ok_share = 0;
				next = hi;
			}
			if (next != m)
				ok_share = 0;
		}
	ok(ok_share, "shares cover the items once, in order, evenly");

	is_int(dv_par_threads(NULL), 1, "no pool: the caller alone");
	struct dv_par *p = dv_par_new(3, NULL);
	ok(p != NULL, "a pool of three helpers starts");
	if (!p)
		return tap_done();
	is_int(dv_par_threads(p), 4, "... four threads with the caller");

	int items[100] = {0};
	struct rec r = {.items = items, .m = 100, .n = 4};
	dv_par_run(p, 4, part, &r);
	int once = 1;
	for (int i = 0; i < 100; i++)
		once &= items[i] == 1;
	ok(once, "every item done once, and done when dv_par_run returns");
	ok(pthread_equal(r.tid[0], pthread_self()), "part 0 runs on the caller");
	int distinct = 1;
	for (int a = 0; a < 4; a++)
		for (int b = a + 1; b < 4; b++)
			distinct &= !pthread_equal(r.tid[a], r.tid[b]);
	ok(distinct, "each part on a thread of its own");

	/* many rounds, of every size: no lost wake-up, nothing run twice */
	struct rec r2 = {.items = calloc(7, sizeof(int)), .m = 7};
	int rounds = 3000, want[DV_PAR_MAX] = {0};
	for (int i = 0; i < rounds; i++) {
		r2.n = 1 + i % 4;
		for (int k = 0; k < r2.n; k++)
			want[k]++;
		dv_par_run(p, r2.n, part, &r2);
	}
	int counted = 1;
	for (int k = 0; k < 4; k++)
		counted &= atomic_load(&r2.runs[k]) == want[k];
	for (int i = 0; i < 7; i++)
		counted &= r2.items[i] == rounds;
	ok(counted, "3000 rounds of 1 to 4 parts: each part ran exactly when asked");

	/* more parts than threads: the rest on the caller */
	struct rec r3 = {.items = calloc(10, sizeof(int)), .m = 10, .n = 6};
	dv_par_run(p, 6, part, &r3);
	ok(pthread_equal(r3.tid[4], pthread_self()) && pthread_equal(r3.tid[5], pthread_self()),
	    "parts beyond the pool's threads run on the caller");
	int all = 1;
	for (int i = 0; i < 10; i++)
		all &= r3.items[i] == 1;
	ok(all, "... and all items are done");

	/* the lines a helper logs carry the caller's request id */
	dv_log_set_request(42);
	dv_par_run(p, 3, req_part, NULL);
	dv_log_set_request(0);
	ok(seen_req[0] == 42 && seen_req[1] == 42 && seen_req[2] == 42, "helpers log under the caller's request id");
	dv_par_run(p, 3, req_part, NULL);
	ok(seen_req[1] == 0 && seen_req[2] == 0, "... and under none once the caller has none");

	dv_par_free(p);

	/* the idle cores decide: a request alone on two CPUs splits in two, two
	 * requests at once run one thread each */
	struct dv_par_load load = {.cpus = 2};
	atomic_init(&load.busy, 1);
	struct dv_par *q = dv_par_new(3, &load);
	is_int(dv_par_threads(q), 2, "2 CPUs, one busy worker: 2 threads of the pool's 4");
	atomic_store(&load.busy, 2);
	is_int(dv_par_threads(q), 1, "2 CPUs, two busy workers: 1");
	load.cpus = 8;
	is_int(dv_par_threads(q), 4, "8 CPUs, two busy workers: the pool's 4");
	atomic_store(&load.busy, 3);
	is_int(dv_par_threads(q), 2, "8 CPUs, three busy workers: 2");
	dv_par_free(q);
	ok(dv_par_cpus() >= 1, "the process's CPUs are counted");

	struct dv_par *z = dv_par_new(0, NULL);
	struct rec r4 = {.items = calloc(3, sizeof(int)), .m = 3, .n = 2};
	dv_par_run(z, 2, part, &r4);
	ok(pthread_equal(r4.tid[1], pthread_self()) && r4.items[2] == 1, "a pool of no helpers runs it all on the caller");
	dv_par_free(z);
	free(r2.items);
	free(r3.items);
	free(r4.items);
	return tap_done();
}
