/* dv_pipeline.c — the pipeline engine, run on a worker thread for one job:
 * decode ▸ detect ▸ landmarks ▸ align ▸ embed ▸ match, as the job's
 * operation is configured, timing each stage. A failing stage records its
 * error in the job and stops the run; the loop thread turns it into the
 * reply (dv_http.c / dv_tcp.c), the only place that writes one. */
#include "dv_pipeline.h"
#include "dv_align.h"
#include "dv_calib.h"
#include "dv_gen.h"
#include "dv_quality.h"
#include "dv_err.h"
#include "dv_image.h"
#include "dv_job.h"
#include "dv_log.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dv_work {
	struct dv_job *job;
	const struct dv_pipeline_ctx *ctx;
	struct dv_img img;
	struct dv_face *faces;
	int n_faces;
	int n_found;          /* before the faces limit */
	struct dv_embedder_info einfo;
	uint8_t *chips;       /* n_faces chips, RGB */
	char *aligned;        /* per face: 'd' dlib chip, 'f' face-api crop, 'b' box crop */
	struct dv_image *views; /* per face: the chip, or (faceapi) a crop of the image */
	float *emb;           /* n_faces * dim */
	struct dv_match *matches; /* n_faces * top_k */
	int *n_matches;
	int top_k;
	double threshold;
	struct dv_quality *quality; /* per face, once assessed (dv_work_quality) */
	bool have[DV_STAGE_COUNT];
};

/* Each face's quality, from its landmarks and (dlib or box alignment) its chip. */
static void dv_work_quality(struct dv_work *w)
{
	if (w->quality || w->n_faces == 0 || !w->have[DV_STAGE_DETECT])
		return;
	w->quality = calloc((size_t)w->n_faces, sizeof *w->quality);
	if (!w->quality)
		return;
	size_t cs = (size_t)w->einfo.chip_width * w->einfo.chip_height * 3;
	for (int i = 0; i < w->n_faces; i++) {
		const uint8_t *chip = w->chips && w->aligned && (w->aligned[i] == 'd' || w->aligned[i] == 'b')
		                          ? w->chips + cs * (size_t)i
		                          : NULL;
		dv_quality_assess(&w->faces[i], chip, w->einfo.chip_width, w->einfo.chip_height, &w->quality[i]);
	}
}

/* A face too poor to judge gets no name (and is no stranger either). */
static bool dv_work_unsure(const struct dv_work *w, int i)
{
	return w->quality && w->quality[i].score < w->ctx->conf->quality_min_recognize;
}

static struct dv_image dv_view(const struct dv_img *im)
{
	return (struct dv_image){.pixels = im->pixels, .width = im->width, .height = im->height,
	    .stride = im->width * 3, .channels = 3};
}

static int dv_plugin_fail(struct dv_work *w, int role, int rc)
{
	dv_job_fail(w->job, rc == DV_PLUGIN_EINVAL ? DV_EBADIMAGE : rc == DV_PLUGIN_ENOMEM ? DV_ENOMEM : DV_EPLUGIN,
	    "%s %s failed: %s", dv_role_name(role), w->ctx->inst[role]->mod->desc->name, dv_plugin_last_error());
	return -1;
}

static int dv_stage_decode(struct dv_work *w)
{
	char err[256];
	int r = dv_image_decode(w->job->body, w->job->body_len, w->ctx->conf->limits.image_pixels, &w->img, err,
	    sizeof err);
	if (r != 0) {
		dv_job_fail(w->job, r, "%s", err);
		return -1;
	}
	/* the bytes are no longer needed: give the memory back early */
	free(w->job->body);
	w->job->body = NULL;
	return 0;
}

const char *dv_pass_name(int pass)
{
	switch (pass) {
	case DV_PASS_DIRECT: return "direct";
	case DV_PASS_CANVAS: return "canvas";
	case DV_PASS_SCALE: return "scale";
	case DV_PASS_WHOLE_IMAGE: return "whole_image";
	case DV_PASS_CLIENT: return "client_box";
	default: return "other";
	}
}

