/* dv_calib.c — calibration tables: see dv_calib.h. The text format, written
 * by make calibrate (tests/eval/dv_calibrate.c):
 *
 *   # dejaview calibration table
 *   # model: dlib_resnet_v1
 *   # fingerprint: sha256:.../div256
 *   # align: dlib
 *   # flip: false
 *   # photos: 5754   identities: 573   impostor_pairs: N   genuine_pairs: M
 *   # distance	fmr	fnmr	impostors_at_or_below	genuine_above
 *   0.2000	0	0.99	0	M
 *   ...
 *   # cohort: k 5 weight 0.75 min_people 50
 *   cohort	50	0.2000	0.0900	0.98
 *   ...       (people rising; per people the same fpir column, falling) */
#include "dv_calib.h"
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dv_calib_fini(struct dv_calib *c)
{
	free(c->dist);
	free(c->fmr);
	free(c->fnmr);
	free(c->coh_people);
	free(c->coh_fpir);
	free(c->coh_score);
	free(c->coh_tpir);
	memset(c, 0, sizeof *c);
}

static void dv_calib_field(const char *line, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) || line[kl] != ':')
		return;
	const char *v = line + kl + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strcspn(v, "\r\n");
	snprintf(out, len, "%.*s", (int)n, v);
}

/* *p to cap elements of size elem (kept as it was on failure). */
static int dv_calib_grow(void **p, size_t elem, int cap)
{
	void *q = realloc(*p, elem * (size_t)cap);
	if (!q)
		return -1;
	*p = q;
	return 0;
}

/* One "cohort P FPIR SCORE TPIR" row. */
static int dv_calib_cohort_row(struct dv_calib *c, const char *line, int *cap)
{
	int p;
	double x, score, tpir;
	if (sscanf(line, "%d %lf %lf %lf", &p, &x, &score, &tpir) != 4 || p < 2 || !(x > 0 && x <= 1) ||
	    !(tpir >= 0 && tpir <= 1) || !isfinite(score))
		return -1;
	int r = c->coh_rows;
	if (r == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if (dv_calib_grow((void **)&c->coh_fpir, sizeof *c->coh_fpir, *cap) ||
		    dv_calib_grow((void **)&c->coh_score, sizeof *c->coh_score, *cap) ||
		    dv_calib_grow((void **)&c->coh_tpir, sizeof *c->coh_tpir, *cap) ||
		    dv_calib_grow((void **)&c->coh_people, sizeof *c->coh_people, *cap))
			return -1;
	}
	if (c->coh_np == 0 || c->coh_people[c->coh_np - 1] != p) {
		/* a new gallery size: larger, and the previous one's rows complete */
		if (c->coh_np && p <= c->coh_people[c->coh_np - 1])
			return -1;
		if (c->coh_np == 1)
			c->coh_nx = r; /* the first size's rows fix the column */
		if (c->coh_np >= 1 && c->coh_np * c->coh_nx != r)
			return -1;
		c->coh_people[c->coh_np++] = p;
	}
	int first = c->coh_np == 1 ? 0 : (c->coh_np - 1) * c->coh_nx; /* this size's first row */
	int j = r - first;
	if (j > 0 && (x >= c->coh_fpir[r - 1] || score > c->coh_score[r - 1]))
		return -1;
	if (c->coh_np > 1 && (j >= c->coh_nx || fabs(x - c->coh_fpir[j]) > 1e-12))
		return -1;
	c->coh_fpir[r] = x;
	c->coh_score[r] = score;
	c->coh_tpir[r] = tpir;
	c->coh_rows++;
	return 0;
}

