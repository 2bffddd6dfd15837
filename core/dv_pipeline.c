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
#include "dv_par.h"
#include "dv_gallery.h"
#include "dv_jsonp.h"
#include "dv_store.h"
#include "dv_work.h"
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


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
bool dv_work_unsure(const struct dv_work *w, int i)
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
	const struct dv_conf *c = w->ctx->conf;
	int r = dv_image_decode_scaled(w->job->req.body, w->job->req.body_len, c->limits.image_pixels,
	    (int)c->decode_min_side, &w->img, err, sizeof err);
	if (r != 0) {
		dv_job_fail(w->job, r, "%s", err);
		return -1;
	}
	/* the bytes are no longer needed (unless small faces are decoded again):
	 * give the memory back early */
	if (w->img.denom == 1) {
		free(w->job->req.body);
		w->job->req.body = NULL;
	}
	return 0;
}

/* Where a face is in an image decoded at 1/denom with its top-left at
 * (ax, ay) of that scale: to = true from the photo's pixels into it, false
 * back. Boxes and landmarks are continuous coordinates (pixel edges). */
static void dv_face_map(struct dv_face *f, int denom, int ax, int ay, bool into)
{
	if (denom == 1 && ax == 0 && ay == 0)
		return;
	double k = denom;
	if (into) {
		f->x = (float)(f->x / k - ax);
		f->y = (float)(f->y / k - ay);
		f->w = (float)(f->w / k);
		f->h = (float)(f->h / k);
	} else {
		f->x = (float)((f->x + ax) * k);
		f->y = (float)((f->y + ay) * k);
		f->w = (float)(f->w * k);
		f->h = (float)(f->h * k);
	}
	for (int q = 0; q < f->n_landmarks && q < 68; q++)
		for (int c = 0; c < 2; c++) {
			double a = c ? ay : ax;
			f->landmarks[q][c] = (float)(into ? f->landmarks[q][c] / k - a : (f->landmarks[q][c] + a) * k);
		}
}

/* The image face i's landmarks and chip come from: the photo as decoded, or
 * the finer region; and face i in its coordinates. */
static const struct dv_img *dv_face_src(const struct dv_work *w, int i, struct dv_face *f, int *denom, int *ax,
    int *ay)
{
	*f = w->faces[i];
	bool fine = w->on_fine && w->on_fine[i];
	const struct dv_img *im = fine ? &w->fine : &w->img;
	*denom = im->denom > 0 ? im->denom : 1;
	*ax = fine ? w->fine_at[0] : 0;
	*ay = fine ? w->fine_at[1] : 0;
	dv_face_map(f, *denom, *ax, *ay, true);
	return im;
}

/* A photo decoded at a reduced scale: faces smaller than decode.face_side
 * in it are decoded again, one region holding them all, at the finest scale
 * any of them needs (one more pass over the JPEG, whatever their number). */
static int dv_fine_region(struct dv_work *w)
{
	int denom = w->img.denom, need = denom, n = 0;
	if (denom <= 1 || w->n_faces == 0 || !w->job->req.body)
		return 0;
	double side_min = (double)w->ctx->conf->decode_face_side;
	double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
	w->on_fine = calloc((size_t)w->n_faces, sizeof *w->on_fine);
	if (!w->on_fine) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < w->n_faces; i++) {
		const struct dv_face *f = &w->faces[i];
		double side = f->w > f->h ? f->w : f->h; /* in the photo's pixels */
		if (side / denom >= side_min)
			continue;
		int d = denom / 2;
		while (d > 1 && side / d < side_min)
			d /= 2;
		need = d < need ? d : need;
		/* the chip reaches past the box (padding, a turned head): 1.3 sides around its centre */
		double cx = f->x + f->w / 2, cy = f->y + f->h / 2, h = 1.3 * side;
		x0 = fmin(x0, cx - h); y0 = fmin(y0, cy - h);
		x1 = fmax(x1, cx + h); y1 = fmax(y1, cy + h);
		w->on_fine[i] = true;
		n++;
	}
	if (n == 0)
		return 0;
	x0 = fmax(x0, 0); y0 = fmax(y0, 0);
	x1 = fmin(x1, w->img.full_width); y1 = fmin(y1, w->img.full_height);
	int rect[4] = {(int)floor(x0 / need), (int)floor(y0 / need), 0, 0};
	rect[2] = (int)ceil(x1 / need) - rect[0];
	rect[3] = (int)ceil(y1 / need) - rect[1];
	char err[256];
	int r = dv_image_decode_region(w->job->req.body, w->job->req.body_len, w->ctx->conf->limits.image_pixels, need,
	    rect, &w->fine, w->fine_at, err, sizeof err);
	if (r != 0) {
		dv_job_fail(w->job, r == DV_EBADREQUEST ? DV_EINTERNAL : r, "decoding the faces' region: %s", err);
		return -1;
	}
	w->fine.denom = need;
	return 0;
}