static int dv_stage_detect(struct dv_work *w)
{
	struct dv_instance *in = w->ctx->inst[DV_ROLE_DETECTOR];
	int max = (int)w->ctx->conf->limits.faces;
	/* Ask for one more than the limit so that we can say it was hit. */
	w->faces = calloc((size_t)max + 1, sizeof *w->faces);
	if (!w->faces) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	struct dv_image v = dv_view(&w->img);
	int n = 0;
	if (w->job->has_box) {
		/* the client named the face: no detection */
		const float *b = w->job->box;
		if (!(b[2] >= 1 && b[3] >= 1) || b[0] + b[2] <= 0 || b[1] + b[3] <= 0 || b[0] >= w->img.width ||
		    b[1] >= w->img.height) {
			dv_job_fail(w->job, DV_EBADREQUEST, "the given face box is empty or outside the image");
			return -1;
		}
		memset(&w->faces[0], 0, sizeof w->faces[0]);
		w->faces[0].x = b[0];
		w->faces[0].y = b[1];
		w->faces[0].w = b[2];
		w->faces[0].h = b[3];
		w->faces[0].score = 1;
		w->faces[0].pass = DV_PASS_CLIENT;
		w->n_found = w->n_faces = 1;
		return 0;
	}
	dv_plugin_clear_error();
	int rc = in->mod->desc->detect(in->inst, &v, w->faces, max + 1, &n);
	if (rc != 0)
		return dv_plugin_fail(w, DV_ROLE_DETECTOR, rc);
	if (n < 0 || n > max + 1) {
		dv_job_fail(w->job, DV_EPLUGIN, "detector %s returned %d faces for a buffer of %d", in->mod->desc->name, n,
		    max + 1);
		return -1;
	}
	long long side = w->ctx->conf->whole_image_max_side;
	int iw = w->img.width, ih = w->img.height;
	if (n == 0 && side > 0 && iw <= side && ih <= side && 2 * iw >= ih && 2 * ih >= iw) {
		/* a tight crop the detector cannot see as a face: the whole image
		 * is the face, and the reply says so */
		memset(&w->faces[0], 0, sizeof w->faces[0]);
		w->faces[0].w = (float)iw;
		w->faces[0].h = (float)ih;
		w->faces[0].pass = DV_PASS_WHOLE_IMAGE;
		n = 1;
	}
	w->n_found = n;
	w->n_faces = n > max ? max : n;
	return 0;
}

static int dv_stage_landmarks(struct dv_work *w)
{
	if (w->n_faces == 0)
		return 0;
	struct dv_instance *in = w->ctx->inst[DV_ROLE_LANDMARKER];
	struct dv_image v = dv_view(&w->img);
	dv_plugin_clear_error();
	int rc = in->mod->desc->landmarks(in->inst, &v, w->faces, w->n_faces);
	return rc ? dv_plugin_fail(w, DV_ROLE_LANDMARKER, rc) : 0;
}

/* Bilinear sample of the image at (x, y), zero outside. */
static void dv_sample(const struct dv_img *im, double x, double y, uint8_t out[3])
{
	int x0 = (int)floor(x), y0 = (int)floor(y);
	double fx = x - x0, fy = y - y0;
	for (int c = 0; c < 3; c++) {
		double acc = 0;
		for (int dy = 0; dy < 2; dy++)
			for (int dx = 0; dx < 2; dx++) {
				int xx = x0 + dx, yy = y0 + dy;
				double wgt = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
				if (xx >= 0 && yy >= 0 && xx < im->width && yy < im->height)
					acc += wgt * im->pixels[((size_t)yy * im->width + xx) * 3 + c];
			}
		out[c] = (uint8_t)(acc + 0.5 > 255 ? 255 : acc + 0.5);
	}
}

/* The chips for the embedder. A face with 68 landmarks, for an embedder that
 * asks for a square chip with template padding (the dlib ResNet: 150, 0.25),
 * gets dlib's aligned face chip (dv_align.c). Otherwise: an upright crop of
 * the box, made square around its centre (so faces are not distorted) and
 * resampled to the chip size. */
