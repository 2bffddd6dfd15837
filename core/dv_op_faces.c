/* dv_op_faces.c — enrolment and faces: POST /v1/persons/{id}/faces (the
 * recognize pipeline up to its record stage, quality and duplicate checks,
 * the face, its chip and the on_enrolled hooks in one transaction, then the
 * matcher), GET /v1/persons/{id}/faces, DELETE /v1/faces/{id},
 * GET /v1/faces/{id}/chip. */
#include "dv_ops.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_log.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dv_gallery.h"
#include "dv_hooks.h"
#include "dv_image.h"
#include "dv_pipeline.h"
#include "dv_quality.h"
#include "dv_record.h"
#include <math.h>

/* A face's box and landmarks as the dv_faces row keeps them (JSON); both buffers are initialised here. */
static void dv_face_json(const struct dv_face *f, struct dv_buf *box, struct dv_buf *lm)
{
	dv_buf_init(box);
	dv_buf_init(lm);
	dv_face_box_json(box, f);
	if (f->n_landmarks > 0) {
		dv_buf_puts(lm, "[");
		for (int i = 0; i < f->n_landmarks; i++)
			dv_buf_printf(lm, "%s[%.2f,%.2f]", i ? "," : "", f->landmarks[i][0], f->landmarks[i][1]);
		dv_buf_puts(lm, "]");
	}
}

/* Quality in [0, 1]: the detector's confidence, times how far the face is
 * from too small to embed well (112 px a side and more count in full), halved
 * when no detector found it (a whole-image guess or a client's box). */
static double dv_quality(const struct dv_face *f)
{
	double side = fmin(f->w, f->h);
	double q = (f->pass == DV_PASS_CLIENT ? 1.0 : f->score) * fmin(1.0, side / 112.0);
	if (f->pass == DV_PASS_WHOLE_IMAGE || f->pass == DV_PASS_CLIENT)
		q *= 0.5;
	return fmax(0, fmin(1, q));
}

struct dv_enrol_tx {
	struct dv_hookrun hr;  /* the tenant's hooks, when it has any */
	bool hooks_on;
	struct dv_job *k;
	uint64_t person;
	char *person_json;
	char *hooks_out;
};

/* on_enrolled, inside the enrolment's transaction */
static int dv_enrol_in_tx(void *arg, uint64_t face_id)
{
	struct dv_enrol_tx *t = arg;
	if (!t->hooks_on)
		return 0;
	struct dv_hook_event he = {.kind = "enrolled", .person = t->person, .person_json = t->person_json,
	    .distance = -1, .similarity = -1, .face = face_id, .box = &t->k->res.faces[0], .face_index = 0};
	struct dv_buf out;
	dv_buf_init(&out);
	dv_hookrun_fire(&t->hr, &he, &out);
	t->hooks_out = out.data;
	return 0;
}

