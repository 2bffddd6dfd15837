/* A detector without a detect function: must be refused. */
#include <dejaview/plugin.h>
static int c(const struct dv_host *h, void **o) { *o = (void *)h; return 0; }
static void d(void *i) { (void)i; }
static const struct dv_plugin p = {DV_PLUGIN_HEADER, .kind = DV_PLUGIN_DETECTOR, .name = "bad_nofn", .create = c,
    .destroy = d};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