static int dv_stage_align(struct dv_work *w)
{
	struct dv_instance *emb = w->ctx->inst[DV_ROLE_EMBEDDER];
	if (!emb) {
		dv_job_fail(w->job, DV_EINTERNAL, "align needs an embedder to know the chip size");
		return -1;
	}
	dv_plugin_clear_error();
	memset(&w->einfo, 0, sizeof w->einfo);
	int rc = emb->mod->desc->embedder_info(emb->inst, &w->einfo);
	if (rc)
		return dv_plugin_fail(w, DV_ROLE_EMBEDDER, rc);
	int cw = w->einfo.chip_width, ch = w->einfo.chip_height;
	if (cw <= 0 || ch <= 0 || cw > 1024 || ch > 1024 || w->einfo.dim <= 0 || w->einfo.dim > 4096) {
		dv_job_fail(w->job, DV_EPLUGIN, "embedder %s declared an invalid chip %dx%d or dimension %d",
		    emb->mod->desc->name, cw, ch, w->einfo.dim);
		return -1;
	}
	if (w->n_faces == 0)
		return 0;
	w->chips = malloc((size_t)w->n_faces * cw * ch * 3);
	w->aligned = calloc((size_t)w->n_faces, 1);
	w->views = calloc((size_t)w->n_faces, sizeof *w->views);
	if (!w->chips || !w->aligned || !w->views) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	double pad = w->einfo.padding > 0 ? w->einfo.padding : 0;
	const char *method = w->ctx->conf->align_method;
	for (int i = 0; i < w->n_faces; i++) {
		const struct dv_face *f = &w->faces[i];
		struct dv_align_fit fit;
		w->views[i] = (struct dv_image){.pixels = w->chips + (size_t)i * cw * ch * 3, .width = cw, .height = ch,
		    .stride = cw * 3, .channels = 3};
		int box[4];
		if (!strcmp(method, "faceapi") && f->n_landmarks == 68 &&
		    dv_align_faceapi_box(f->landmarks, w->img.width, w->img.height, box) == 0) {
			/* the embedder pads face-api's crop to a square and resizes it */
			w->views[i] = (struct dv_image){.pixels = w->img.pixels + ((size_t)box[1] * w->img.width + box[0]) * 3,
			    .width = box[2], .height = box[3], .stride = w->img.width * 3, .channels = 3};
			w->aligned[i] = 'f';
			continue;
		}
		if (!strcmp(method, "dlib") && f->n_landmarks == 68 && pad > 0 && cw == ch &&
		    dv_align_fit68(f->landmarks, pad, cw, &fit) == 0) {
			if (dv_align_chip(w->img.pixels, w->img.width, w->img.height, w->img.width * 3, &fit, cw,
			        w->chips + (size_t)i * cw * ch * 3) != 0) {
				dv_job_fail(w->job, DV_ENOMEM, "out of memory");
				return -1;
			}
			w->aligned[i] = 'd';
			continue;
		}
		w->aligned[i] = 'b';
		double side = f->w > f->h ? f->w : f->h;
		double bw = side * (1 + 2 * pad), bh = bw;
		double x0 = f->x + f->w / 2 - bw / 2, y0 = f->y + f->h / 2 - bh / 2;
		uint8_t *chip = w->chips + (size_t)i * cw * ch * 3;
		for (int r = 0; r < ch; r++)
			for (int c = 0; c < cw; c++)
				dv_sample(&w->img, x0 + (c + 0.5) * bw / cw - 0.5, y0 + (r + 0.5) * bh / ch - 0.5,
				    chip + ((size_t)r * cw + c) * 3);
	}
	return 0;
}

static int dv_stage_embed(struct dv_work *w)
{
	if (w->n_faces == 0)
		return 0;
	struct dv_instance *in = w->ctx->inst[DV_ROLE_EMBEDDER];
	w->emb = calloc((size_t)w->n_faces * w->einfo.dim, sizeof *w->emb);
	if (!w->emb) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	dv_plugin_clear_error();
	bool flip = w->ctx->conf->embed_flip && w->chips;
	for (int i = 0; flip && i < w->n_faces; i++)
		flip = w->aligned[i] == 'd' || w->aligned[i] == 'b'; /* materialised chips */
	if (!flip) {
		int rc = in->mod->desc->embed(in->inst, w->views, w->n_faces, w->emb);
		return rc ? dv_plugin_fail(w, DV_ROLE_EMBEDDER, rc) : 0;
	}
	/* embed.flip: each chip and its mirror image, the two vectors averaged */
	int n = w->n_faces, cw = w->einfo.chip_width, ch = w->einfo.chip_height, dim = w->einfo.dim;
	size_t cs = (size_t)cw * ch * 3;
	uint8_t *mir = malloc(cs * (size_t)n);
	struct dv_image *v2 = calloc((size_t)n * 2, sizeof *v2);
	float *e2 = calloc((size_t)n * 2 * dim, sizeof *e2);
	int rc = DV_PLUGIN_ENOMEM;
	if (mir && v2 && e2) {
		for (int i = 0; i < n; i++) {
			const uint8_t *src = w->chips + cs * (size_t)i;
			uint8_t *dst = mir + cs * (size_t)i;
			for (int y = 0; y < ch; y++)
				for (int x = 0; x < cw; x++)
					memcpy(dst + ((size_t)y * cw + x) * 3, src + ((size_t)y * cw + (cw - 1 - x)) * 3, 3);
			v2[i] = w->views[i];
			v2[n + i] = (struct dv_image){.pixels = dst, .width = cw, .height = ch, .stride = cw * 3, .channels = 3};
		}
		rc = in->mod->desc->embed(in->inst, v2, 2 * n, e2);
		for (int i = 0; !rc && i < n; i++)
			for (int k = 0; k < dim; k++)
				w->emb[(size_t)i * dim + k] = 0.5f * (e2[(size_t)i * dim + k] + e2[(size_t)(n + i) * dim + k]);
	}
	free(mir);
	free(v2);
	free(e2);
	if (rc == DV_PLUGIN_ENOMEM && (!mir || !v2 || !e2)) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	return rc ? dv_plugin_fail(w, DV_ROLE_EMBEDDER, rc) : 0;
}

