/* ann_bench — the approximate matcher's table of `make bench` (issue 19):
 * match_hnsw against exact search, beside match_flat and hnswlib's own Python
 * binding (python3-hnswlib, float32) on the same vectors.
 *
 * The vectors: the real descriptors of ../shared/testdata's photos (embedded
 * through the configured pipeline, cached like make calibrate's). Every
 * identity with two photos or more is enrolled with its first; its other
 * photos are the queries. The rest of the gallery is synthetic faces drawn
 * from the real descriptors' distribution: a Gaussian fitted to them —
 * identity centres from the between-identity covariance, one photo each with
 * the within-identity covariance (Cholesky factors of both, 128x128) — not
 * uniform noise, whose points are all equally far apart. recall@1: the
 * share of queries whose nearest face is exact search's nearest. One identity
 * in five is held out of the gallery: its photos are strangers' queries
 * (nobody near them is enrolled), measured in rows of their own, since a
 * search for a face with no near match costs more.
 *   ann_bench PLUGIN_DIR CONF DATA_DIR CACHE_DIR [SIZES [QUERIES]]
 * SIZES: comma-separated gallery sizes (100000,1000000). With
 * ANN_REF=script.py, the Python reference runs on the same vectors; with
 * ANN_DUMP=DIR, each size's gallery, known queries and exact answers are
 * written there for analysis outside, instead of the matchers' rows; the
 * reference is not run above ANN_REF_MAX faces. ANN_KEEP=DIR keeps each
 * size's graph file there and reads it back next time (ANN_EFC: the
 * ef_construction of the graphs built; graphs kept before 2026-12-03's
 * shuffled builds were built in the faces' order). ANN_SPREAD=1 places the
 * real faces among the synthetic ones instead of first (match_hnsw's builds
 * shuffle the order anyway since then). */
#include "../eval/ev_data.h"
#include "dv_conf.h"
#include "dv_metrics.h"
#include "dv_plugin.h"
#include "../util.h"
#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIM 128

