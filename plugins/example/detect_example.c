/* detect_example.c — template detector plugin, no model: "faces" are the
 * bright connected regions of the image (luminance above a threshold), so
 * tests can draw faces as light squares on a dark background. Copy this file
 * to start a real detector. */
#include <dejaview/plugin.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct det {
	const struct dv_host *host;
	long long threshold, min_size, delay_ms;
	const char *gate;
};

static const struct dv_param det_params[] = {
	{"threshold", DV_PARAM_INT, 0, 255, "128", "luminance above which a pixel belongs to a face"},
	{"min_size", DV_PARAM_INT, 1, 100000, "8", "smallest face width and height, in pixels"},
	{"delay_ms", DV_PARAM_INT, 0, 60000, "0", "sleep this long per image (to test queues and timeouts)"},
	{"gate", DV_PARAM_STRING, 0, 0, "", "while this file exists, detection waits for it to go (tests hold jobs in flight at a point they control)"},
	{"fail_create", DV_PARAM_BOOL, 0, 0, "false", "make create() fail (to test the loader)"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static int det_create(const struct dv_host *h, void **out)
{
	struct det *d = calloc(1, sizeof *d);
	if (!d)
		return DV_PLUGIN_ENOMEM;
	int fail = 0;
	d->host = h;
	h->param_int(h, "threshold", &d->threshold);
	h->param_int(h, "min_size", &d->min_size);
	h->param_int(h, "delay_ms", &d->delay_ms);
	h->param_string(h, "gate", &d->gate);
	h->param_bool(h, "fail_create", &fail);
	if (fail) {
		h->error(h, "fail_create is set");
		free(d);
		return DV_PLUGIN_EFAIL;
	}
	*out = d;
	return DV_PLUGIN_OK;
}

static void det_destroy(void *p) { free(p); }

static int det_cmp(const void *a, const void *b)
{
	const struct dv_face *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	if (x->y != y->y)
		return x->y < y->y ? -1 : 1;
	return x->x < y->x ? -1 : x->x > y->x;
}

static int det_detect(void *p, const struct dv_image *img, struct dv_face *faces, int max_faces, int *n_faces)
{
	struct det *d = p;
	int w = img->width, h = img->height;
	size_t n = (size_t)w * h;
	uint8_t *mask = calloc(n, 1);
	int *stack = malloc(n * sizeof *stack);
	struct dv_face *found = NULL;
	int nfound = 0, capf = 0;
	if (d->delay_ms > 0) {
		struct timespec ts = {d->delay_ms / 1000, (d->delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (d->gate && d->gate[0]) {
		struct timespec ts = {0, 5000000L};
		while (access(d->gate, F_OK) == 0)
			nanosleep(&ts, NULL);
	}
	if (!mask || !stack)
		goto nomem;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const uint8_t *px = img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;
			int lum = img->channels == 3 ? (px[0] * 299 + px[1] * 587 + px[2] * 114) / 1000 : px[0];
			mask[(size_t)y * w + x] = lum > d->threshold;
		}
	for (size_t start = 0; start < n; start++) {
		if (mask[start] != 1)
			continue;
		/* flood fill with an explicit stack; visited pixels become 2 */
		int top = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
		size_t count = 0;
		stack[top++] = (int)start;
		mask[start] = 2;
		while (top) {
			int i = stack[--top], x = i % w, y = i / w;
			count++;
			if (x < x0) x0 = x;
			if (x > x1) x1 = x;
			if (y < y0) y0 = y;
			if (y > y1) y1 = y;
			int nb[4] = {x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1};
			for (int k = 0; k < 4; k++)
				if (nb[k] >= 0 && mask[nb[k]] == 1) {
					mask[nb[k]] = 2;
					stack[top++] = nb[k];
				}
		}
		int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
		if (bw < d->min_size || bh < d->min_size)
			continue;
		if (nfound == capf) {
			capf = capf ? capf * 2 : 16;
			struct dv_face *f = realloc(found, (size_t)capf * sizeof *f);
			if (!f)
				goto nomem;
			found = f;
		}
		struct dv_face *f = &found[nfound++];
		memset(f, 0, sizeof *f);
		f->x = (float)x0;
		f->y = (float)y0;
		f->w = (float)bw;
		f->h = (float)bh;
		f->score = (float)count / (float)((size_t)bw * bh); /* fill ratio: squares score 1 */
	}
	if (nfound > 1)
		qsort(found, (size_t)nfound, sizeof *found, det_cmp);
	*n_faces = nfound < max_faces ? nfound : max_faces;
	if (*n_faces)
		memcpy(faces, found, (size_t)*n_faces * sizeof *faces);
	free(found);
	free(stack);
	free(mask);
	return DV_PLUGIN_OK;
nomem:
	free(found);
	free(stack);
	free(mask);
	d->host->error(d->host, "out of memory for a %dx%d image", w, h);
	return DV_PLUGIN_ENOMEM;
}

static const struct dv_plugin det_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_DETECTOR,
	.name = "detect_example",
	.version = "1.0",
	.description = "bright connected regions as faces (template, no model)",
	.params = det_params,
	.create = det_create,
	.destroy = det_destroy,
	.detect = det_detect,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &det_plugin; }
