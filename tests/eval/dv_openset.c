/* dv_openset — make eval-openset: recall the right person or say "unknown",
 * measured the way the server decides, on ../shared/testdata.
 *
 *   dv_openset -c CONFIG -t TESTDATA [-C CACHE_DIR] [-k CALIBRATION] [-f TARGET_FPIR] [-S GAIN] [-F WxH:SIDE]
 *
 * The split (deterministic): people with two photos or more are taken in
 * turn, within each set in name order, as enrolled (their first photo is
 * their one enrolled face, the others are probes that should get their name)
 * or as strangers (every photo is a probe that should get no name); people
 * with one photo are in turn enrolled (distractors: they only make the
 * gallery larger) or strangers. Every probe is matched against the gallery:
 * the set's own (the enrolled people with a photo in the set, their enrolled
 * photo wherever it is) and the pooled one of every set. Per gallery:
 *   TPIR@FPIR x  the share of enrolled visitors given their own name when the
 *                threshold lets x of the strangers get a name (from the
 *                strangers' own distances: the best this model can do);
 *   at the decision  the server's default: the threshold at which N faces
 *                give an expected FPIR of the target (the calibration table),
 *                lowered by the tenant correction where the gallery's own
 *                people are closer together than the calibration predicts,
 *                with what it really gives here: strangers named, visitors
 *                recognised;
 *   at 0.6       the fixed 1:1 threshold, for comparison;
 *   top-3        visitors whose own name is among the three nearest people
 *                (what a receptionist could confirm with one tap);
 *   +confirm     visitors recognised when the server's "confirm" decision
 *                (a nearest person within the threshold of ten times the
 *                target, not within the target's) lets a receptionist pick
 *                among the three nearest; asked: the share of all probes
 *                that needed it (strangers too: a receptionist says "no");
 *   fte          failures to enrol (no usable photo).
 *
 * Several photos a person (-e N -E M): each enrolled person enrols their first
 * N photos (at most all but one), and their first M (>= N) are never probes —
 * so that -e 1 -E M and -e N -E M are measured on the same visits. A person is
 * as near as their nearest enrolled face; the decision counts faces (the
 * server's N is the tenant's enrolled faces).
 *
 * Jittered enrolment (enrol.jitter, or -j J): each enrolled photo is embedded
 * again with J jittered copies of its chip averaged in, as the server enrols;
 * visits as they are.
 *
 * The cohort decision (match.cohort, -N 0|1): a gallery of the calibration's
 * cohort rows' people or more (50) decides, as the server does, by the score
 * — the nearest person's distance minus 0.75 x the mean distance of the next
 * 5 people — against the rows' score for that many people; the TPIR@FPIR
 * columns then rank the visits by the score (thresh marked s).
 *
 * Camera frames (-F 640x480:160): every photo, enrolled and visiting, is
 * first scaled to SIDE pixels high and centred in a W x H gray frame, as a
 * desk camera would see the person — to measure what the detector's input
 * (detect.min_face) does to decisions at that face size.
 *
 * Cohort normalisation (-n K,A), a measurement of other K and A: a probe's
 * score is its nearest person's distance minus A times the mean distance of
 * the next K people; only the TPIR@FPIR columns are meaningful then. */
#include "dv_calib.h"
#include "ev_data.h"
#include "../util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct probe {
	int item, ident, set;
	int stranger;
};

static struct ev_data d;
static int *ident_of;      /* item -> identity number */
static char **ident_name;
static int n_ident;
static int *enrolled_item; /* identity -> its (first) gallery item, -1 */
static int **enr_items;    /* identity -> its gallery items (-e N: up to N) */
static int *n_enr;
static int enrol_n = 1, reserve_n = 1; /* -e N, -E M */
static int norm_k = 0;                  /* -n K,A: cohort normalisation (a measurement: the decision ignores it) */
static double norm_a = 0;
static int jitter_n = -1;               /* -j J (default: the configuration's enrol.jitter) */
static int use_cohort = -1;             /* -N 0|1: the cohort decision (default: match.cohort) */

