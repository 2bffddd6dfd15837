/* Built for a newer minor ABI than the host: must be refused. */
#include <dejaview/plugin.h>
static const struct dv_plugin p = {.magic = DV_PLUGIN_MAGIC, .abi_major = DV_PLUGIN_ABI_MAJOR,
    .abi_minor = DV_PLUGIN_ABI_MINOR + 1, .size = sizeof(struct dv_plugin), .kind = DV_PLUGIN_DETECTOR,
    .name = "bad_minor"};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
