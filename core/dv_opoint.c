/* dv_opoint.c — GET /v1/tenant/operating_point (worker thread): what the
 * decision means for this tenant, in the rates users feel. For its gallery of
 * N enrolled faces and its target (settings.target_fpir, else
 * match.target_fpir), from the embedder's calibration table: the threshold,
 * the share of strangers who will be given someone's name (N x FMR(t)) and
 * the share of enrolled visitors who will be recognised (1 - FNMR(t)); and
 * the same for galleries ten to a hundred thousand times as large, so that
 * an operator sees what growth will cost before it happens. A tenant of 50
 * people or more is decided by the cohort score (match.cohort): its rates
 * come from the table's cohort rows, by people. */
#include "dv_calib.h"
#include "dv_err.h"
#include "dv_gallery.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_ops.h"
#include "dv_store.h"
#include <math.h>
#include <stdbool.h>
#include <string.h>

/* A gallery of n people decided by the cohort score (match.cohort): the
 * score, and the rates its table measured (recall null beyond the largest
 * gallery measured). */
static void dv_opoint_cohort(struct dv_json *j, const struct dv_calib *c, long long n, double target)
{
	double t = dv_calib_cohort_threshold(c, n, target);
	dv_json_key(j, "score_threshold");
	dv_json_num(j, t);
	dv_json_key(j, "strangers_named");
	dv_json_num(j, dv_calib_cohort_fpir(c, n, t));
	/* measured up to the largest gallery of the table's rows; beyond, unknown */
	double tpir = dv_calib_cohort_tpir(c, n, target);
	dv_json_key(j, "visitors_recognised");
	if (isnan(tpir))
		dv_json_null(j);
	else
		dv_json_num(j, tpir);
	dv_json_key(j, "decided_by");
	dv_json_str(j, "cohort_score");
}

static bool dv_opoint_by_cohort(const struct dv_conf *conf, const struct dv_calib *c, long long people)
{
	return conf->match_cohort && dv_calib_cohort_applies(c, people);
}

/* A gallery of n faces, one a person: the distance's threshold, and what
 * decides there with its rates. */
static void dv_opoint_row(struct dv_json *j, const struct dv_conf *conf, const struct dv_calib *c, long long n,
    double target)
{
	double t = dv_calib_threshold(c, n, target);
	dv_json_obj_open(j);
	dv_json_key(j, "gallery_faces");
	dv_json_int(j, n);
	dv_json_key(j, "threshold");
	dv_json_num(j, t);
	if (dv_opoint_by_cohort(conf, c, n)) {
		dv_opoint_cohort(j, c, n, target);
	} else {
		dv_json_key(j, "strangers_named");
		dv_json_num(j, dv_calib_fpir(c, n, t));
		dv_json_key(j, "visitors_recognised");
		dv_json_num(j, 1 - dv_calib_fnmr(c, t));
		dv_json_key(j, "decided_by");
		dv_json_str(j, "distance");
	}
	dv_json_obj_close(j);
}

void dv_op_operating_point(struct dv_job *j, struct dv_ops_ctx *oc)
{
	const struct dv_gen *g = j->gen;
	const struct dv_conf *conf = g->conf;
	long long n = dv_gallery_tenant_faces(oc->gallery, j->tenant);
	double target = conf->match_target_fpir;
	struct dv_buf b;
	dv_buf_init(&b);
	if (dv_store_tenant_brief(oc->store, j->tenant, &b) == 0 && b.data) {
		struct dv_jv *t = dv_jsonp_parse(b.data, b.len, NULL, 0);
		const struct dv_jv *x = dv_jv_get(dv_jv_get(t, "settings"), "target_fpir");
		if (x && x->type == DV_JNUM && x->num > 0 && x->num <= 1)
			target = x->num;
		dv_jv_free(t);
	}
	dv_buf_fini(&b);
	bool fpir = g->calib && !strcmp(conf->match_decision, "fpir");
	struct dv_json w;
	dv_json_init(&w, &j->res.reply);
	dv_json_obj_open(&w);
	dv_json_key(&w, "decision");
	dv_json_str(&w, fpir ? "fpir" : "threshold");
	dv_json_key(&w, "gallery_faces");
	dv_json_int(&w, n);
	if (fpir) {
		dv_json_key(&w, "target_fpir");
		dv_json_num(&w, target);
	}
	double t = fpir ? dv_calib_threshold(g->calib, n, target) : conf->match_threshold;
	/* the tenant's correction (dv_gallery.c): its people are closer together by
	 * delta than the calibration's; the threshold comes down by gain x delta,
	 * and a stranger of theirs meets the calibration's odds at t + delta */
	double corr = fpir ? dv_gallery_tenant_shift(oc->gallery, j->tenant) : 0;
	if (corr >= t)
		corr = 0;
	t -= corr;
	double delta = corr > 0 && conf->match_correction_gain > 0 ? corr / conf->match_correction_gain : 0;
	dv_json_key(&w, "threshold");
	dv_json_num(&w, t);
	if (fpir) {
		dv_json_key(&w, "tenant_correction");
		dv_json_num(&w, corr);
	}
	long long people = fpir ? dv_gallery_tenant_people(oc->gallery, j->tenant) : 0;
	bool cohort = fpir && dv_opoint_by_cohort(conf, g->calib, people);
	if (fpir) {
		dv_json_key(&w, "people");
		dv_json_int(&w, people);
	}
	if (g->calib) {
		dv_json_key(&w, "expected");
		dv_json_obj_open(&w);
		if (cohort) {
			dv_opoint_cohort(&w, g->calib, people, target);
		} else {
			dv_json_key(&w, "strangers_named");
			dv_json_num(&w, dv_calib_fpir(g->calib, n, t + delta));
			dv_json_key(&w, "visitors_recognised");
			dv_json_num(&w, 1 - dv_calib_fnmr(g->calib, t));
			dv_json_key(&w, "decided_by");
			dv_json_str(&w, "distance");
		}
		dv_json_obj_close(&w);
		if (fpir) {
			dv_json_key(&w, "as_the_gallery_grows");
			dv_json_arr_open(&w);
			for (long long k = 10; k <= 1000000; k *= 10)
				dv_opoint_row(&w, conf, g->calib, k, target);
			dv_json_arr_close(&w);
		}
		dv_json_key(&w, "calibration");
		dv_json_obj_open(&w);
		dv_json_key(&w, "model");
		dv_json_str(&w, g->calib->model);
		dv_json_key(&w, "fingerprint");
		dv_json_str(&w, g->calib->fingerprint);
		dv_json_key(&w, "impostor_pairs");
		dv_json_int(&w, g->calib->impostors);
		dv_json_key(&w, "genuine_pairs");
		dv_json_int(&w, g->calib->genuine);
		dv_json_obj_close(&w);
	} else {
		dv_json_key(&w, "expected");
		dv_json_null(&w);
		dv_json_key(&w, "note");
		dv_json_str(&w, "no calibration table fits the embedder: the rates cannot be estimated (run make calibrate)");
	}
	dv_json_obj_close(&w);
}
