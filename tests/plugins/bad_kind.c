/* Declares a kind the host does not know: must be refused. */
#include <dejaview/plugin.h>
static const struct dv_plugin p = {DV_PLUGIN_HEADER, .kind = 9, .name = "bad_kind"};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