void dv_op_face_add(struct dv_job *j, struct dv_ops_ctx *oc)
{
	static const char *const qs[] = {"location", "camera", "box", "fields", "force", NULL};
	static const char *const imgs[] = {"image", NULL};
	struct dv_in in = {0};
	float box[4];
	bool have_box, force = false;
	struct dv_visit visit = {0};
	char *fields = NULL;
	struct dv_tenant_brief brief = {0};
	struct dv_job *k = NULL;
	uint8_t *jpg = NULL;
	char *dup_person = NULL;
	struct dv_enrol_tx tx = {.person = j->req.path_id};
	if (dv_in_query(j, &in, qs) || dv_in_body(j, &in, imgs) || dv_in_label(j, &in, "location", &visit.location) ||
	    dv_in_label(j, &in, "camera", &visit.camera) || dv_in_box(j, &in, box, &have_box) ||
	    dv_in_fields(j, &in, &fields) || dv_in_flag(j, &in, "force", &force))
		goto out;
	visit.fields_json = fields;
	/* the person first: a clear 404 before any image work */
	struct dv_buf pb;
	dv_buf_init(&pb);
	int rc = dv_store_person_get(oc->store, j->tenant, j->req.path_id, &pb);
	tx.person_json = pb.data;
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		goto out;
	}
	/* the recognize pipeline, up to its record stage: whose is the nearest face? */
	k = dv_ops_run_image(j, oc, DV_OP_RECOGNIZE, dv_form_get(&in.form, "image"), have_box ? box : NULL, 1, -1,
	    DV_RUN_LOOKUP,
	    &visit);
	if (!k)
		goto out;
	if (k->res.n_embeddings == 0) {
		dv_job_fail(j, DV_ENOFACE, "no face was found in the image: enrol a photo with one face");
		goto out;
	}
	if (k->res.n_embeddings > 1) {
		struct dv_buf m;
		dv_buf_init(&m);
		dv_buf_printf(&m, "the image has %d faces: name one with box=x,y,w,h (found:", k->res.n_embeddings);
		for (int i = 0; i < k->res.n_embeddings && i < 6; i++)
			dv_buf_printf(&m, " %.0f,%.0f,%.0f,%.0f", k->res.faces[i].x, k->res.faces[i].y,
			    k->res.faces[i].w,
			    k->res.faces[i].h);
		dv_buf_puts(&m, ")");
		dv_job_fail(j, DV_EMULTIFACE, "%s", m.data);
		dv_buf_fini(&m);
		goto out;
	}
	if (!k->res.embeddings || !k->res.einfo.model[0]) {
		dv_job_fail(j, DV_ENOPIPELINE, "the recognize pipeline has no embed stage: faces cannot be enrolled");
		goto out;
	}
	const struct dv_face *f = &k->res.faces[0];
	/* a face too poor to recognise later is refused, with the reasons */
	const struct dv_quality *q = k->res.quality ? &k->res.quality[0] : NULL;
	if (q && q->score < j->gen->conf->quality_min_enrol && !force) {
		struct dv_buf m;
		dv_buf_init(&m);
		dv_buf_printf(&m, "the face's quality is %.2f, under %.2f (quality.min_enrol):", q->score,
		    j->gen->conf->quality_min_enrol);
		for (int b = 0; b < DV_Q_REASONS; b++)
			if (q->reasons & (1u << b))
				dv_buf_printf(&m, " %s", dv_quality_reason(1u << b));
		dv_buf_puts(&m, "; take another photo, or add ?force=true");
		dv_job_fail(j, DV_ELOWQUALITY, "%s", m.data);
		dv_buf_fini(&m);
		goto out;
	}
	/* already enrolled as someone else? */
	double dup_d = -1;
	uint64_t dup_pid = 0;
	const struct dv_job_res *kr = &k->res;
	if (kr->matches && kr->n_matches && kr->n_matches[0] > 0 && kr->matches[0].distance <= kr->threshold_used) {
		uint64_t pid = k->res.n_best > 0 ? k->res.best_person[0] : 0;
		if (pid && pid != j->req.path_id && k->res.best_person_json[0]) {
			dup_pid = pid;
			dup_d = k->res.matches[0].distance;
			dup_person = strdup(k->res.best_person_json[0]);
		}
	}
	if (dup_pid) {
		bool refuse = false;
		rc = dv_store_tenant_flag(oc->store, j->tenant, "reject_duplicates", &refuse);
		if (rc) {
			dv_job_fail(j, rc, "%s", oc->store->err);
			goto out;
		}
		if (refuse) {
			dv_job_fail(j, DV_EDUPLICATE,
			    "this face is already enrolled as person %" PRIu64 " (distance %.3f); the tenant refuses "
			    "duplicates",
			    dup_pid, dup_d);
			goto out;
		}
	}
	struct dv_buf boxj, lmj;
	dv_face_json(f, &boxj, &lmj);
	size_t jlen = 0;
	if (k->res.chips && k->res.aligned && k->res.aligned[0] != 'f')
		dv_image_encode_jpeg(k->res.chips, k->res.chip_w, k->res.chip_h, 90, &jpg, &jlen);
	struct dv_face_row row = {.person = j->req.path_id, .vec = k->res.embeddings, .dim = k->res.embedding_dim,
	    .model = k->res.einfo.model, .fingerprint = k->res.einfo.fingerprint, .box_json = boxj.data,
	    .landmarks_json = lmj.data, .found_by = dv_pass_name(f->pass), .quality = q ? q->score : dv_quality(f),
	    .chip = jpg,
	    .chip_len = jlen};
	uint64_t face_id = 0;
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", j->id);
	/* the tenant's on_enrolled hooks run in the enrolment's transaction */
	tx.hr = (struct dv_hookrun){.hooks = oc->hooks, .store = oc->store, .tenant = j->tenant, .brief = &brief,
	    .visit = &visit, .request_id = j->id};
	if (oc->hooks && (rc = dv_hookrun_acquire(&tx.hr)) != 0) {
		dv_job_fail(j, rc, "the tenant's hooks cannot be read: %s", oc->store->err);
		goto out;
	}
	if (oc->hooks && dv_hookrun_maybe(&tx.hr)) {
		rc = dv_tenant_brief_get(oc->store, j->tenant, &brief);
		if (rc) {
			dv_job_fail(j, rc, "%s", oc->store->err);
			goto out;
		}
		tx.hooks_on = dv_hookrun_on(&tx.hr);
	}
	tx.k = k;
	rc = dv_store_face_add(oc->store, j->tenant, &row, visit.location, visit.camera, rid, &face_id,
	    dv_enrol_in_tx, &tx);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person (deleted meanwhile?)" : "%s", oc->store->err);
	} else {
		/* committed: the matcher knows it before the client does */
		dv_gallery_added(oc->gallery, j->gen, j->tenant, face_id, k->res.embeddings, k->res.embedding_dim);
		struct dv_json js;
		dv_json_init(&js, &j->res.reply);
		dv_json_obj_open(&js);
		dv_json_key(&js, "face_id"); dv_json_uint(&js, face_id);
		dv_json_key(&js, "person_id"); dv_json_uint(&js, j->req.path_id);
		dv_json_key(&js, "box"); dv_json_raw(&js, boxj.data);
		dv_json_key(&js, "score"); dv_json_float(&js, f->score);
		dv_json_key(&js, "quality"); dv_json_num(&js, round(row.quality * 1e4) / 1e4);
		if (q && q->reasons) {
			dv_json_key(&js, "quality_reasons");
			dv_json_arr_open(&js);
			for (int b = 0; b < DV_Q_REASONS; b++)
				if (q->reasons & (1u << b))
					dv_json_str(&js, dv_quality_reason(1u << b));
			dv_json_arr_close(&js);
		}
		dv_json_key(&js, "found_by"); dv_json_str(&js, row.found_by);
		dv_json_key(&js, "chip"); dv_json_bool(&js, jpg != NULL);
		if (dup_pid) {
			dv_json_key(&js, "duplicate_of");
			dv_json_obj_open(&js);
			dv_json_key(&js, "person"); dv_json_raw(&js, dup_person);
			dv_json_key(&js, "distance"); dv_json_num(&js, dup_d);
			dv_json_obj_close(&js);
		}
		dv_json_key(&js, "model");
		dv_json_obj_open(&js);
		dv_json_key(&js, "embedder"); dv_json_str(&js, k->res.einfo.model);
		dv_json_key(&js, "fingerprint"); dv_json_str(&js, k->res.einfo.fingerprint);
		dv_json_obj_close(&js);
		if (tx.hooks_on) {
			if (tx.hooks_out && strcmp(tx.hooks_out, "{}")) {
				dv_json_key(&js, "hooks");
				dv_json_raw(&js, tx.hooks_out);
			}
			dv_hookrun_json(&tx.hr, &js, "hook_status");
		}
		dv_json_obj_close(&js);
		j->res.status = 201;
	}
	dv_buf_fini(&boxj);
	dv_buf_fini(&lmj);
