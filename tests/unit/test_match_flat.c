/* Unit tests for plugins/match_flat: through the plugin loader, for every
 * kernel the CPU has (avx512_vnni, avx512, avx2, c) and both modes, the k nearest of random
 * queries equal a double-precision brute force; replace, remove, tenants
 * kept apart, near-duplicates (where the int8 bound is tightest). */
#include "../tap.h"
#include "../util.h"
#include "dv_conf.h"
#include "dv_plugin.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIM 128
#define N 3000

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { return test_urand(&rng); }
static float grand(void) { return (float)(sqrt(-2 * log(urand() + 1e-12)) * cos(6.283185307 * urand())); }

static void unit(float *v)
{
	double s = 0;
	for (int i = 0; i < DIM; i++) {
		v[i] = grand();
		s += (double)v[i] * v[i];
	}
	for (int i = 0; i < DIM; i++)
		v[i] = (float)(v[i] / sqrt(s) * 0.8); /* |x| ~ 0.8, like dlib descriptors */
}

static struct dv_instance *open_mf(const char *simd, const char *mode, struct dv_module **m, struct dv_conf **c)
{
	char text[512];
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  matcher: {so: match_flat, simd: %s, mode: %s}\n",
	    getenv("DV_PLUGIN_BUILD_DIR"), simd, mode);
	struct dv_conf_errs e = {0};
	*c = dv_conf_parse("m.yaml", text, strlen(text), &e);
	struct dv_instance *in = NULL;
	char err[256];
	if (e.n || dv_module_open(m, *c, DV_ROLE_MATCHER, &e) != 0 || dv_instance_new(*m, &in, err, sizeof err) != 0) {
		printf("# %s\n", e.n ? e.msg[0] : err);
		in = NULL;
	}
	dv_conf_errs_fini(&e);
	return in;
}

