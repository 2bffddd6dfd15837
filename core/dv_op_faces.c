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
	dv_face_landmarks_json(lm, f);
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

/* What an enrolment adds, from a photo or from a recognition's kept face. */
struct dv_enrol {
	struct dv_face_row row;
	const struct dv_face *face;   /* its box (and landmarks), for the hooks */
	const char *box_json;
	double score;                 /* the detector's */
	unsigned reasons;             /* quality reasons (dv_quality_reason bits) */
	const char *model, *fingerprint;
	uint64_t dup_pid;             /* already enrolled as this other person (0: no) */
	double dup_d;
	const char *dup_person;       /* their JSON */
	uint64_t event;               /* from this recognition event's kept face (0: a photo) */
	int jitter;                   /* jittered copies averaged into the descriptor (enrol.jitter) */
	const struct dv_visit *visit;
	const char *person_json;
};

struct dv_enrol_tx {
	struct dv_hookrun hr;  /* the tenant's hooks, when it has any */
	bool hooks_on;
	const struct dv_enrol *e;
	uint64_t tenant;
	struct dv_store *store;
	char *hooks_out;
};

/* Inside the enrolment's transaction: the event's kept face is taken (a face
 * is added once), then the tenant's on_enrolled hooks. */
static int dv_enrol_in_tx(void *arg, uint64_t face_id)
{
	struct dv_enrol_tx *t = arg;
	if (t->e->event) {
		int rc = dv_store_event_face_take(t->store, t->tenant, t->e->event, t->e->row.person);
		if (rc)
			return rc;
	}
	if (!t->hooks_on)
		return 0;
	struct dv_hook_event he = {.kind = "enrolled", .person = t->e->row.person, .person_json = t->e->person_json,
	    .distance = -1, .similarity = -1, .face = face_id, .box = t->e->face, .face_index = 0};
	struct dv_buf out;
	dv_buf_init(&out);
	dv_hookrun_fire(&t->hr, &he, &out);
	t->hooks_out = out.data;
	return 0;
}

/* The tenant refuses duplicates? Then a face enrolled as someone else is 409. */
static int dv_enrol_dup_check(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_enrol *e)
{
	if (!e->dup_pid)
		return 0;
	bool refuse = false;
	int rc = dv_store_tenant_flag(oc->store, j->tenant, "reject_duplicates", &refuse);
	if (rc) {
		dv_job_fail(j, rc, "%s", oc->store->err);
		return -1;
	}
	if (refuse) {
		dv_job_fail(j, DV_EDUPLICATE,
		    "this face is already enrolled as person %" PRIu64 " (distance %.3f); the tenant refuses duplicates",
		    e->dup_pid, e->dup_d);
		return -1;
	}
	return 0;
}

/* The face, its "enrolled" event and the on_enrolled hooks in one
 * transaction; then the matcher; then the reply (201). */
static void dv_enrol_commit(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_enrol *e)
{
	struct dv_tenant_brief brief = {0};
	struct dv_enrol_tx tx = {.e = e, .tenant = j->tenant, .store = oc->store};
	uint64_t face_id = 0;
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", j->id);
	int rc;
	tx.hr = (struct dv_hookrun){.hooks = oc->hooks, .store = oc->store, .tenant = j->tenant, .brief = &brief,
	    .visit = e->visit, .request_id = j->id};
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
	rc = dv_store_face_add(oc->store, j->tenant, &e->row, e->visit ? e->visit->location : NULL,
	    e->visit ? e->visit->camera : NULL, rid, &face_id, dv_enrol_in_tx, &tx);
	if (rc == DV_EGONE) {
		dv_job_fail(j, rc, "the face of event %" PRIu64 " was added meanwhile, or expired", e->event);
		goto out;
	}
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person (deleted meanwhile?)" : "%s", oc->store->err);
		goto out;
	}
	/* committed: the matcher knows it before the client does */
	dv_gallery_added(oc->gallery, j->gen, j->tenant, face_id, e->row.vec, e->row.dim);
	struct dv_json js;
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "face_id"); dv_json_uint(&js, face_id);
	dv_json_key(&js, "person_id"); dv_json_uint(&js, e->row.person);
	if (e->event) {
		dv_json_key(&js, "event_id"); dv_json_uint(&js, e->event);
	}
	dv_json_key(&js, "box"); dv_json_raw(&js, e->box_json ? e->box_json : "null");
	if (e->score >= 0) {
		dv_json_key(&js, "score"); dv_json_float(&js, e->score);
	}
	dv_json_key(&js, "quality"); dv_json_num(&js, round(e->row.quality * 1e4) / 1e4);
	if (e->reasons) {
		dv_json_key(&js, "quality_reasons");
		dv_json_arr_open(&js);
		for (int b = 0; b < DV_Q_REASONS; b++)
			if (e->reasons & (1u << b))
				dv_json_str(&js, dv_quality_reason(1u << b));
		dv_json_arr_close(&js);
	}
	dv_json_key(&js, "found_by"); dv_json_str(&js, e->row.found_by ? e->row.found_by : "other");
	dv_json_key(&js, "chip"); dv_json_bool(&js, e->row.chip != NULL);
	if (e->dup_pid) {
		dv_json_key(&js, "duplicate_of");
		dv_json_obj_open(&js);
		dv_json_key(&js, "person"); dv_json_raw(&js, e->dup_person ? e->dup_person : "null");
		dv_json_key(&js, "distance"); dv_json_num(&js, e->dup_d);
		dv_json_obj_close(&js);
	}
	dv_json_key(&js, "model");
	dv_json_obj_open(&js);
	dv_json_key(&js, "embedder"); dv_json_str(&js, e->model);
	dv_json_key(&js, "fingerprint"); dv_json_str(&js, e->fingerprint);
	dv_json_key(&js, "jitter"); dv_json_int(&js, e->jitter);
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
out:
	free(tx.hooks_out);
	dv_hookrun_fini(&tx.hr);
	dv_tenant_brief_fini(&brief);
}