void dv_face_box_json(struct dv_buf *b, const struct dv_face *f)
{
	dv_buf_printf(b, "{\"x\":%.2f,\"y\":%.2f,\"w\":%.2f,\"h\":%.2f}", f->x, f->y, f->w, f->h);
}

void dv_face_landmarks_json(struct dv_buf *b, const struct dv_face *f)
{
	if (f->n_landmarks <= 0)
		return;
	dv_buf_puts(b, "[");
	for (int i = 0; i < f->n_landmarks; i++)
		dv_buf_printf(b, "%s[%.2f,%.2f]", i ? "," : "", f->landmarks[i][0], f->landmarks[i][1]);
	dv_buf_puts(b, "]");
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
	if (w->job->req.has_box) {
		/* the client named the face: no detection */
		const float *b = w->job->req.box;
		if (!(b[2] >= 1 && b[3] >= 1) || b[0] + b[2] <= 0 || b[1] + b[3] <= 0 || b[0] >= w->img.full_width ||
		    b[1] >= w->img.full_height) {
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
	/* the smallest face wanted (the request's ?min_face=, or detect.min_face),
	 * in the pixels of the image as decoded */
	long long min_face = w->job->req.min_face >= 0 ? w->job->req.min_face : w->ctx->conf->detect_min_face;
	v.min_face = min_face > 0 ? (float)min_face / (float)w->img.denom : 0;
	dv_plugin_clear_error();
	int rc = in->mod->desc->detect(in->inst, &v, w->faces, max + 1, &n);
	if (rc != 0)
		return dv_plugin_fail(w, DV_ROLE_DETECTOR, rc);
	if (n < 0 || n > max + 1) {
		dv_job_fail(w->job, DV_EPLUGIN, "detector %s returned %d faces for a buffer of %d", in->mod->desc->name, n,
		    max + 1);
		return -1;
	}
	/* the faces in the photo's pixels, whatever scale it was decoded at;
	 * those under detect.min_face are not reported (whatever input found them) */
	int kept = 0;
	for (int i = 0; i < n && i <= max; i++) {
		dv_face_map(&w->faces[i], w->img.denom, 0, 0, false);
		const struct dv_face *f = &w->faces[i];
		if (min_face > 0 && (f->w > f->h ? f->w : f->h) < min_face)
			continue;
		w->faces[kept++] = w->faces[i];
	}
	n = kept;
	long long side = w->ctx->conf->whole_image_max_side;
	int iw = w->img.full_width, ih = w->img.full_height;
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
	DV_ASSERT(w->n_faces >= 0 && w->n_faces <= max);
	return 0;
}

/* Landmark i of a face seen in a mirror is landmark dv_mirror68(i) of the
 * face itself (iBUG 300-W: the jaw, brows, eyes, nose and mouth swap sides;
 * the midline stays). */
static int dv_mirror68(int i)
{
	static const signed char eye[12] = {45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40}; /* 36..47 */
	if (i <= 16)
		return 16 - i;
	if (i <= 26)
		return 43 - i;
	if (i <= 30)
		return i;
	if (i <= 35)
		return 66 - i;
	if (i <= 47)
		return eye[i - 36];
	if (i <= 54)
		return 102 - i;
	if (i <= 59)
		return 114 - i;
	if (i <= 64)
		return 124 - i;
	return 132 - i;
}

/* landmarks.flip: face f's 68 points again from its mirror image — a crop
 * around its box, mirrored — and the two sets averaged (test-time
 * augmentation: one more landmark pass a face). f is in im's pixels. 0, or
 * the plugin's error (f unchanged). */
static int dv_landmarks_flip(struct dv_instance *in, const struct dv_img *im, struct dv_face *f)
{
	if (f->n_landmarks != 68)
		return 0;
	double side = f->w > f->h ? f->w : f->h;
	int x0 = (int)floor(f->x - 0.5 * side), y0 = (int)floor(f->y - 0.5 * side);
	int x1 = (int)ceil(f->x + f->w + 0.5 * side), y1 = (int)ceil(f->y + f->h + 0.5 * side);
	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > im->width ? im->width : x1;
	y1 = y1 > im->height ? im->height : y1;
	int cw = x1 - x0, ch = y1 - y0;
	if (cw < 2 || ch < 2)
		return 0;
	uint8_t *m = malloc((size_t)cw * ch * 3);
	if (!m)
		return DV_PLUGIN_ENOMEM;
	for (int y = 0; y < ch; y++) {
		const uint8_t *src = im->pixels + ((size_t)(y0 + y) * im->width + x0) * 3;
		uint8_t *dst = m + (size_t)y * cw * 3;
		for (int x = 0; x < cw; x++)
			memcpy(dst + (size_t)(cw - 1 - x) * 3, src + (size_t)x * 3, 3);
	}
	/* the box in the mirrored crop: an edge at u is at cw - u; a point (the
	 * landmarks are pixel centres) at x is at cw - 1 - x — measured: the other
	 * convention puts the averaged points further from dlib's own */
	struct dv_face g = *f;
	g.x = (float)(cw - (f->x - x0) - f->w);
	g.y = f->y - (float)y0;
	g.n_landmarks = 0;
	struct dv_image v = {.pixels = m, .width = cw, .height = ch, .stride = cw * 3, .channels = 3};
	int rc = in->mod->desc->landmarks(in->inst, &v, &g, 1);
	if (!rc && g.n_landmarks == 68)
		for (int i = 0; i < 68; i++) {
			const float *q = g.landmarks[dv_mirror68(i)];
			f->landmarks[i][0] = 0.5f * (f->landmarks[i][0] + (float)(x0 + cw - 1) - q[0]);
			f->landmarks[i][1] = 0.5f * (f->landmarks[i][1] + (float)y0 + q[1]);
		}
	free(m);
	return rc;
}

/* Instance of role for part k of a split over the face threads. */
static struct dv_instance *dv_part_inst(const struct dv_pipeline_ctx *c, int k, int role)
{
	struct dv_instance *in = k == 0 ? NULL : c->hinst[k - 1][role];
	return in ? in : c->inst[role]; /* a shared instance serves every thread */
}

/* A split's parts: how many, and each part's code and (a helper's) reason */
struct dv_parts {
	int n;
	int rc[DV_PAR_MAX];
	char err[DV_PAR_MAX][512];
};

/* Parts for items split over the face threads: one an item, as many as the
 * idle cores allow (dv_par_threads), at least 1. */
static int dv_parts_for(const struct dv_par *par, int items)
{
	int t = dv_par_threads(par);
	return items < 1 ? 1 : items < t ? items : t;
}

/* Part k begins: a helper's thread-local reason cleared (the caller's was). */
static void dv_part_begin(int k)
{
	if (k > 0)
		dv_plugin_clear_error();
}

/* Part k ended with rc: kept, with a helper's reason. */
static void dv_part_end(struct dv_parts *p, int k, int rc)
{
	p->rc[k] = rc;
	if (rc && k > 0)
		snprintf(p->err[k], sizeof p->err[k], "%s", dv_plugin_last_error());
}

/* The first failing part's code, its reason made this thread's; 0. */
static int dv_part_rc(const struct dv_parts *p)
{
	for (int k = 0; k < p->n; k++)
		if (p->rc[k]) {
			if (k > 0)
				dv_plugin_set_error(p->err[k]);
			return p->rc[k];
		}
	return 0;
}

/* One part's faces [lo, hi) of one image: their landmarks, and their
 * mirror images' (landmarks.flip), on part k's instance. */
struct dv_lm_task {
	const struct dv_pipeline_ctx *ctx;
	const struct dv_img *im;
	struct dv_image v;
	struct dv_face *fs;
	int n;
	struct dv_parts parts;
};

static void dv_lm_part(void *arg, int k)
{
	struct dv_lm_task *t = arg;
	struct dv_instance *in = dv_part_inst(t->ctx, k, DV_ROLE_LANDMARKER);
	int lo, hi;
	dv_par_share(t->n, t->parts.n, k, &lo, &hi);
	dv_part_begin(k);
	int rc = in->mod->desc->landmarks(in->inst, &t->v, t->fs + lo, hi - lo);
	for (int i = lo; !rc && t->ctx->conf->landmarks_flip && i < hi; i++)
		rc = dv_landmarks_flip(in, t->im, &t->fs[i]);
	dv_part_end(&t->parts, k, rc);
}

static int dv_stage_landmarks(struct dv_work *w)
{
	if (w->n_faces == 0)
		return 0;
	if (dv_fine_region(w) != 0)
		return -1;
	/* the faces of each image (the photo as decoded, the finer region) in one
	 * call, or split over the worker's face threads */
	struct dv_face *fs = malloc(sizeof *fs * (size_t)w->n_faces);
	int *idx = malloc(sizeof *idx * (size_t)w->n_faces);
	if (!fs || !idx) {
		free(fs);
		free(idx);
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	int rc = 0;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		int n = 0, denom = 1, ax = 0, ay = 0;
		const struct dv_img *im = NULL;
		for (int i = 0; i < w->n_faces; i++)
			if ((w->on_fine && w->on_fine[i]) == (pass == 1)) {
				im = dv_face_src(w, i, &fs[n], &denom, &ax, &ay);
				idx[n++] = i;
			}
		if (n == 0)
			continue;
		struct dv_lm_task t = {.ctx = w->ctx, .im = im, .v = dv_view(im), .fs = fs, .n = n,
		    .parts.n = dv_parts_for(w->ctx->par, n)};
		dv_plugin_clear_error();
		dv_par_run(w->ctx->par, t.parts.n, dv_lm_part, &t);
		rc = dv_part_rc(&t.parts);
		for (int k = 0; !rc && k < n; k++) {
			dv_face_map(&fs[k], denom, ax, ay, false);
			struct dv_face *f = &w->faces[idx[k]];
			f->n_landmarks = fs[k].n_landmarks;
			memcpy(f->landmarks, fs[k].landmarks, sizeof f->landmarks);
		}
	}
	free(fs);
	free(idx);
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
		struct dv_face fsrc;
		int denom, ax, ay;
		const struct dv_img *im = dv_face_src(w, i, &fsrc, &denom, &ax, &ay);
		const struct dv_face *f = &fsrc;
		struct dv_align_fit fit;
		w->views[i] = (struct dv_image){.pixels = w->chips + (size_t)i * cw * ch * 3, .width = cw, .height = ch,
		    .stride = cw * 3, .channels = 3};
		int box[4];
		if (!strcmp(method, "faceapi") && f->n_landmarks == 68 &&
		    dv_align_faceapi_box(f->landmarks, im->width, im->height, box) == 0) {
			/* the embedder pads face-api's crop to a square and resizes it */
			w->views[i] = (struct dv_image){.pixels = im->pixels + ((size_t)box[1] * im->width + box[0]) * 3,
			    .width = box[2], .height = box[3], .stride = im->width * 3, .channels = 3};
			w->aligned[i] = 'f';
			continue;
		}
		if (!strcmp(method, "dlib") && f->n_landmarks == 68 && pad > 0 && cw == ch &&
		    dv_align_fit68(f->landmarks, pad, cw, &fit) == 0) {
			if (dv_align_chip(im->pixels, im->width, im->height, im->width * 3, &fit, cw,
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
				dv_sample(im, x0 + (c + 0.5) * bw / cw - 0.5, y0 + (r + 0.5) * bh / ch - 0.5,
				    chip + ((size_t)r * cw + c) * 3);
	}
	return 0;
}

static int dv_stage_embed(struct dv_work *w)
{
	if (w->n_faces == 0)
		return 0;
	w->emb = calloc((size_t)w->n_faces * w->einfo.dim, sizeof *w->emb);
	if (!w->emb) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	dv_plugin_clear_error();
	bool flip = w->ctx->conf->embed_flip && w->chips;
	int jit = w->chips ? w->job->req.jitter : 0;
	for (int i = 0; (flip || jit > 0) && i < w->n_faces; i++)
		if (w->aligned[i] != 'd' && w->aligned[i] != 'b') /* materialised chips only */
			flip = false, jit = 0;
	int rc = dv_embed_chips_ctx(w->ctx, w->views, w->chips, w->n_faces, &w->einfo, flip, jit, w->emb);
	if (rc == DV_PLUGIN_ENOMEM) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	return rc ? dv_plugin_fail(w, DV_ROLE_EMBEDDER, rc) : 0;
}

/* n views' vectors (n x dim), the views split over ctx's face threads (a
 * NULL ctx: on in alone). */
struct dv_emb_task {
	const struct dv_pipeline_ctx *ctx;
	const struct dv_image *views;
	float *out;
	int n, dim;
	struct dv_parts parts;
};

static void dv_emb_part(void *arg, int k)
{
	struct dv_emb_task *t = arg;
	struct dv_instance *in = dv_part_inst(t->ctx, k, DV_ROLE_EMBEDDER);
	int lo, hi;
	dv_par_share(t->n, t->parts.n, k, &lo, &hi);
	dv_part_begin(k);
	dv_part_end(&t->parts, k, in->mod->desc->embed(in->inst, t->views + lo, hi - lo, t->out + (size_t)lo * t->dim));
}

static int dv_embed_views(const struct dv_pipeline_ctx *ctx, struct dv_instance *in, const struct dv_image *views,
    int n, int dim, float *out)
{
	int parts = ctx ? dv_parts_for(ctx->par, n) : 1;
	if (parts <= 1)
		return in->mod->desc->embed(in->inst, views, n, out);
	struct dv_emb_task t = {.ctx = ctx, .views = views, .out = out, .n = n, .dim = dim, .parts.n = parts};
	dv_par_run(ctx->par, parts, dv_emb_part, &t);
	return dv_part_rc(&t.parts);
}

static int dv_embed_chips_on(const struct dv_pipeline_ctx *ctx, struct dv_instance *in, const struct dv_image *views,
    const uint8_t *chips, int n, const struct dv_embedder_info *ei, bool flip, int jitter, float *out);

int dv_embed_chips(struct dv_instance *in, const struct dv_image *views, const uint8_t *chips, int n,
    const struct dv_embedder_info *ei, bool flip, int jitter, float *out)
{
	return dv_embed_chips_on(NULL, in, views, chips, n, ei, flip, jitter, out);
}

int dv_embed_chips_ctx(const struct dv_pipeline_ctx *ctx, const struct dv_image *views, const uint8_t *chips, int n,
    const struct dv_embedder_info *ei, bool flip, int jitter, float *out)
{
	return dv_embed_chips_on(ctx, ctx->inst[DV_ROLE_EMBEDDER], views, chips, n, ei, flip, jitter, out);
}

static int dv_embed_chips_on(const struct dv_pipeline_ctx *ctx, struct dv_instance *in, const struct dv_image *views,
    const uint8_t *chips, int n, const struct dv_embedder_info *ei, bool flip, int jitter, float *out)
{
	if (jitter > DV_JITTER_MAX)
		jitter = DV_JITTER_MAX;
	if (!chips || ei->chip_width != ei->chip_height)
		flip = false, jitter = 0;
	if (!flip && jitter <= 0)
		return dv_embed_views(ctx, in, views, n, ei->dim, out);
	/* each chip and its mirror image (embed.flip), and jitter jittered copies
	 * (enrol.jitter, dv_align_jitter); the vectors averaged */
	int cw = ei->chip_width, ch = ei->chip_height, dim = ei->dim;
	int m = 1 + (flip ? 1 : 0) + (jitter > 0 ? jitter : 0); /* views a face */
	size_t cs = (size_t)cw * ch * 3;
	uint8_t *extra = malloc(cs * (size_t)n * (size_t)(m - 1));
	struct dv_image *v2 = calloc((size_t)n * m, sizeof *v2);
	float *e2 = calloc((size_t)n * m * dim, sizeof *e2);
	int rc = DV_PLUGIN_ENOMEM;
	if (extra && v2 && e2) {
		for (int i = 0; i < n; i++) {
			const uint8_t *src = chips + cs * (size_t)i;
			uint64_t rng = 0x6a09e667f3bcc909ULL + (uint64_t)i; /* the same copies every time */
			v2[(size_t)i * m] = views[i];
			for (int v = 1; v < m; v++) {
				uint8_t *dst = extra + cs * ((size_t)i * (m - 1) + (v - 1));
				if (v == 1 && flip) {
					for (int y = 0; y < ch; y++)
						for (int x = 0; x < cw; x++)
							memcpy(dst + ((size_t)y * cw + x) * 3, src + ((size_t)y * cw + (cw - 1 - x)) * 3, 3);
				} else {
					dv_align_jitter(src, cw, &rng, dst);
				}
				v2[(size_t)i * m + v] =
				    (struct dv_image){.pixels = dst, .width = cw, .height = ch, .stride = cw * 3, .channels = 3};
			}
		}
		rc = dv_embed_views(ctx, in, v2, n * m, dim, e2);
		for (int i = 0; !rc && i < n; i++)
			for (int k = 0; k < dim; k++) {
				float s = 0;
				for (int v = 0; v < m; v++)
					s += e2[((size_t)i * m + v) * dim + k];
				out[(size_t)i * dim + k] = s / (float)m;
			}
	}
	free(extra);
	free(v2);
	free(e2);
	return rc;
}

/* "Known" is a decision: for a tenant with N enrolled faces, the threshold
 * at which a stranger gets some name with the target probability (N x FMR(t)
 * = target, from the embedder's calibration table), unless the request set
 * its own or the configuration decides by a fixed threshold. A bare run
 * keeps the fixed threshold. */
static int dv_decide(struct dv_work *w)
{
	struct dv_job *job = w->job;
	const struct dv_gen *g = job->gen;
	if (!dv_work_service(w) || !g)
		return 0;
	if (g->calib)
		job->res.gallery_n = dv_gallery_tenant_faces(w->ctx->gallery, w->ctx->tenant);
	if (job->res.decision == DV_DECIDE_REQUEST || !g->calib || strcmp(g->conf->match_decision, "fpir")) {
		if (job->res.decision != DV_DECIDE_REQUEST)
			job->res.decision = DV_DECIDE_THRESHOLD;
		job->res.confirm_threshold = w->threshold + 0.05;
		return 0;
	}
	/* the tenant may set its own target (settings.target_fpir) */
	if (dv_work_tenant(w) != 0)
		return -1;
	double target = w->tenant.target_fpir;
	job->res.target_fpir = target > 0 ? target : g->conf->match_target_fpir;
	job->res.decision = DV_DECIDE_FPIR;
	w->threshold = dv_calib_threshold(g->calib, job->res.gallery_n, job->res.target_fpir);
	/* this tenant's people closer together than the calibration's (dv_gallery.c) */
	job->res.correction = dv_gallery_tenant_shift(w->ctx->gallery, w->ctx->tenant);
	if (job->res.correction > 0 && job->res.correction < w->threshold)
		w->threshold -= job->res.correction;
	/* a person within the threshold of ten times the target is worth asking about */
	double loose = job->res.target_fpir * 10 > 0.5 ? 0.5 : job->res.target_fpir * 10;
	job->res.confirm_threshold = dv_calib_threshold(g->calib, job->res.gallery_n, loose);
	/* a gallery of enough people decides by the cohort score (match.cohort):
	 * the score that lets the target's share of strangers through among this
	 * many people (measured by make calibrate); the tenant correction is the
	 * distance's — the score already discounts a face near everyone */
	long long people =
	    g->conf->match_cohort && g->calib->coh_np ? dv_gallery_tenant_people(w->ctx->gallery, w->ctx->tenant) : 0;
	if (dv_calib_cohort_applies(g->calib, people)) {
		job->res.cohort_people = people;
		job->res.cohort_threshold = dv_calib_cohort_threshold(g->calib, people, job->res.target_fpir);
		job->res.cohort_confirm = dv_calib_cohort_threshold(g->calib, people, loose);
	}
	return 0;
}

/* One part's faces [lo, hi): their nearest faces in the tenant's gallery. */
struct dv_match_task {
	struct dv_work *w;
	struct dv_instance *in;
	struct dv_parts parts;
};

static void dv_match_part(void *arg, int k)
{
	struct dv_match_task *t = arg;
	struct dv_work *w = t->w;
	int lo, hi;
	dv_par_share(w->n_faces, t->parts.n, k, &lo, &hi);
	dv_part_begin(k);
	int rc = 0;
	for (int i = lo; i < hi && !rc; i++) {
		rc = t->in->mod->desc->matcher_search(t->in->inst, w->ctx->tenant, w->emb + (size_t)i * w->einfo.dim,
		    w->einfo.dim, w->top_k, w->matches + (size_t)i * w->top_k, &w->n_matches[i]);
		if (w->n_matches[i] < 0 || w->n_matches[i] > w->top_k)
			w->n_matches[i] = 0;
	}
	dv_part_end(&t->parts, k, rc);
}

/* The nearest faces of each face in the tenant's gallery, and the decision. */
static int dv_stage_match(struct dv_work *w)
{
	if (dv_decide(w) != 0)
		return -1;
	if (w->n_faces == 0)
		return 0;
	DV_ASSERT(w->emb != NULL && w->top_k >= 1 && w->einfo.dim > 0); /* the embed stage ran first */
	struct dv_instance *in = w->ctx->inst[DV_ROLE_MATCHER];
	w->matches = calloc((size_t)w->n_faces * w->top_k, sizeof *w->matches);
	w->n_matches = calloc((size_t)w->n_faces, sizeof *w->n_matches);
	if (!w->matches || !w->n_matches) {
		dv_job_fail(w->job, DV_ENOMEM, "out of memory");
		return -1;
	}
	/* each face's search; a shared matcher (one instance every thread may
	 * call) takes the faces over the worker's face threads: each search
	 * reads the whole gallery, bound by memory, and two cores read faster */
	struct dv_match_task t = {.w = w, .in = in,
	    .parts.n = (in->mod->desc->flags & DV_PLUGIN_SHARED) ? dv_parts_for(w->ctx->par, w->n_faces) : 1};
	dv_plugin_clear_error();
	dv_par_run(t.parts.n > 1 ? w->ctx->par : NULL, t.parts.n, dv_match_part, &t);
	int rc = dv_part_rc(&t.parts);
	return rc ? dv_plugin_fail(w, DV_ROLE_MATCHER, rc) : 0;
}

double dv_similarity(double d, double threshold)
{
	if (threshold <= 0)
		return d <= 0 ? 1.0 : 0.0;
	/* logistic in d/threshold: 0.5 at the threshold, ~0.99 at 0, ~0.01 at 2x */
	return 1.0 / (1.0 + exp(10.0 * (d / threshold - 1.0)));
}

typedef int (*dv_stage_fn)(struct dv_work *);
static const dv_stage_fn dv_stages[DV_STAGE_COUNT] = {dv_stage_decode, dv_stage_detect, dv_stage_landmarks,
    dv_stage_align, dv_stage_embed, dv_stage_match, dv_stage_record, dv_stage_hooks};

void dv_pipeline_run(struct dv_job *job, const struct dv_pipeline_ctx *ctx)
{
	DV_CHECK_JOB(job);
	const struct dv_conf_pipeline *p = &ctx->conf->pipelines[job->req.op];
	if (!p->present) {
		dv_job_fail(job, DV_ENOPIPELINE, "no pipeline is configured for operation '%s'",
		    dv_op_name(job->req.op));
		return;
	}
	struct dv_work w = {.job = job, .ctx = ctx};
	w.top_k = job->req.top_k > 0 ? job->req.top_k : (int)ctx->conf->match_top_k;
	w.top_k_reply = w.top_k;
	/* the margin over the next person (match.margin_ratio) needs candidates
	 * to see them, whatever the client asked to be shown */
	if (ctx->conf->match_margin_ratio < 1 && w.top_k < DV_MARGIN_CANDIDATES)
		w.top_k = DV_MARGIN_CANDIDATES;
	/* ... and the cohort score, its next people */
	const struct dv_calib *cal = job->gen ? job->gen->calib : NULL;
	if (ctx->conf->match_cohort && cal && cal->coh_np && w.top_k < DV_COHORT_CANDIDATES)
		w.top_k = DV_COHORT_CANDIDATES;
	w.threshold = job->req.threshold >= 0 ? job->req.threshold : ctx->conf->match_threshold;
	if (job->req.threshold >= 0)
		job->res.decision = DV_DECIDE_REQUEST;
	for (int i = 0; i < p->n_stages; i++) {
		int s = p->stages[i];
		/* record and hooks belong to the service: a bare run skips both, a
		 * run that only looks up (enrol, detect) skips the hooks */
		if (s >= DV_STAGE_RECORD && !dv_work_service(&w))
			continue;
		if (s == DV_STAGE_HOOKS && ctx->mode != DV_RUN_RECORD)
			continue;
		/* each face's quality, before anything decides on it */
		if (s == DV_STAGE_MATCH && job->req.op == DV_OP_RECOGNIZE)
			dv_work_quality(&w);
		int role = dv_stage_role(s);
		if (role >= 0 && !ctx->inst[role]) {
			dv_job_fail(job, DV_EPLUGIN, "the %s plugin is not available", dv_role_name(role));
			break;
		}
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r = dv_stages[s](&w);
		job->res.stage_ms[s] = dv_ms_since(&t0);
		job->res.stage_ran[s] = true;
		if (r != 0)
			break;
		w.have[s] = true;
		if (s == DV_STAGE_DETECT && w.n_faces == 0 && job->req.op == DV_OP_RECOGNIZE)
			dv_debug("no face in image");
	}
	if (!job->res.err && w.have[DV_STAGE_DETECT] && w.n_faces > 0 && job->req.op == DV_OP_RECOGNIZE)
		dv_work_quality(&w);
	if (!job->res.err && job->req.keep_embeddings && w.have[DV_STAGE_DETECT] && w.n_faces > 0) {
		if (w.quality) {
			job->res.quality = malloc(sizeof *job->res.quality * (size_t)w.n_faces);
			if (job->res.quality)
				memcpy(job->res.quality, w.quality, sizeof *job->res.quality * (size_t)w.n_faces);
		}
		job->res.faces = malloc(sizeof *job->res.faces * (size_t)w.n_faces);
		if (job->res.faces)
			memcpy(job->res.faces, w.faces, sizeof *job->res.faces * (size_t)w.n_faces);
		if (w.have[DV_STAGE_ALIGN] && w.chips && w.aligned) {
			size_t cs = (size_t)w.einfo.chip_width * w.einfo.chip_height * 3;
			job->res.chips = malloc(cs * (size_t)w.n_faces);
			job->res.aligned = malloc((size_t)w.n_faces);
			if (job->res.chips && job->res.aligned) {
				memcpy(job->res.chips, w.chips, cs * (size_t)w.n_faces);
				memcpy(job->res.aligned, w.aligned, (size_t)w.n_faces);
				job->res.chip_w = w.einfo.chip_width;
				job->res.chip_h = w.einfo.chip_height;
			}
		}
		if (w.have[DV_STAGE_EMBED])
			job->res.einfo = w.einfo;
		if (w.have[DV_STAGE_MATCH]) {
			job->res.matches = malloc(sizeof *job->res.matches * (size_t)w.n_faces * w.top_k);
			job->res.n_matches = malloc(sizeof *job->res.n_matches * (size_t)w.n_faces);
			if (job->res.matches && job->res.n_matches) {
				memcpy(job->res.matches, w.matches,
				    sizeof *job->res.matches * (size_t)w.n_faces * w.top_k);
				memcpy(job->res.n_matches, w.n_matches, sizeof *job->res.n_matches * (size_t)w.n_faces);
			}
			job->res.top_k_used = w.top_k;
			job->res.threshold_used = w.threshold;
		}
	}
	if (!job->res.err && job->req.keep_embeddings && w.have[DV_STAGE_DETECT] && w.n_faces > 0) {
		/* the boxes always; the vectors when the embed stage ran */
		size_t n = w.have[DV_STAGE_EMBED] ? (size_t)w.n_faces * w.einfo.dim : 0;
		job->res.embeddings = n ? malloc(sizeof *job->res.embeddings * n) : NULL;
		job->res.face_boxes = malloc(sizeof *job->res.face_boxes * 5 * (size_t)w.n_faces);
		if ((n && !job->res.embeddings) || !job->res.face_boxes) {
			dv_job_fail(job, DV_ENOMEM, "out of memory");
		} else {
			if (n)
				memcpy(job->res.embeddings, w.emb, sizeof *job->res.embeddings * n);
			job->res.n_embeddings = w.n_faces;
			job->res.embedding_dim = n ? w.einfo.dim : 0;
			for (int i = 0; i < w.n_faces; i++) {
				float *b = job->res.face_boxes + 5 * i;
				b[0] = w.faces[i].x; b[1] = w.faces[i].y; b[2] = w.faces[i].w; b[3] = w.faces[i].h;
				b[4] = w.faces[i].score;
			}
		}
	}
	/* for the metric of the service's PostgreSQL and hooks work */
	if (job->res.stage_ran[DV_STAGE_RECORD] || job->res.stage_ran[DV_STAGE_HOOKS])
		job->res.record_ms = (job->res.stage_ran[DV_STAGE_RECORD] ? job->res.stage_ms[DV_STAGE_RECORD] : 0) +
		                 (job->res.stage_ran[DV_STAGE_HOOKS] ? job->res.stage_ms[DV_STAGE_HOOKS] : 0);
	/* enrolment asks whose each face's nearest is */
	if (!job->res.err && job->req.keep_embeddings && w.have[DV_STAGE_RECORD] && w.n_faces > 0) {
		job->res.best_person = calloc((size_t)w.n_faces, sizeof *job->res.best_person);
		job->res.best_person_json = calloc((size_t)w.n_faces, sizeof *job->res.best_person_json);
		job->res.best_known = calloc((size_t)w.n_faces, sizeof *job->res.best_known);
		job->res.n_best = job->res.best_person_json && job->res.best_known ? w.n_faces : 0;
		for (int i = 0; job->res.best_person && i < job->res.n_best; i++) {
			if (w.n_matches[i] == 0)
				continue;
			job->res.best_known[i] = dv_work_known(&w, i);
			const char *pj = dv_record_person(&w, w.matches[(size_t)i * w.top_k].id, &job->res.best_person[i]);
			job->res.best_person_json[i] = pj ? strdup(pj) : NULL;
		}
	}
	if (!job->res.err)
		dv_reply_write(&w);
	dv_record_fini(&w);
	dv_img_fini(&w.img);
	dv_img_fini(&w.fine);
	free(w.on_fine);
	free(w.faces);
	free(w.chips);
	free(w.aligned);
	free(w.views);
	free(w.emb);
	free(w.matches);
	free(w.n_matches);
	free(w.quality);
	free(w.cohort);
}
