/* landmarks_darknet.c — landmarker plugin: face-api's 68-point landmark net
 * (models/face_landmark_68.cfg, or the tiny one) on Darknet. Each worker owns
 * an instance. For each face, the box is clipped to the image and floored as
 * face-api's extractFaces does, the crop is normalised (padToSquare centred,
 * resize to 112, (x - mean) / 255) and the 136 outputs are mapped back to
 * image pixels undoing the square padding (FaceLandmark68NetBase.postProcess).
 *
 * The points are placed relative to the crop's floored origin, where its
 * pixels came from. face-api instead shifts them by the detection box's
 * unfloored origin (WithFaceLandmarks: shiftBy(detection.box.x, .y)), up to
 * one pixel right and down of where they belong; `origin: box` reproduces
 * that, for end-to-end equality with face-api's own pipeline. */
#include "config.h"
#include "dn_common.h"
#include <darknet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float dl_mean[3] = {122.782f, 117.001f, 104.298f};

struct dl {
	const struct dv_host *host;
	network *net;
	float *input, *output; /* DN_BATCH tensors, DN_BATCH outputs */
	int batch;
	int box_origin;    /* origin: box (face-api's unfloored shift) */
};

static const struct dv_param dl_params[] = {
	{"batch", DV_PARAM_INT, 1, DN_BATCH, "1", "faces of one photo run through the net per pass, up to 8, in powers of two (make bench measures the cost per face at each size)"},
	{"conv", DV_PARAM_STRING, 0, 0, DN_CONV_DEFAULT, "how the network runs: onednn (the whole net on oneDNN in its blocked layouts, with our own kernels where they win; the default when built with it), onednn-only (no own kernels), or darknet (its layers, im2col + OpenBLAS gemm)"},
	{"model", DV_PARAM_STRING, 0, 0, "face_landmark_68", "face_landmark_68, or face_landmark_68_tiny (faster, less exact)"},
	{"origin", DV_PARAM_STRING, 0, 0, "crop", "crop: points relative to the crop's floored origin (exact); box: shifted by the unfloored box origin as face-api does"},
	{"direct_depthwise", DV_PARAM_BOOL, 0, 0, "true", "run depthwise convolutions with the direct kernel (the same sums, faster than im2col + gemm)"},
	{"precision", DV_PARAM_STRING, 0, 0, "auto",
	    "int8 (the network in 8-bit integers on oneDNN, scaled by model_dir's NAME.int8.tsv, which make calibrate-int8-landmarks writes; docs/performance.md), f32, or auto: int8 when the build has oneDNN, conv is oneDNN and the table for these weights is there, else f32"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static void dl_destroy(void *p)
{
	struct dl *d = p;
	if (d->net)
		dn_free(d->net);
	free(d->input);
	free(d->output);
	free(d);
}

static int dl_create(const struct dv_host *h, void **out)
{
	struct dl *d = calloc(1, sizeof *d);
	if (!d)
		return DV_PLUGIN_ENOMEM;
	d->host = h;
	const char *model;
	h->param_string(h, "model", &model);
	const char *origin;
	h->param_string(h, "origin", &origin);
	if (strcmp(origin, "crop") && strcmp(origin, "box")) {
		h->error(h, "origin must be crop or box, not \"%s\"", origin);
		dl_destroy(d);
		return DV_PLUGIN_EINVAL;
	}
	d->box_origin = !strcmp(origin, "box");
	long long batch = 1;
	h->param_int(h, "batch", &batch);
	d->batch = (int)batch;
	d->input = malloc(sizeof *d->input * 3 * 112 * 112 * DN_BATCH);
	d->output = malloc(sizeof *d->output * 136 * DN_BATCH);
	char sum[65] = "";
	d->net = d->input && d->output ? dn_load(h, model, 0, 0, sum) : NULL;
	if (!d->net) {
		dl_destroy(d);
		return DV_PLUGIN_EFAIL;
	}
	if (d->net->inputs != 3 * 112 * 112 || d->net->outputs != 136) {
		h->error(h, "%s is not a 112x112 -> 136 network", model);
		dl_destroy(d);
		return DV_PLUGIN_EFAIL;
	}
	int direct = 1;
	h->param_bool(h, "direct_depthwise", &direct);
	if (direct) {
		int nd = dn_direct_depthwise(d->net);
		h->log(h, DV_LOG_DEBUG, "direct depthwise kernel on %d layers", nd);
	}
	dn_gemm_check(h, d->net);
	const char *conv, *prec;
	h->param_string(h, "conv", &conv);
	h->param_string(h, "precision", &prec);
	float *qmax = NULL;
	if (dn_precision(h, prec, conv, model, sum, d->net->n, "make calibrate-int8-landmarks", &qmax) != 0) {
		dl_destroy(d);
		return DV_PLUGIN_EINVAL;
	}
	int nc = dn_conv_kernels(h, d->net, conv, qmax);
	free(qmax);
	if (nc < 0) {
		dl_destroy(d);
		return DV_PLUGIN_EINVAL;
	}
	*out = d;
	return DV_PLUGIN_OK;
}

static int dl_landmarks(void *p, const struct dv_image *img, struct dv_face *faces, int n)
{
	struct dl *d = p;
	/* the faces of a photo go through the net together (dn_predict), up to
	 * DN_BATCH tensors at a time */
	struct { int face, x0, y0, w, h; } in[DN_BATCH];
	for (int i = 0; i < n;) {
		int k = 0;
		for (; i < n && k < DN_BATCH; i++) {
			struct dv_face *f = &faces[i];
			/* face-api's Box.clipAtImageBorders(...).floor() */
			double cx = fmax(f->x, 0), cy = fmax(f->y, 0);
			double cw = fmin(f->x + f->w - cx, img->width - cx), ch = fmin(f->y + f->h - cy, img->height - cy);
			int x0 = (int)floor(cx), y0 = (int)floor(cy), w = (int)floor(cw), h = (int)floor(ch);
			if (w < 1 || h < 1) {
				f->n_landmarks = 0;
				continue;
			}
			struct dv_image crop = {
			    .pixels = img->pixels + (size_t)y0 * img->stride + (size_t)x0 * img->channels,
			    .width = w, .height = h, .stride = img->stride, .channels = img->channels};
			dn_batch_tensor(&crop, 112, 1, dl_mean, 255.0f, d->input + (size_t)k * 3 * 112 * 112);
			in[k].face = i;
			in[k].x0 = x0;
			in[k].y0 = y0;
			in[k].w = w;
			in[k].h = h;
			k++;
		}
		if (k == 0)
			continue;
		dn_predict(d->net, k, d->batch, d->input, 3 * 112 * 112, d->output, 136);
		for (int j = 0; j < k; j++) {
			struct dv_face *f = &faces[in[j].face];
			const float *o = d->output + (size_t)j * 136;
			int w = in[j].w, h = in[j].h;
			double s = 112.0 / (w > h ? w : h), sw = w * s, sh = h * s;
			double padx = sw < sh ? fabs(sw - sh) / 2 : 0, pady = sh < sw ? fabs(sw - sh) / 2 : 0;
			double ox = d->box_origin ? f->x : in[j].x0, oy = d->box_origin ? f->y : in[j].y0;
			for (int q = 0; q < 68; q++) {
				f->landmarks[q][0] = (float)((o[2 * q] * 112.0 - padx) / sw * w + ox);
				f->landmarks[q][1] = (float)((o[2 * q + 1] * 112.0 - pady) / sh * h + oy);
			}
			f->n_landmarks = 68;
		}
	}
	return DV_PLUGIN_OK;
}

static const struct dv_plugin dl_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_LANDMARKER,
	.name = "landmarks_darknet",
	.version = "0.1",
	.description = "face-api 68-point landmarks on Darknet",
	.params = dl_params,
	.create = dl_create,
	.destroy = dl_destroy,
	.landmarks = dl_landmarks,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &dl_plugin; }
