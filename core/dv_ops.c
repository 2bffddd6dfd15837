/* dv_ops.c — the HTTP API's operations on a worker thread (see dv_ops.h).
 * Each operation reads its inputs, calls the pipeline and the store, and
 * leaves either job->err or job->reply (+ job->status). Every statement on
 * tenant data goes through dv_store.c with the authenticated tenant. */
#include "dv_ops.h"
#include "dv_api.h"
#include "dv_err.h"
#include "dv_form.h"
#include "dv_gallery.h"
#include "dv_quality.h"
#include "dv_gen.h"
#include "dv_hooks.h"
#include "dv_image.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_log.h"
#include "dv_store.h"
#include "dv_webhook.h"
#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <strings.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- inputs */

struct dv_in {
	struct dv_form form;
	struct evkeyvalq q;
	bool have_q;
};

static void dv_in_fini(struct dv_in *in)
{
	dv_form_fini(&in->form);
	if (in->have_q)
		evhttp_clear_headers(&in->q);
}

/* Query parameters: only those in allowed (NULL-terminated) are accepted. */
static int dv_in_query(struct dv_job *j, struct dv_in *in, const char *const *allowed)
{
	TAILQ_INIT(&in->q);
	in->have_q = true;
	if (!j->query || !*j->query)
		return 0;
	if (evhttp_parse_query_str(j->query, &in->q) != 0) {
		dv_job_fail(j, DV_EBADREQUEST, "the query string is malformed");
		return -1;
	}
	for (struct evkeyval *e = in->q.tqh_first; e; e = e->next.tqe_next) {
		int found = 0;
		for (int i = 0; allowed && allowed[i]; i++)
			found |= !strcmp(allowed[i], e->key);
		if (!found) {
			char list[256] = "";
			for (int i = 0; allowed && allowed[i]; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
			dv_job_fail(j, DV_EBADREQUEST, "unknown query parameter '%.64s' (expected %s)", e->key,
			    list[0] ? list : "none");
			return -1;
		}
	}
	return 0;
}

/* A parameter from the query or, failing that, the body's fields. */
static const char *dv_in_get(struct dv_in *in, const char *name)
{
	const char *v = in->have_q ? evhttp_find_header(&in->q, name) : NULL;
	return v ? v : dv_form_text(&in->form, name);
}

static int dv_in_body(struct dv_job *j, struct dv_in *in, const char *const *image_keys)
{
	char err[256];
	int r = dv_form_parse(&in->form, j->ctype, j->body, j->body_len, image_keys, err, sizeof err);
	if (r) {
		dv_job_fail(j, r, "%s", err);
		return -1;
	}
	return 0;
}

/* JSON body only (CRUD operations). An empty body is an empty object. */
static const struct dv_jv *dv_in_json(struct dv_job *j, struct dv_in *in)
{
	if (j->body_len == 0) {
		in->form.json = dv_jsonp_parse("{}", 2, NULL, 0);
		return in->form.json;
	}
	if (j->ctype && strncasecmp(j->ctype, "application/json", 16)) {
		dv_job_fail(j, DV_EMEDIATYPE, "send application/json");
		return NULL;
	}
	static const char *const none[] = {NULL};
	if (dv_in_body(j, in, none) != 0)
		return NULL;
	return in->form.json;
}

static int dv_in_int(struct dv_job *j, struct dv_in *in, const char *name, long long lo, long long hi, long long def,
    long long *out)
{
	const char *v = dv_in_get(in, name);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be an integer from %lld to %lld", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* A true/false parameter (also 1/0, yes/no); absent = false. */
static int dv_in_flag(struct dv_job *j, struct dv_in *in, const char *name, bool *out)
{
	const char *v = dv_in_get(in, name);
	*out = false;
	if (!v)
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	dv_job_fail(j, DV_EBADREQUEST, "%s must be true or false", name);
	return -1;
}

static int dv_in_num(struct dv_job *j, struct dv_in *in, const char *name, double lo, double hi, double def,
    double *out)
{
	const char *v = dv_in_get(in, name);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !(x >= lo && x <= hi)) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be a number from %g to %g", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* A short text field (location, camera): printable, at most 200 bytes. */
static int dv_in_label(struct dv_job *j, struct dv_in *in, const char *name, const char **out)
{
	*out = dv_in_get(in, name);
	if (*out && (strlen(*out) > 200 || !**out)) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be 1 to 200 characters", name);
		return -1;
	}
	return 0;
}

static void dv_json_of(struct dv_buf *b, const struct dv_jv *v);

static void dv_json_of_str(struct dv_buf *b, const struct dv_jv *v)
{
	dv_json_escape(b, v->str, v->len);
}

/* Re-serialise a parsed JSON value (to pass client JSON on to PostgreSQL). */
static void dv_json_of(struct dv_buf *b, const struct dv_jv *v)
{
	switch (v->type) {
	case DV_JNULL: dv_buf_puts(b, "null"); break;
	case DV_JBOOL: dv_buf_puts(b, v->b ? "true" : "false"); break;
	case DV_JNUM: dv_buf_printf(b, "%.17g", v->num); break;
	case DV_JSTR: dv_json_of_str(b, v); break;
	case DV_JARR:
		dv_buf_puts(b, "[");
		for (int i = 0; i < v->n; i++) {
			if (i)
				dv_buf_puts(b, ",");
			dv_json_of(b, v->items[i]);
		}
		dv_buf_puts(b, "]");
		break;
	case DV_JOBJ:
		dv_buf_puts(b, "{");
		for (int i = 0; i < v->n; i++) {
			if (i)
				dv_buf_puts(b, ",");
			dv_json_escape(b, v->keys[i], strlen(v->keys[i]));
			dv_buf_puts(b, ":");
			dv_json_of(b, v->items[i]);
		}
		dv_buf_puts(b, "}");
		break;
	}
}

/* A string member: NULL when absent; fails the job when of another type
 * or longer than max. */
static int dv_jstr(struct dv_job *j, const struct dv_jv *o, const char *k, size_t max, const char **out, bool *is_null)
{
	const struct dv_jv *v = dv_jv_get(o, k);
	*out = NULL;
	if (is_null)
		*is_null = v && v->type == DV_JNULL;
	if (!v || v->type == DV_JNULL)
		return 0;
	if (v->type != DV_JSTR || v->len == 0 || v->len > max || memchr(v->str, 0, v->len)) {
		dv_job_fail(j, DV_EINVALID, "%s must be a non-empty string of at most %zu bytes", k, max);
		return -1;
	}
	*out = v->str;
	return 0;
}

/* ---------------------------------------------------------------- pipeline */

/* Run the pipeline for op on an image; returns the sub-job (caller frees)
 * or NULL with j failed. */
static struct dv_job *dv_run_image(struct dv_job *j, struct dv_ops_ctx *oc, int pop, const struct dv_field *img,
    const float *box, int top_k, double threshold, const struct dv_pipeline_hooks *hooks, void *harg)
{
	if (!img) {
		dv_job_fail(j, DV_EBADREQUEST, "no image: send the image bytes as the body, a multipart field 'image' or JSON {\"image\": base64}");
		return NULL;
	}
	if (img->len == 0) {
		dv_job_fail(j, DV_EBADIMAGE, "the image is empty (zero bytes)");
		return NULL;
	}
	struct dv_job *k = dv_job_new(pop, j->gen);
	if (!k || !(k->body = malloc(img->len))) {
		dv_job_free(k);
		dv_job_fail(j, DV_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(k->body, img->data, img->len);
	k->body_len = img->len;
	k->keep_embeddings = true;
	k->top_k = top_k;
	k->threshold = threshold;
	k->queue_ms = j->queue_ms;
	k->id = j->id;
	if (box) {
		k->has_box = true;
		memcpy(k->box, box, sizeof k->box);
	}
	struct dv_pipeline_ctx pc = oc->pipe;
	pc.tenant = j->tenant;
	pc.hooks = hooks;
	pc.hooks_arg = harg;
	dv_pipeline_run(k, &pc);
	for (int s = 0; s < DV_STAGE_COUNT; s++)
		if (k->stage_ran[s]) {
			j->stage_ran[s] = true;
			j->stage_ms[s] += k->stage_ms[s];
		}
	if (k->record_ms >= 0) /* summed over the images of the job; -1 until one records */
		j->record_ms = (j->record_ms < 0 ? 0 : j->record_ms) + k->record_ms;
	if (k->err) {
		dv_job_fail(j, k->err, "%s", k->errmsg);
		dv_job_free(k);
		return NULL;
	}
	return k;
}

static void dv_box_json(struct dv_buf *b, const struct dv_face *f)
{
	dv_buf_printf(b, "{\"x\":%.2f,\"y\":%.2f,\"w\":%.2f,\"h\":%.2f}", f->x, f->y, f->w, f->h);
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

/* The box named by the client: "x,y,w,h" text or a JSON [x,y,w,h] / {x,y,w,h}. */
static int dv_in_box(struct dv_job *j, struct dv_in *in, float box[4], bool *have)
{
	*have = false;
	const struct dv_jv *v = in->form.json ? dv_jv_get(in->form.json, "box") : NULL;
	if (v && v->type != DV_JNULL) {
		static const char *const k[] = {"x", "y", "w", "h"};
		for (int i = 0; i < 4; i++) {
			const struct dv_jv *x = v->type == DV_JARR && v->n == 4 ? v->items[i] : v->type == DV_JOBJ ? dv_jv_get(v, k[i]) : NULL;
			if (!x || x->type != DV_JNUM) {
				dv_job_fail(j, DV_EINVALID, "box must be [x, y, w, h] or {\"x\",\"y\",\"w\",\"h\"} in pixels");
				return -1;
			}
			box[i] = (float)x->num;
		}
		*have = true;
		return 0;
	}
	const char *t = in->form.json ? NULL : dv_in_get(in, "box");
	if (t) {
		if (sscanf(t, "%f,%f,%f,%f", &box[0], &box[1], &box[2], &box[3]) != 4) {
			dv_job_fail(j, DV_EINVALID, "box must be x,y,w,h in pixels");
			return -1;
		}
		*have = true;
	}
	return 0;
}

/* ---------------------------------------------------------------- recognize */

struct dv_rec {
	struct dv_job *outer;
	struct dv_ops_ctx *oc;
	const char *location, *camera;
	uint64_t *faces;     /* face ids looked up */
	char **persons;      /* their person JSON */
	uint64_t *person_ids;
	int n;
	bool events;         /* write events */
	int events_written;
	/* hooks */
	char *fields_json;   /* the client's "fields" */
	char **face_hooks;   /* per face: {"hook": {...}, ...} */
	int n_face_hooks;
	struct dv_buf hook_errs;
	int hooks_ran;
	bool hooks_on;
	char tenant_name[256];
	char *settings_json;
};

/* The tenant's name and settings (for its hooks: hooks.tenants may name it;
 * for its decision: settings.target_fpir); whether a set of hooks applies. */
static bool dv_rec_hooks_on(struct dv_rec *r)
{
	const struct dv_gen *g = r->outer->gen;
	bool decide = g->calib && !strcmp(g->conf->match_decision, "fpir");
	if (!r->oc->hooks && !decide)
		return false;
	struct dv_buf b;
	dv_buf_init(&b);
	if (dv_store_tenant_brief(r->oc->store, r->outer->tenant, &b) == 0 && b.data) {
		struct dv_jv *t = dv_jsonp_parse(b.data, b.len, NULL, 0);
		const struct dv_jv *n = dv_jv_get(t, "name"), *st = dv_jv_get(t, "settings");
		if (n && n->type == DV_JSTR)
			snprintf(r->tenant_name, sizeof r->tenant_name, "%s", n->str);
		if (st && st->type == DV_JOBJ) {
			struct dv_buf sb;
			dv_buf_init(&sb);
			dv_json_of(&sb, st);
			free(r->settings_json);
			r->settings_json = sb.data;
		}
		dv_jv_free(t);
	}
	dv_buf_fini(&b);
	return r->oc->hooks && dv_hooks_for(r->oc->hooks, r->outer->tenant, r->tenant_name[0] ? r->tenant_name : NULL);
}

static void dv_rec_req(struct dv_rec *r, struct dv_hook_req *rq)
{
	*rq = (struct dv_hook_req){.store = r->oc->store, .tenant = r->outer->tenant,
	    .tenant_name = r->tenant_name[0] ? r->tenant_name : NULL, .location = r->location, .camera = r->camera,
	    .fields_json = r->fields_json, .settings_json = r->settings_json, .request_id = r->outer->id};
}

static int dv_rec_index(const struct dv_rec *r, uint64_t face)
{
	for (int i = 0; i < r->n; i++)
		if (r->faces[i] == face)
			return i;
	return -1;
}

/* The tenant's own target_fpir setting, or -1. */
static double dv_rec_target(const struct dv_rec *r)
{
	double v = -1;
	if (!r->settings_json)
		return v;
	struct dv_jv *t = dv_jsonp_parse(r->settings_json, strlen(r->settings_json), NULL, 0);
	const struct dv_jv *x = dv_jv_get(t, "target_fpir");
	if (x && x->type == DV_JNUM && x->num > 0 && x->num <= 1)
		v = x->num;
	dv_jv_free(t);
	return v;
}

/* "Known" is a decision: for a tenant with N enrolled faces, the threshold
 * at which a stranger gets some name with the target probability (N x FMR(t)
 * = target, from the embedder's calibration table), unless the request set
 * its own or the configuration decides by a fixed threshold. */
static void dv_rec_decide(struct dv_rec *r, struct dv_job *job, double *threshold)
{
	const struct dv_gen *g = job->gen;
	if (g->calib)
		job->gallery_n = dv_gallery_tenant_faces(r->oc->gallery, r->outer->tenant);
	if (job->decision == DV_DECIDE_REQUEST || !g->calib || strcmp(g->conf->match_decision, "fpir")) {
		if (job->decision != DV_DECIDE_REQUEST)
			job->decision = DV_DECIDE_THRESHOLD;
		job->confirm_threshold = *threshold + 0.05;
		return;
	}
	double target = dv_rec_target(r);
	job->target_fpir = target > 0 ? target : g->conf->match_target_fpir;
	job->decision = DV_DECIDE_FPIR;
	*threshold = dv_calib_threshold(g->calib, job->gallery_n, job->target_fpir);
	/* a person within the threshold of ten times the target is worth asking about */
	double loose = job->target_fpir * 10 > 0.5 ? 0.5 : job->target_fpir * 10;
	job->confirm_threshold = dv_calib_threshold(g->calib, job->gallery_n, loose);
}

static int dv_rec_resolve(void *arg, struct dv_job *job, const struct dv_match *m, const int *n_m, int n_faces,
    int top_k, double *thresholdp)
{
	struct dv_rec *r = arg;
	/* the tenant's name and settings (its hooks and its decision use them) */
	r->hooks_on = dv_rec_hooks_on(r);
	dv_rec_decide(r, job, thresholdp);
	double threshold = *thresholdp;
	int cap = n_faces * top_k;
	r->faces = calloc((size_t)(cap ? cap : 1), sizeof *r->faces);
	r->persons = calloc((size_t)(cap ? cap : 1), sizeof *r->persons);
	r->person_ids = calloc((size_t)(cap ? cap : 1), sizeof *r->person_ids);
	if (!r->faces || !r->persons || !r->person_ids) {
		dv_job_fail(job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_faces; i++)
		for (int k = 0; k < n_m[i]; k++) {
			uint64_t id = m[(size_t)i * top_k + k].id;
			if (dv_rec_index(r, id) < 0)
				r->faces[r->n++] = id;
		}
	int rc = dv_store_persons_of_faces(r->oc->store, r->outer->tenant, r->faces, r->n, r->persons, r->person_ids);
	if (rc) {
		dv_job_fail(job, rc, "%s", r->oc->store->err);
		return -1;
	}
	if (!r->events || n_faces == 0)
		return 0;
	/* one event per face: recognized (with the person) or unknown */
	struct dv_event_row *ev = calloc((size_t)n_faces, sizeof *ev);
	char **boxes = calloc((size_t)n_faces, sizeof *boxes);
	if (!ev || !boxes) {
		free(ev);
		free(boxes);
		dv_job_fail(job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_faces; i++) {
		const struct dv_match *best = n_m[i] > 0 ? &m[(size_t)i * top_k] : NULL;
		int at = best ? dv_rec_index(r, best->id) : -1;
		bool unsure = job->quality && job->quality[i].score < job->gen->conf->quality_min_recognize;
		bool known = !unsure && best && best->distance <= threshold && at >= 0 && r->person_ids[at];
		ev[i].kind = known ? "recognized" : unsure ? "uncertain" : "unknown";
		ev[i].person = known ? r->person_ids[at] : 0;
		ev[i].face = known ? best->id : 0;
		ev[i].distance = best ? best->distance : -1;
		ev[i].similarity = best ? dv_similarity(best->distance, threshold) : -1;
		struct dv_buf b;
		dv_buf_init(&b);
		if (job->faces)
			dv_box_json(&b, &job->faces[i]);
		boxes[i] = b.data;
		ev[i].box_json = boxes[i];
	}
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", r->outer->id);
	/* with hooks: the events and the hooks' writes commit together */
	rc = r->hooks_on ? dv_store_begin(r->oc->store) : 0;
	if (!rc)
		rc = dv_store_events_add(r->oc->store, r->outer->tenant, ev, n_faces, r->location, r->camera, rid);
	if (!rc && r->hooks_on) {
		r->face_hooks = calloc((size_t)n_faces, sizeof *r->face_hooks);
		r->n_face_hooks = r->face_hooks ? n_faces : 0;
		struct dv_hook_req rq;
		dv_rec_req(r, &rq);
		for (int i = 0; i < r->n_face_hooks; i++) {
			int at = ev[i].person ? dv_rec_index(r, ev[i].face) : -1;
			struct dv_hook_event he = {.kind = ev[i].kind, .person = ev[i].person,
			    .person_json = at >= 0 ? r->persons[at] : NULL, .distance = ev[i].distance,
			    .similarity = ev[i].similarity, .face = ev[i].face, .box = job->faces ? &job->faces[i] : NULL,
			    .face_index = i};
			struct dv_buf out;
			dv_buf_init(&out);
			r->hooks_ran += dv_hooks_fire(r->oc->hooks, &rq, &he, &out, &r->hook_errs);
			r->face_hooks[i] = out.data;
		}
		rc = dv_store_commit(r->oc->store);
	}
	if (rc && r->hooks_on)
		dv_store_rollback(r->oc->store);
	for (int i = 0; i < n_faces; i++)
		free(boxes[i]);
	free(boxes);
	free(ev);
	if (rc) {
		dv_job_fail(job, rc, "the recognition could not be recorded: %s", r->oc->store->err);
		return -1;
	}
	r->events_written = n_faces;
	return 0;
}

static void dv_rec_face_json(void *arg, struct dv_json *j, int face)
{
	struct dv_rec *r = arg;
	if (face < r->n_face_hooks && r->face_hooks[face] && strcmp(r->face_hooks[face], "{}")) {
		dv_json_key(j, "hooks");
		dv_json_raw(j, r->face_hooks[face]);
	}
}

static void dv_rec_match_json(void *arg, struct dv_json *j, uint64_t face)
{
	struct dv_rec *r = arg;
	int at = dv_rec_index(r, face);
	if (at >= 0 && r->persons[at]) {
		dv_json_key(j, "person");
		dv_json_raw(j, r->persons[at]);
	}
}

static void dv_rec_reply_json(void *arg, struct dv_json *j)
{
	struct dv_rec *r = arg;
	if (r->location) {
		dv_json_key(j, "location");
		dv_json_str(j, r->location);
	}
	if (r->camera) {
		dv_json_key(j, "camera");
		dv_json_str(j, r->camera);
	}
	if (r->events) {
		dv_json_key(j, "events_recorded");
		dv_json_int(j, r->events_written);
	}
	if (r->hooks_on) {
		/* failures are reported, never fatal: the request is answered */
		dv_json_key(j, "hooks");
		dv_json_obj_open(j);
		dv_json_key(j, "ran");
		dv_json_int(j, r->hooks_ran);
		dv_json_key(j, "errors");
		dv_json_arr_open(j);
		if (r->hook_errs.len)
			dv_json_raw(j, r->hook_errs.data);
		dv_json_arr_close(j);
		dv_json_obj_close(j);
	}
}

static void dv_rec_fini(struct dv_rec *r)
{
	for (int i = 0; i < r->n_face_hooks; i++)
		free(r->face_hooks[i]);
	free(r->face_hooks);
	free(r->fields_json);
	free(r->settings_json);
	dv_buf_fini(&r->hook_errs);
	for (int i = 0; i < r->n; i++)
		free(r->persons[i]);
	free(r->persons);
	free(r->faces);
	free(r->person_ids);
}

static bool dv_rec_same_person(void *arg, uint64_t a, uint64_t b)
{
	struct dv_rec *r = arg;
	int ia = dv_rec_index(r, a), ib = dv_rec_index(r, b);
	return ia >= 0 && ib >= 0 && r->person_ids[ia] && r->person_ids[ia] == r->person_ids[ib];
}

static const struct dv_pipeline_hooks dv_rec_hooks = {dv_rec_resolve, dv_rec_match_json, dv_rec_face_json,
    dv_rec_reply_json, dv_rec_same_person};

/* The client's "fields" for the hooks: a JSON object (JSON body member, or a
 * multipart/query text holding JSON). */
static int dv_in_fields(struct dv_job *j, struct dv_in *in, char **out)
{
	*out = NULL;
	const struct dv_jv *v = in->form.json ? dv_jv_get(in->form.json, "fields") : NULL;
	struct dv_jv *parsed = NULL;
	if (!v) {
		const char *t = dv_in_get(in, "fields");
		if (!t)
			return 0;
		char err[128];
		v = parsed = dv_jsonp_parse(t, strlen(t), err, sizeof err);
	}
	if (!v || v->type != DV_JOBJ) {
		dv_jv_free(parsed);
		dv_job_fail(j, DV_EINVALID, "fields must be a JSON object");
		return -1;
	}
	struct dv_buf b;
	dv_buf_init(&b);
	dv_json_of(&b, v);
	dv_jv_free(parsed);
	if (b.len > 16 * 1024) {
		dv_buf_fini(&b);
		dv_job_fail(j, DV_EINVALID, "fields are limited to 16 KiB of JSON");
		return -1;
	}
	*out = b.data;
	return 0;
}

static void dv_op_recognize(struct dv_job *j, struct dv_ops_ctx *oc, int pop)
{
	static const char *const qs[] = {"top_k", "threshold", "location", "camera", "fields", NULL};
	static const char *const imgs[] = {"image", NULL};
	struct dv_in in = {0};
	long long top_k;
	double thr;
	struct dv_rec r = {.outer = j, .oc = oc, .events = pop == DV_OP_RECOGNIZE};
	if (dv_in_query(j, &in, qs) || dv_in_body(j, &in, imgs) ||
	    dv_in_int(j, &in, "top_k", 1, 100, 0, &top_k) ||
	    dv_in_num(j, &in, "threshold", 0, j->gen->conf->match_threshold_max, -1, &thr) ||
	    dv_in_label(j, &in, "location", &r.location) || dv_in_label(j, &in, "camera", &r.camera) ||
	    dv_in_fields(j, &in, &r.fields_json))
		goto out;
	struct dv_job *k = dv_run_image(j, oc, pop, dv_form_get(&in.form, "image"), NULL, (int)top_k, thr, &dv_rec_hooks, &r);
	if (k) {
		/* the pipeline's reply is the answer */
		dv_buf_fini(&j->reply);
		j->reply = k->reply;
		dv_buf_init(&k->reply);
		dv_job_free(k);
	}
out:
	dv_rec_fini(&r);
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- verify */

/* The largest face's vector of an image (malloc'd) and its box. */
static float *dv_one_vector(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_field *img, const char *which,
    struct dv_face *face, int *dim, struct dv_embedder_info *einfo, int *n_faces)
{
	struct dv_job *k = dv_run_image(j, oc, DV_OP_RECOGNIZE, img, NULL, 1, -1, NULL, NULL);
	if (!k)
		return NULL;
	float *v = NULL;
	*n_faces = k->n_embeddings;
	if (k->n_embeddings == 0 || !k->embeddings) {
		dv_job_fail(j, k->embeddings || k->n_embeddings == 0 ? DV_ENOFACE : DV_ENOPIPELINE,
		    k->n_embeddings == 0 ? "no face was found in %s" : "the recognize pipeline has no embed stage (%s)", which);
	} else {
		int best = 0;
		for (int i = 1; i < k->n_embeddings; i++)
			if (k->faces[i].w * k->faces[i].h > k->faces[best].w * k->faces[best].h)
				best = i;
		*dim = k->embedding_dim;
		*face = k->faces[best];
		*einfo = k->einfo;
		v = malloc(sizeof *v * (size_t)*dim);
		if (v)
			memcpy(v, k->embeddings + (size_t)best * *dim, sizeof *v * (size_t)*dim);
	}
	dv_job_free(k);
	return v;
}

static double dv_dist(const float *a, const float *b, int d)
{
	double s = 0;
	for (int i = 0; i < d; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sqrt(s);
}

static void dv_op_verify(struct dv_job *j, struct dv_ops_ctx *oc)
{
	static const char *const qs[] = {"threshold", "person_id", NULL};
	static const char *const imgs[] = {"image", "image_a", "image_b", NULL};
	struct dv_in in = {0};
	double thr;
	long long person;
	float *a = NULL, *b = NULL, *pv = NULL;
	if (dv_in_query(j, &in, qs) || dv_in_body(j, &in, imgs) ||
	    dv_in_num(j, &in, "threshold", 0, j->gen->conf->match_threshold_max, j->gen->conf->match_threshold, &thr) ||
	    dv_in_int(j, &in, "person_id", 1, INT64_MAX, 0, &person))
		goto out;
	const struct dv_field *ia = dv_form_get(&in.form, "image_a"), *ib = dv_form_get(&in.form, "image_b");
	if (!ia)
		ia = dv_form_get(&in.form, "image");
	if (!ia || (!ib && !person) || (ib && person)) {
		dv_job_fail(j, DV_EBADREQUEST,
		    "send two images (image_a and image_b), or one image (image) and person_id");
		goto out;
	}
	struct dv_face fa, fb;
	struct dv_embedder_info ea, eb;
	int dim = 0, dimb = 0, na = 0, nb = 0;
	a = dv_one_vector(j, oc, ia, ib ? "image_a" : "the image", &fa, &dim, &ea, &na);
	if (!a)
		goto out;
	double d = INFINITY;
	uint64_t best_face = 0;
	if (ib) {
		b = dv_one_vector(j, oc, ib, "image_b", &fb, &dimb, &eb, &nb);
		if (!b)
			goto out;
		d = dv_dist(a, b, dim);
	} else {
		int n = 0;
		int rc = dv_store_person_vectors(oc->store, j->tenant, (uint64_t)person, ea.model, ea.fingerprint, &pv, &n, dim);
		if (rc) {
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
			goto out;
		}
		if (n == 0) {
			dv_job_fail(j, DV_EINVALID, "person %lld has no face enrolled with the current model", person);
			goto out;
		}
		for (int i = 0; i < n; i++)
			d = fmin(d, dv_dist(a, pv + (size_t)i * dim, dim));
		(void)best_face;
	}
	struct dv_json js;
	dv_json_init(&js, &j->reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "same"); dv_json_bool(&js, d <= thr);
	dv_json_key(&js, "distance"); dv_json_num(&js, d);
	dv_json_key(&js, "similarity"); dv_json_num(&js, dv_similarity(d, thr));
	dv_json_key(&js, "threshold"); dv_json_num(&js, thr);
	if (person) {
		dv_json_key(&js, "person_id"); dv_json_int(&js, person);
	}
	dv_json_key(&js, ib ? "face_a" : "face");
	dv_json_obj_open(&js);
	dv_json_key(&js, "box");
	struct dv_buf bb;
	dv_buf_init(&bb);
	dv_box_json(&bb, &fa);
	dv_json_raw(&js, bb.data);
	dv_buf_fini(&bb);
	dv_json_key(&js, "faces_in_image"); dv_json_int(&js, na);
	dv_json_obj_close(&js);
	if (ib) {
		dv_json_key(&js, "face_b");
		dv_json_obj_open(&js);
		dv_json_key(&js, "box");
		dv_buf_init(&bb);
		dv_box_json(&bb, &fb);
		dv_json_raw(&js, bb.data);
		dv_buf_fini(&bb);
		dv_json_key(&js, "faces_in_image"); dv_json_int(&js, nb);
		dv_json_obj_close(&js);
	}
	dv_json_key(&js, "model");
	dv_json_obj_open(&js);
	dv_json_key(&js, "embedder"); dv_json_str(&js, ea.model);
	dv_json_key(&js, "fingerprint"); dv_json_str(&js, ea.fingerprint);
	dv_json_obj_close(&js);
	dv_json_obj_close(&js);
out:
	free(a);
	free(b);
	free(pv);
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- enrol */

struct dv_enrol_tx {
	struct dv_rec *r;
	struct dv_job *k;
	char *person_json;
	char *hooks_out;
};

/* on_enrolled, inside the enrolment's transaction */
static int dv_enrol_in_tx(void *arg, uint64_t face_id)
{
	struct dv_enrol_tx *t = arg;
	struct dv_rec *r = t->r;
	if (!r->hooks_on)
		return 0;
	struct dv_hook_req rq;
	dv_rec_req(r, &rq);
	struct dv_hook_event he = {.kind = "enrolled", .person = r->outer->path_id, .person_json = t->person_json,
	    .distance = -1, .similarity = -1, .face = face_id, .box = &t->k->faces[0], .face_index = 0};
	struct dv_buf out;
	dv_buf_init(&out);
	r->hooks_ran += dv_hooks_fire(r->oc->hooks, &rq, &he, &out, &r->hook_errs);
	t->hooks_out = out.data;
	return 0;
}

static void dv_op_face_add(struct dv_job *j, struct dv_ops_ctx *oc)
{
	static const char *const qs[] = {"location", "camera", "box", "fields", "force", NULL};
	static const char *const imgs[] = {"image", NULL};
	struct dv_in in = {0};
	const char *location, *camera;
	float box[4];
	bool have_box, force = false;
	struct dv_rec r = {.outer = j, .oc = oc};
	struct dv_job *k = NULL;
	uint8_t *jpg = NULL;
	char *dup_person = NULL;
	struct dv_enrol_tx tx = {.r = &r};
	if (dv_in_query(j, &in, qs) || dv_in_body(j, &in, imgs) || dv_in_label(j, &in, "location", &location) ||
	    dv_in_label(j, &in, "camera", &camera) || dv_in_box(j, &in, box, &have_box) ||
	    dv_in_fields(j, &in, &r.fields_json) || dv_in_flag(j, &in, "force", &force))
		goto out;
	r.location = location;
	r.camera = camera;
	/* the person first: a clear 404 before any image work */
	struct dv_buf pb;
	dv_buf_init(&pb);
	int rc = dv_store_person_get(oc->store, j->tenant, j->path_id, &pb);
	tx.person_json = pb.data;
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		goto out;
	}
	k = dv_run_image(j, oc, DV_OP_RECOGNIZE, dv_form_get(&in.form, "image"), have_box ? box : NULL, 1, -1, &dv_rec_hooks,
	    &r);
	if (!k)
		goto out;
	if (k->n_embeddings == 0) {
		dv_job_fail(j, DV_ENOFACE, "no face was found in the image: enrol a photo with one face");
		goto out;
	}
	if (k->n_embeddings > 1) {
		struct dv_buf m;
		dv_buf_init(&m);
		dv_buf_printf(&m, "the image has %d faces: name one with box=x,y,w,h (found:", k->n_embeddings);
		for (int i = 0; i < k->n_embeddings && i < 6; i++)
			dv_buf_printf(&m, " %.0f,%.0f,%.0f,%.0f", k->faces[i].x, k->faces[i].y, k->faces[i].w, k->faces[i].h);
		dv_buf_puts(&m, ")");
		dv_job_fail(j, DV_EMULTIFACE, "%s", m.data);
		dv_buf_fini(&m);
		goto out;
	}
	if (!k->embeddings || !k->einfo.model[0]) {
		dv_job_fail(j, DV_ENOPIPELINE, "the recognize pipeline has no embed stage: faces cannot be enrolled");
		goto out;
	}
	const struct dv_face *f = &k->faces[0];
	/* a face too poor to recognise later is refused, with the reasons */
	const struct dv_quality *q = k->quality ? &k->quality[0] : NULL;
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
	if (k->matches && k->n_matches && k->n_matches[0] > 0 && k->matches[0].distance <= k->threshold_used) {
		int at = dv_rec_index(&r, k->matches[0].id);
		if (at >= 0 && r.person_ids[at] && r.person_ids[at] != j->path_id) {
			dup_pid = r.person_ids[at];
			dup_d = k->matches[0].distance;
			dup_person = strdup(r.persons[at]);
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
			dv_job_fail(j, DV_EDUPLICATE, "this face is already enrolled as person %" PRIu64 " (distance %.3f); the tenant refuses duplicates",
			    dup_pid, dup_d);
			goto out;
		}
	}
	struct dv_buf boxj, lmj;
	dv_buf_init(&boxj);
	dv_buf_init(&lmj);
	dv_box_json(&boxj, f);
	if (f->n_landmarks > 0) {
		dv_buf_puts(&lmj, "[");
		for (int i = 0; i < f->n_landmarks; i++)
			dv_buf_printf(&lmj, "%s[%.2f,%.2f]", i ? "," : "", f->landmarks[i][0], f->landmarks[i][1]);
		dv_buf_puts(&lmj, "]");
	}
	size_t jlen = 0;
	if (k->chips && k->aligned && k->aligned[0] != 'f')
		dv_image_encode_jpeg(k->chips, k->chip_w, k->chip_h, 90, &jpg, &jlen);
	struct dv_face_row row = {.person = j->path_id, .vec = k->embeddings, .dim = k->embedding_dim,
	    .model = k->einfo.model, .fingerprint = k->einfo.fingerprint, .box_json = boxj.data,
	    .landmarks_json = lmj.data, .found_by = dv_pass_name(f->pass), .quality = q ? q->score : dv_quality(f), .chip = jpg,
	    .chip_len = jlen};
	uint64_t face_id = 0;
	char rid[24];
	snprintf(rid, sizeof rid, "%llu", j->id);
	r.hooks_on = dv_rec_hooks_on(&r);
	tx.k = k;
	rc = dv_store_face_add(oc->store, j->tenant, &row, location, camera, rid, &face_id, dv_enrol_in_tx, &tx);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person (deleted meanwhile?)" : "%s", oc->store->err);
	} else {
		/* committed: the matcher knows it before the client does */
		dv_gallery_added(oc->gallery, j->gen, j->tenant, face_id, k->embeddings, k->embedding_dim);
		struct dv_json js;
		dv_json_init(&js, &j->reply);
		dv_json_obj_open(&js);
		dv_json_key(&js, "face_id"); dv_json_uint(&js, face_id);
		dv_json_key(&js, "person_id"); dv_json_uint(&js, j->path_id);
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
		dv_json_key(&js, "embedder"); dv_json_str(&js, k->einfo.model);
		dv_json_key(&js, "fingerprint"); dv_json_str(&js, k->einfo.fingerprint);
		dv_json_obj_close(&js);
		if (r.hooks_on) {
			if (tx.hooks_out && strcmp(tx.hooks_out, "{}")) {
				dv_json_key(&js, "hooks");
				dv_json_raw(&js, tx.hooks_out);
			}
			dv_json_key(&js, "hook_status");
			dv_json_obj_open(&js);
			dv_json_key(&js, "ran"); dv_json_int(&js, r.hooks_ran);
			dv_json_key(&js, "errors");
			dv_json_arr_open(&js);
			if (r.hook_errs.len)
				dv_json_raw(&js, r.hook_errs.data);
			dv_json_arr_close(&js);
			dv_json_obj_close(&js);
		}
		dv_json_obj_close(&js);
		j->status = 201;
	}
	dv_buf_fini(&boxj);
	dv_buf_fini(&lmj);
out:
	free(tx.person_json);
	free(tx.hooks_out);
	free(jpg);
	free(dup_person);
	dv_job_free(k);
	dv_rec_fini(&r);
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- persons */

/* A person's attributes or a tenant's settings: a JSON object of at most 64 KiB. */
static int dv_check_attrs(struct dv_job *j, const struct dv_jv *a, struct dv_buf *out, const char *what)
{
	if (!a || a->type == DV_JNULL)
		return 0;
	if (a->type != DV_JOBJ) {
		dv_job_fail(j, DV_EINVALID, "%s must be a JSON object", what);
		return -1;
	}
	dv_json_of(out, a);
	if (out->len > 64 * 1024) {
		dv_job_fail(j, DV_EINVALID, "%s are limited to 64 KiB of JSON", what);
		return -1;
	}
	return 0;
}

static void dv_op_person_write(struct dv_job *j, struct dv_ops_ctx *oc, bool create)
{
	struct dv_in in = {0};
	struct dv_buf attrs;
	dv_buf_init(&attrs);
	static const char *const qs[] = {"replace", NULL};
	const struct dv_jv *o = NULL;
	const char *name, *ext;
	bool ext_null = false;
	if (dv_in_query(j, &in, create ? NULL : qs) || !(o = dv_in_json(j, &in)) ||
	    dv_jstr(j, o, "name", 200, &name, NULL) || dv_jstr(j, o, "external_id", 200, &ext, &ext_null) ||
	    dv_check_attrs(j, dv_jv_get(o, "attributes"), &attrs, "attributes"))
		goto out;
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], "name") && strcmp(o->keys[i], "external_id") && strcmp(o->keys[i], "attributes")) {
			dv_job_fail(j, DV_EINVALID, "unknown field '%.64s' (expected name, external_id, attributes)", o->keys[i]);
			goto out;
		}
	int rc;
	if (create) {
		if (!name) {
			dv_job_fail(j, DV_EINVALID, "name is required");
			goto out;
		}
		rc = dv_store_person_create(oc->store, j->tenant, name, ext, attrs.data, &j->reply);
		j->status = 201;
	} else {
		const char *rep = in.have_q ? evhttp_find_header(&in.q, "replace") : NULL;
		rc = dv_store_person_update(oc->store, j->tenant, j->path_id, name, ext, ext_null, attrs.data,
		    rep && (!strcmp(rep, "1") || !strcmp(rep, "true")), &j->reply);
	}
	if (rc)
		dv_job_fail(j, rc, rc == DV_ECONFLICT ? "external_id is already used by another person of this tenant"
		                   : rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
out:
	dv_buf_fini(&attrs);
	dv_in_fini(&in);
}

static void dv_op_person_delete(struct dv_job *j, struct dv_ops_ctx *oc)
{
	uint64_t *faces = NULL;
	int n = 0;
	int rc = dv_store_person_delete(oc->store, j->tenant, j->path_id, &faces, &n);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		return;
	}
	dv_gallery_removed(oc->gallery, j->gen, j->tenant, faces, n);
	free(faces);
	dv_buf_printf(&j->reply, "{\"deleted\":true,\"id\":%" PRIu64 ",\"faces_deleted\":%d}", j->path_id, n);
}

static void dv_op_list(struct dv_job *j, struct dv_ops_ctx *oc, bool events)
{
	static const char *const pq[] = {"query", "limit", "after", NULL};
	static const char *const eq[] = {"person_id", "kind", "since", "limit", "after", NULL};
	struct dv_in in = {0};
	long long limit, after, person = 0;
	if (dv_in_query(j, &in, events ? eq : pq) || dv_in_int(j, &in, "limit", 1, 1000, 50, &limit) ||
	    dv_in_int(j, &in, "after", 0, INT64_MAX, 0, &after) ||
	    (events && dv_in_int(j, &in, "person_id", 1, INT64_MAX, 0, &person)))
		goto out;
	int rc;
	if (events) {
		const char *kind = evhttp_find_header(&in.q, "kind"), *since = evhttp_find_header(&in.q, "since");
		if (kind && strcmp(kind, "recognized") && strcmp(kind, "unknown") && strcmp(kind, "enrolled")) {
			dv_job_fail(j, DV_EBADREQUEST, "kind must be recognized, unknown or enrolled");
			goto out;
		}
		rc = dv_store_event_list(oc->store, j->tenant, (uint64_t)person, kind, since, (int)limit, (uint64_t)after, &j->reply);
		if (rc == DV_EINVALID)
			dv_job_fail(j, DV_EBADREQUEST, "since must be a timestamp such as 2026-11-28T09:00:00Z");
	} else {
		const char *q = evhttp_find_header(&in.q, "query");
		if (q && strlen(q) > 200) {
			dv_job_fail(j, DV_EBADREQUEST, "query is limited to 200 characters");
			goto out;
		}
		rc = dv_store_person_list(oc->store, j->tenant, q, (int)limit, (uint64_t)after, &j->reply);
	}
	if (rc)
		dv_job_fail(j, rc, "%s", oc->store->err);
out:
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- tenants, keys */

static void dv_op_tenant(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	struct dv_buf set;
	dv_buf_init(&set);
	const struct dv_jv *o = NULL;
	int rc = 0;
	switch (j->api) {
	case DV_API_ADMIN_TENANT_CREATE: {
		const char *name;
		if (!(o = dv_in_json(j, &in)) || dv_jstr(j, o, "name", 200, &name, NULL))
			break;
		const struct dv_jv *s = dv_jv_get(o, "settings");
		if (!name) {
			dv_job_fail(j, DV_EINVALID, "name is required");
			break;
		}
		if (s && dv_check_attrs(j, s, &set, "settings"))
			break;
		rc = dv_store_tenant_create(oc->store, name, set.data, &j->reply);
		j->status = 201;
		break;
	}
	case DV_API_ADMIN_TENANT_LIST:
		rc = dv_store_tenant_list(oc->store, &j->reply);
		break;
	case DV_API_ADMIN_KEY_CREATE:
	case DV_API_KEY_CREATE: {
		const char *name;
		if (!(o = dv_in_json(j, &in)) || dv_jstr(j, o, "name", 200, &name, NULL))
			break;
		uint64_t t = j->api == DV_API_KEY_CREATE ? j->tenant : j->path_id;
		rc = dv_store_key_create(oc->store, t, name, &j->reply);
		j->status = 201;
		break;
	}
	case DV_API_TENANT_GET:
		rc = dv_store_tenant_get(oc->store, j->tenant, &j->reply);
		break;
	case DV_API_TENANT_UPDATE: {
		if (!(o = dv_in_json(j, &in)))
			break;
		const struct dv_jv *s = dv_jv_get(o, "settings");
		if (!s || s->type != DV_JOBJ || o->n != 1) {
			dv_job_fail(j, DV_EINVALID, "send {\"settings\": {...}} (e.g. reject_duplicates: true)");
			break;
		}
		const struct dv_jv *rd = dv_jv_get(s, "reject_duplicates");
		if (rd && rd->type != DV_JBOOL && rd->type != DV_JNULL) {
			dv_job_fail(j, DV_EINVALID, "settings.reject_duplicates must be true or false");
			break;
		}
		if (dv_check_attrs(j, s, &set, "settings"))
			break; /* refused before anything is written */
		rc = dv_store_tenant_settings(oc->store, j->tenant, set.data, &j->reply);
		break;
	}
	case DV_API_KEY_LIST:
		rc = dv_store_key_list(oc->store, j->tenant, &j->reply);
		break;
	case DV_API_KEY_REVOKE:
		rc = dv_store_key_revoke(oc->store, j->tenant, j->path_id);
		if (!rc)
			dv_buf_printf(&j->reply, "{\"revoked\":true,\"id\":%" PRIu64 "}", j->path_id);
		break;
	}
	if (rc)
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such resource" : "%s", oc->store->err);
	dv_buf_fini(&set);
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- jobs */

static void dv_op_job_submit(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	static const char *const imgs[] = {"image", "image_a", "image_b", NULL};
	const struct dv_jv *o;
	const char *op, *hook;
	if (j->ctype && strncasecmp(j->ctype, "application/json", 16)) {
		dv_job_fail(j, DV_EMEDIATYPE, "send the job as application/json: {\"op\": \"recognize\", \"image\": base64, ...}");
		goto out;
	}
	if (dv_in_body(j, &in, imgs) || !(o = in.form.json) || dv_jstr(j, o, "op", 32, &op, NULL) ||
	    dv_jstr(j, o, "webhook", 2000, &hook, NULL))
		goto out;
	int api = op ? dv_api_op_by_name(op) : 0;
	if (!api) {
		dv_job_fail(j, DV_EINVALID, "op must be recognize, detect, verify or enrol");
		goto out;
	}
	long long person = 0;
	const struct dv_jv *pid = dv_jv_get(o, "person_id");
	if (api == DV_API_FACE_ADD) {
		if (!pid || pid->type != DV_JNUM || pid->num < 1 || pid->num != floor(pid->num)) {
			dv_job_fail(j, DV_EINVALID, "enrol needs person_id");
			goto out;
		}
		person = (long long)pid->num;
	}
	char err[200];
	if (hook && dv_webhook_url_ok(hook, err, sizeof err) != 0) {
		dv_job_fail(j, DV_EINVALID, "%s", err);
		goto out;
	}
	long long limit = j->gen->conf->limits.async_jobs;
	if (atomic_fetch_add(oc->async_pending, 1) >= limit) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_job_fail(j, DV_EOVERLOADED, "%lld async jobs are pending (limits.async_jobs)", limit);
		goto out;
	}
	/* what is stored: the parameters, not the images */
	struct dv_buf req;
	dv_buf_init(&req);
	dv_buf_puts(&req, "{");
	int n = 0;
	for (int i = 0; i < o->n; i++) {
		if (!strcmp(o->keys[i], "image") || !strcmp(o->keys[i], "image_a") || !strcmp(o->keys[i], "image_b"))
			continue;
		dv_buf_printf(&req, "%s", n++ ? "," : "");
		dv_json_escape(&req, o->keys[i], strlen(o->keys[i]));
		dv_buf_puts(&req, ":");
		dv_json_of(&req, o->items[i]);
	}
	dv_buf_puts(&req, "}");
	uint64_t id = 0;
	int rc = dv_store_job_create(oc->store, j->tenant, op, oc->node, req.data, hook, &id);
	dv_buf_fini(&req);
	if (rc) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_job_fail(j, rc, "%s", oc->store->err);
		goto out;
	}
	/* the loop thread queues the work once this 202 is on its way */
	j->spawn_body = malloc(j->body_len ? j->body_len : 1);
	if (!j->spawn_body) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_store_job_finish(oc->store, id, 503, NULL, "{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}");
		dv_job_fail(j, DV_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(j->spawn_body, j->body, j->body_len);
	j->spawn_len = j->body_len;
	j->spawn_api = api;
	j->async_id = id;
	j->path_id = (uint64_t)person;
	if (hook)
		j->webhook = strdup(hook);
	dv_buf_printf(&j->reply, "{\"id\":%" PRIu64 ",\"status\":\"queued\",\"op\":", id);
	dv_json_escape(&j->reply, op, strlen(op));
	dv_buf_puts(&j->reply, "}");
	j->status = 202;
out:
	dv_in_fini(&in);
}

/* An async job's end: the result or the error into dv_jobs, then the webhook. */
static void dv_async_finish(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_buf err, body;
	dv_buf_init(&err);
	dv_buf_init(&body);
	int status = j->err ? dv_err_http_status(j->err) : j->status ? j->status : 200;
	if (j->err) {
		dv_buf_printf(&err, "{\"code\":\"%s\",\"message\":", dv_err_code(j->err));
		const char *m = j->errmsg[0] ? j->errmsg : dv_err_message(j->err);
		dv_json_escape(&err, m, strlen(m));
		dv_buf_printf(&err, ",\"status\":%d}", status);
	}
	int rc = dv_store_job_finish(oc->store, j->async_id, status, j->err ? NULL : (j->reply.data ? j->reply.data : "{}"),
	    j->err ? err.data : NULL);
	if (rc)
		dv_warn("async job result not stored job=%" PRIu64 " reason=\"%s\"", j->async_id, oc->store->err);
	if (j->webhook) {
		dv_buf_printf(&body, "{\"id\":%" PRIu64 ",\"status\":\"%s\",\"http_status\":%d,\"result\":%s,\"error\":%s}",
		    j->async_id, j->err ? "failed" : "done", status, j->err ? "null" : (j->reply.data ? j->reply.data : "{}"),
		    j->err ? err.data : "null");
		int code = dv_webhook_post(j->webhook, body.data, body.len, 5000);
		if (code < 200 || code > 299)
			dv_warn("webhook call failed job=%" PRIu64 " status=%d", j->async_id, code);
		dv_store_job_webhook(oc->store, j->async_id, code);
	}
	dv_buf_fini(&err);
	dv_buf_fini(&body);
	atomic_fetch_sub(oc->async_pending, 1);
}

/* ---------------------------------------------------------------- dispatch */

void dv_ops_run(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (j->api == DV_API_NONE) {
		dv_pipeline_run(j, &oc->pipe);
		return;
	}
	if (!j->admin && !j->async_id) {
		int rc = dv_store_auth(oc->store, j->key, &j->tenant);
		if (rc) {
			dv_job_fail(j, rc, rc == DV_EUNAUTHORIZED ? "the API key is unknown or revoked" : "%s", oc->store->err);
			return;
		}
	}
	if (j->async_id && j->origin == DV_ORIGIN_ASYNC)
		dv_store_job_start(oc->store, j->async_id);
	switch (j->api) {
	case DV_API_RECOGNIZE: dv_op_recognize(j, oc, DV_OP_RECOGNIZE); break;
	case DV_API_DETECT: dv_op_recognize(j, oc, DV_OP_DETECT); break;
	case DV_API_VERIFY: dv_op_verify(j, oc); break;
	case DV_API_PERSON_CREATE: dv_op_person_write(j, oc, true); break;
	case DV_API_PERSON_UPDATE: dv_op_person_write(j, oc, false); break;
	case DV_API_PERSON_DELETE: dv_op_person_delete(j, oc); break;
	case DV_API_PERSON_GET: {
		int rc = dv_store_person_get(oc->store, j->tenant, j->path_id, &j->reply);
		if (rc)
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		break;
	}
	case DV_API_PERSON_LIST: dv_op_list(j, oc, false); break;
	case DV_API_EVENT_LIST: dv_op_list(j, oc, true); break;
	case DV_API_FACE_ADD: dv_op_face_add(j, oc); break;
	case DV_API_FACE_LIST: {
		int rc = dv_store_face_list(oc->store, j->tenant, j->path_id, &j->reply);
		if (rc)
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
		break;
	}
	case DV_API_FACE_DELETE: {
		int rc = dv_store_face_delete(oc->store, j->tenant, j->path_id);
		if (rc) {
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such face" : "%s", oc->store->err);
			break;
		}
		dv_gallery_removed(oc->gallery, j->gen, j->tenant, &j->path_id, 1);
		dv_buf_printf(&j->reply, "{\"deleted\":true,\"id\":%" PRIu64 "}", j->path_id);
		break;
	}
	case DV_API_FACE_CHIP: {
		int rc = dv_store_face_chip(oc->store, j->tenant, j->path_id, &j->reply);
		if (rc)
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such face, or it has no chip" : "%s", oc->store->err);
		else
			j->reply_ctype = "image/jpeg";
		break;
	}
	case DV_API_JOB_SUBMIT: dv_op_job_submit(j, oc); break;
	case DV_API_OPERATING_POINT: dv_op_operating_point(j, oc); break;
	case DV_API_STATE_LIST: {
		static const char *const qs[] = {"namespace", "key", "person_id", NULL};
		struct dv_in in = {0};
		long long person = 0;
		if (dv_in_query(j, &in, qs) == 0 && dv_in_int(j, &in, "person_id", 1, INT64_MAX, 0, &person) == 0) {
			const char *ns = evhttp_find_header(&in.q, "namespace"), *key = evhttp_find_header(&in.q, "key");
			if (!ns || !*ns || strlen(ns) > 100) {
				dv_job_fail(j, DV_EBADREQUEST, "namespace is required (a hook's name, e.g. attendance)");
			} else {
				int rc = dv_store_state_report(oc->store, j->tenant, ns, key, (uint64_t)person, &j->reply);
				if (rc)
					dv_job_fail(j, rc, "%s", oc->store->err);
			}
		}
		dv_in_fini(&in);
		break;
	}
	case DV_API_JOB_GET: {
		int rc = dv_store_job_get(oc->store, j->tenant, j->path_id, &j->reply);
		if (rc)
			dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such job" : "%s", oc->store->err);
		break;
	}
	default: dv_op_tenant(j, oc); break;
	}
	if (j->reply.failed)
		dv_job_fail(j, DV_ENOMEM, "out of memory while writing the reply");
	if (j->err)
		dv_buf_reset(&j->reply);
	if (j->origin == DV_ORIGIN_ASYNC)
		dv_async_finish(j, oc);
}
