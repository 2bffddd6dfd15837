/* dv_calib.h — a calibration table of an embedder (make calibrate): for
 * distances on a fine grid, the false-match rate (the share of pairs of two
 * different people at or below the distance) and the false-non-match rate
 * (the share of pairs of one person above it), measured on labelled photos
 * and stamped with the embedder's model and fingerprint and the alignment.
 * In 1:N the chance that a stranger gets some enrolled person's name grows
 * with the gallery: FPIR(t) ~ N x FMR(t); the server picks, for a tenant with
 * N faces, the largest threshold that keeps N x FMR(t) at a target, and says
 * for each match how likely it is to be a stranger's. Parsing is pure. */
#ifndef DV_CALIB_H
#define DV_CALIB_H
#include <stddef.h>

struct dv_calib {
	char model[64], fingerprint[80], align[16];
	int flip;              /* measured with embed.flip */
	int n;                 /* grid points, increasing distance */
	double *dist, *fmr, *fnmr;
	long long impostors, genuine; /* pairs measured */
	int photos, identities;
};

/* Parse the text of a table. 0, or -1 with the reason (and line) in err. */
int dv_calib_parse(const char *text, size_t len, struct dv_calib *c, char *err, size_t errlen);
int dv_calib_load(const char *path, struct dv_calib *c, char *err, size_t errlen);
void dv_calib_fini(struct dv_calib *c);
/* FMR and FNMR at distance d, interpolated (FMR in log space; below the
 * smallest measured rate, extrapolated along the tail's slope). */
double dv_calib_fmr(const struct dv_calib *c, double d);
double dv_calib_fnmr(const struct dv_calib *c, double d);
/* The largest distance t (to 1e-4) with n x FMR(t) <= target; n >= 1. */
double dv_calib_threshold(const struct dv_calib *c, long long n, double target);
/* The chance that a stranger gets a match at distance d or closer in a
 * gallery of n: min(1, n x FMR(d)). */
double dv_calib_fpir(const struct dv_calib *c, long long n, double d);
#endif
