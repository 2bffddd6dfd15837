/* landmarks_example.c — template landmarker plugin, no model: places five
 * points (eye centres, nose tip, mouth corners) at fixed fractions of each
 * face box. Copy this file to start a real landmarker. */
#include <dejaview/plugin.h>
#include <stdlib.h>

static const float lm_template[5][2] = {
	{0.30f, 0.35f}, {0.70f, 0.35f}, {0.50f, 0.55f}, {0.35f, 0.75f}, {0.65f, 0.75f}};

static int lm_create(const struct dv_host *h, void **out)
{
	*out = (void *)h; /* stateless: keep the host for errors */
	return DV_PLUGIN_OK;
}

static void lm_destroy(void *p) { (void)p; }

static int lm_landmarks(void *p, const struct dv_image *img, struct dv_face *faces, int n)
{
	(void)p;
	(void)img;
	for (int i = 0; i < n; i++) {
		struct dv_face *f = &faces[i];
		f->n_landmarks = 5;
		for (int k = 0; k < 5; k++) {
			f->landmarks[k][0] = f->x + lm_template[k][0] * f->w;
			f->landmarks[k][1] = f->y + lm_template[k][1] * f->h;
		}
	}
	return DV_PLUGIN_OK;
}

static const struct dv_plugin lm_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_LANDMARKER,
	.name = "landmarks_example",
	.version = "1.0",
	.description = "five points at fixed box fractions (template, no model)",
	.params = NULL,
	.create = lm_create,
	.destroy = lm_destroy,
	.landmarks = lm_landmarks,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &lm_plugin; }
