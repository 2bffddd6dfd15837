/* dv_record.c — the last two stages of a recognition, on the worker:
 *
 *   record  the persons of the matched faces (one statement); on recognize,
 *           one event per face — recognized with the person, unknown, or
 *           uncertain — opening the request's transaction when hooks follow;
 *   hooks   the tenant's Lua hooks for each face, inside that transaction,
 *           which then commits: the events and the hooks' writes are kept
 *           together or not at all.
 *
 * A pipeline without record looks nothing up and stores nothing (a dry
 * recognize); bare runs (tools, verify) skip both, and so do the runs of
 * enrolment and detect, which only look up (DV_RUN_LOOKUP). */
#include "dv_calib.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_hooklib.h"
#include "dv_hooks.h"
#include "dv_image.h"
#include "dv_pipeline.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_quality.h"
#include "dv_store.h"
#include "dv_work.h"
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the tenant */

int dv_tenant_brief_get(struct dv_store *st, uint64_t tenant, struct dv_tenant_brief *out)
{
	struct dv_buf b;
	dv_buf_init(&b);
	out->target_fpir = -1;
	int rc = dv_store_tenant_brief(st, tenant, &b);
	if (rc == 0 && b.data) {
		struct dv_jv *t = dv_jsonp_parse(b.data, b.len, NULL, 0);
		const struct dv_jv *n = dv_jv_get(t, "name"), *s = dv_jv_get(t, "settings");
		const struct dv_jv *x = s && s->type == DV_JOBJ ? dv_jv_get(s, "target_fpir") : NULL;
		out->target_fpir = x && x->type == DV_JNUM && x->num > 0 && x->num <= 1 ? x->num : -1;
		/* settings.auto_update: confident recognitions add faces, up to auto_update_max_faces (5) a person */
		const struct dv_jv *au = s && s->type == DV_JOBJ ? dv_jv_get(s, "auto_update") : NULL;
		const struct dv_jv *am = s && s->type == DV_JOBJ ? dv_jv_get(s, "auto_update_max_faces") : NULL;
		out->auto_update_max = au && au->type == DV_JBOOL && au->b
		    ? (am && am->type == DV_JNUM && am->num >= 1 && am->num <= 50 ? (int)am->num : 5)
		    : 0;
		if (n && n->type == DV_JSTR)
			snprintf(out->name, sizeof out->name, "%s", n->str);
		if (s && s->type == DV_JOBJ) {
			struct dv_buf sb;
			dv_buf_init(&sb);
			dv_json_value(&sb, s);
			free(out->settings_json);
			out->settings_json = sb.data;
		}
		dv_jv_free(t);
	}
	dv_buf_fini(&b);
	return rc;
}

void dv_tenant_brief_fini(struct dv_tenant_brief *b)
{
	free(b->settings_json);
	b->settings_json = NULL;
}

int dv_work_tenant(struct dv_work *w)
{
	if (w->have_tenant)
		return 0;
	int rc = dv_tenant_brief_get(w->ctx->store, w->ctx->tenant, &w->tenant);
	if (rc) {
		dv_job_fail(w->job, rc, "%s", w->ctx->store->err);
		return -1;
	}
	w->have_tenant = true;
	return 0;
}

/* ---------------------------------------------------------------- a hook run */

int dv_hookrun_acquire(struct dv_hookrun *h)
{
	int rc = 0;
	if (h->hooks && !h->th)
		h->th = dv_hooks_acquire(h->hooks, h->store, h->tenant, &rc);
	return rc;
}

bool dv_hookrun_maybe(const struct dv_hookrun *h) { return dv_hooks_maybe(h->hooks, h->th); }

bool dv_hookrun_on(const struct dv_hookrun *h)
{
	return h->hooks &&
	    dv_hooks_for(h->hooks, h->tenant, h->brief && h->brief->name[0] ? h->brief->name : NULL, h->th);
}

