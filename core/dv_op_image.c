/* dv_op_image.c — the operations on images: POST /v1/recognize (the
 * recognize pipeline, recording), /v1/detect (the detect pipeline) and
 * /v1/verify (two faces, or a face and a person's, compared 1:1). */
#include "dv_ops.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_hooklib.h"
#include "dv_hooks.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dv_pipeline.h"
#include <math.h>

/* Run the pipeline for op on an image; returns the sub-job (caller frees)
 * or NULL with j failed. */
struct dv_job *dv_ops_run_image(struct dv_job *j, struct dv_ops_ctx *oc, int pop, const struct dv_field *img,
    const float *box, int top_k, double threshold, int mode, const struct dv_visit *visit, int jitter)
{
	if (!img) {
		dv_job_fail(j, DV_EBADREQUEST, "no image: send the image bytes as the body, a multipart field 'image' "
		    "or JSON {\"image\": base64}");
		return NULL;
	}
	if (img->len == 0) {
		dv_job_fail(j, DV_EBADIMAGE, "the image is empty (zero bytes)");
		return NULL;
	}
	struct dv_job *k = dv_job_new(pop, j->gen);
	if (k)
		k->req.body = dv_memdup(img->data, img->len);
	if (!k || !k->req.body) {
		dv_job_free(k);
		dv_job_fail(j, DV_ENOMEM, "out of memory");
		return NULL;
	}
	k->req.body_len = img->len;
	k->req.keep_embeddings = true;
	k->req.jitter = jitter;
	k->req.top_k = top_k;
	k->req.min_face = j->req.min_face;
	k->req.threshold = threshold;
	k->res.queue_ms = j->res.queue_ms;
	k->id = j->id;
	if (box) {
		k->req.has_box = true;
		memcpy(k->req.box, box, sizeof k->req.box);
	}
	struct dv_pipeline_ctx pc = oc->pipe;
	pc.tenant = j->tenant;
	pc.mode = mode;
	if (mode != DV_RUN_BARE) {
		pc.store = oc->store;
		pc.gallery = oc->gallery;
		pc.hooks = oc->hooks;
		pc.visit = visit;
	}
	if (mode == DV_RUN_RECORD && oc->hooks) {
		/* the tenant's hooks as they are now: the version this request runs */
		int rc = 0;
		pc.tenant_hooks = dv_hooks_acquire(oc->hooks, oc->store, j->tenant, &rc);
		if (rc) {
			dv_job_fail(j, rc, "the tenant's hooks cannot be read: %s", oc->store->err);
			dv_job_free(k);
			return NULL;
		}
	}
	dv_pipeline_run(k, &pc);
	dv_tenant_hooks_unref(pc.tenant_hooks);
	for (int s = 0; s < DV_STAGE_COUNT; s++)
		if (k->res.stage_ran[s]) {
			j->res.stage_ran[s] = true;
			j->res.stage_ms[s] += k->res.stage_ms[s];
		}
	if (k->res.record_ms >= 0) /* summed over the images of the job; -1 until one records */
		j->res.record_ms = (j->res.record_ms < 0 ? 0 : j->res.record_ms) + k->res.record_ms;
	if (k->res.err) {
		dv_job_fail(j, k->res.err, "%s", k->res.errmsg);
		dv_job_free(k);
		return NULL;
	}
	return k;
}

