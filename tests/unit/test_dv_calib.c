/* Unit tests for core/dv_calib.c: a table is parsed with its stamp, refused
 * with the line when malformed; FMR is interpolated in log space and
 * extrapolated below the measured tail; the threshold for N faces keeps
 * N x FMR(t) at the target and shrinks as N grows; FPIR is capped at 1. */
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
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(dv_calib_parse(bad[i], strlen(bad[i]), &c, err, sizeof err) != 0, "malformed table %zu refused: %s", i, err);
	ok(dv_calib_parse(bad[0], strlen(bad[0]), &c, err, sizeof err) != 0 && strstr(err, "line 4"), "naming the line");
	return tap_done();
}
