/* Unit tests for core/dv_calib.c: a table is parsed with its stamp, refused
 * with the line when malformed; FMR is interpolated in log space and
 * extrapolated below the measured tail; the threshold for N faces keeps
 * N x FMR(t) at the target and shrinks as N grows; FPIR is capped at 1.
 * The cohort rows: parsed by gallery size, interpolated in log people and
 * log target, lowered slowly beyond the largest gallery measured, inverted
 * to a false-match probability; incomplete or disordered rows refused. */
#include "../tap.h"
#include "dv_calib.h"
#include <math.h>
#include <stdlib.h>

static const char table[] = "# dejaview calibration table\n"
                            "# model: m\n# fingerprint: sha256:abc\n# align: dlib\n"
                            "# photos: 10 identities: 3 impostor_pairs: 1000000 genuine_pairs: 100\n"
                            "0.3000\t0\t0.9\n"
                            "0.4000\t1e-6\t0.5\n"
                            "0.5000\t1e-4\t0.2\n"
                            "0.6000\t1e-2\t0.05\n"
                            "0.7000\t1e-1\t0.01\n";

int main(void)
{
	struct dv_calib c;
	char err[200];
	ok(dv_calib_parse(table, sizeof table - 1, &c, err, sizeof err) == 0, "a table parses (%s)", err);
	is_str(c.model, "m", "its model");
	is_str(c.fingerprint, "sha256:abc", "its fingerprint");
	is_str(c.align, "dlib", "its alignment");
	is_int(c.impostors, 1000000, "the pairs it was measured on");
	is_int(c.n, 5, "five rows");
	ok(fabs(dv_calib_fmr(&c, 0.5) - 1e-4) < 1e-12, "FMR at a grid point");
	ok(fabs(dv_calib_fmr(&c, 0.45) - 1e-5) < 1e-9, "FMR between two points, log-linear (1e-5 half way from 1e-6 to 1e-4)");
	double below = dv_calib_fmr(&c, 0.35);
	ok(below > 0 && below < 1e-6, "below the measured tail, extrapolated down (%.2g)", below);
	ok(fabs(dv_calib_fnmr(&c, 0.55) - 0.125) < 1e-9, "FNMR linear between points");
	double t10 = dv_calib_threshold(&c, 10, 0.01), t1000 = dv_calib_threshold(&c, 1000, 0.01);
	ok(fabs(t10 - 0.55) < 2e-4, "10 faces at FPIR 1%%: FMR 1e-3, t = 0.55 (%.4f)", t10);
	ok(fabs(t1000 - 0.45) < 2e-4, "1,000 faces: FMR 1e-5, t = 0.45 (%.4f)", t1000);
	ok(t1000 < t10, "a larger gallery, a stricter threshold");
	ok(dv_calib_fpir(&c, 1000, 0.45) <= 0.01 + 1e-9, "N x FMR(t) at the target");
	is_int((long long)dv_calib_fpir(&c, 100000, 0.7), 1, "FPIR is at most 1");
	ok(dv_calib_threshold(&c, 0, 0.01) == dv_calib_threshold(&c, 1, 0.01), "an empty gallery counts as one face");
	dv_calib_fini(&c);
	static const char *const bad[] = {
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.2 0 0.8\n",         /* distances not increasing */
	    "# model: m\n# fingerprint: f\n0.3 0.1 0.9\n0.4 0.01 0.8\n",     /* fmr falling */
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0 nope\n",         /* not numbers */
	    "# fingerprint: f\n0.3 0 0.9\n0.4 0 0.8\n",                      /* no model */
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n",                     /* one row */
	    "# model: m\n# fingerprint: f\n0.3 0 1.5\n0.4 0 0.8\n",          /* a rate over 1 */
	};
	/* the cohort rows */
	static const char coh[] = "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0.001 0.5\n"
	                          "# cohort: k 5 weight 0.75 min_people 50\n"
	                          "cohort\t50\t0.1000\t0.0500\t0.95\n"
	                          "cohort\t50\t0.0100\t-0.0200\t0.85\n"
	                          "cohort\t50\t0.0010\t-0.0900\t0.60\n"
	                          "cohort\t200\t0.1000\t0.0700\t0.94\n"
	                          "cohort\t200\t0.0100\t0.0100\t0.84\n"
	                          "cohort\t200\t0.0010\t-0.0500\t0.62\n";
	ok(dv_calib_parse(coh, sizeof coh - 1, &c, err, sizeof err) == 0, "a table with cohort rows parses (%s)", err);
	is_int(c.coh_np, 2, "two gallery sizes");
	is_int(c.coh_nx, 3, "three targets each");
	is_int(c.coh_min_people, 50, "from 50 people");
	ok(fabs(dv_calib_cohort_threshold(&c, 50, 0.01) + 0.02) < 1e-9, "the score at a measured point");
	ok(fabs(dv_calib_cohort_threshold(&c, 100, 0.01) - (-0.02 + 0.5 * 0.03)) < 1e-9,
	    "between two sizes, linear in log people (100 is half way from 50 to 200)");
	ok(fabs(dv_calib_cohort_threshold(&c, 50, sqrt(0.1 * 0.01)) - 0.015) < 1e-9, "between two targets, linear in log target");
	double big = dv_calib_cohort_threshold(&c, 2000, 0.01);
	ok(fabs(big - (0.01 - 0.002)) < 1e-9, "ten times the largest gallery: 0.002 lower (%.4f)", big);
	ok(fabs(dv_calib_cohort_tpir(&c, 200, 0.01) - 0.84) < 1e-9, "recall at the largest gallery measured");
	ok(isnan(dv_calib_cohort_tpir(&c, 2000, 0.01)), "recall beyond it: not known (NAN)");
	double p = dv_calib_cohort_fpir(&c, 200, 0.01);
	ok(fabs(p - 0.01) < 1e-6, "a score at the 1%% threshold: false-match probability 1%% (%.6f)", p);
	ok(dv_calib_cohort_fpir(&c, 200, -0.06) < 0.001, "a lower score, less likely a stranger's");
	is_int((long long)dv_calib_cohort_fpir(&c, 200, 5), 1, "a score far above every row: 1");
	dv_calib_fini(&c);
	static const char *const bad_coh[] = {
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0.001 0.5\n# cohort: k 5 weight 0.75 min_people 50\n"
	    "cohort\t50\t0.1\t0.05\t0.9\ncohort\t50\t0.01\t0.06\t0.8\n", /* the score rising as the target falls */
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0.001 0.5\n# cohort: k 5 weight 0.75 min_people 50\n"
	    "cohort\t50\t0.1\t0.05\t0.9\ncohort\t50\t0.01\t0.01\t0.8\ncohort\t100\t0.1\t0.05\t0.9\n", /* incomplete */
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0.001 0.5\n# cohort: k 5 weight 0.75 min_people 50\n"
	    "cohort\t100\t0.1\t0.05\t0.9\ncohort\t100\t0.01\t0.01\t0.8\ncohort\t50\t0.1\t0.05\t0.9\n"
	    "cohort\t50\t0.01\t0.01\t0.8\n", /* sizes falling */
	    "# model: m\n# fingerprint: f\n0.3 0 0.9\n0.4 0.001 0.5\n# cohort: k 3 weight 0.75 min_people 50\n"
	    "cohort\t50\t0.1\t0.05\t0.9\ncohort\t50\t0.01\t0.01\t0.8\n", /* another score */
	};
	for (size_t i = 0; i < sizeof bad_coh / sizeof bad_coh[0]; i++)
		ok(dv_calib_parse(bad_coh[i], strlen(bad_coh[i]), &c, err, sizeof err) != 0, "malformed cohort rows %zu refused: %s",
		    i, err);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(dv_calib_parse(bad[i], strlen(bad[i]), &c, err, sizeof err) != 0, "malformed table %zu refused: %s", i, err);
	ok(dv_calib_parse(bad[0], strlen(bad[0]), &c, err, sizeof err) != 0 && strstr(err, "line 4"), "naming the line");
	return tap_done();
}