out:
	free(tx.person_json);
	free(tx.hooks_out);
	free(jpg);
	free(dup_person);
	dv_job_free(k);
	dv_hookrun_fini(&tx.hr);
	dv_tenant_brief_fini(&brief);
	free(fields);
	dv_in_fini(&in);
}

void dv_op_face_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_face_list(oc->store, j->tenant, j->req.path_id, &j->res.reply),
	    "no such person");
}

void dv_op_face_delete(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (dv_ops_store_rc(j, oc, dv_store_face_delete(oc->store, j->tenant, j->req.path_id), "no such face"))
		return;
	dv_gallery_removed(oc->gallery, j->gen, j->tenant, &j->req.path_id, 1);
	dv_buf_printf(&j->res.reply, "{\"deleted\":true,\"id\":%" PRIu64 "}", j->req.path_id);
}

void dv_op_face_chip(struct dv_job *j, struct dv_ops_ctx *oc)
{
	int rc = dv_store_face_chip(oc->store, j->tenant, j->req.path_id, &j->res.reply);
	if (!dv_ops_store_rc(j, oc, rc, "no such face, or it has no chip"))
		j->res.reply_ctype = "image/jpeg";
}

/* settings.auto_update: a recognition sure beyond doubt adds its face to the
 * person — so that a face that changes (a beard, glasses, age) keeps being
 * recognised — bounded: only a face well inside the threshold (the distance
 * at which the gallery gives a hundredth of the target's false alarms, or
 * half the threshold without a calibration), of enrolment quality, not
 * uncertain, and only up to auto_update_max faces a person. Each is an
 * enrolment with its event ("enrolled"), as if the person had been enrolled
 * again; a failure is logged, never the recognition's. */
