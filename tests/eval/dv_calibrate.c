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
 * the distances for FMR 1e-3 .. 1e-6. */
#include "dv_calib.h"
#include "ev_data.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BINS 20001 /* 1e-4 wide, [0, 2] */

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
	for (int i = 0; i < d.n; i++) {
		if (!d.it[i].f.emb)
			continue;
		for (int k = i + 1; k < d.n; k++) {
			if (!d.it[k].f.emb)
				continue;
			double x = ev_dist(d.it[i].f.emb, d.it[k].f.emb, dim);
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
