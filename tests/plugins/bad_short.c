/* Says ABI 3.1 but declares the 3.0 descriptor's size: must be refused. */
#include <dejaview/plugin.h>
static const struct dv_plugin p = {.magic = DV_PLUGIN_MAGIC, .abi_major = 3, .abi_minor = 1,
    .size = (uint32_t)DV_PLUGIN_SIZE_3_0, .kind = DV_PLUGIN_DETECTOR, .name = "bad_short"};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