void dv_hookrun_fire(struct dv_hookrun *h, const struct dv_hook_event *ev, struct dv_buf *out)
{
	const struct dv_visit *v = h->visit;
	struct dv_hook_req rq = {.store = h->store, .tenant = h->tenant,
	    .tenant_name = h->brief && h->brief->name[0] ? h->brief->name : NULL, .location = v ? v->location : NULL,
	    .camera = v ? v->camera : NULL, .fields_json = v ? v->fields_json : NULL,
	    .settings_json = h->brief ? h->brief->settings_json : NULL, .request_id = h->request_id, .hooks = h->th};
	h->ran += dv_hooks_fire(h->hooks, &rq, ev, out, &h->errs);
}

void dv_hookrun_json(const struct dv_hookrun *h, struct dv_json *j, const char *key)
{
	/* failures are reported, never fatal: the request is answered */
	dv_json_key(j, key);
	dv_json_obj_open(j);
	dv_json_key(j, "ran");
	dv_json_int(j, h->ran);
	dv_json_key(j, "errors");
	dv_json_arr_open(j);
	if (h->errs.len)
		dv_json_raw(j, h->errs.data);
	dv_json_arr_close(j);
	dv_json_obj_close(j);
}

void dv_hookrun_fini(struct dv_hookrun *h)
{
	dv_buf_fini(&h->errs);
	dv_tenant_hooks_unref(h->th);
	h->th = NULL;
}

/* ---------------------------------------------------------------- record */

static int dv_rec_index(const struct dv_record *r, uint64_t face)
{
	for (int i = 0; i < r->n; i++)
		if (r->faces[i] == face)
			return i;
	return -1;
}

const char *dv_record_person(const struct dv_work *w, uint64_t face, uint64_t *id)
{
	int at = dv_rec_index(&w->rec, face);
	if (id)
		*id = at >= 0 ? w->rec.person_ids[at] : 0;
	return at >= 0 ? w->rec.persons[at] : NULL;
}

bool dv_record_same_person(const struct dv_work *w, uint64_t a, uint64_t b)
{
	const struct dv_record *r = &w->rec;
	int ia = dv_rec_index(r, a), ib = dv_rec_index(r, b);
	return ia >= 0 && ib >= 0 && r->person_ids[ia] && r->person_ids[ia] == r->person_ids[ib];
}

bool dv_record_stands_out(const struct dv_work *w, int i)
{
	double r = w->ctx->conf->match_margin_ratio;
	const struct dv_match *m = w->matches + (size_t)i * w->top_k;
	int n = w->n_matches[i];
	/* without the persons (no record stage) faces cannot be told apart by person */
	if (r >= 1 || n < 2 || !w->rec.person_ids)
		return true;
	for (int k = 1; k < n; k++)
		if (!dv_record_same_person(w, m[0].id, m[k].id))
			return m[0].distance <= r * m[k].distance && m[k].distance > m[0].distance;
	return true; /* every candidate is the same person's */
}

int dv_record_cohort(struct dv_work *w)
{
	const struct dv_job_res *res = &w->job->res;
	if (res->cohort_people <= 0 || !w->rec.person_ids || w->n_faces == 0)
		return 0;
	w->cohort = malloc(sizeof *w->cohort * (size_t)w->n_faces);
	if (!w->cohort)
		return -1;
	for (int i = 0; i < w->n_faces; i++) {
		const struct dv_match *m = w->matches + (size_t)i * w->top_k;
		int n = w->n_matches[i];
		uint64_t seen[DV_COHORT_K + 1];
		double next[DV_COHORT_K];
		int ns = 0, nn = 0;
		w->cohort[i] = NAN;
		if (n < 1)
			continue;
		dv_record_person(w, m[0].id, &seen[ns++]);
		/* the next people: each one's nearest face (the candidates come nearest first) */
		for (int k = 1; k < n && nn < DV_COHORT_K; k++) {
			uint64_t p = 0;
			dv_record_person(w, m[k].id, &p);
			bool dup = !p;
			for (int u = 0; u < ns && !dup; u++)
				dup = seen[u] == p;
			if (dup)
				continue;
			seen[ns++] = p;
			next[nn++] = m[k].distance;
		}
		/* people beyond the candidates are at least as far as the last one:
		 * counting them there makes the score larger, the decision stricter */
		double c = 0;
		for (int u = 0; u < DV_COHORT_K; u++)
			c += (u < nn ? next[u] : m[n - 1].distance) / DV_COHORT_K;
		w->cohort[i] = m[0].distance - DV_COHORT_WEIGHT * c;
	}
	return 0;
}

