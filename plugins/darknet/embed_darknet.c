/* embed_darknet.c — embedder plugin: the dlib ResNet face descriptor
 * (face-api's faceRecognitionNet, models/face_recognition.cfg) on Darknet.
 * Each worker owns an instance. A chip is normalised as face-api does
 * (padToSquare centred, resize to 150, (x - mean) / divisor) and yields 128
 * floats, compared by Euclidean distance (0.6 is the usual threshold). */
#include "config.h"
#include "dn_common.h"
#include <darknet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float de_mean[3] = {122.782f, 117.001f, 104.298f};

struct de {
	const struct dv_host *host;
	network *net;
	float div;
	float *input; /* DN_BATCH tensors */
	int batch;
	char fingerprint[72];
	char model[64];
};

static const struct dv_param de_params[] = {
	{"batch", DV_PARAM_INT, 1, DN_BATCH, "8", "faces of one photo run through the net per pass, up to 8, in powers of two (make bench measures the cost per face at each size; a batch size's buffers are kept once used)"},
	{"conv", DV_PARAM_STRING, 0, 0, DN_CONV_DEFAULT, "how the network runs: onednn (the whole net on oneDNN in its blocked layouts, with our own kernels where they win; the default when built with it), onednn-only (no own kernels), or darknet (its layers, im2col + OpenBLAS gemm)"},
	{"model", DV_PARAM_STRING, 0, 0, "face_recognition", "model name: NAME.cfg and NAME.weights in model_dir"},
	{"precision", DV_PARAM_STRING, 0, 0, "auto",
	    "int8 (the network in 8-bit integers on oneDNN, scaled by model_dir's NAME.int8.tsv: ~3x faster, descriptors 0.03 from float's at the median; docs/performance.md), f32, or auto: int8 when the build has oneDNN, conv is oneDNN and the table for these weights is there, else f32. The fingerprint says which (\"/int8\"): calibration tables and stored descriptors are per precision"},
	{"input_divisor", DV_PARAM_DOUBLE, 1, 1000, "256",
	    "(x - mean) / divisor: 256 as dlib trained the network, 255 as face-api 1.7.15 computes it"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static void de_destroy(void *p)
{
	struct de *d = p;
	if (d->net)
		dn_free(d->net);
	free(d->input);
	free(d);
}

static int de_create(const struct dv_host *h, void **out)
{
	struct de *d = calloc(1, sizeof *d);
	if (!d)
		return DV_PLUGIN_ENOMEM;
	d->host = h;
	double div;
	const char *model;
	h->param_double(h, "input_divisor", &div);
	h->param_string(h, "model", &model);
	d->div = (float)div;
	snprintf(d->model, sizeof d->model, "%s", model);
	long long batch = DN_BATCH;
	h->param_int(h, "batch", &batch);
	d->batch = (int)batch;
	d->input = malloc(sizeof *d->input * 3 * 150 * 150 * DN_BATCH);
	char sum[65] = "";
	d->net = d->input ? dn_load(h, model, 0, 0, sum) : NULL;
	if (!d->net) {
		de_destroy(d);
		return DV_PLUGIN_EFAIL;
	}
	if (d->net->inputs != 3 * 150 * 150 || d->net->outputs != 128) {
		h->error(h, "%s is not a 150x150 -> 128 network", model);
		de_destroy(d);
		return DV_PLUGIN_EFAIL;
	}
	const char *conv, *prec;
	h->param_string(h, "conv", &conv);
	h->param_string(h, "precision", &prec);
	float *qmax = NULL;
	if (dn_precision(h, prec, conv, model, sum, d->net->n, "make calibrate-int8", &qmax) != 0) {
		de_destroy(d);
		return DV_PLUGIN_EINVAL;
	}
	/* the fingerprint: the weights' verified sha256, the divisor and int8 */
	snprintf(d->fingerprint, sizeof d->fingerprint, "sha256:%.16s/div%g%s", sum, div, qmax ? "/int8" : "");
	dn_gemm_check(h, d->net);
	int nc = dn_conv_kernels(h, d->net, conv, qmax);
	free(qmax);
	if (nc < 0) {
		de_destroy(d);
		return DV_PLUGIN_EINVAL;
	}
	*out = d;
	return DV_PLUGIN_OK;
}

static int de_info(void *p, struct dv_embedder_info *info)
{
	struct de *d = p;
	info->chip_width = info->chip_height = 150;
	info->dim = 128;
	info->padding = 0.25f; /* dlib's face chip: get_face_chip_details(shape, 150, 0.25) */
	snprintf(info->model, sizeof info->model, "dlib_resnet:%.40s", d->model);
	snprintf(info->fingerprint, sizeof info->fingerprint, "%s", d->fingerprint);
	return DV_PLUGIN_OK;
}

static int de_embed(void *p, const struct dv_image *chips, int n, float *out)
{
	struct de *d = p;
	/* the faces of a photo go through the net together (dn_predict), up to
	 * DN_BATCH tensors at a time */
	for (int i = 0; i < n; i += DN_BATCH) {
		int k = n - i < DN_BATCH ? n - i : DN_BATCH;
		for (int j = 0; j < k; j++)
			dn_batch_tensor(&chips[i + j], 150, 1, de_mean, d->div, d->input + (size_t)j * 3 * 150 * 150);
		dn_predict(d->net, k, d->batch, d->input, 3 * 150 * 150, out + (size_t)i * 128, 128);
	}
	return DV_PLUGIN_OK;
}

static const struct dv_plugin de_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_EMBEDDER,
	.name = "embed_darknet",
	.version = "0.1",
	.description = "dlib ResNet 128-D face descriptor on Darknet",
	.params = de_params,
	.create = de_create,
	.destroy = de_destroy,
	.embedder_info = de_info,
	.embed = de_embed,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &de_plugin; }