/* A probe's distance to an enrolled person: to their nearest face. */
static double person_dist(const float *q, int k)
{
	double best = INFINITY;
	for (int u = 0; u < n_enr[k]; u++) {
		double x = ev_dist(q, d.it[enr_items[k][u]].f.emb, d.dim);
		if (x < best)
			best = x;
	}
	return best;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

struct result {
	int gallery, genuine, strangers, fte, uncertain;
	int cohort; /* decided by the cohort score: t_def is a score */
	double t_def, fpir_def, tpir_def, tpir_at[3], fpir06, tpir06, top3;
	double tpir_conf, asked; /* with a receptionist confirming among the top 3 when the decision says confirm */
};

static char *in_set; /* identity x set: has a photo there */
static double ratio = -1; /* -r: also require d1 <= ratio x d2, the nearest other person (default: match.margin_ratio) */
static double qbar = 0;  /* probes under this quality are answered "uncertain" (neither named nor unknown) */
/* -S GAIN: the server's tenant correction (match.tenant_correction, on by
 * default with gain match.correction_gain 1.25; -S 0: off): tighten the
 * decision by the gallery's own impostors (the median distance of each
 * enrolled person to the nearest other, against the calibration's prediction
 * for a gallery of that size), never loosen it */
static int shift_mode = 1;
static double shift_gain = 1.25;

/* Match the probes against the gallery of enrolled people who have a photo
 * in `set` (-1: everyone). */
static struct result evaluate(const struct probe *pr, int np, int set, const struct dv_calib *cal, double target)
{
	struct result r = {0};
	int *gal = malloc(sizeof *gal * (size_t)n_ident), ng = 0;
	for (int k = 0; k < n_ident; k++)
		if (enrolled_item[k] >= 0 && (set < 0 || in_set[(size_t)k * d.n_sets + set]))
			gal[ng++] = k;
	r.gallery = ng;
	int nfaces = 0; /* what the server's N counts */
	for (int k = 0; k < ng; k++)
		nfaces += n_enr[gal[k]];
	double *sd = malloc(sizeof *sd * (size_t)np), *gd = malloc(sizeof *gd * (size_t)np);
	double *sd2 = malloc(sizeof *sd2 * (size_t)np), *gd2 = malloc(sizeof *gd2 * (size_t)np);
	int *gok = malloc(sizeof *gok * (size_t)np), ns = 0, nge = 0, top3 = 0;
	/* the server's cohort decision (match.cohort): galleries of the cohort
	 * rows' people and more decide by the score against its own table */
	bool coh = use_cohort && dv_calib_cohort_applies(cal, ng);
	double *ssc = malloc(sizeof *ssc * (size_t)np), *gsc = malloc(sizeof *gsc * (size_t)np);
	char *g3 = malloc((size_t)np); /* the right person among the three nearest */
	double *all = malloc(sizeof *all * (size_t)(ng ? ng : 1)), *pd = malloc(sizeof *pd * (size_t)(ng ? ng : 1));
	/* the gallery's own reference for a stranger's cohort: each enrolled
	 * person, left out, is a stranger to the others — the median over them of
	 * the mean of their 2nd..K+1th nearest others */
	double cohort_ref = 0;
	if (norm_k > 0 && ng > 2) {
		double *refs = malloc(sizeof *refs * (size_t)ng), *oth = malloc(sizeof *oth * (size_t)ng);
		int kk = norm_k < ng - 2 ? norm_k : ng - 2;
		for (int a2 = 0; a2 < ng; a2++) {
			int no = 0;
			for (int b2 = 0; b2 < ng; b2++)
				if (b2 != a2)
					oth[no++] = person_dist(d.it[enrolled_item[gal[a2]]].f.emb, gal[b2]);
			qsort(oth, (size_t)no, sizeof *oth, test_cmpd);
			refs[a2] = 0;
			for (int k = 1; k <= kk; k++)
				refs[a2] += oth[k] / kk;
		}
		qsort(refs, (size_t)ng, sizeof *refs, test_cmpd);
		cohort_ref = ng % 2 ? refs[ng / 2] : 0.5 * (refs[ng / 2 - 1] + refs[ng / 2]);
		free(refs);
		free(oth);
	}
	for (int i = 0; i < np; i++) {
		if (set >= 0 && pr[i].set != set)
			continue;
		const float *q = d.it[pr[i].item].f.emb;
		double best[3] = {INFINITY, INFINITY, INFINITY};
		int bid[3] = {-1, -1, -1};
		double shift = 0, score = 0;
		/* the probe's distance to each enrolled person, once; sorted apart
		 * for the cohort (the server's score, or -n's) */
		for (int k = 0; k < ng; k++)
			pd[k] = person_dist(q, gal[k]);
		if (coh || (norm_k > 0 && ng > 1)) {
			memcpy(all, pd, sizeof *all * (size_t)ng);
			qsort(all, (size_t)ng, sizeof *all, test_cmpd);
		}
		if (coh) {
			double c = 0;
			for (int k = 1; k <= DV_COHORT_K; k++)
				c += all[k] / DV_COHORT_K;
			score = all[0] - DV_COHORT_WEIGHT * c;
		}
		if (norm_k > 0 && ng > 1) {
			/* -n K,A: the probe's cohort — its K nearest enrolled people after
			 * the nearest — says how near this face is to anyone: the score is
			 * the nearest distance minus A times the cohort's mean */
			int kk = norm_k < ng - 1 ? norm_k : ng - 1;
			double mu = 0;
			for (int k = 1; k <= kk; k++)
				mu += all[k] / kk;
			/* centred on the gallery's own reference (below): within a gallery a
			 * constant, so the TPIR@FPIR columns are the score's; the decision's
			 * threshold is calibrated for raw distances, not for this score */
			shift = norm_a * (mu - cohort_ref);
		}
		for (int k = 0; k < ng; k++) {
			double x = pd[k] - shift;
			for (int s = 0; s < 3; s++)
				if (x < best[s]) {
					for (int u = 2; u > s; u--) {
						best[u] = best[u - 1];
						bid[u] = bid[u - 1];
					}
					best[s] = x;
					bid[s] = gal[k];
					break;
				}
		}
		if (pr[i].stranger) {
			ssc[ns] = score;
			sd2[ns] = best[1];
			sd[ns++] = best[0];
		} else {
			gsc[nge] = score;
			gd2[nge] = best[1];
			gd[nge] = best[0];
			gok[nge++] = bid[0] == pr[i].ident;
			g3[nge - 1] = bid[0] == pr[i].ident || bid[1] == pr[i].ident || bid[2] == pr[i].ident;
			top3 += g3[nge - 1];
		}
	}
	r.genuine = nge;
	r.strangers = ns;
	/* sorted apart: sd stays in probe order, beside sd2 and the probes' quality */
	double *sorted = malloc(sizeof *sorted * (size_t)(ns ? ns : 1));
	/* with the cohort decision, the columns are the score's (what decides) */
	const double *sv = coh ? ssc : sd, *gv = coh ? gsc : gd;
	memcpy(sorted, sv, sizeof *sv * (size_t)ns);
	qsort(sorted, (size_t)ns, sizeof *sorted, test_cmpd);
	static const double at[3] = {0.10, 0.01, 0.001};
	for (int a = 0; a < 3; a++) {
		/* the largest threshold that names at most at[a] of the strangers */
		long allowed = (long)floor(at[a] * ns + 1e-9);
		if (ns == 0 || (at[a] * ns < 1 && at[a] < 0.1)) {
			r.tpir_at[a] = -1; /* too few strangers to measure */
			continue;
		}
		double t = allowed < ns ? sorted[allowed] - 1e-9 : INFINITY;
		int ok = 0;
		for (int i = 0; i < nge; i++)
			ok += gok[i] && gv[i] <= t;
		r.tpir_at[a] = nge ? (double)ok / nge : -1;
	}
	r.t_def = cal ? dv_calib_threshold(cal, nfaces, target) : 0.6;
	if (cal && shift_mode && ng >= 3) {
		/* the gallery's own impostors: each enrolled person's distance to the
		 * nearest other one; their median against the median the calibration
		 * predicts for a gallery of ng - 1 */
		double *nn = malloc(sizeof *nn * (size_t)ng);
		for (int a2 = 0; a2 < ng; a2++) {
			nn[a2] = INFINITY;
			for (int b2 = 0; b2 < ng; b2++)
				if (b2 != a2) {
					double x = person_dist(d.it[enrolled_item[gal[a2]]].f.emb, gal[b2]);
					if (x < nn[a2])
						nn[a2] = x;
				}
		}
		qsort(nn, (size_t)ng, sizeof *nn, test_cmpd);
		double obs = ng % 2 ? nn[ng / 2] : 0.5 * (nn[ng / 2 - 1] + nn[ng / 2]);
		double pred = dv_calib_threshold(cal, 1, 1 - pow(0.5, 1.0 / (ng - 1)));
		double sh = pred - obs;
		if (getenv("DV_OPENSET_SHIFT_DEBUG"))
			fprintf(stderr, "set %d gallery %d: nn median %.4f predicted %.4f shift %.4f t %.4f -> %.4f\n", set, ng, obs,
			    pred, sh, r.t_def, r.t_def - (sh > 0 ? shift_gain * sh : 0));
		if (sh > 0)
			r.t_def -= shift_gain * sh;
		free(nn);
	}
	double t_loose = cal ? dv_calib_threshold(cal, nfaces, fmin(0.5, 10 * target)) : 0.65;
	double s_def = 0, s_loose = 0;
	if (coh) {
		s_def = dv_calib_cohort_threshold(cal, ng, target);
		s_loose = dv_calib_cohort_threshold(cal, ng, fmin(0.5, 10 * target));
		r.cohort = 1;
		r.t_def = s_def;
	}
	int fn = 0, tp = 0, fn06 = 0, tp06 = 0, tpc = 0, asked = 0;
	if (getenv("DV_OPENSET_DEBUG") && set >= 0 && !strcmp(d.sets[set], getenv("DV_OPENSET_DEBUG"))) {
		int k = 0;
		for (int i = 0; i < np; i++)
			if (pr[i].set == set && pr[i].stranger) {
				if (sd[k] <= r.t_def)
					fprintf(stderr, "stranger named: %s d1=%.3f d2=%.3f whole=%d\n", d.it[pr[i].item].path, sd[k], sd2[k],
					    d.it[pr[i].item].f.fallback);
				k++;
			}
	}
	int k = 0, g = 0;
	r.uncertain = 0;
	for (int i = 0; i < np; i++) {
		if (set >= 0 && pr[i].set != set)
			continue;
		bool unsure = d.it[pr[i].item].f.q.score < qbar;
		r.uncertain += unsure;
		/* named: within the threshold and standing out from the next person
		 * (the server's match.margin_ratio); else asked when within the loose
		 * threshold */
		if (pr[i].stranger) {
			bool within = coh ? ssc[k] <= s_def : sd[k] <= r.t_def;
			bool named = !unsure && within && sd[k] <= ratio * sd2[k] && sd2[k] > sd[k];
			fn += named;
			fn06 += sd[k] <= 0.6;
			asked += !unsure && !named && (coh ? ssc[k] <= s_loose : sd[k] <= t_loose);
			k++;
		} else {
			bool within = coh ? gsc[g] <= s_def : gd[g] <= r.t_def;
			bool named = !unsure && within && gd[g] <= ratio * gd2[g] && gd2[g] > gd[g];
			bool yes = named && gok[g];
			bool ask = !unsure && !named && (coh ? gsc[g] <= s_loose : gd[g] <= t_loose);
			tp += yes;
			tpc += yes || (ask && g3[g]);
			asked += ask;
			tp06 += gok[g] && gd[g] <= 0.6;
			g++;
		}
	}
	r.fpir_def = ns ? (double)fn / ns : -1;
	r.tpir_def = nge ? (double)tp / nge : -1;
	r.fpir06 = ns ? (double)fn06 / ns : -1;
	r.tpir06 = nge ? (double)tp06 / nge : -1;
	r.top3 = nge ? (double)top3 / nge : -1;
	r.tpir_conf = nge ? (double)tpc / nge : -1;
	r.asked = nge + ns ? (double)asked / (nge + ns) : -1;
	free(g3);
	free(ssc);
	free(gsc);
	free(sorted);
	free(all);
	free(pd);
	free(gal);
	free(sd);
	free(gd);
	free(sd2);
	free(gd2);
	free(gok);
	return r;
}

static void pct(double v)
{
	if (v < 0)
		printf(" %7s", "-");
	else
		printf(" %6.2f%%", 100 * v);
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *dir = NULL, *cache = NULL, *calp = NULL;
	double target = 0.01;
	int o;
	int frame_w = 0, frame_h = 0, frame_side = 0;
	while ((o = getopt(argc, argv, "c:t:C:k:f:r:q:S:e:E:j:n:N:F:")) != -1) {
		if (o == 'F') {
			if (sscanf(optarg, "%dx%d:%d", &frame_w, &frame_h, &frame_side) != 3 || frame_w < 32 || frame_h < 32 ||
			    frame_side < 16 || frame_side > frame_h)
				return 2;
		} else if (o == 'c')
			conf = optarg;
		else if (o == 't')
			dir = optarg;
		else if (o == 'C')
			cache = optarg;
		else if (o == 'k')
			calp = optarg;
		else if (o == 'f')
			target = atof(optarg);
		else if (o == 'r')
			ratio = atof(optarg);
		else if (o == 'q')
			qbar = atof(optarg);
		else if (o == 'e')
			enrol_n = atoi(optarg);
		else if (o == 'E')
			reserve_n = atoi(optarg);
		else if (o == 'j')
			jitter_n = atoi(optarg);
		else if (o == 'N')
			use_cohort = atoi(optarg) != 0;
		else if (o == 'n') {
			if (sscanf(optarg, "%d,%lf", &norm_k, &norm_a) != 2)
				return 2;
		}
		else if (o == 'S') {
			shift_gain = atof(optarg);
			shift_mode = shift_gain > 0;
		}
		else
			return 2;
	}
	if (reserve_n < enrol_n)
		reserve_n = enrol_n;
	if (!conf || !dir || enrol_n < 1) {
		fprintf(stderr, "usage: dv_openset -c CONFIG -t TESTDATA [-C CACHE_DIR] [-k CALIBRATION] [-f TARGET_FPIR] "
		    "[-e ENROL_N [-E RESERVED_N]] [-j JITTER] [-F WxH:SIDE]\n");
		return 2;
	}
	struct ev_pipe p;
	if (ev_data_load(dir, &d) != 0 || ev_pipe_open(&p, conf) != 0)
		return 1;
	p.frame_w = frame_w;
	p.frame_h = frame_h;
	p.frame_side = frame_side;
	if (ev_data_embed(&d, &p, dir, conf, cache) != 0)
		return 1;
	struct dv_calib cal;
	char err[300];
	int have_cal = 0;
	if (calp) {
		if (dv_calib_load(calp, &cal, err, sizeof err) != 0)
			fprintf(stderr, "%s: deciding at 0.6 instead\n", err);
		else if (strcmp(cal.fingerprint, p.fingerprint))
			fprintf(stderr, "%s is for %s, not %s (run make calibrate): deciding at 0.6 instead\n", calp, cal.fingerprint,
			    p.fingerprint);
		else
			have_cal = 1;
	}
	/* identities, in name order */
	char **names = malloc(sizeof *names * (size_t)d.n);
	int nn = 0;
	for (int i = 0; i < d.n; i++)
		names[nn++] = d.it[i].ident;
	qsort(names, (size_t)nn, sizeof *names, cmp_str);
	ident_name = malloc(sizeof *ident_name * (size_t)nn);
	for (int i = 0; i < nn; i++)
		if (!n_ident || strcmp(ident_name[n_ident - 1], names[i]))
			ident_name[n_ident++] = names[i];
	ident_of = malloc(sizeof *ident_of * (size_t)d.n);
	for (int i = 0; i < d.n; i++) {
		char **f = bsearch(&d.it[i].ident, ident_name, (size_t)n_ident, sizeof *ident_name, cmp_str);
		ident_of[i] = (int)(f - ident_name);
	}
	in_set = calloc((size_t)n_ident * d.n_sets, 1);
	for (int i = 0; i < d.n; i++)
		in_set[(size_t)ident_of[i] * d.n_sets + ev_data_set(&d, d.it[i].set)] = 1;
	/* per identity: its usable photos (the gallery role first), its set */
	int *count = calloc((size_t)n_ident, sizeof *count), *first = malloc(sizeof *first * (size_t)n_ident);
	for (int k = 0; k < n_ident; k++)
		first[k] = -1;
	int fte = 0;
	for (int i = 0; i < d.n; i++) {
		int k = ident_of[i];
		if (!d.it[i].f.emb) {
			if (d.it[i].gallery)
				fte++;
			continue;
		}
		count[k]++;
		if (first[k] < 0 || (d.it[i].gallery && !d.it[first[k]].gallery))
			first[k] = i;
	}
	/* enrolled or stranger, in turn within each set (by the set of the
	 * identity's first photo), people with one photo apart */
	enrolled_item = malloc(sizeof *enrolled_item * (size_t)n_ident);
	int *turn = calloc((size_t)d.n_sets * 2, sizeof *turn);
	for (int k = 0; k < n_ident; k++) {
		enrolled_item[k] = -1;
		if (first[k] < 0)
			continue;
		int s = ev_data_set(&d, d.it[first[k]].set), single = count[k] < 2;
		if (turn[2 * s + single]++ % 2 == 0)
			enrolled_item[k] = first[k];
	}
	/* -e N -E M: an enrolled person's first N usable photos are enrolled (at
	 * most all but one: one visit is left), the first M are never visits */
	enr_items = calloc((size_t)n_ident, sizeof *enr_items);
	n_enr = calloc((size_t)n_ident, sizeof *n_enr);
	char *reserved = calloc((size_t)d.n, 1);
	int *seen = calloc((size_t)n_ident, sizeof *seen);
	for (int k = 0; k < n_ident; k++) {
		if (enrolled_item[k] < 0)
			continue;
		enr_items[k] = malloc(sizeof **enr_items * (size_t)(enrol_n > 0 ? enrol_n : 1));
		enr_items[k][n_enr[k]++] = enrolled_item[k];
		reserved[enrolled_item[k]] = 1;
		seen[k] = 1;
	}
	for (int i = 0; i < d.n; i++) {
		int k = ident_of[i];
		if (!d.it[i].f.emb || enrolled_item[k] < 0 || enrolled_item[k] == i)
			continue;
		int left = count[k] - seen[k]; /* usable photos not yet taken, this one included */
		if (seen[k] < reserve_n && left > 1) {
			if (n_enr[k] < enrol_n)
				enr_items[k][n_enr[k]++] = i;
			reserved[i] = 1;
			seen[k]++;
		}
	}
	free(seen);
	if (jitter_n < 0)
		jitter_n = (int)p.g->conf->enrol_jitter;
	if (ratio < 0)
		ratio = p.g->conf->match_margin_ratio;
	if (use_cohort < 0)
		use_cohort = p.g->conf->match_cohort;
	if (jitter_n > 0) {
		/* the enrolled photos again, their chips jittered */
		p.jitter = jitter_n;
		int done = 0;
		for (int k = 0; k < n_ident; k++)
			for (int u = 0; u < n_enr[k]; u++) {
				struct ev_item *it = &d.it[enr_items[k][u]];
				struct ev_face f;
				char path[1024];
				snprintf(path, sizeof path, "%s/%s", dir, it->path);
				ev_pipe_embed_file(&p, path, &f);
				if (f.emb && f.fallback == it->f.fallback) {
					free(it->f.emb);
					it->f.emb = f.emb;
					done++;
				} else {
					free(f.emb);
				}
			}
		p.jitter = 0;
		fprintf(stderr, "enrolled photos embedded again with %d jittered copies: %d\n", jitter_n, done);
	}
	struct probe *pr = malloc(sizeof *pr * (size_t)d.n);
	int np = 0;
	for (int i = 0; i < d.n; i++) {
		int k = ident_of[i];
		if (!d.it[i].f.emb || reserved[i])
			continue;
		pr[np++] = (struct probe){.item = i, .ident = k, .set = ev_data_set(&d, d.it[i].set),
		    .stranger = enrolled_item[k] < 0};
	}
	int fallback = 0, usable = 0;
	for (int i = 0; i < d.n; i++) {
		usable += d.it[i].f.emb != NULL;
		fallback += d.it[i].f.emb && d.it[i].f.fallback;
	}
	printf("open-set recall on %s: %d photos (%d usable, %d taken whole), %d people; embedder %s %s\n", dir, d.n, usable,
	    fallback, n_ident, p.model, p.fingerprint);
	printf("decision: %s\n", have_cal ? "the threshold at which the gallery's N faces give an expected FPIR of the target, "
	                                    "from the calibration table"
	                                  : "fixed threshold 0.6 (no calibration table for this embedder)");
	if (have_cal && use_cohort && cal.coh_np)
		printf("galleries of %d people or more decide by the cohort score (match.cohort): the nearest person's distance "
		       "minus %.2f x the mean of the next %d people's, against the calibration's score for that many people "
		       "(thresh marked s; the TPIR@FPIR columns are then the score's)\n",
		    cal.coh_min_people, DV_COHORT_WEIGHT, DV_COHORT_K);
	printf("target FPIR %.2g%s; named only when the nearest person is at most %.2f x as far as the next\n", target,
	    have_cal ? "" : " (unused)", ratio);
	if (norm_k > 0)
		printf("cohort normalisation -n %d,%g: the score is the nearest distance minus %g x (the mean of the next %d "
		       "people's - the gallery's reference); only the TPIR@FPIR columns are the score's (the decision's "
		       "threshold is calibrated for raw distances)\n",
		    norm_k, norm_a, norm_a, norm_k);
	printf("enrolled: the first %d photo%s of each enrolled person (at most all but one), %d jittered copies averaged in; "
	       "visits: from their photo %d on\n\n",
	    enrol_n, enrol_n > 1 ? "s" : "", jitter_n, reserve_n + 1);
	printf("%-18s %7s %7s %7s %7s | %8s %8s %8s %8s | %8s %8s %8s | %8s %8s | %8s\n", "set", "gallery", "visits", "strange",
	    "thresh", "FPIR", "TPIR", "TPIR", "asked", "TPIR", "TPIR", "TPIR", "FPIR", "TPIR", "top-3");
	printf("%-18s %7s %7s %7s %7s | %8s %8s %8s %8s | %8s %8s %8s | %8s %8s | %8s\n", "", "", "", "", "(dec.)", "at dec.",
	    "at dec.", "+confirm", "", "@FPIR10%", "@1%", "@0.1%", "at 0.6", "at 0.6", "");
	for (int s = -1; s < d.n_sets; s++) {
		struct result r = evaluate(pr, np, s, have_cal ? &cal : NULL, target);
		if (s >= 0 && r.genuine + r.strangers == 0)
			continue;
		printf("%-18s %7d %7d %7d %6.4f%s |", s < 0 ? "pooled (all sets)" : d.sets[s], r.gallery, r.genuine, r.strangers,
		    r.t_def, r.cohort ? "s" : " ");
		pct(r.fpir_def);
		pct(r.tpir_def);
		pct(r.tpir_conf);
		pct(r.asked);
		printf(" |");
		for (int a = 0; a < 3; a++)
			pct(r.tpir_at[a]);
		printf(" |");
		pct(r.fpir06);
		pct(r.tpir06);
		printf(" |");
		pct(r.top3);
		printf("\n");
	}
	printf("\nfailures to enrol (an identity's first photo not usable): %d\n", fte);
	/* how quality is spread over the photos, and what its bars would refuse */
	int why[DV_Q_REASONS] = {0};
	double *qs = malloc(sizeof *qs * (size_t)d.n);
	int nq = 0;
	for (int i = 0; i < d.n; i++) {
		if (!d.it[i].f.emb)
			continue;
		qs[nq++] = d.it[i].f.q.score;
		for (int b = 0; b < DV_Q_REASONS; b++)
			why[b] += (d.it[i].f.q.reasons >> b) & 1;
	}
	qsort(qs, (size_t)nq, sizeof *qs, test_cmpd);
	printf("\nquality of the %d photos: percentiles 1%% %.2f, 5%% %.2f, 10%% %.2f, 50%% %.2f; under the parts' bars:", nq,
	    qs[nq / 100], qs[nq / 20], qs[nq / 10], qs[nq / 2]);
	for (int b = 0; b < DV_Q_REASONS; b++)
		printf(" %s %d", dv_quality_reason(1u << b), why[b]);
	printf("\n");
	free(qs);
	printf("probes under a quality bar answered uncertain (pooled, at the decision):\n%8s %10s %8s %8s\n", "bar",
	    "uncertain", "FPIR", "TPIR");
	static const double bars[] = {0, 0.1, 0.2, 0.3, 0.5};
	double keep = qbar;
	for (size_t b = 0; b < sizeof bars / sizeof *bars; b++) {
		qbar = bars[b];
		struct result r = evaluate(pr, np, -1, have_cal ? &cal : NULL, target);
		printf("%8.2f %9.2f%% %7.2f%% %7.2f%%\n", qbar, 100.0 * r.uncertain / (r.genuine + r.strangers), 100 * r.fpir_def,
		    100 * r.tpir_def);
	}
	qbar = keep;
	if (have_cal)
		dv_calib_fini(&cal);
	ev_pipe_close(&p);
	return 0;
}
