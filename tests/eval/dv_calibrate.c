/* dv_calibrate — make calibrate: the embedder's calibration table.
 *
 *   dv_calibrate -c CONFIG -t TESTDATA [-C CACHE_DIR] [-o OUT]
 *
 * Every photo of TESTDATA/identities.csv goes through the configured
 * pipeline (ev_data.c: one embedding per photo, the largest face, the whole
 * image for tight crops). Every pair of photos of two different people, in
 * any set, is an impostor pair; every pair of two photos of one person a
 * genuine pair (a person named in several sets is one person). The table
 * gives, on a grid of distances from 0.2 to 1.2 in steps of 0.001, the
 * false-match rate (impostor pairs at or below) and the false-non-match rate
 * (genuine pairs above), stamped with the embedder's model and fingerprint
 * and the alignment; no date or path, so that two runs on the same photos
 * give the same file. Also prints a short summary: FMR at a few distances and
 * the distances for FMR 1e-3 .. 1e-6.
 *
 * Then the cohort score's table (the server's decision in galleries of 50
 * people or more, match.cohort): a visit's score is its nearest person's
 * distance minus WEIGHT x the mean distance of the next K people (a face
 * near everyone — a common look, a poor photo — is discounted; a returning
 * visitor near one person stands out). Its false-alarm rate depends on the
 * gallery's size in a way no pairwise table gives, so it is measured: for
 * galleries of P people (random draws of P identities, one random photo
 * each, from a fixed seed), every photo of the people left out is a stranger
 * and every other photo of the people in is a visitor; per P and target FPIR
 * the table gives the score that lets that share of strangers through and
 * the share of visitors then given their own name. */
#include "dv_calib.h"
#include "ev_data.h"
#include "../util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BINS 20001 /* 1e-4 wide, [0, 2] */

/* The cohort score's rows ("cohort P FPIR SCORE TPIR", see above). dist is
 * the photos' distance matrix (n x n), id[] the photos' identities, ph[q]
 * the usable photos of identity q. Reproducible: a fixed seed. */