void dv_ops_auto_update(struct dv_job *j, struct dv_ops_ctx *oc, struct dv_job *k)
{
	const struct dv_job_res *r = &k->res;
	const struct dv_conf *c = j->gen->conf;
	if (!r->matches || !r->n_matches || !r->embeddings || r->n_best < r->n_embeddings || !r->faces)
		return;
	double strict = r->decision == DV_DECIDE_FPIR && j->gen->calib
	    ? dv_calib_threshold(j->gen->calib, r->gallery_n > 0 ? r->gallery_n : 1, r->target_fpir / 100)
	    : r->threshold_used / 2;
	if (strict > r->threshold_used)
		strict = r->threshold_used;
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", j->id);
	for (int i = 0; i < r->n_embeddings; i++) {
		const struct dv_match *m = r->n_matches[i] > 0 ? &r->matches[(size_t)i * r->top_k_used] : NULL;
		uint64_t person = r->best_person[i];
		double q = r->quality ? r->quality[i].score : 1;
		if (!m || !person || m->distance > strict || q < c->quality_min_enrol ||
		    (r->quality && q < c->quality_min_recognize))
			continue;
		/* the person's faces so far */
		char t[24], p[24];
		snprintf(t, sizeof t, "%" PRIu64, j->tenant);
		snprintf(p, sizeof p, "%" PRIu64, person);
		const char *v[] = {t, p};
		struct dv_buf nb;
		dv_buf_init(&nb);
		int rc = dv_store_one(oc->store, &nb, "SELECT count(*)::text FROM dv_faces WHERE tenant_id = $1 AND person_id = $2",
		    2, v);
		long long have = rc ? 0 : atoll(nb.data ? nb.data : "0");
		dv_buf_fini(&nb);
		if (rc || have >= r->auto_update_max)
			continue;
		const struct dv_face *f = &r->faces[i];
		struct dv_buf boxj, lmj;
		dv_face_json(f, &boxj, &lmj);
		uint8_t *jpg = NULL;
		size_t jlen = 0;
		if (r->chips && r->aligned && r->aligned[i] != 'f')
			dv_image_encode_jpeg(r->chips + (size_t)i * r->chip_w * r->chip_h * 3, r->chip_w, r->chip_h, 90, &jpg,
			    &jlen);
		const float *vec = r->embeddings + (size_t)i * r->embedding_dim;
		struct dv_face_row row = {.person = person, .vec = vec, .dim = r->embedding_dim, .model = r->einfo.model,
		    .fingerprint = r->einfo.fingerprint, .box_json = boxj.data, .landmarks_json = lmj.data,
		    .found_by = "auto_update", .quality = q, .chip = jpg, .chip_len = jlen};
		uint64_t face_id = 0;
		rc = dv_store_face_add(oc->store, j->tenant, &row, "auto_update", NULL, rid, &face_id, NULL, NULL);
		if (rc == 0)
			dv_gallery_added(oc->gallery, j->gen, j->tenant, face_id, vec, r->embedding_dim);
		else
			dv_warn("auto_update: the face was not added person=%" PRIu64 " reason=\"%s\"", person, oc->store->err);
		free(jpg);
		dv_buf_fini(&boxj);
		dv_buf_fini(&lmj);
	}
}