static void dv_op_image(struct dv_job *j, struct dv_ops_ctx *oc, int pop)
{
	static const char *const qs[] = {"top_k", "threshold", "location", "camera", "fields", "min_face", NULL};
	static const char *const imgs[] = {"image", NULL};
	struct dv_in in = {0};
	long long top_k, min_face;
	double thr;
	struct dv_visit visit = {0};
	char *fields = NULL;
	if (dv_in_query(j, &in, qs) || dv_in_body(j, &in, imgs) ||
	    dv_in_int(j, &in, "top_k", 1, 100, 0, &top_k) ||
	    dv_in_num(j, &in, "threshold", 0, j->gen->conf->match_threshold_max, -1, &thr) ||
	    dv_in_label(j, &in, "location", &visit.location) || dv_in_label(j, &in, "camera", &visit.camera) ||
	    dv_in_fields(j, &in, &fields) || dv_in_int(j, &in, "min_face", 0, 100000, -1, &min_face))
		goto out;
	j->req.min_face = (int)min_face; /* a camera's own: the smallest face it needs found */
	visit.fields_json = fields;
	/* recognize records (its pipeline's record and hooks stages); detect only looks up */
	struct dv_job *k = dv_ops_run_image(j, oc, pop, dv_form_get(&in.form, "image"), NULL, (int)top_k, thr,
	    pop == DV_OP_RECOGNIZE ? DV_RUN_RECORD : DV_RUN_LOOKUP, &visit, 0);
	if (k && k->res.auto_update_max > 0)
		dv_ops_auto_update(j, oc, k); /* the tenant's setting: confident recognitions add faces */
	if (k) {
		/* the pipeline's reply is the answer */
		dv_buf_fini(&j->res.reply);
		j->res.reply = k->res.reply;
		dv_buf_init(&k->res.reply);
		dv_job_free(k);
	}
out:
	free(fields);
	dv_in_fini(&in);
}

void dv_op_recognize(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_image(j, oc, DV_OP_RECOGNIZE); }
void dv_op_detect(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_image(j, oc, DV_OP_DETECT); }

/* The largest face's vector of an image (malloc'd) and its box. */
static float *dv_one_vector(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_field *img, const char *which,
    struct dv_face *face, int *dim, struct dv_embedder_info *einfo, int *n_faces)
{
	struct dv_job *k = dv_ops_run_image(j, oc, DV_OP_RECOGNIZE, img, NULL, 1, -1, DV_RUN_BARE, NULL, 0);
	if (!k)
		return NULL;
	float *v = NULL;
	*n_faces = k->res.n_embeddings;
	if (k->res.n_embeddings == 0 || !k->res.embeddings) {
		dv_job_fail(j, k->res.embeddings || k->res.n_embeddings == 0 ? DV_ENOFACE : DV_ENOPIPELINE,
		    k->res.n_embeddings == 0 ? "no face was found in %s" : "the recognize pipeline has no embed "
		    "stage (%s)",
		    which);
	} else {
		int best = 0;
		for (int i = 1; i < k->res.n_embeddings; i++)
			if (k->res.faces[i].w * k->res.faces[i].h > k->res.faces[best].w * k->res.faces[best].h)
				best = i;
		*dim = k->res.embedding_dim;
		*face = k->res.faces[best];
		*einfo = k->res.einfo;
		v = malloc(sizeof *v * (size_t)*dim);
		if (v)
			memcpy(v, k->res.embeddings + (size_t)best * *dim, sizeof *v * (size_t)*dim);
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
/* One compared face: its box and how many faces its image held. */
static void dv_verify_face_json(struct dv_json *js, const char *key, const struct dv_face *f, int faces_in_image)
{
	struct dv_buf bb;
	dv_buf_init(&bb);
	dv_face_box_json(&bb, f);
	dv_json_key(js, key);
	dv_json_obj_open(js);
	dv_json_key(js, "box");
	dv_json_raw(js, bb.data);
	dv_json_key(js, "faces_in_image");
	dv_json_int(js, faces_in_image);
	dv_json_obj_close(js);
	dv_buf_fini(&bb);
}

void dv_op_verify(struct dv_job *j, struct dv_ops_ctx *oc)
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
		int rc = dv_store_person_vectors(oc->store, j->tenant, (uint64_t)person, ea.model, ea.fingerprint,
		    &pv, &n, dim);
		if (rc) {
			dv_ops_store_rc(j, oc, rc, "no such person");
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
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "same"); dv_json_bool(&js, d <= thr);
	dv_json_key(&js, "distance"); dv_json_num(&js, d);
	dv_json_key(&js, "similarity"); dv_json_num(&js, dv_similarity(d, thr));
	dv_json_key(&js, "threshold"); dv_json_num(&js, thr);
	if (person) {
		dv_json_key(&js, "person_id"); dv_json_int(&js, person);
	}
	dv_verify_face_json(&js, ib ? "face_a" : "face", &fa, na);
	if (ib)
		dv_verify_face_json(&js, "face_b", &fb, nb);
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
