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
 *   ...                                                                     */
#include "dv_calib.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dv_calib_fini(struct dv_calib *c)
{
	free(c->dist);
	free(c->fmr);
	free(c->fnmr);
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

int dv_calib_parse(const char *text, size_t len, struct dv_calib *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int cap = 0, lineno = 0;
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
			if (!strncmp(h, "photos:", 7))
				sscanf(h, "photos: %d identities: %d impostor_pairs: %lld genuine_pairs: %lld", &c->photos,
				    &c->identities, &c->impostors, &c->genuine);
			continue;
		}
		if (!line[0])
			continue;
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