static int dv_stage_match(struct dv_work *w)
{
	if (w->n_faces == 0)
		return 0;
	struct dv_instance *in = w->ctx->inst[DV_ROLE_MATCHER];
	w->matches = calloc((size_t)w->n_faces * w->top_k, sizeof *w->matches);
	w->n_matches = calloc((size_t)w->n_faces, sizeof *w->n_matches);
	if (!w->matches || !w->n_matches) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < w->n_faces; i++) {
		dv_plugin_clear_error();
		int rc = in->mod->desc->matcher_search(in->inst, w->ctx->tenant, w->emb + (size_t)i * w->einfo.dim, w->einfo.dim,
		    w->top_k, w->matches + (size_t)i * w->top_k, &w->n_matches[i]);
		if (rc)
			return dv_plugin_fail(w, DV_ROLE_MATCHER, rc);
		if (w->n_matches[i] < 0 || w->n_matches[i] > w->top_k)
			w->n_matches[i] = 0;
	}
	return 0;
}

typedef int (*dv_stage_fn)(struct dv_work *);
static const dv_stage_fn dv_stages[DV_STAGE_COUNT] = {
	dv_stage_decode, dv_stage_detect, dv_stage_landmarks, dv_stage_align, dv_stage_embed, dv_stage_match};

/* What a front desk should do with face i: greet (known), offer enrolment
 * (unknown), ask for a better look (uncertain), or ask "are you ...?" with the
 * candidates (confirm): when a nearest person is not within the threshold
 * but within the looser one of ten times the target, or when a second
 * person is nearly as close as the one recognised. */
static const char *dv_face_decision(const struct dv_work *w, int i, bool known, bool unsure)
{
	if (unsure)
		return "uncertain";
	const struct dv_match *m = w->matches + (size_t)i * w->top_k;
	int n = w->n_matches[i];
	double loose = w->job->confirm_threshold;
	if (known) {
		/* the nearest other face within 0.03 of the recognised one (another
		 * person's only if the service says whose: the candidates list it) */
		if (n > 1 && loose > 0 && m[1].distance - m[0].distance < 0.03 && m[1].distance <= loose &&
		    (!w->ctx->hooks || !w->ctx->hooks->same_person || !w->ctx->hooks->same_person(w->ctx->hooks_arg, m[0].id, m[1].id)))
			return "confirm";
		return "known";
	}
	return n > 0 && loose > 0 && m[0].distance <= loose ? "confirm" : "unknown";
}

/* With a calibration table: how likely a stranger is to come this close to
 * someone in the tenant's gallery (min(1, N x FMR(d))). */
static void dv_false_match(const struct dv_work *w, struct dv_json *j, double d)
{
	const struct dv_calib *cal = w->job->gen ? w->job->gen->calib : NULL;
	if (!cal || !w->ctx->hooks)
		return;
	dv_json_key(j, "false_match_probability");
	dv_json_num(j, dv_calib_fpir(cal, w->job->gallery_n, d));
}

