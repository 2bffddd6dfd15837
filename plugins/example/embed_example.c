/* embed_example.c — template embedder plugin, no model: the vector is the
 * mean colour of each cell of a grid over the chip, scaled to [0, 1], so two
 * faces of the same colour are at distance 0. Copy this file to start a real
 * embedder. */
#include <dejaview/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct emb {
	long long chip, grid;
	int fail;
	const struct dv_host *host;
};

static const struct dv_param emb_params[] = {
	{"chip", DV_PARAM_INT, 8, 512, "32", "chip width and height in pixels"},
	{"grid", DV_PARAM_INT, 1, 8, "2", "cells per side; the vector has 3 * grid * grid numbers"},
	{"fail", DV_PARAM_BOOL, 0, 0, "false", "make embed() fail (to test the error paths)"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static int emb_create(const struct dv_host *h, void **out)
{
	struct emb *e = calloc(1, sizeof *e);
	if (!e)
		return DV_PLUGIN_ENOMEM;
	h->param_int(h, "chip", &e->chip);
	h->param_int(h, "grid", &e->grid);
	h->param_bool(h, "fail", &e->fail);
	e->host = h;
	if (e->chip < e->grid) {
		h->error(h, "chip (%lld) must be at least grid (%lld)", e->chip, e->grid);
		free(e);
		return DV_PLUGIN_EFAIL;
	}
	*out = e;
	return DV_PLUGIN_OK;
}

static void emb_destroy(void *p) { free(p); }

static int emb_info(void *p, struct dv_embedder_info *info)
{
	struct emb *e = p;
	info->chip_width = info->chip_height = (int)e->chip;
	info->dim = (int)(3 * e->grid * e->grid);
	info->padding = 0;
	snprintf(info->model, sizeof info->model, "example_color_grid");
	snprintf(info->fingerprint, sizeof info->fingerprint, "example-1-grid%lld", e->grid);
	return DV_PLUGIN_OK;
}

static int emb_embed(void *p, const struct dv_image *chips, int n, float *out)
{
	struct emb *e = p;
	int g = (int)e->grid, dim = 3 * g * g;
	if (e->fail) {
		e->host->error(e->host, "fail is set (%d chips)", n);
		return DV_PLUGIN_EFAIL;
	}
	for (int i = 0; i < n; i++) {
		const struct dv_image *c = &chips[i];
		float *v = out + (size_t)i * dim;
		memset(v, 0, sizeof *v * (size_t)dim);
		for (int gy = 0; gy < g; gy++)
			for (int gx = 0; gx < g; gx++) {
				int ya = gy * c->height / g, yb = (gy + 1) * c->height / g;
				int xa = gx * c->width / g, xb = (gx + 1) * c->width / g;
				double sum[3] = {0, 0, 0};
				for (int y = ya; y < yb; y++)
					for (int x = xa; x < xb; x++)
						for (int k = 0; k < 3; k++)
							sum[k] += c->pixels[(size_t)y * c->stride + (size_t)x * c->channels +
							                    (c->channels == 3 ? k : 0)];
				double cnt = (double)(yb - ya) * (xb - xa);
				for (int k = 0; k < 3; k++)
					v[(gy * g + gx) * 3 + k] = (float)(sum[k] / (cnt * 255.0));
			}
	}
	return DV_PLUGIN_OK;
}

static const struct dv_plugin emb_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_EMBEDDER,
	.name = "embed_example",
	.version = "1.0",
	.description = "mean colour per grid cell (template, no model)",
	.params = emb_params,
	.create = emb_create,
	.destroy = emb_destroy,
	.embedder_info = emb_info,
	.embed = emb_embed,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &emb_plugin; }
