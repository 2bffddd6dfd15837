/* dv_reply.c — the reply body of a pipeline run, written on the worker once
 * its stages are done: every face (box, how it was found, landmarks,
 * quality, its match and candidates with their persons, its decision, what
 * the hooks said), the image, the decision's method and figures, the model,
 * what was recorded, and each stage's time. */
#include "dv_calib.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_quality.h"
#include "dv_work.h"
#include <math.h>
#include <string.h>

/* Inside a match or candidate object: the person, when the record stage found one. */
static void dv_person_json(const struct dv_work *w, struct dv_json *j, uint64_t face)
{
	const char *p = dv_record_person(w, face, NULL);
	if (p) {
		dv_json_key(j, "person");
		dv_json_raw(j, p);
	}
}

/* Where the visit happened, what was recorded and how the hooks went. */
static void dv_reply_visit(const struct dv_work *w, struct dv_json *j)
{
	const struct dv_visit *v = w->ctx->visit;
	if (!dv_work_service(w))
		return;
	if (v && v->location) {
		dv_json_key(j, "location");
		dv_json_str(j, v->location);
	}
	if (v && v->camera) {
		dv_json_key(j, "camera");
		dv_json_str(j, v->camera);
	}
	if (w->job->res.stage_ran[DV_STAGE_RECORD] && w->ctx->mode == DV_RUN_RECORD) {
		dv_json_key(j, "events_recorded");
		dv_json_int(j, w->rec.events_written);
	}
	if (w->rec.hooks_on)
		dv_hookrun_json(&w->rec.hr, j, "hooks");
}

/* What a front desk should do with face i: greet (known), offer enrolment
 * (unknown), ask for a better look (uncertain), or ask "are you ...?" with the
 * candidates (confirm): when a nearest person is not within the threshold
 * but within the looser one of ten times the target, or within the threshold
 * but not standing out from the next person (match.margin_ratio). */
static const char *dv_face_decision(const struct dv_work *w, int i, bool known, bool unsure)
{
	if (unsure)
		return "uncertain";
	if (known)
		return "known";
	if (dv_work_within_threshold(w, i))
		return "confirm"; /* within the threshold, but someone else is nearly as near */
	return dv_work_within_confirm(w, i) ? "confirm" : "unknown";
}

/* With a calibration table: how likely a stranger is to come this close to
 * someone in the tenant's gallery (min(1, N x FMR(d))); with the cohort
 * decision, to score as low as face i's nearest person does (its table). */
static void dv_false_match(const struct dv_work *w, struct dv_json *j, int i, int k, double d)
{
	const struct dv_calib *cal = w->job->gen ? w->job->gen->calib : NULL;
	if (!cal || !dv_work_service(w))
		return;
	dv_json_key(j, "false_match_probability");
	if (w->cohort && k == 0 && !isnan(w->cohort[i]))
		dv_json_num(j, dv_calib_cohort_fpir(cal, w->job->res.cohort_people, w->cohort[i]));
	else
		dv_json_num(j, dv_calib_fpir(cal, w->job->res.gallery_n, d));
}