/* A box JSON {"x","y","w","h"} into a face (the hooks' box of a kept face). */
static void dv_face_from_box(const char *json, struct dv_face *f)
{
	memset(f, 0, sizeof *f);
	struct dv_jv *b = json ? dv_jsonp_parse(json, strlen(json), NULL, 0) : NULL;
	const char *k[] = {"x", "y", "w", "h"};
	float *v[] = {&f->x, &f->y, &f->w, &f->h};
	for (int i = 0; i < 4; i++) {
		const struct dv_jv *x = dv_jv_get(b, k[i]);
		if (x && x->type == DV_JNUM)
			*v[i] = (float)x->num;
	}
	f->score = 1;
	dv_jv_free(b);
}

/* POST /v1/persons/{id}/faces?event_id=E: the face a recognition kept
 * (events.face_ttl) becomes the person's — no photo sent again. The event is
 * settled as confirmed for the person when it was not settled. */
static void dv_face_add_event(struct dv_job *j, struct dv_ops_ctx *oc, uint64_t event, bool force,
    const struct dv_visit *visit, const char *person_json)
{
	struct dv_event_face ef;
	struct dv_buf dp;
	dv_buf_init(&dp);
	int rc = dv_store_event_face_get(oc->store, j->tenant, event, &ef);
	if (rc == DV_EGONE) {
		dv_job_fail(j, rc,
		    "the face of event %" PRIu64 " is no longer kept (added already, or older than events.face_ttl, %llds): "
		    "send the photo instead", event, j->gen->conf->events_face_ttl);
		return;
	}
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such event" : "%s", oc->store->err);
		return;
	}
	/* a face from another embedder cannot join this one's gallery */
	const struct dv_embedder_info *ei = j->gen->has_embedder ? &j->gen->einfo : NULL;
	if (!ei || !ef.model || !ef.fingerprint || strcmp(ei->model, ef.model) || strcmp(ei->fingerprint, ef.fingerprint) ||
	    ei->dim != ef.dim) {
		dv_job_fail(j, DV_ECONFLICT,
		    "the face of event %" PRIu64 " was computed by another embedder (%s %.12s); send the photo instead",
		    event, ef.model ? ef.model : "?", ef.fingerprint ? ef.fingerprint : "?");
		goto out;
	}
	if (ef.quality < j->gen->conf->quality_min_enrol && !force) {
		dv_job_fail(j, DV_ELOWQUALITY,
		    "the face's quality is %.2f, under %.2f (quality.min_enrol); take a photo, or add ?force=true",
		    ef.quality, j->gen->conf->quality_min_enrol);
		goto out;
	}
	struct dv_face f;
	dv_face_from_box(ef.box_json, &f);
	struct dv_enrol e = {.row = {.person = j->req.path_id, .vec = ef.vec, .dim = ef.dim, .model = ef.model,
	    .fingerprint = ef.fingerprint, .box_json = ef.box_json, .landmarks_json = ef.landmarks_json,
	    .found_by = ef.found_by, .quality = ef.quality, .chip = ef.chip, .chip_len = ef.chip_len},
	    .face = &f, .box_json = ef.box_json, .score = -1, .model = ef.model, .fingerprint = ef.fingerprint,
	    .event = event, .visit = visit, .person_json = person_json};
	/* the recognition named someone else: a duplicate, as a photo would be */
	if (ef.kind && !strcmp(ef.kind, "recognized") && ef.person && ef.person != j->req.path_id) {
		e.dup_pid = ef.person;
		e.dup_d = ef.distance;
		if (dv_store_person_get(oc->store, j->tenant, ef.person, &dp) == 0)
			e.dup_person = dp.data;
	}
	if (dv_enrol_dup_check(j, oc, &e) == 0)
		dv_enrol_commit(j, oc, &e);