int dv_calib_parse(const char *text, size_t len, struct dv_calib *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int cap = 0, lineno = 0, coh_cap = 0;
	size_t at = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t ll = nl ? (size_t)(nl - (text + at)) : len - at;
		char line[512];
		lineno++;
		if (ll >= sizeof line) {
			snprintf(err, errlen, "line %d is too long", lineno);
			dv_calib_fini(c);
			return -1;
		}
		memcpy(line, text + at, ll);
		line[ll] = 0;
		at += ll + 1;
		if (line[0] == '#') {
			const char *h = line + 1;
			while (*h == ' ')
				h++;
			dv_calib_field(h, "model", c->model, sizeof c->model);
			dv_calib_field(h, "fingerprint", c->fingerprint, sizeof c->fingerprint);
			dv_calib_field(h, "align", c->align, sizeof c->align);
			char fl[8] = "";
			dv_calib_field(h, "flip", fl, sizeof fl);
			if (fl[0])
				c->flip = !strcmp(fl, "true");
			if (!strncmp(h, "cohort:", 7) &&
			    sscanf(h, "cohort: k %d weight %lf min_people %d", &c->coh_k, &c->coh_weight, &c->coh_min_people) != 3) {
				snprintf(err, errlen, "line %d: expected \"# cohort: k K weight W min_people P\"", lineno);
				dv_calib_fini(c);
				return -1;
			}
			if (!strncmp(h, "photos:", 7))
				sscanf(h, "photos: %d identities: %d impostor_pairs: %lld genuine_pairs: %lld", &c->photos,
				    &c->identities, &c->impostors, &c->genuine);
			continue;
		}
		if (!line[0])
			continue;
		if (!strncmp(line, "cohort\t", 7)) {
			if (dv_calib_cohort_row(c, line + 7, &coh_cap) != 0) {
				snprintf(err, errlen, "line %d: expected \"cohort people fpir score tpir\", people rising, the same fpir "
				    "column for each, falling, with the score falling", lineno);
				dv_calib_fini(c);
				return -1;
			}
			continue;
		}
		double d, fmr, fnmr;
		if (sscanf(line, "%lf %lf %lf", &d, &fmr, &fnmr) != 3 || !(fmr >= 0 && fmr <= 1) || !(fnmr >= 0 && fnmr <= 1) ||
		    (c->n && (d <= c->dist[c->n - 1] || fmr < c->fmr[c->n - 1] || fnmr > c->fnmr[c->n - 1]))) {
			snprintf(err, errlen, "line %d: expected \"distance fmr fnmr\", distances increasing, fmr rising, fnmr falling",
			    lineno);
			dv_calib_fini(c);
			return -1;
		}
		if (c->n == cap) {
			cap = cap ? cap * 2 : 1024;
			c->dist = realloc(c->dist, sizeof *c->dist * (size_t)cap);
			c->fmr = realloc(c->fmr, sizeof *c->fmr * (size_t)cap);
			c->fnmr = realloc(c->fnmr, sizeof *c->fnmr * (size_t)cap);
			if (!c->dist || !c->fmr || !c->fnmr) {
				snprintf(err, errlen, "out of memory");
				dv_calib_fini(c);
				return -1;
			}
		}
		c->dist[c->n] = d;
		c->fmr[c->n] = fmr;
		c->fnmr[c->n] = fnmr;
		c->n++;
	}
	if (c->coh_np == 1)
		c->coh_nx = c->coh_rows;
	if (c->coh_np && (c->coh_k != DV_COHORT_K || fabs(c->coh_weight - DV_COHORT_WEIGHT) > 1e-9)) {
		snprintf(err, errlen, "the cohort rows are for the score with k %d weight %g, not this server's (k %d weight %g)",
		    c->coh_k, c->coh_weight, DV_COHORT_K, DV_COHORT_WEIGHT);
		dv_calib_fini(c);
		return -1;
	}
	if (c->coh_np && (c->coh_nx < 2 || c->coh_np * c->coh_nx != c->coh_rows)) {
		snprintf(err, errlen, "the cohort rows are incomplete: every gallery size needs the same targets, two or more");
		dv_calib_fini(c);
		return -1;
	}
	if (c->n < 2 || !c->model[0] || !c->fingerprint[0]) {
		snprintf(err, errlen, "not a calibration table: it needs the model and fingerprint lines and at least two rows");
		dv_calib_fini(c);
		return -1;
	}
	return 0;
}

int dv_calib_load(const char *path, struct dv_calib *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 262144;
			char *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	char e[200];
	int rc = dv_calib_parse(buf, len, c, e, sizeof e);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, e);
	free(buf);
	return rc;
}

