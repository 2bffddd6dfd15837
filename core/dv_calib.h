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
#include <stdbool.h>
#include <stddef.h>

/* The cohort score: a visit's nearest person's distance minus WEIGHT x the
 * mean distance of the next K people (measured on the dev data: -n 5,0.75 of
 * make eval-openset). */
#define DV_COHORT_K 5
#define DV_COHORT_WEIGHT 0.75

struct dv_calib {
	char model[64], fingerprint[80], align[16];
	int flip;              /* measured with embed.flip */
	int n;                 /* grid points, increasing distance */
	double *dist, *fmr, *fnmr;
	long long impostors, genuine; /* pairs measured */
	int photos, identities;
	/* the cohort score's table ("cohort P FPIR SCORE TPIR" rows): for
	 * galleries of coh_people[i] people, coh_nx target rates each (falling),
	 * the score letting that share of strangers through and the share of
	 * visitors then named; coh_np == 0 when the table has none */
	int coh_k, coh_np, coh_nx, coh_min_people, coh_rows;
	double coh_weight;
	int *coh_people;
	double *coh_fpir, *coh_score, *coh_tpir; /* [coh_np x coh_nx] */
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
/* Does the cohort score decide for a gallery of `people` people? (the table
 * has cohort rows, and the gallery is as large as their first size) */
bool dv_calib_cohort_applies(const struct dv_calib *c, long long people);
/* The cohort score's decision for a gallery of `people` people (>=
 * coh_min_people; the caller checks coh_np > 0): the score that lets
 * `target` of strangers through, interpolated in log people and log target.
 * Beyond the largest gallery measured the score is lowered by 0.002 per ten
 * times more people (a model of the tail says it is flat or falls slowly
 * there: docs/accuracy.md). */
double dv_calib_cohort_threshold(const struct dv_calib *c, long long people, double target);
/* The share of visitors named at that decision (the measured rows); NAN
 * beyond the largest gallery measured. */
double dv_calib_cohort_tpir(const struct dv_calib *c, long long people, double target);
/* How likely a stranger is to score `score` or lower: the target whose
 * threshold is the score, clamped to [1e-5, 1]. */
double dv_calib_cohort_fpir(const struct dv_calib *c, long long people, double score);
#endif