/* Within the decision's bound: the cohort score's, else the distance's. */
static bool dv_work_within(const struct dv_work *w, int i, double cohort_bound, double distance_bound, bool zero_none)
{
	const struct dv_match *m = w->matches + (size_t)i * w->top_k;
	if (w->n_matches[i] < 1)
		return false;
	if (w->cohort)
		return !isnan(w->cohort[i]) && w->cohort[i] <= cohort_bound;
	return !(zero_none && distance_bound <= 0) && m[0].distance <= distance_bound;
}

bool dv_work_within_threshold(const struct dv_work *w, int i)
{
	return dv_work_within(w, i, w->job->res.cohort_threshold, w->threshold, false);
}

bool dv_work_within_confirm(const struct dv_work *w, int i)
{
	return dv_work_within(w, i, w->job->res.cohort_confirm, w->job->res.confirm_threshold, true);
}

bool dv_work_known(const struct dv_work *w, int i)
{
	return !dv_work_unsure(w, i) && dv_work_within_threshold(w, i) && dv_record_stands_out(w, i);
}

/* Does the job's pipeline run the hooks stage after record? */
static bool dv_hooks_follow(const struct dv_work *w)
{
	const struct dv_conf_pipeline *p = &w->ctx->conf->pipelines[w->job->req.op];
	for (int i = 0; i < p->n_stages; i++)
		if (p->stages[i] == DV_STAGE_HOOKS)
			return w->ctx->mode == DV_RUN_RECORD;
	return false;
}

/* ---------------------------------------------------------------- kept faces */

struct dv_kept {
	bool on;
	struct dv_event_faces k;
	char **landmarks;
	const char **found_by;
	double *quality;
	uint8_t **chips;
	size_t *chip_lens;
	bool *keep;
};

/* The faces of a recognition to keep with their events (events.face_ttl):
 * vectors, landmarks, quality and chips (JPEG, as enrolment stores them) —
 * of the faces the server did not name (events.keep_faces unknown: the
 * stranger to enrol, the unsure match to confirm), or of all. */
static void dv_kept_make(const struct dv_work *w, struct dv_kept *kp)
{
	int n = w->n_faces, any = 0;
	long long ttl = w->ctx->conf->events_face_ttl;
	const char *which = w->ctx->conf->events_keep_faces;
	bool all = which && !strcmp(which, "all");
	if (ttl <= 0 || n <= 0 || !w->emb || !w->einfo.model[0] || w->einfo.dim <= 0)
		return;
	for (int i = 0; i < n; i++)
		any += all || !strcmp(w->rec.ev[i].kind, "unknown");
	if (!any)
		return;
	kp->landmarks = calloc((size_t)n, sizeof *kp->landmarks);
	kp->found_by = calloc((size_t)n, sizeof *kp->found_by);
	kp->quality = calloc((size_t)n, sizeof *kp->quality);
	kp->chips = calloc((size_t)n, sizeof *kp->chips);
	kp->chip_lens = calloc((size_t)n, sizeof *kp->chip_lens);
	kp->keep = calloc((size_t)n, sizeof *kp->keep);
	if (!kp->landmarks || !kp->found_by || !kp->quality || !kp->chips || !kp->chip_lens || !kp->keep)
		return; /* out of memory: not kept (dv_kept_fini frees what there is) */
	size_t cs = (size_t)w->einfo.chip_width * w->einfo.chip_height * 3;
	for (int i = 0; i < n; i++) {
		kp->keep[i] = all || !strcmp(w->rec.ev[i].kind, "unknown");
		if (!kp->keep[i])
			continue;
		struct dv_buf lb;
		dv_buf_init(&lb);
		dv_face_landmarks_json(&lb, &w->faces[i]);
		kp->landmarks[i] = lb.data;
		kp->found_by[i] = dv_pass_name(w->faces[i].pass);
		kp->quality[i] = w->quality ? w->quality[i].score : w->faces[i].score;
		if (w->chips && w->aligned && w->aligned[i] != 'f' && cs)
			dv_image_encode_jpeg(w->chips + cs * (size_t)i, w->einfo.chip_width, w->einfo.chip_height, 90,
			    &kp->chips[i], &kp->chip_lens[i]);
	}
	kp->k = (struct dv_event_faces){.vecs = w->emb, .dim = w->einfo.dim, .model = w->einfo.model,
	    .fingerprint = w->einfo.fingerprint, .landmarks_json = (const char *const *)kp->landmarks,
	    .found_by = kp->found_by, .quality = kp->quality, .chips = kp->chips, .chip_lens = kp->chip_lens,
	    .keep = kp->keep, .ttl = ttl};
	kp->on = true;
}

