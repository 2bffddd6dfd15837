/* A descriptor with the wrong magic number. */
#include <dejaview/plugin.h>
static const struct dv_plugin p = {.magic = 0x12345678u, .abi_major = DV_PLUGIN_ABI_MAJOR,
    .abi_minor = DV_PLUGIN_ABI_MINOR, .size = sizeof(struct dv_plugin), .kind = DV_PLUGIN_DETECTOR, .name = "bad_magic"};
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &p; }