int main(void)
{
	static float vecs[N][DIM];
	for (int i = 0; i < N; i++)
		unit(vecs[i]);
	/* near-duplicates: 50 pairs 0.01-0.05 apart */
	for (int i = 0; i < 50; i++)
		for (int k = 0; k < DIM; k++)
			vecs[N - 1 - i][k] = vecs[i][k] + 0.004f * grand();
	static const char *simds[] = {"avx512_vnni", "avx512", "avx2", "c"}, *modes[] = {"int8_bound", "f32"};
	for (int si = 0; si < 4; si++)
		for (int mi = 0; mi < 2; mi++) {
			struct dv_module *m = NULL;
			struct dv_conf *c = NULL;
			struct dv_instance *in = open_mf(simds[si], modes[mi], &m, &c);
			if (!in) {
				ok(1, "# SKIP %s not available on this CPU", simds[si]);
				dv_module_close(m);
				dv_conf_free(c);
				continue;
			}
			const struct dv_plugin *p = m->desc;
			void *x = in->inst;
			/* tenant 1 gets all, tenant 2 gets a shifted copy of the first 100 */
			for (int i = 0; i < N; i++)
				p->matcher_add(x, 1, (uint64_t)i + 1, vecs[i], DIM);
			for (int i = 0; i < 100; i++) {
				float v[DIM];
				for (int k = 0; k < DIM; k++)
					v[k] = -vecs[i][k];
				p->matcher_add(x, 2, 100000 + (uint64_t)i, v, DIM);
			}
			/* replace id 7 by vector 8, remove ids 10..19 */
			p->matcher_add(x, 1, 7, vecs[8], DIM);
			for (int i = 10; i < 20; i++)
				p->matcher_remove(x, 1, (uint64_t)i + 1);
			p->matcher_remove(x, 1, 999999); /* unknown: fine */
			ok(p->matcher_count(x) == N - 10 + 100, "%s/%s: count after replace and removals", simds[si], modes[mi]);
			int bad = 0, worst_rank = 0;
			double worst = 0;
			for (int qi = 0; qi < 200; qi++) {
				float q[DIM];
				const float *base = vecs[(qi * 37) % N];
				for (int k = 0; k < DIM; k++)
					q[k] = base[k] + (qi % 3 ? 0.05f * grand() : 0);
				struct dv_match out[10];
				int n = 0;
				p->matcher_search(x, 1, q, DIM, 10, out, &n);
				/* brute force in double over what tenant 1 holds */
				double best[10];
				uint64_t bid[10];
				int nb = 0;
				for (int i = 0; i < N; i++) {
					if (i >= 10 && i < 20)
						continue;
					const float *v = i == 6 ? vecs[8] : vecs[i];
					double s = 0;
					for (int k = 0; k < DIM; k++)
						s += ((double)q[k] - v[k]) * ((double)q[k] - v[k]);
					s = sqrt(s);
					if (nb == 10 && s >= best[9])
						continue;
					int at = nb < 10 ? nb++ : 9;
					while (at > 0 && best[at - 1] > s) {
						best[at] = best[at - 1];
						bid[at] = bid[at - 1];
						at--;
					}
					best[at] = s;
					bid[at] = (uint64_t)i + 1;
				}
				if (n != 10)
					bad++;
				for (int r = 0; r < n && r < nb; r++) {
					worst = fmax(worst, fabs(out[r].distance - best[r]));
					/* same distances in the same order; on a tie within float
					 * rounding either face may come first (or last), so the id
					 * given must be one at that distance */
					double did = -1;
					if (out[r].id >= 1 && out[r].id <= N && !(out[r].id >= 11 && out[r].id <= 20)) {
						const float *v = out[r].id == 7 ? vecs[8] : vecs[out[r].id - 1];
						did = 0;
						for (int k = 0; k < DIM; k++)
							did += ((double)q[k] - v[k]) * ((double)q[k] - v[k]);
						did = sqrt(did);
					}
					if (fabs(out[r].distance - best[r]) > 1e-5 || (out[r].id != bid[r] && fabs(did - best[r]) > 1e-6)) {
						bad++;
						worst_rank = r;
					}
				}
			}
			ok(bad == 0, "%s/%s: 200 queries, top-10 equal to a double brute force (worst distance error %.2g, bad %d at rank %d)",
			    simds[si], modes[mi], worst, bad, worst_rank);
			struct dv_match out[5];
			int n = 0;
			p->matcher_search(x, 2, vecs[0], DIM, 5, out, &n);
			ok(n == 5 && out[0].id >= 100000, "%s/%s: tenant 2 sees only its own vectors", simds[si], modes[mi]);
			p->matcher_search(x, 3, vecs[0], DIM, 5, out, &n);
			ok(n == 0, "%s/%s: an empty tenant finds nothing", simds[si], modes[mi]);
			dv_instance_free(in);
			dv_module_close(m);
			dv_conf_free(c);
		}
	/* a dimension that is not a multiple of 4 (the codes are padded) */
	for (int si = 0; si < 4; si++) {
		enum { D = 37, M = 500 };
		struct dv_module *m = NULL;
		struct dv_conf *c = NULL;
		struct dv_instance *in = open_mf(simds[si], "int8_bound", &m, &c);
		if (!in) {
			ok(1, "# SKIP %s not available on this CPU", simds[si]);
			dv_module_close(m);
			dv_conf_free(c);
			continue;
		}
		static float v[M][D];
		for (int i = 0; i < M; i++) {
			for (int k = 0; k < D; k++)
				v[i][k] = 0.3f * grand();
			m->desc->matcher_add(in->inst, 1, (uint64_t)i + 1, v[i], D);
		}
		int bad = 0;
		for (int qi = 0; qi < 50; qi++) {
			float q[D];
			for (int k = 0; k < D; k++)
				q[k] = v[qi * 7][k] + 0.1f * grand();
			struct dv_match out[3];
			int n = 0;
			m->desc->matcher_search(in->inst, 1, q, D, 3, out, &n);
			double best = INFINITY;
			for (int i = 0; i < M; i++) {
				double d = 0;
				for (int k = 0; k < D; k++)
					d += ((double)q[k] - v[i][k]) * ((double)q[k] - v[i][k]);
				best = fmin(best, sqrt(d));
			}
			if (n != 3 || fabs(out[0].distance - best) > 1e-5 || out[0].distance > out[1].distance || out[1].distance > out[2].distance)
				bad++;
		}
		ok(bad == 0, "%s: 37 dimensions, 50 queries: the nearest equal to a brute force (bad %d)", simds[si], bad);
		dv_instance_free(in);
		dv_module_close(m);
		dv_conf_free(c);
	}
	return tap_done();
}