double dv_similarity(double d, double threshold)
{
	if (threshold <= 0)
		return d <= 0 ? 1.0 : 0.0;
	/* logistic in d/threshold: 0.5 at the threshold, ~0.99 at 0, ~0.01 at 2x */
	return 1.0 / (1.0 + exp(10.0 * (d / threshold - 1.0)));
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
			bool known = !unsure && n > 0 && m[0].distance <= w->threshold;
			dv_json_key(j, "match");
			if (known) {
				dv_json_obj_open(j);
				dv_json_key(j, "face_id"); dv_json_uint(j, m[0].id);
				if (w->ctx->hooks && w->ctx->hooks->match_json)
					w->ctx->hooks->match_json(w->ctx->hooks_arg, j, m[0].id);
				dv_json_key(j, "distance"); dv_json_float(j, m[0].distance);
				dv_json_key(j, "similarity"); dv_json_num(j, dv_similarity(m[0].distance, w->threshold));
				dv_false_match(w, j, m[0].distance);
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
			dv_json_key(j, "candidates");
			dv_json_arr_open(j);
			for (int k = 0; k < n; k++) {
				dv_json_obj_open(j);
				dv_json_key(j, "face_id"); dv_json_uint(j, m[k].id);
				if (w->ctx->hooks && w->ctx->hooks->match_json)
					w->ctx->hooks->match_json(w->ctx->hooks_arg, j, m[k].id);
				dv_json_key(j, "distance"); dv_json_float(j, m[k].distance);
				dv_json_key(j, "similarity"); dv_json_num(j, dv_similarity(m[k].distance, w->threshold));
				dv_false_match(w, j, m[k].distance);
				dv_json_obj_close(j);
			}
			dv_json_arr_close(j);
		}
		if (w->ctx->hooks && w->ctx->hooks->face_json)
			w->ctx->hooks->face_json(w->ctx->hooks_arg, j, i);
		dv_json_obj_close(j);
	}
	dv_json_arr_close(j);
}