static void cohort_rows(FILE *f, const struct ev_data *d, const float *dist, const int *id, int n_id, int *const *ph,
    const int *n_ph)
{
	enum { K = DV_COHORT_K };
	const double weight = DV_COHORT_WEIGHT;
	static const int people[] = {50, 70, 100, 140, 200, 280, 400};
	static const double fpir[] = {0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001};
	const int n = d->n, np = sizeof people / sizeof *people, nx = sizeof fpir / sizeof *fpir;
	unsigned long long seed = 0x5eedc0de;
	int *perm = malloc(sizeof *perm * (size_t)n_id), *enr = malloc(sizeof *enr * (size_t)n_id);
	char *in = malloc((size_t)n_id);
	double *row = malloc(sizeof *row * (size_t)n_id);
	int usable_ids = 0;
	for (int q = 0; q < n_id; q++)
		usable_ids += n_ph[q] > 0;
	fprintf(f, "# cohort: k %d weight %.2f min_people %d\n", K, weight, people[0]);
	fprintf(f, "# cohort\tpeople\tfpir\tscore\ttpir\n");
	for (int a = 0; a < np; a++) {
		int P = people[a];
		if (P + 20 > usable_ids)
			break; /* too few strangers left */
		/* draws until ~300,000 strangers' scores (at least 20 draws) */
		size_t cap = 1 << 16, ns = 0, ng = 0;
		double *ss = malloc(sizeof *ss * cap), *gs = malloc(sizeof *gs * cap);
		char *gok = malloc(cap);
		for (int r = 0; r < 20 || ns < 300000; r++) {
			for (int q = 0; q < n_id; q++)
				perm[q] = q;
			for (int q = n_id - 1; q > 0; q--) {
				int j = (int)(test_urand(&seed) * (q + 1)), t = perm[q];
				perm[q] = perm[j];
				perm[j] = t;
			}
			memset(in, 0, (size_t)n_id);
			int g = 0;
			for (int k = 0; k < n_id && g < P; k++) {
				int q = perm[k];
				if (!n_ph[q])
					continue;
				in[q] = 1;
				enr[g++] = ph[q][(int)(test_urand(&seed) * n_ph[q])];
			}
			for (int i = 0; i < n; i++) {
				if (!d->it[i].f.emb)
					continue;
				int own = -1;
				if (in[id[i]]) {
					for (int u = 0; u < g && own < 0; u++)
						if (id[enr[u]] == id[i])
							own = u;
					if (enr[own] == i)
						continue; /* the enrolled photo itself */
				}
				int best = 0;
				for (int u = 0; u < g; u++) {
					row[u] = dist[(size_t)i * n + enr[u]];
					if (row[u] < row[best])
						best = u;
				}
				double d1 = row[best];
				qsort(row, (size_t)g, sizeof *row, test_cmpd);
				double c = 0;
				for (int u = 1; u <= K; u++)
					c += row[u] / K;
				if (ns == cap || ng == cap) {
					cap *= 2;
					ss = realloc(ss, sizeof *ss * cap);
					gs = realloc(gs, sizeof *gs * cap);
					gok = realloc(gok, cap);
				}
				if (own < 0) {
					ss[ns++] = d1 - weight * c;
				} else {
					gs[ng] = d1 - weight * c;
					gok[ng++] = best == own;
				}
			}
		}
		qsort(ss, ns, sizeof *ss, test_cmpd);
		for (int b = 0; b < nx; b++) {
			/* the largest score that lets at most fpir[b] of the strangers through */
			size_t at = (size_t)floor(fpir[b] * (double)ns);
			double t = ss[at] - 1e-9;
			size_t ok = 0;
			for (size_t u = 0; u < ng; u++)
				ok += gok[u] && gs[u] <= t;
			fprintf(f, "cohort\t%d\t%.4f\t%.4f\t%.4f\n", P, fpir[b], t, ng ? (double)ok / (double)ng : 0);
		}
		fprintf(stderr, "cohort: galleries of %d people: %zu strangers' and %zu visitors' scores\n", P, ns, ng);
		free(ss);
		free(gs);
		free(gok);
	}
	free(perm);
	free(enr);
	free(in);
	free(row);
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *dir = NULL, *cache = NULL, *out = NULL;
	int o;
	while ((o = getopt(argc, argv, "c:t:C:o:")) != -1) {
		if (o == 'c')
			conf = optarg;
		else if (o == 't')
			dir = optarg;
		else if (o == 'C')
			cache = optarg;
		else if (o == 'o')
			out = optarg;
		else
			return 2;
	}
	if (!conf || !dir) {
		fprintf(stderr, "usage: dv_calibrate -c CONFIG -t TESTDATA [-C CACHE_DIR] [-o OUT]\n");
		return 2;
	}
	struct ev_data d;
	struct ev_pipe p;
	if (ev_data_load(dir, &d) != 0 || ev_pipe_open(&p, conf) != 0 || ev_data_embed(&d, &p, dir, conf, cache) != 0)
		return 1;
	int dim = d.dim, used = 0, fallback = 0;
	/* identities as small integers */
	int *id = calloc((size_t)d.n, sizeof *id), n_id = 0;
	for (int i = 0; i < d.n; i++) {
		id[i] = -1;
		for (int k = 0; k < i && id[i] < 0; k++)
			if (!strcmp(d.it[k].ident, d.it[i].ident))
				id[i] = id[k];
		if (id[i] < 0)
			id[i] = n_id++;
		used += d.it[i].f.emb != NULL;
		fallback += d.it[i].f.emb && d.it[i].f.fallback;
	}
	long long *imp = calloc(BINS, sizeof *imp), *gen = calloc(BINS, sizeof *gen), n_imp = 0, n_gen = 0;
	float *dist = malloc(sizeof *dist * (size_t)d.n * (size_t)d.n); /* every pair, for the cohort rows */
	int **ph = calloc((size_t)n_id, sizeof *ph), *n_ph = calloc((size_t)n_id, sizeof *n_ph);
	if (!dist || !ph || !n_ph) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (int i = 0; i < d.n; i++)
		if (d.it[i].f.emb) {
			ph[id[i]] = realloc(ph[id[i]], sizeof **ph * (size_t)(n_ph[id[i]] + 1));
			ph[id[i]][n_ph[id[i]]++] = i;
		}
	for (int i = 0; i < d.n; i++) {
		if (!d.it[i].f.emb)
			continue;
		for (int k = i + 1; k < d.n; k++) {
			if (!d.it[k].f.emb)
				continue;
			double x = ev_dist(d.it[i].f.emb, d.it[k].f.emb, dim);
			dist[(size_t)i * d.n + k] = dist[(size_t)k * d.n + i] = (float)x;
			int b = (int)ceil(x * 1e4 - 1e-9);
			b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
			if (id[i] == id[k]) {
				gen[b]++;
				n_gen++;
			} else {
				imp[b]++;
				n_imp++;
			}
		}
	}
	/* cumulative: impostors at or below bin b, genuine above it */
	for (int b = 1; b < BINS; b++)
		imp[b] += imp[b - 1];
	long long *gen_le = calloc(BINS, sizeof *gen_le);
	gen_le[0] = gen[0];
	for (int b = 1; b < BINS; b++)
		gen_le[b] = gen_le[b - 1] + gen[b];
	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "cannot write %s\n", out);
		return 1;
	}
	fprintf(f, "# dejaview calibration table (make calibrate, tests/eval/dv_calibrate.c)\n");
	fprintf(f, "# model: %s\n# fingerprint: %s\n# align: %s\n# flip: %s\n", p.model, p.fingerprint,
	    p.g->conf->align_method, p.g->conf->embed_flip ? "true" : "false");
	fprintf(f, "# photos: %d identities: %d impostor_pairs: %lld genuine_pairs: %lld\n", used, n_id, n_imp, n_gen);
	fprintf(f, "# data: ../shared/testdata/identities.csv, every set; %d of the photos taken whole (nothing detected)\n",
	    fallback);
	fprintf(f, "# distance\tfmr\tfnmr\timpostors_at_or_below\tgenuine_above\n");
	for (int b = 2000; b <= 12000; b += 10)
		fprintf(f, "%.4f\t%.9e\t%.9e\t%lld\t%lld\n", b / 1e4, (double)imp[b] / (double)n_imp,
		    (double)(n_gen - gen_le[b]) / (double)n_gen, imp[b], n_gen - gen_le[b]);
	cohort_rows(f, &d, dist, id, n_id, ph, n_ph);
	free(dist);
	for (int q = 0; q < n_id; q++)
		free(ph[q]);
	free(ph);
	free(n_ph);
	if (out)
		fclose(f);
	fprintf(stderr, "calibration: %d photos (%d taken whole), %d identities, %lld impostor and %lld genuine pairs\n", used,
	    fallback, n_id, n_imp, n_gen);
	if (out) {
		struct dv_calib c;
		char err[300];
		if (dv_calib_load(out, &c, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		fprintf(stderr, "%10s %12s %12s\n", "distance", "FMR", "FNMR");
		static const double at[] = {0.4, 0.45, 0.5, 0.55, 0.6};
		for (size_t i = 0; i < sizeof at / sizeof *at; i++)
			fprintf(stderr, "%10.2f %12.3e %12.4f\n", at[i], dv_calib_fmr(&c, at[i]), dv_calib_fnmr(&c, at[i]));
		fprintf(stderr, "%10s %12s %12s\n", "FMR", "distance", "FNMR");
		for (double r = 1e-3; r > 5e-7; r /= 10) {
			double t = dv_calib_threshold(&c, 1, r);
			fprintf(stderr, "%10.0e %12.4f %12.4f\n", r, t, dv_calib_fnmr(&c, t));
		}
		dv_calib_fini(&c);
	}
	ev_pipe_close(&p);
	return 0;
}