out:
	dv_buf_fini(&dp);
	dv_event_face_fini(&ef);
}

void dv_op_face_add(struct dv_job *j, struct dv_ops_ctx *oc)
{
	static const char *const qs[] = {"location", "camera", "box", "fields", "force", "event_id", NULL};
	static const char *const imgs[] = {"image", NULL};
	struct dv_in in = {0};
	float box[4];
	bool have_box, force = false;
	struct dv_visit visit = {0};
	char *fields = NULL;
	struct dv_job *k = NULL;
	uint8_t *jpg = NULL;
	char *dup_person = NULL;
	long long event = 0;
	struct dv_buf pb;
	dv_buf_init(&pb);
	if (dv_in_query(j, &in, qs) || (j->req.body_len > 0 && dv_in_body(j, &in, imgs)) ||
	    dv_in_label(j, &in, "location", &visit.location) || dv_in_label(j, &in, "camera", &visit.camera) ||
	    dv_in_box(j, &in, box, &have_box) || dv_in_fields(j, &in, &fields) || dv_in_flag(j, &in, "force", &force) ||
	    dv_in_int(j, &in, "event_id", 1, INT64_MAX, 0, &event))
		goto out;
	visit.fields_json = fields;
	if (event && (dv_form_get(&in.form, "image") || have_box)) {
		dv_job_fail(j, DV_EBADREQUEST, "send either a photo or event_id, not both");
		goto out;
	}
	/* the person first: a clear 404 before any image work */
	int rc = dv_store_person_get(oc->store, j->tenant, j->req.path_id, &pb);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		goto out;
	}
	if (event) {
		dv_face_add_event(j, oc, (uint64_t)event, force, &visit, pb.data);
		goto out;
	}
	/* the recognize pipeline, up to its record stage: whose is the nearest face? */
	k = dv_ops_run_image(j, oc, DV_OP_RECOGNIZE, dv_form_get(&in.form, "image"), have_box ? box : NULL, 1, -1,
	    DV_RUN_LOOKUP, &visit, (int)j->gen->conf->enrol_jitter);
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
	struct dv_buf boxj, lmj;
	dv_face_json(f, &boxj, &lmj);
	size_t jlen = 0;
	if (k->res.chips && k->res.aligned && k->res.aligned[0] != 'f')
		dv_image_encode_jpeg(k->res.chips, k->res.chip_w, k->res.chip_h, 90, &jpg, &jlen);
	struct dv_enrol e = {.row = {.person = j->req.path_id, .vec = k->res.embeddings, .dim = k->res.embedding_dim,
	    .model = k->res.einfo.model, .fingerprint = k->res.einfo.fingerprint, .box_json = boxj.data,
	    .landmarks_json = lmj.data, .found_by = dv_pass_name(f->pass), .quality = q ? q->score : dv_quality(f),
	    .chip = jpg, .chip_len = jlen},
	    .face = f, .box_json = boxj.data, .score = f->score, .reasons = q ? q->reasons : 0,
	    .model = k->res.einfo.model, .fingerprint = k->res.einfo.fingerprint, .visit = &visit,
	    .person_json = pb.data,
	    .jitter = k->res.chips && k->res.aligned && k->res.aligned[0] != 'f' ? (int)j->gen->conf->enrol_jitter : 0};
	/* already enrolled as someone else? */
	const struct dv_job_res *kr = &k->res;
	if (kr->matches && kr->n_matches && kr->n_matches[0] > 0 && kr->matches[0].distance <= kr->threshold_used) {
		uint64_t pid = k->res.n_best > 0 ? k->res.best_person[0] : 0;
		if (pid && pid != j->req.path_id && k->res.best_person_json[0]) {
			e.dup_pid = pid;
			e.dup_d = k->res.matches[0].distance;
			e.dup_person = dup_person = strdup(k->res.best_person_json[0]);
		}
	}
	if (dv_enrol_dup_check(j, oc, &e) == 0)
		dv_enrol_commit(j, oc, &e);
	dv_buf_fini(&boxj);
	dv_buf_fini(&lmj);
out:
	dv_buf_fini(&pb);
	free(jpg);
	free(dup_person);
	dv_job_free(k);
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
 * half the threshold without a calibration), named (not a question between
 * people: match.margin_ratio), of enrolment quality, not uncertain, and only
 * up to auto_update_max faces a person. Each is an
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
		if (!m || !person || !r->best_known || !r->best_known[i] || m->distance > strict || q < c->quality_min_enrol ||
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