static void dv_reply(struct dv_work *w)
{
	struct dv_job *job = w->job;
	struct dv_json j;
	dv_json_init(&j, &job->reply);
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
		dv_json_key(&j, "width"); dv_json_int(&j, w->img.width);
		dv_json_key(&j, "height"); dv_json_int(&j, w->img.height);
		dv_json_key(&j, "format"); dv_json_str(&j, w->img.format);
		if (w->img.orientation > 1) {
			dv_json_key(&j, "exif_orientation");
			dv_json_int(&j, w->img.orientation);
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
		dv_json_str(&j, how[job->decision]);
		if (cal && w->ctx->hooks) {
			/* N and what the threshold means for it, whichever way it was chosen */
			dv_json_key(&j, "gallery_faces");
			dv_json_int(&j, job->gallery_n);
			if (job->decision == DV_DECIDE_FPIR) {
				dv_json_key(&j, "target_fpir");
				dv_json_num(&j, job->target_fpir);
			}
			dv_json_key(&j, "expected_fpir");
			dv_json_num(&j, dv_calib_fpir(cal, job->gallery_n, w->threshold));
			dv_json_key(&j, "expected_tpir");
			dv_json_num(&j, 1 - dv_calib_fnmr(cal, w->threshold));
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
	if (w->ctx->hooks && w->ctx->hooks->reply_json)
		w->ctx->hooks->reply_json(w->ctx->hooks_arg, &j);
	dv_json_key(&j, "timings_ms");
	dv_json_obj_open(&j);
	dv_json_key(&j, "queue");
	dv_json_num(&j, job->queue_ms);
	for (int s = 0; s < DV_STAGE_COUNT; s++)
		if (job->stage_ran[s]) {
			dv_json_key(&j, dv_stage_name(s));
			dv_json_num(&j, job->stage_ms[s]);
		}
	if (job->record_ms >= 0) {
		dv_json_key(&j, "record");
		dv_json_num(&j, job->record_ms);
	}
	dv_json_obj_close(&j);
	dv_json_obj_close(&j);
	if (job->reply.failed)
		dv_job_fail(job, DV_ENOMEM, "out of memory while writing the reply");
}

void dv_pipeline_run(struct dv_job *job, const struct dv_pipeline_ctx *ctx)
{
	DV_CHECK_JOB(job);
	const struct dv_conf_pipeline *p = &ctx->conf->pipelines[job->op];
	if (!p->present) {
		dv_job_fail(job, DV_ENOPIPELINE, "no pipeline is configured for operation '%s'", dv_op_name(job->op));
		return;
	}
	struct dv_work w = {.job = job, .ctx = ctx};
	w.top_k = job->top_k > 0 ? job->top_k : (int)ctx->conf->match_top_k;
	w.threshold = job->threshold >= 0 ? job->threshold : ctx->conf->match_threshold;
	if (job->threshold >= 0)
		job->decision = DV_DECIDE_REQUEST;
	for (int i = 0; i < p->n_stages; i++) {
		int s = p->stages[i];
		int role = dv_stage_role(s);
		if (role >= 0 && !ctx->inst[role]) {
			dv_job_fail(job, DV_EPLUGIN, "the %s plugin is not available", dv_role_name(role));
			break;
		}
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r = dv_stages[s](&w);
		job->stage_ms[s] = dv_ms_since(&t0);
		job->stage_ran[s] = true;
		if (r != 0)
			break;
		w.have[s] = true;
		if (s == DV_STAGE_DETECT && w.n_faces == 0 && job->op == DV_OP_RECOGNIZE)
			dv_debug("no face in image");
	}
	if (!job->err && w.have[DV_STAGE_DETECT] && w.n_faces > 0 && job->op == DV_OP_RECOGNIZE)
		dv_work_quality(&w);
	if (!job->err && job->keep_embeddings && w.have[DV_STAGE_DETECT] && w.n_faces > 0) {
		if (w.quality) {
			job->quality = malloc(sizeof *job->quality * (size_t)w.n_faces);
			if (job->quality)
				memcpy(job->quality, w.quality, sizeof *job->quality * (size_t)w.n_faces);
		}
		job->faces = malloc(sizeof *job->faces * (size_t)w.n_faces);
		if (job->faces)
			memcpy(job->faces, w.faces, sizeof *job->faces * (size_t)w.n_faces);
		if (w.have[DV_STAGE_ALIGN] && w.chips && w.aligned) {
			size_t cs = (size_t)w.einfo.chip_width * w.einfo.chip_height * 3;
			job->chips = malloc(cs * (size_t)w.n_faces);
			job->aligned = malloc((size_t)w.n_faces);
			if (job->chips && job->aligned) {
				memcpy(job->chips, w.chips, cs * (size_t)w.n_faces);
				memcpy(job->aligned, w.aligned, (size_t)w.n_faces);
				job->chip_w = w.einfo.chip_width;
				job->chip_h = w.einfo.chip_height;
			}
		}
		if (w.have[DV_STAGE_EMBED])
			job->einfo = w.einfo;
		if (w.have[DV_STAGE_MATCH]) {
			job->matches = malloc(sizeof *job->matches * (size_t)w.n_faces * w.top_k);
			job->n_matches = malloc(sizeof *job->n_matches * (size_t)w.n_faces);
			if (job->matches && job->n_matches) {
				memcpy(job->matches, w.matches, sizeof *job->matches * (size_t)w.n_faces * w.top_k);
				memcpy(job->n_matches, w.n_matches, sizeof *job->n_matches * (size_t)w.n_faces);
			}
			job->top_k_used = w.top_k;
			job->threshold_used = w.threshold;
		}
	}
	if (!job->err && job->keep_embeddings && w.have[DV_STAGE_DETECT] && w.n_faces > 0) {
		/* the boxes always; the vectors when the embed stage ran */
		size_t n = w.have[DV_STAGE_EMBED] ? (size_t)w.n_faces * w.einfo.dim : 0;
		job->embeddings = n ? malloc(sizeof *job->embeddings * n) : NULL;
		job->face_boxes = malloc(sizeof *job->face_boxes * 5 * (size_t)w.n_faces);
		if ((n && !job->embeddings) || !job->face_boxes) {
			dv_job_fail(job, DV_ENOMEM, "out of memory");
		} else {
			if (n)
				memcpy(job->embeddings, w.emb, sizeof *job->embeddings * n);
			job->n_embeddings = w.n_faces;
			job->embedding_dim = n ? w.einfo.dim : 0;
			for (int i = 0; i < w.n_faces; i++) {
				float *b = job->face_boxes + 5 * i;
				b[0] = w.faces[i].x; b[1] = w.faces[i].y; b[2] = w.faces[i].w; b[3] = w.faces[i].h;
				b[4] = w.faces[i].score;
			}
		}
	}
	/* the service's lookups (persons, events) see the kept faces */
	if (!job->err && w.have[DV_STAGE_MATCH] && w.ctx->hooks && w.ctx->hooks->resolve) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		w.ctx->hooks->resolve(w.ctx->hooks_arg, job, w.matches, w.n_matches, w.n_faces, w.top_k, &w.threshold);
		if (job->keep_embeddings)
			job->threshold_used = w.threshold;
		job->record_ms = dv_ms_since(&t0);
	}
	if (!job->err)
		dv_reply(&w);
	dv_img_fini(&w.img);
	free(w.faces);
	free(w.chips);
	free(w.aligned);
	free(w.views);
	free(w.emb);
	free(w.matches);
	free(w.n_matches);
	free(w.quality);
}
