/* dv_int8check — make eval-int8: are the int8 embedder's descriptors the
 * float embedder's?
 *
 *   dv_int8check -a CONFIG_A -b CONFIG_B -t TESTDATA [-s STEP]
 *
 * Every STEP-th photo of TESTDATA/identities.csv (3 by default: the int8
 * table is measured on every 8th, so two thirds of these photos were never
 * seen by it) is embedded by both configurations (ev_pipe: the largest face,
 * as a recognition embeds it), and the distance between the two descriptors
 * of each photo is summarised beside what it is compared with: the distance
 * between two photos of one person, and of two people, under A. Prints the
 * embedders' fingerprints, so a run says which precision each side was. */
#include "ev_data.h"
#include "../util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void row(const char *what, double *v, int n)
{
	if (!n) {
		printf("%-44s %8s\n", what, "-");
		return;
	}
	qsort(v, (size_t)n, sizeof *v, test_cmpd);
	printf("%-44s %8.4f %8.4f %8.4f %8.4f %7d\n", what, v[n / 2], v[(int)(n * 0.95)], v[(int)(n * 0.99)], v[n - 1], n);
}

int main(int argc, char **argv)
{
	const char *ca = NULL, *cb = NULL, *dir = NULL;
	int step = 3;
	for (int o; (o = getopt(argc, argv, "a:b:t:s:")) != -1;) {
		switch (o) {
		case 'a': ca = optarg; break;
		case 'b': cb = optarg; break;
		case 't': dir = optarg; break;
		case 's': step = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (!ca || !cb || !dir || step < 1) {
	usage:
		fprintf(stderr, "usage: dv_int8check -a CONFIG_A -b CONFIG_B -t TESTDATA [-s STEP]\n");
		return 2;
	}
	struct ev_data d;
	struct ev_pipe pa, pb;
	if (ev_data_load(dir, &d) != 0 || ev_pipe_open(&pa, ca) != 0 || ev_pipe_open(&pb, cb) != 0)
		return 1;
	if (pa.dim != pb.dim) {
		fprintf(stderr, "dv_int8check: the embedders' dimensions differ (%d, %d)\n", pa.dim, pb.dim);
		return 1;
	}
	int cap = d.n / step + 1, n = 0;
	double *ab = malloc(sizeof *ab * (size_t)cap);
	int *idx = malloc(sizeof *idx * (size_t)cap);
	float **ea = calloc((size_t)cap, sizeof *ea);
	double ta = 0, tb = 0;
	for (int k = 0; k < d.n; k += step) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, d.it[k].path);
		struct ev_face fa = {0}, fb = {0};
		double t0 = test_now_ms();
		ev_pipe_embed_file(&pa, path, &fa);
		double t1 = test_now_ms();
		ev_pipe_embed_file(&pb, path, &fb);
		ta += t1 - t0;
		tb += test_now_ms() - t1;
		if (fa.emb && fb.emb && fa.fallback == fb.fallback) {
			ab[n] = ev_dist(fa.emb, fb.emb, pa.dim);
			idx[n] = k;
			ea[n++] = fa.emb;
			fa.emb = NULL;
		}
		free(fa.emb);
		free(fb.emb);
		if (isatty(2))
			fprintf(stderr, "\r%d of %d photos", k + 1, d.n);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	/* what a descriptor's change is compared with, under A: two photos of
	 * one person, and two people (every 7th pair, for speed) */
	size_t cg = 0, ci = 0, capg = 1 << 16, capi = 1 << 16;
	double *gen = malloc(sizeof *gen * capg), *imp = malloc(sizeof *imp * capi);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			int same = !strcmp(d.it[idx[i]].ident, d.it[idx[j]].ident);
			if (!same && (i * 31 + j) % 7)
				continue;
			double v = ev_dist(ea[i], ea[j], pa.dim);
			if (same) {
				if (cg == capg)
					gen = realloc(gen, sizeof *gen * (capg *= 2));
				gen[cg++] = v;
			} else {
				if (ci == capi)
					imp = realloc(imp, sizeof *imp * (capi *= 2));
				imp[ci++] = v;
			}
		}
	printf("A: %s (%s)\nB: %s (%s)\n", ca, pa.fingerprint, cb, pb.fingerprint);
	printf("every %dth photo of identities.csv: %d embedded alike by both\n", step, n);
	printf("%-44s %8s %8s %8s %8s %7s\n", "descriptor distance", "median", "p95", "p99", "max", "n");
	row("the same photo, A vs B", ab, n);
	row("two photos of one person (A)", gen, (int)cg);
	row("two people (A, every 7th pair)", imp, (int)ci);
	printf("ms per photo (whole pipeline, no database): A %.1f, B %.1f\n", n ? ta / (d.n / step + 1) : 0.0,
	    n ? tb / (d.n / step + 1) : 0.0);
	for (int i = 0; i < n; i++)
		free(ea[i]);
	free(ea);
	free(ab);
	free(idx);
	free(gen);
	free(imp);
	ev_pipe_close(&pa);
	ev_pipe_close(&pb);
	return 0;
}
