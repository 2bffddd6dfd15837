/* A well-formed detector whose create() fails with a reason. */
#include <dejaview/plugin.h>
static int c(const struct dv_host *h, void **o)
{
	(void)o;
	h->error(h, "model file %s is missing", "nothing.weights");
	return DV_PLUGIN_EFAIL;
}
static void d(void *i) { (void)i; }
static int det(void *i, const struct dv_image *im, struct dv_face *f, int m, int *n) { *n = 0; return 0; }
static const struct dv_plugin p = {DV_PLUGIN_HEADER, .kind = DV_PLUGIN_DETECTOR, .name = "bad_create", .create = c,
    .destroy = d, .detect = det};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