static unsigned long long rng = 0x2545F4914F6CDD1DULL;
static double urand(void) { return test_urand(&rng); }
static double gauss(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

/* Lower Cholesky factor of a symmetric positive (semi)definite matrix. */
static void cholesky(const double *a, double *l)
{
	memset(l, 0, sizeof *l * DIM * DIM);
	for (int i = 0; i < DIM; i++)
		for (int j = 0; j <= i; j++) {
			double s = a[i * DIM + j];
			for (int k = 0; k < j; k++)
				s -= l[i * DIM + k] * l[j * DIM + k];
			l[i * DIM + j] = i == j ? sqrt(s > 1e-12 ? s : 1e-12) : s / l[j * DIM + j];
		}
}

static struct dv_instance *open_matcher(const char *dir, const char *spec, struct dv_module **m, struct dv_conf **c)
{
	char text[512];
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  matcher: %s\n", dir, spec);
	struct dv_conf_errs e = {0};
	*c = dv_conf_parse("ann.yaml", text, strlen(text), &e);
	struct dv_instance *in = NULL;
	char err[256];
	if (e.n || dv_module_open(m, *c, DV_ROLE_MATCHER, &e) != 0 || dv_instance_new(*m, &in, err, sizeof err) != 0) {
		fprintf(stderr, "ann_bench: %s\n", e.n ? e.msg[0] : err);
		in = NULL;
	}
	dv_conf_errs_fini(&e);
	return in;
}

/* p50 and p95 of the search time of nq queries, and their top-5 ids (5 a
 * query, 0 where fewer came back) */
static void run_queries(const struct dv_plugin *p, void *inst, const float *q, int nq, uint64_t *top5, double *p50,
    double *p95)
{
	double *t = malloc(sizeof *t * (size_t)(nq > 0 ? nq : 1));
	struct dv_match out[5];
	int n;
	for (int i = 0; i < nq; i++) {
		double t0 = test_now_ms();
		p->matcher_search(inst, 1, q + (size_t)i * DIM, DIM, 5, out, &n);
		t[i] = test_now_ms() - t0;
		for (int k = 0; k < 5; k++)
			top5[(size_t)i * 5 + k] = k < n ? out[k].id : 0;
	}
	qsort(t, (size_t)nq, sizeof *t, test_cmpd);
	*p50 = nq ? t[nq / 2] : 0;
	*p95 = nq ? t[(int)(nq * 0.95)] : 0;
	free(t);
}

/* recall@1: the share of queries whose nearest face is the truth's */
static double recall(const uint64_t *got, const uint64_t *truth, int nq)
{
	int hit = 0;
	for (int i = 0; i < nq; i++)
		hit += got[(size_t)i * 5] == truth[(size_t)i * 5];
	return nq ? (double)hit / nq : 0;
}

/* recall@5: the share of the truth's five nearest that came back */
static double recall5(const uint64_t *got, const uint64_t *truth, int nq)
{
	long hit = 0;
	for (int i = 0; i < nq; i++)
		for (int a = 0; a < 5; a++)
			for (int b = 0; b < 5; b++)
				hit += truth[(size_t)i * 5 + a] && got[(size_t)i * 5 + b] == truth[(size_t)i * 5 + a];
	return nq ? (double)hit / (5.0 * nq) : 0;
}

/* the strangers' row under a matcher's: their searches against their truth */
static void strangers_row(const struct dv_plugin *p, void *inst, long N, const float *sq, int ns, const uint64_t *struth,
    uint64_t *got)
{
	double p50, p95;
	run_queries(p, inst, sq, ns, got, &p50, &p95);
	printf("%-10ld %-22s %9.3f %9.3f %9.4f %9.4f\n", N, "  strangers", p50, p95, recall(got, struth, ns),
	    recall5(got, struth, ns));
}

/* match_hnsw compacts a graph once it is built (and written) or read back
 * and reconciled: wait for it (up to ten minutes); 1 if compacted */
static int wait_lean(void *dl, void *inst)
{
	int (*layout)(void *, uint64_t, long long *, long long *) =
	    dl ? (int (*)(void *, uint64_t, long long *, long long *))dlsym(dl, "match_hnsw_layout") : NULL;
	long long delta, compactions;
	for (int w = 0; layout && w < 30000; w++) {
		if (layout(inst, 1, &delta, &compactions) == 3)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* a held-out identity: one in five of those with two photos or more */
static int held_out(int ord) { return ord % 5 == 4; }

int main(int argc, char **argv)
{
	/* a row as soon as it is measured: a ten-million run takes over an hour,
	 * and what it measured survives a stop or a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5) {
		fprintf(stderr, "usage: ann_bench PLUGIN_DIR CONF DATA_DIR CACHE_DIR [SIZES [QUERIES]]\n");
		return 2;
	}
	const char *pdir = argv[1], *conf = argv[2], *data = argv[3], *cache = argv[4];
	char sizes_s[256];
	snprintf(sizes_s, sizeof sizes_s, "%s", argc > 5 ? argv[5] : "100000,1000000");
	int maxq = argc > 6 ? atoi(argv[6]) : 1000;
	char so[1024];
	snprintf(so, sizeof so, "%s/match_hnsw.so", pdir);
	if (access(so, R_OK) != 0) {
		printf("(ANN table skipped: match_hnsw is not built; apt-get install libhnswlib-dev and configure)\n");
		return 0;
	}
	struct ev_data d;
	struct ev_pipe pipe;
	if (ev_data_load(data, &d) != 0) {
		printf("(ANN table skipped: %s/identities.csv is absent)\n", data);
		return 0;
	}
	if (ev_pipe_open(&pipe, conf) != 0 || ev_data_embed(&d, &pipe, data, conf, cache) != 0)
		return 1;
	if (d.dim != DIM) {
		fprintf(stderr, "ann_bench: descriptors of %d dimensions, not %d\n", d.dim, DIM);
		return 1;
	}
	/* identities: the first photo is enrolled, the others are queries */
	int n = d.n;
	int *first = malloc(sizeof *first * (size_t)n), *cnt = calloc((size_t)n, sizeof *cnt);
	for (int i = 0; i < n; i++) {
		first[i] = -1;
		if (!d.it[i].f.emb)
			continue;
		for (int j = 0; j < i && first[i] < 0; j++)
			if (d.it[j].f.emb && !strcmp(d.it[i].ident, d.it[j].ident))
				first[i] = first[j] >= 0 ? first[j] : j;
		if (first[i] < 0)
			first[i] = i;
		cnt[first[i]]++;
	}
	float *gal = NULL, *q = malloc(sizeof *q * DIM * (size_t)maxq);
	int ng = 0, nq = 0, nid = 0;
	/* the fit: identity means and residuals */
	double mu[DIM] = {0}, *cb = calloc(DIM * DIM, sizeof *cb), *cw = calloc(DIM * DIM, sizeof *cw);
	double *mean = calloc((size_t)n * DIM, sizeof *mean);
	long nres = 0;
	for (int i = 0; i < n; i++)
		if (first[i] >= 0)
			for (int k = 0; k < DIM; k++)
				mean[(size_t)first[i] * DIM + k] += d.it[i].f.emb[k] / cnt[first[i]];
	for (int i = 0; i < n; i++) {
		if (first[i] != i || cnt[i] < 2)
			continue;
		nid++;
		for (int k = 0; k < DIM; k++)
			mu[k] += mean[(size_t)i * DIM + k];
	}
	for (int k = 0; k < DIM; k++)
		mu[k] /= nid;
	for (int i = 0; i < n; i++) {
		if (first[i] < 0 || cnt[first[i]] < 2)
			continue;
		const double *m = mean + (size_t)first[i] * DIM;
		const float *x = d.it[i].f.emb;
		for (int a = 0; a < DIM; a++)
			for (int b = 0; b <= a; b++)
				cw[a * DIM + b] += (x[a] - m[a]) * (x[b] - m[b]);
		nres++;
		if (first[i] == i)
			for (int a = 0; a < DIM; a++)
				for (int b = 0; b <= a; b++)
					cb[a * DIM + b] += (m[a] - mu[a]) * (m[b] - mu[b]);
	}
	for (int a = 0; a < DIM; a++)
		for (int b = 0; b <= a; b++) {
			cw[a * DIM + b] /= nres - nid;
			cb[a * DIM + b] /= nid - 1;
			cw[b * DIM + a] = cw[a * DIM + b];
			cb[b * DIM + a] = cb[a * DIM + b];
		}
	double *lb = malloc(sizeof *lb * DIM * DIM), *lw = malloc(sizeof *lw * DIM * DIM);
	cholesky(cb, lb);
	cholesky(cw, lw);
	/* the real gallery and the queries */
	float *realg = malloc(sizeof *realg * DIM * (size_t)nid);
	int maxs = maxq / 2, ns = 0, nheld = 0, nord = 0;
	float *sq = malloc(sizeof *sq * DIM * (size_t)(maxs > 0 ? maxs : 1));
	int *ord = malloc(sizeof *ord * (size_t)n); /* an identity's number, by its first photo */
	for (int i = 0; i < n; i++)
		ord[i] = first[i] == i && cnt[i] >= 2 ? nord++ : -1;
	for (int i = 0; i < n; i++) {
		if (first[i] < 0 || cnt[first[i]] < 2)
			continue;
		if (held_out(ord[first[i]])) {
			nheld += first[i] == i;
			if (ns < maxs)
				memcpy(sq + (size_t)ns++ * DIM, d.it[i].f.emb, sizeof(float) * DIM);
		} else if (first[i] == i)
			memcpy(realg + (size_t)ng++ * DIM, d.it[i].f.emb, sizeof(float) * DIM);
		else if (nq < maxq)
			memcpy(q + (size_t)nq++ * DIM, d.it[i].f.emb, sizeof(float) * DIM);
	}
	char cpu[128];
	test_cpu_name(cpu, sizeof cpu);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	printf("ANN: match_hnsw (its defaults: int8 codes walked, 4-bit residuals reranking the nearest 16; m 16,\n");
	const char *efc_env = getenv("ANN_EFC");
	printf("ef_construction %s, ef_search 1600, stop_ratio 2, reverse links in graphs of 2,000,000 faces and more) against\n"
	       "exact search; the reference libraries at ef 200;\n",
	    efc_env && *efc_env ? efc_env : "400");
	printf("searches on one core, builds on %ld (%s);\n", cores, cpu);
	printf("%d real faces enrolled (the first photo of each identity with two or more, but one identity in five), %d\n", ng, nq);
	printf("real queries (their other photos; rows marked \"strangers\": %d photos of the %d identities held out, whose\n", ns, nheld);
	printf("nearest face is nobody's they show), the rest of the gallery synthetic from a Gaussian fitted to the real\n");
	printf("descriptors (%d identities, %ld photos: between- and within-identity covariances); top-5; recall@1 = nearest\n", nid, nres);
	printf("face = exact search's\n");
	printf("%-10s %-22s %9s %9s %9s %9s %11s %10s\n", "faces", "matcher", "p50 ms", "p95 ms", "recall@1", "recall@5", "build s", "MB");
	uint64_t *truth = malloc(sizeof *truth * 5 * (size_t)nq), *got = malloc(sizeof *got * 5 * (size_t)(nq > ns ? nq : ns));
	uint64_t *struth = malloc(sizeof *struth * 5 * (size_t)(ns > 0 ? ns : 1)), *truth1 = malloc(sizeof *truth1 * (size_t)nq);
	for (char *tok = strtok(sizes_s, ","); tok; tok = strtok(NULL, ",")) {
		long N = atol(tok);
		if (N < ng)
			continue;
		free(gal);
		gal = malloc(sizeof *gal * DIM * (size_t)N);
		if (!gal) {
			printf("%-10ld (no memory for the vectors)\n", N);
			continue;
		}
		memcpy(gal, realg, sizeof(float) * DIM * (size_t)ng);
		rng = 0x2545F4914F6CDD1DULL;
		for (long i = ng; i < N; i++) {
			double z1[DIM], z2[DIM];
			for (int k = 0; k < DIM; k++) {
				z1[k] = gauss();
				z2[k] = gauss();
			}
			for (int a = 0; a < DIM; a++) {
				double v = mu[a];
				for (int b = 0; b <= a; b++)
					v += lb[a * DIM + b] * z1[b] + lw[a * DIM + b] * z2[b];
				gal[(size_t)i * DIM + a] = (float)v;
			}
		}
		/* ANN_SPREAD=1: the real faces moved to pseudo-random places among
		 * the synthetic ones — the order of insertion is the faces' order,
		 * and by default the real faces (every known query's match) are the
		 * graph's first nodes */
		const char *spread = getenv("ANN_SPREAD");
		if (spread && *spread == '1' && N > ng)
			for (int i = 0; i < ng; i++) {
				size_t j = (size_t)ng + (size_t)(((uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL) >> 20) % (size_t)(N - ng);
				float t[DIM];
				memcpy(t, gal + (size_t)i * DIM, sizeof t);
				memcpy(gal + (size_t)i * DIM, gal + j * DIM, sizeof t);
				memcpy(gal + j * DIM, t, sizeof t);
			}
		/* exact search: match_flat (f32: every float32 distance) is the truth */
		struct dv_module *m = NULL;
		struct dv_conf *c = NULL;
		long before = dv_rss_bytes();
		struct dv_instance *in = open_matcher(pdir, "{so: match_flat, mode: f32}", &m, &c);
		if (!in)
			return 1;
		for (long i = 0; i < N; i++)
			m->desc->matcher_add(in->inst, 1, (uint64_t)i + 1, gal + (size_t)i * DIM, DIM);
		double p50, p95;
		run_queries(m->desc, in->inst, q, nq, truth, &p50, &p95);
		for (int i = 0; i < nq; i++)
			truth1[i] = truth[(size_t)i * 5];
		printf("%-10ld %-22s %9.3f %9.3f %9s %9s %11s %10.0f\n", N, "match_flat f32 (exact)", p50, p95, "1.0000", "1.0000", "-",
		    (double)m->desc->matcher_memory(in->inst) / 1048576.0);
		run_queries(m->desc, in->inst, sq, ns, struth, &p50, &p95);
		dv_instance_free(in);
		dv_module_close(m);
		dv_conf_free(c);
		/* ANN_DUMP=DIR: the vectors, queries and exact answers written for
		 * analysis outside (float32 rows; the truth as 1-based face numbers:
		 * the nearest, and the five nearest; the strangers and theirs too),
		 * instead of the matchers' rows */
		const char *dump = getenv("ANN_DUMP");
		if (dump && *dump) {
			char path[1024];
			struct { const char *name; const void *p; size_t size, n; } part[] = {
				{"gallery", gal, sizeof(float) * DIM, (size_t)N},
				{"queries", q, sizeof(float) * DIM, (size_t)nq},
				{"truth", truth1, sizeof *truth1, (size_t)nq},
				{"truth5", truth, sizeof *truth * 5, (size_t)nq},
				{"strangers", sq, sizeof(float) * DIM, (size_t)ns},
				{"strangers-truth5", struth, sizeof *struth * 5, (size_t)ns},
			};
			for (size_t k = 0; k < sizeof part / sizeof *part; k++) {
				snprintf(path, sizeof path, "%s/%s-%ld.bin", dump, part[k].name, N);
				FILE *f = fopen(path, "wb");
				if (!f || fwrite(part[k].p, part[k].size, part[k].n, f) != part[k].n || fclose(f) != 0) {
					perror(path);
					return 1;
				}
			}
			printf("%-10ld (written to %s: gallery, queries and truth)\n", N, dump);
			continue;
		}
		in = open_matcher(pdir, "{so: match_flat, mode: int8_bound}", &m, &c);
		for (long i = 0; i < N; i++)
			m->desc->matcher_add(in->inst, 1, (uint64_t)i + 1, gal + (size_t)i * DIM, DIM);
		run_queries(m->desc, in->inst, q, nq, got, &p50, &p95);
		printf("%-10ld %-22s %9.3f %9.3f %9.4f %9.4f %11s %10.0f\n", N, "match_flat int8_bound", p50, p95, recall(got, truth, nq),
		    recall5(got, truth, nq), "-",
		    (double)m->desc->matcher_memory(in->inst) / 1048576.0);
		strangers_row(m->desc, in->inst, N, sq, ns, struth, got);
		dv_instance_free(in);
		dv_module_close(m);
		dv_conf_free(c);
		/* match_hnsw: the graph is built (in the background) once all are added */
		char spec[512], pdir_keep[512] = "/tmp/dv_ann_XXXXXX";
		const char *keep = getenv("ANN_KEEP"), *efc = getenv("ANN_EFC");
		long efc_n = efc && *efc ? atol(efc) : 400;
		if (keep && *keep) {
			/* ANN_KEEP=DIR: the graph's file is kept in DIR/ann-N-efcE and
			 * read back by the next run instead of being built again (the
			 * gallery is the same: its generator's seed is fixed) */
			snprintf(pdir_keep, sizeof pdir_keep, "%s/ann-%ld-efc%ld%s", keep, N, efc_n, spread && *spread == '1' ? "-spread" : "");
			mkdir(keep, 0755);
			mkdir(pdir_keep, 0755);
		} else if (!mkdtemp(pdir_keep)) {
			perror("ann_bench: mkdtemp");
			return 1;
		}
		/* persist_dir: the restart row below reads the graph back */
		snprintf(spec, sizeof spec,
		    "{so: match_hnsw, exact_below: %ld, build_threads: %ld, ef_construction: %ld, persist_dir: %s}", N, cores,
		    efc_n, pdir_keep);
		malloc_trim(0); /* what match_flat freed, back to the system before the count */
		before = dv_rss_bytes();
		in = open_matcher(pdir, spec, &m, &c);
		if (!in)
			return 1;
		void *dl = dlopen(so, RTLD_NOW | RTLD_NOLOAD);
		/* how the tenant is held (match_hnsw_layout: 2 or 3 once its graph
		 * is there); cheap, unlike match_hnsw_inspect, which reads every
		 * vector (at ten million faces it took a core from the build) */
		int (*layout)(void *, uint64_t, long long *, long long *) =
		    dl ? (int (*)(void *, uint64_t, long long *, long long *))dlsym(dl, "match_hnsw_layout") : NULL;
		double t0 = test_now_ms();
		for (long i = 0; i < N; i++)
			m->desc->matcher_add(in->inst, 1, (uint64_t)i + 1, gal + (size_t)i * DIM, DIM);
		if (m->desc->matcher_loaded)
			m->desc->matcher_loaded(in->inst);
		long long delta, compactions;
		while (layout && layout(in->inst, 1, &delta, &compactions) < 2)
			usleep(20000);
		double build = (test_now_ms() - t0) / 1e3;
		/* the graph is written after its build, then compacted: wait, so
		 * that searches are timed alone, on the layout that serves */
		void (*stats)(void *, long long *, long long *, long long *) =
		    dl ? (void (*)(void *, long long *, long long *, long long *))dlsym(dl, "match_hnsw_stats") : NULL;
		long long saves = 0, loads = 0, builds = 0;
		double t_save = test_now_ms();
		while (stats && (stats(in->inst, &saves, &loads, &builds), saves < 1 && loads < 1))
			usleep(20000);
		t_save = (test_now_ms() - t_save) / 1e3;
		double t_compact = test_now_ms();
		int lean = wait_lean(dl, in->inst);
		t_compact = (test_now_ms() - t_compact) / 1e3;
		long rss = dv_rss_bytes() - before;
		run_queries(m->desc, in->inst, q, nq, got, &p50, &p95);
		printf("%-10ld %-22s %9.3f %9.3f %9.4f %9.4f %11.1f %10.0f   (%.0f B a face%s; resident +%.0f MB%s)\n", N, "match_hnsw", p50,
		    p95, recall(got, truth, nq), recall5(got, truth, nq), build, (double)m->desc->matcher_memory(in->inst) / 1048576.0,
		    (double)m->desc->matcher_memory(in->inst) / N, lean ? ", compacted" : ", hnswlib's layout", rss / 1048576.0,
		    loads > 0 ? "; the graph read back from ANN_KEEP's file: build s is the read and the host's adds" : "");
		if (lean && loads == 0)
			printf("%-10ld   (compacted in %.1f s after the build and its write)\n", N, t_compact);
		strangers_row(m->desc, in->inst, N, sq, ns, struth, got);
		/* the same graph searched otherwise: recall against time, with
		 * stop_ratio (the default) and without (the candidate list's rule
		 * alone, as hnswlib's searchKnn) */
		void (*set_ef)(void *, long long) = dl ? (void (*)(void *, long long))dlsym(dl, "match_hnsw_set_ef") : NULL;
		void (*set_stop)(void *, double) = dl ? (void (*)(void *, double))dlsym(dl, "match_hnsw_set_stop") : NULL;
		static const struct { int ef; double stop; } ways[] = {{400, 2}, {800, 2}, {200, 0}, {800, 0}, {1600, 0}};
		for (size_t e = 0; set_ef && set_stop && e < sizeof ways / sizeof *ways; e++) {
			set_ef(in->inst, ways[e].ef);
			set_stop(in->inst, ways[e].stop);
			char label[40];
			snprintf(label, sizeof label, "match_hnsw ef %d%s", ways[e].ef, ways[e].stop > 0 ? "" : " stop 0");
			run_queries(m->desc, in->inst, q, nq, got, &p50, &p95);
			printf("%-10ld %-22s %9.3f %9.3f %9.4f %9.4f\n", N, label, p50, p95, recall(got, truth, nq), recall5(got, truth, nq));
			strangers_row(m->desc, in->inst, N, sq, ns, struth, got);
		}
		dv_instance_free(in);
		dv_module_close(m);
		dv_conf_free(c);
		/* a restart with persist_dir: the graph read back, then the host's
		 * load adds every face again (each confirmed against the file) and
		 * says it is done; searched as the first row */
		char file[512];
		snprintf(file, sizeof file, "%s/tenant-1.hnsw", pdir_keep);
		struct stat fst;
		double fmb = stat(file, &fst) == 0 ? (double)fst.st_size / 1048576.0 : 0;
		t0 = test_now_ms();
		in = open_matcher(pdir, spec, &m, &c);
		if (!in)
			return 1;
		double t_read = (test_now_ms() - t0) / 1e3;
		for (long i = 0; i < N; i++)
			m->desc->matcher_add(in->inst, 1, (uint64_t)i + 1, gal + (size_t)i * DIM, DIM);
		if (m->desc->matcher_loaded)
			m->desc->matcher_loaded(in->inst);
		double t_restart = (test_now_ms() - t0) / 1e3;
		wait_lean(dl, in->inst);
		if (stats)
			stats(in->inst, &saves, &loads, &builds);
		run_queries(m->desc, in->inst, q, nq, got, &p50, &p95);
		printf("%-10ld %-22s %9.3f %9.3f %9.4f %9.4f %11.1f %10s   (restart with persist_dir: %s; the file %.0f MB, written in %.1f s, read in %.1f s; the host's %ld adds and matcher_loaded %.1f s)\n",
		    N, "match_hnsw restarted", p50, p95, recall(got, truth, nq), recall5(got, truth, nq), t_restart, "",
		    loads == 1 && builds == 0 ? "read back, not built" : "NOT read back", fmb, t_save, t_read, N,
		    t_restart - t_read);
		dv_instance_free(in);
		dv_module_close(m);
		dv_conf_free(c);
		snprintf(file, sizeof file, "rm -rf '%s'", pdir_keep);
		if (!(keep && *keep) && system(file) != 0)
			fprintf(stderr, "ann_bench: could not remove %s\n", pdir_keep);
		/* the reference: hnswlib's Python binding, float32, same vectors and parameters */
		const char *ref = getenv("ANN_REF"), *ref_max = getenv("ANN_REF_MAX");
		if (ref && *ref && ref_max && *ref_max && N > atol(ref_max)) {
			printf("%-10ld (the reference libraries are not run above ANN_REF_MAX=%s faces: their builds would take hours here)\n",
			    N, ref_max);
		} else if (ref && *ref) {
			char gp[] = "/tmp/ann_galXXXXXX", qp[] = "/tmp/ann_qXXXXXX", tp[] = "/tmp/ann_tXXXXXX";
			int fg = mkstemp(gp), fq = mkstemp(qp), ft = mkstemp(tp);
			FILE *g1 = fdopen(fg, "wb"), *q1 = fdopen(fq, "wb"), *t1 = fdopen(ft, "wb");
			fwrite(gal, sizeof(float) * DIM, (size_t)N, g1);
			fwrite(q, sizeof(float) * DIM, (size_t)nq, q1);
			fwrite(truth1, sizeof *truth1, (size_t)nq, t1);
			fclose(g1);
			fclose(q1);
			fclose(t1);
			char cmd[1024];
			snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %s %d %ld 16 %ld 200", ref, gp, qp, tp, DIM, N, efc_n);
			fflush(stdout);
			if (system(cmd) != 0)
				printf("%-10ld %-22s (python3-hnswlib is not available: scripts/deps.sh --bench)\n", N, "hnswlib python f32");
			unlink(gp);
			unlink(qp);
			unlink(tp);
		}
		fflush(stdout);
	}
	return 0;
}