static void dv_reply_faces(struct dv_work *w, struct dv_json *j)
{
	dv_json_key(j, "faces");
	dv_json_arr_open(j);
	for (int i = 0; i < w->n_faces; i++) {
		const struct dv_face *f = &w->faces[i];
		dv_json_obj_open(j);
		dv_json_key(j, "box");
		dv_json_obj_open(j);
		dv_json_key(j, "x"); dv_json_float(j, f->x);
		dv_json_key(j, "y"); dv_json_float(j, f->y);
		dv_json_key(j, "w"); dv_json_float(j, f->w);
		dv_json_key(j, "h"); dv_json_float(j, f->h);
		dv_json_obj_close(j);
		dv_json_key(j, "score");
		dv_json_float(j, f->score);
		dv_json_key(j, "found_by");
		dv_json_obj_open(j);
		dv_json_key(j, "pass");
		dv_json_str(j, dv_pass_name(f->pass));
		if (f->input_size > 0) {
			dv_json_key(j, "input_size");
			dv_json_int(j, f->input_size);
		}
		dv_json_obj_close(j);
		if (w->aligned && w->aligned[i]) {
			dv_json_key(j, "alignment");
			dv_json_str(j, w->aligned[i] == 'd' ? "dlib_68" : w->aligned[i] == 'f' ? "faceapi_68" : "box");
		}
		if (f->n_landmarks > 0 && f->n_landmarks <= DV_MAX_LANDMARKS) {
			dv_json_key(j, "landmarks");
			dv_json_arr_open(j);
			for (int k = 0; k < f->n_landmarks; k++) {
				dv_json_arr_open(j);
				dv_json_float(j, f->landmarks[k][0]);
				dv_json_float(j, f->landmarks[k][1]);
				dv_json_arr_close(j);
			}
			dv_json_arr_close(j);
		}
		if (w->quality) {
			dv_json_key(j, "quality");
			dv_json_num(j, w->quality[i].score);
			if (w->quality[i].reasons) {
				dv_json_key(j, "quality_reasons");
				dv_json_arr_open(j);
				for (int b = 0; b < DV_Q_REASONS; b++)
					if (w->quality[i].reasons & (1u << b))
						dv_json_str(j, dv_quality_reason(1u << b));
				dv_json_arr_close(j);
			}
		}
		if (w->have[DV_STAGE_MATCH]) {
			const struct dv_match *m = w->matches + (size_t)i * w->top_k;
			int n = w->n_matches[i];
			bool unsure = dv_work_unsure(w, i);
			bool known = dv_work_known(w, i);
			dv_json_key(j, "match");
			if (known) {
				dv_json_obj_open(j);
				dv_json_key(j, "face_id"); dv_json_uint(j, m[0].id);
				dv_person_json(w, j, m[0].id);
				dv_json_key(j, "distance"); dv_json_float(j, m[0].distance);
				dv_json_key(j, "similarity"); dv_json_num(j, dv_similarity(m[0].distance,
				    w->threshold));
				dv_false_match(w, j, i, 0, m[0].distance);
				dv_json_obj_close(j);
			} else {
				dv_json_null(j);
			}
			/* unknown: confidently nobody of this tenant (offer enrolment) */
			const char *decision = dv_face_decision(w, i, known, unsure);
			dv_json_key(j, "unknown");
			dv_json_bool(j, !strcmp(decision, "unknown"));
			dv_json_key(j, "uncertain");
			dv_json_bool(j, unsure);
			dv_json_key(j, "decision");
			dv_json_str(j, decision);
			if (w->cohort && !isnan(w->cohort[i])) {
				/* what decided: the nearest person's distance, discounted by the next people's */
				dv_json_key(j, "cohort_score");
				dv_json_num(j, w->cohort[i]);
			}
			dv_json_key(j, "candidates");
			dv_json_arr_open(j);
			for (int k = 0; k < n && k < w->top_k_reply; k++) {
				dv_json_obj_open(j);
				dv_json_key(j, "face_id"); dv_json_uint(j, m[k].id);
				dv_person_json(w, j, m[k].id);
				dv_json_key(j, "distance"); dv_json_float(j, m[k].distance);
				dv_json_key(j, "similarity"); dv_json_num(j, dv_similarity(m[k].distance,
				    w->threshold));
				dv_false_match(w, j, i, k, m[k].distance);
				dv_json_obj_close(j);
			}
			dv_json_arr_close(j);
			if (w->rec.event_ids && w->rec.event_ids[i]) {
				/* to settle it later: POST /v1/events/{id}/outcome */
				dv_json_key(j, "event_id");
				dv_json_uint(j, w->rec.event_ids[i]);
			}
		}
		/* what the tenant's hooks said about this face */
		const struct dv_record *rec = &w->rec;
		if (i < rec->n_face_hooks && rec->face_hooks[i] && strcmp(rec->face_hooks[i], "{}")) {
			dv_json_key(j, "hooks");
			dv_json_raw(j, rec->face_hooks[i]);
		}
		dv_json_obj_close(j);
	}
	dv_json_arr_close(j);
}

