/* match_bench — the matcher table of `make bench`: exact 1:N search latency
 * (median, p95) of match_flat over 10k, 100k and 1M synthetic 128-D faces in
 * one tenant, for the int8-bound scan and the plain float32 scan, on the
 * kernels this CPU has; and the memory the gallery takes per million faces.
 *   match_bench PLUGIN_DIR [QUERIES] */
#include "dv_conf.h"
#include "dv_metrics.h"
#include "dv_plugin.h"
#include "../util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIM 128

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static inline float urand(void) { return (float)(test_xorshift(&rng) >> 40) / 16777216.0f; }

/* A dlib-like descriptor: ~N(0, 0.09) components, |x| ~ 1. */
static void face(float *v)
{
	for (int i = 0; i < DIM; i++)
		v[i] = (urand() + urand() + urand() + urand() - 2.0f) * 0.153f;
}

static struct dv_instance *open_mf(const char *dir, const char *mode, struct dv_module **m, struct dv_conf **c)
{
	char text[512];
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  matcher: {so: match_flat, mode: %s}\n", dir, mode);
	struct dv_conf_errs e = {0};
	*c = dv_conf_parse("bench.yaml", text, strlen(text), &e);
	struct dv_instance *in = NULL;
	char err[256];
	if (e.n || dv_module_open(m, *c, DV_ROLE_MATCHER, &e) != 0 || dv_instance_new(*m, &in, err, sizeof err) != 0) {
		fprintf(stderr, "match_bench: %s\n", e.n ? e.msg[0] : err);
		exit(1);
	}
	dv_conf_errs_fini(&e);
	return in;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: match_bench PLUGIN_DIR [QUERIES]\n");
		return 2;
	}
	int nq = argc > 2 ? atoi(argv[2]) : 200;
	static const int sizes[] = {10000, 100000, 1000000};
	printf("matcher: match_flat, exact 1:N (top-5) over synthetic 128-D faces in one tenant, one core, %d queries\n", nq);
	printf("%-10s %-18s %10s %10s %12s %14s\n", "faces", "mode", "p50 ms", "p95 ms", "faces/s", "gallery MB");
	float *q = malloc(sizeof *q * DIM * (size_t)nq), v[DIM];
	double *t = malloc(sizeof *t * (size_t)nq);
	long per_million_kb = 0;
	for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
		static const char *modes[] = {"int8_bound", "f32"};
		for (int mi = 0; mi < 2; mi++) {
			struct dv_module *m = NULL;
			struct dv_conf *c = NULL;
			long before = dv_rss_bytes() / 1024;
			struct dv_instance *in = open_mf(argv[1], modes[mi], &m, &c);
			const struct dv_plugin *p = m->desc;
			rng = 0x9e3779b97f4a7c15ULL;
			for (int i = 0; i < sizes[si]; i++) {
				face(v);
				p->matcher_add(in->inst, 1, (uint64_t)i + 1, v, DIM);
				/* half the queries are a gallery face seen again (noise 0.3) */
				if (i < nq) {
					for (int k = 0; k < DIM; k++)
						q[(size_t)i * DIM + k] = i % 2 ? v[k] + (urand() - 0.5f) * 0.05f : 0;
				}
			}
			for (int i = 0; i < nq; i++)
				if (i % 2 == 0)
					face(q + (size_t)i * DIM);
			long after = dv_rss_bytes() / 1024;
			struct dv_match out[24];
			int n;
			/* top-5, and top-24: what a recognition asks for with match.cohort */
			static const int ks[] = {5, 24};
			for (int ki = 0; ki < 2; ki++) {
				int k = ks[ki];
				if (k != 5 && mi != 0)
					continue;
				p->matcher_search(in->inst, 1, q, DIM, k, out, &n); /* warm */
				for (int i = 0; i < nq; i++) {
					double t0 = test_now_ms();
					p->matcher_search(in->inst, 1, q + (size_t)i * DIM, DIM, k, out, &n);
					t[i] = test_now_ms() - t0;
				}
				qsort(t, (size_t)nq, sizeof *t, test_cmpd);
				double p50 = t[nq / 2], p95 = t[(int)(nq * 0.95)];
				double mb = (double)(after - before) / 1024;
				char mode[32];
				snprintf(mode, sizeof mode, "%s%s", modes[mi], k == 5 ? "" : " top-24");
				printf("%-10d %-18s %10.3f %10.3f %12.3g %14.1f\n", sizes[si], mode, p50, p95, sizes[si] / (p50 / 1e3), mb);
			}
			if (sizes[si] == 1000000 && mi == 0)
				per_million_kb = after - before;
			dv_instance_free(in);
			dv_module_close(m);
			dv_conf_free(c);
		}
	}
	printf("memory per million faces (int8_bound keeps float32 + int8 codes + 5 floats + id + index): %.0f MB\n",
	    per_million_kb / 1024.0);
	free(q);
	free(t);
	return 0;
}