/* the index i with dist[i] <= d < dist[i + 1], clamped */
static int dv_calib_at(const struct dv_calib *c, double d)
{
	int lo = 0, hi = c->n - 1;
	if (d <= c->dist[0])
		return 0;
	if (d >= c->dist[hi])
		return hi - 1;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (c->dist[mid] <= d)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

double dv_calib_fnmr(const struct dv_calib *c, double d)
{
	int i = dv_calib_at(c, d);
	double t = (d - c->dist[i]) / (c->dist[i + 1] - c->dist[i]);
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	return c->fnmr[i] + t * (c->fnmr[i + 1] - c->fnmr[i]);
}

double dv_calib_fmr(const struct dv_calib *c, double d)
{
	/* the first rows with a measured rate: below them, extrapolate along
	 * the log-linear slope of the tail's first decade */
	int f = 0;
	while (f < c->n && c->fmr[f] <= 0)
		f++;
	if (f >= c->n)
		return 0;
	if (d >= c->dist[c->n - 1])
		return c->fmr[c->n - 1];
	if (d < c->dist[f]) {
		int g = f;
		while (g < c->n - 1 && c->fmr[g] < c->fmr[f] * 10)
			g++;
		double slope = g > f ? (log(c->fmr[g]) - log(c->fmr[f])) / (c->dist[g] - c->dist[f]) : 50;
		if (slope < 1)
			slope = 1;
		return c->fmr[f] * exp(slope * (d - c->dist[f]));
	}
	int i = dv_calib_at(c, d);
	double t = (d - c->dist[i]) / (c->dist[i + 1] - c->dist[i]);
	if (c->fmr[i] <= 0 || c->fmr[i + 1] <= 0)
		return c->fmr[i] + t * (c->fmr[i + 1] - c->fmr[i]);
	return exp(log(c->fmr[i]) + t * (log(c->fmr[i + 1]) - log(c->fmr[i])));
}

double dv_calib_fpir(const struct dv_calib *c, long long n, double d)
{
	double p = (double)(n < 1 ? 1 : n) * dv_calib_fmr(c, d);
	return p > 1 ? 1 : p;
}

double dv_calib_threshold(const struct dv_calib *c, long long n, double target)
{
	if (n < 1)
		n = 1;
	double want = target / (double)n;
	/* FMR rises with distance: bisect to 1e-4 */
	double lo = 0, hi = c->dist[c->n - 1];
	if (dv_calib_fmr(c, hi) <= want)
		return hi;
	for (int k = 0; k < 40 && hi - lo > 1e-5; k++) {
		double mid = (lo + hi) / 2;
		if (dv_calib_fmr(c, mid) <= want)
			lo = mid;
		else
			hi = mid;
	}
	return floor(lo * 1e4) / 1e4;
}

/* ---------------------------------------------------------------- cohort */

/* The rows of gallery size index a, at target x: interpolated in log x
 * (beyond the column's ends, along its last segment). */
static double dv_coh_col(const struct dv_calib *c, const double *v, int a, double x)
{
	const double *f = c->coh_fpir + (size_t)a * c->coh_nx, *y = v + (size_t)a * c->coh_nx;
	int m = c->coh_nx, j = 0;
	/* f falls: find j with f[j] >= x >= f[j + 1] */
	while (j < m - 2 && f[j + 1] > x)
		j++;
	double t = (log(x) - log(f[j])) / (log(f[j + 1]) - log(f[j]));
	return y[j] + t * (y[j + 1] - y[j]);
}

static double dv_coh_at(const struct dv_calib *c, const double *v, long long people, double x, bool tail)
{
	int n = c->coh_np;
	if (people <= c->coh_people[0] || n == 1)
		return dv_coh_col(c, v, 0, x);
	if (people >= c->coh_people[n - 1]) {
		double y = dv_coh_col(c, v, n - 1, x);
		return tail ? y - 0.002 * log10((double)people / c->coh_people[n - 1]) : y;
	}
	int a = 0;
	while (a < n - 2 && c->coh_people[a + 1] < people)
		a++;
	double t = (log((double)people) - log(c->coh_people[a])) / (log(c->coh_people[a + 1]) - log(c->coh_people[a]));
	double y0 = dv_coh_col(c, v, a, x);
	return y0 + t * (dv_coh_col(c, v, a + 1, x) - y0);
}

bool dv_calib_cohort_applies(const struct dv_calib *c, long long people)
{
	return c && c->coh_np > 0 && people >= c->coh_min_people && people > DV_COHORT_K;
}

double dv_calib_cohort_threshold(const struct dv_calib *c, long long people, double target)
{
	return dv_coh_at(c, c->coh_score, people, target, true);
}

double dv_calib_cohort_tpir(const struct dv_calib *c, long long people, double target)
{
	if (people > c->coh_people[c->coh_np - 1])
		return NAN; /* not measured: galleries that large are not in the dev data */
	double y = dv_coh_at(c, c->coh_tpir, people, target, false);
	return y < 0 ? 0 : y > 1 ? 1 : y;
}

double dv_calib_cohort_fpir(const struct dv_calib *c, long long people, double score)
{
	/* the threshold rises with the target: bisect in log target */
	double lo = log(1e-5), hi = 0;
	if (dv_calib_cohort_threshold(c, people, 1e-5) >= score)
		return 1e-5;
	if (dv_calib_cohort_threshold(c, people, 1) <= score)
		return 1;
	for (int k = 0; k < 50; k++) {
		double mid = (lo + hi) / 2;
		if (dv_calib_cohort_threshold(c, people, exp(mid)) < score)
			lo = mid;
		else
			hi = mid;
	}
	return exp(hi);
}