void dv_reply_write(struct dv_work *w)
{
	struct dv_job *job = w->job;
	struct dv_json j;
	dv_json_init(&j, &job->res.reply);
	dv_json_obj_open(&j);
	dv_reply_faces(w, &j);
	dv_json_key(&j, "face_count");
	dv_json_int(&j, w->n_faces);
	if (w->n_found > w->n_faces) {
		/* more faces than limits.faces: the best-scored were kept */
		dv_json_key(&j, "faces_truncated");
		dv_json_bool(&j, true);
		dv_json_key(&j, "faces_limit");
		dv_json_int(&j, w->n_faces);
	}
	if (w->have[DV_STAGE_DECODE]) {
		dv_json_key(&j, "image");
		dv_json_obj_open(&j);
		dv_json_key(&j, "width"); dv_json_int(&j, w->img.full_width);
		dv_json_key(&j, "height"); dv_json_int(&j, w->img.full_height);
		dv_json_key(&j, "format"); dv_json_str(&j, w->img.format);
		if (w->img.orientation > 1) {
			dv_json_key(&j, "exif_orientation");
			dv_json_int(&j, w->img.orientation);
		}
		if (w->img.denom > 1) {
			/* a large JPEG: decoded at 1/denom, small faces' region finer */
			dv_json_key(&j, "decoded_scale");
			dv_json_int(&j, w->img.denom);
			if (w->fine.pixels) {
				dv_json_key(&j, "face_region_scale");
				dv_json_int(&j, w->fine.denom);
			}
		}
		dv_json_obj_close(&j);
	}
	if (w->have[DV_STAGE_MATCH]) {
		dv_json_key(&j, "threshold");
		dv_json_num(&j, w->threshold);
		const struct dv_calib *cal = job->gen ? job->gen->calib : NULL;
		static const char *const how[] = {"threshold", "fpir", "request"};
		dv_json_key(&j, "decision");
		dv_json_obj_open(&j);
		dv_json_key(&j, "method");
		dv_json_str(&j, how[job->res.decision]);
		dv_json_key(&j, "margin_ratio");
		dv_json_num(&j, w->ctx->conf->match_margin_ratio);
		if (cal && dv_work_service(w)) {
			/* N and what the threshold means for it, whichever way it was chosen */
			dv_json_key(&j, "gallery_faces");
			dv_json_int(&j, job->res.gallery_n);
			if (job->res.decision == DV_DECIDE_FPIR) {
				dv_json_key(&j, "target_fpir");
				dv_json_num(&j, job->res.target_fpir);
				/* the tenant's own people are closer together than the calibration's */
				dv_json_key(&j, "tenant_correction");
				dv_json_num(&j, job->res.correction);
			}
			if (job->res.cohort_people > 0) {
				/* decided by the cohort score, among this many people */
				dv_json_key(&j, "cohort");
				dv_json_obj_open(&j);
				dv_json_key(&j, "people");
				dv_json_int(&j, job->res.cohort_people);
				dv_json_key(&j, "score_threshold");
				dv_json_num(&j, job->res.cohort_threshold);
				dv_json_key(&j, "confirm_below");
				dv_json_num(&j, job->res.cohort_confirm);
				dv_json_key(&j, "next_people");
				dv_json_int(&j, cal->coh_k);
				dv_json_key(&j, "weight");
				dv_json_num(&j, cal->coh_weight);
				dv_json_obj_close(&j);
				dv_json_key(&j, "expected_fpir");
				dv_json_num(&j, dv_calib_cohort_fpir(cal, job->res.cohort_people, job->res.cohort_threshold));
				double tpir = dv_calib_cohort_tpir(cal, job->res.cohort_people, job->res.target_fpir);
				dv_json_key(&j, "expected_tpir");
				if (isnan(tpir))
					dv_json_null(&j); /* beyond the galleries measured */
				else
					dv_json_num(&j, tpir);
			} else {
				dv_json_key(&j, "expected_fpir");
				dv_json_num(&j, dv_calib_fpir(cal, job->res.gallery_n, w->threshold));
				dv_json_key(&j, "expected_tpir");
				dv_json_num(&j, 1 - dv_calib_fnmr(cal, w->threshold));
			}
		}
		dv_json_obj_close(&j);
	}
	if (w->have[DV_STAGE_EMBED] && w->einfo.model[0]) {
		dv_json_key(&j, "model");
		dv_json_obj_open(&j);
		dv_json_key(&j, "embedder"); dv_json_str(&j, w->einfo.model);
		dv_json_key(&j, "fingerprint"); dv_json_str(&j, w->einfo.fingerprint);
		dv_json_obj_close(&j);
	}
	dv_reply_visit(w, &j);
	dv_json_key(&j, "timings_ms");
	dv_json_obj_open(&j);
	dv_json_key(&j, "queue");
	dv_json_num(&j, job->res.queue_ms);
	for (int s = 0; s < DV_STAGE_COUNT; s++)
		if (job->res.stage_ran[s]) {
			dv_json_key(&j, dv_stage_name(s));
			dv_json_num(&j, job->res.stage_ms[s]);
		}
	dv_json_obj_close(&j);
	dv_json_obj_close(&j);
	if (job->res.reply.failed)
		dv_job_fail(job, DV_ENOMEM, "out of memory while writing the reply");
}