static void dv_kept_fini(struct dv_kept *kp, int n)
{
	dv_strv_free(kp->landmarks, kp->landmarks ? n : 0);
	for (int i = 0; kp->chips && i < n; i++)
		free(kp->chips[i]);
	free(kp->chips);
	free(kp->chip_lens);
	free(kp->found_by);
	free(kp->quality);
	free(kp->keep);
}

int dv_stage_record(struct dv_work *w)
{
	struct dv_record *r = &w->rec;
	struct dv_job *job = w->job;
	struct dv_store *st = w->ctx->store;
	int n_faces = w->n_faces, top_k = w->top_k;
	/* the persons of every matched face, in one statement */
	int cap = n_faces * top_k;
	r->faces = calloc((size_t)(cap ? cap : 1), sizeof *r->faces);
	r->persons = calloc((size_t)(cap ? cap : 1), sizeof *r->persons);
	r->person_ids = calloc((size_t)(cap ? cap : 1), sizeof *r->person_ids);
	if (!r->faces || !r->persons || !r->person_ids) {
		dv_job_fail(job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_faces; i++)
		for (int k = 0; k < w->n_matches[i]; k++) {
			uint64_t id = w->matches[(size_t)i * top_k + k].id;
			if (dv_rec_index(r, id) < 0)
				r->faces[r->n++] = id;
		}
	DV_ASSERT(r->n <= cap);
	int rc = dv_store_persons_of_faces(st, w->ctx->tenant, r->faces, r->n, r->persons, r->person_ids);
	if (rc) {
		dv_job_fail(job, rc, "%s", st->err);
		return -1;
	}
	if (dv_record_cohort(w) != 0) {
		dv_job_fail(job, DV_ENOMEM, "out of memory");
		return -1;
	}
	if (w->ctx->mode != DV_RUN_RECORD)
		return 0;
	/* the tenant's settings say whether confident recognitions add faces */
	if (dv_work_tenant(w) != 0)
		return -1;
	job->res.auto_update_max = w->tenant.auto_update_max;
	/* the tenant's hooks, when the hooks stage follows */
	r->hr = (struct dv_hookrun){.hooks = w->ctx->hooks, .store = st, .tenant = w->ctx->tenant, .brief = &w->tenant,
	    .visit = w->ctx->visit, .request_id = job->id, .th = dv_tenant_hooks_ref(w->ctx->tenant_hooks)};
	if (dv_hooks_follow(w) && w->ctx->hooks) {
		if ((rc = dv_hookrun_acquire(&r->hr)) != 0) {
			dv_job_fail(job, rc, "the tenant's hooks cannot be read: %s", st->err);
			return -1;
		}
		if (dv_hookrun_maybe(&r->hr)) {
			if (dv_work_tenant(w) != 0)
				return -1;
			r->hooks_on = dv_hookrun_on(&r->hr);
		}
	}
	if (n_faces == 0)
		return 0;
	/* one event per face: recognized (with the person), unknown or uncertain */
	r->ev = calloc((size_t)n_faces, sizeof *r->ev);
	r->boxes = calloc((size_t)n_faces, sizeof *r->boxes);
	r->event_ids = calloc((size_t)n_faces, sizeof *r->event_ids);
	if (!r->ev || !r->boxes || !r->event_ids) {
		dv_job_fail(job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_faces; i++) {
		const struct dv_match *best = w->n_matches[i] > 0 ? &w->matches[(size_t)i * top_k] : NULL;
		int at = best ? dv_rec_index(r, best->id) : -1;
		bool unsure = dv_work_unsure(w, i);
		bool known = !unsure && best && dv_work_known(w, i) && at >= 0 && r->person_ids[at];
		struct dv_event_row *e = &r->ev[i];
		e->kind = known ? "recognized" : unsure ? "uncertain" : "unknown";
		e->person = known ? r->person_ids[at] : 0;
		e->face = known ? best->id : 0;
		e->distance = best ? best->distance : -1;
		e->similarity = best ? dv_similarity(best->distance, w->threshold) : -1;
		struct dv_buf b;
		dv_buf_init(&b);
		dv_face_box_json(&b, &w->faces[i]);
		r->boxes[i] = b.data;
		e->box_json = b.data;
	}
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", job->id);
	const struct dv_visit *v = w->ctx->visit;
	/* each face kept with its event for events.face_ttl, to be added to a person later */
	struct dv_kept kept = {0};
	dv_kept_make(w, &kept);
	/* with hooks to run: the events and the hooks' writes commit together */
	rc = r->hooks_on ? dv_store_begin(st) : 0;
	r->in_tx = r->hooks_on && !rc;
	if (!rc)
		rc = dv_store_events_add(st, w->ctx->tenant, r->ev, n_faces, v ? v->location : NULL,
		    v ? v->camera : NULL, rid, r->event_ids, kept.on ? &kept.k : NULL);
	dv_kept_fini(&kept, n_faces);
	if (rc) {
		dv_job_fail(job, rc, "the recognition could not be recorded: %s", st->err);
		return -1;
	}
	r->events_written = n_faces;
	return 0;
}

/* ---------------------------------------------------------------- hooks */

int dv_stage_hooks(struct dv_work *w)
{
	struct dv_record *r = &w->rec;
	DV_ASSERT(!r->in_tx || r->hooks_on); /* record opens the transaction only for the hooks */
	if (!r->hooks_on || !r->ev)
		return 0;
	r->face_hooks = calloc((size_t)w->n_faces, sizeof *r->face_hooks);
	r->n_face_hooks = r->face_hooks ? w->n_faces : 0;
	for (int i = 0; i < r->n_face_hooks; i++) {
		const struct dv_event_row *e = &r->ev[i];
		struct dv_hook_event he = {.kind = e->kind, .person = e->person,
		    .person_json = e->person ? dv_record_person(w, e->face, NULL) : NULL, .distance = e->distance,
		    .similarity = e->similarity, .face = e->face, .box = &w->faces[i], .face_index = i};
		struct dv_buf out;
		dv_buf_init(&out);
		dv_hookrun_fire(&r->hr, &he, &out);
		r->face_hooks[i] = out.data;
	}
	/* the request's transaction: its events and every hook's writes */
	int rc = dv_store_commit(w->ctx->store);
	r->in_tx = false;
	if (rc) {
		dv_store_rollback(w->ctx->store);
		dv_job_fail(w->job, rc, "the recognition could not be recorded: %s", w->ctx->store->err);
		return -1;
	}
	return 0;
}

void dv_record_fini(struct dv_work *w)
{
	struct dv_record *r = &w->rec;
	if (r->in_tx) /* a stage failed inside the transaction: nothing of it is kept */
		dv_store_rollback(w->ctx->store);
	r->in_tx = false;
	dv_strv_free(r->face_hooks, r->n_face_hooks);
	dv_hookrun_fini(&r->hr);
	dv_strv_free(r->persons, r->n);
	dv_strv_free(r->boxes, r->boxes ? w->n_faces : 0);
	free(r->faces);
	free(r->person_ids);
	free(r->ev);
	free(r->event_ids);
	dv_tenant_brief_fini(&w->tenant);
}
