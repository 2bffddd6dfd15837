/* dv_plugin.h — loading plugin shared objects and creating instances. */
#ifndef DV_PLUGIN_H
#define DV_PLUGIN_H
#include "dejaview/plugin.h"
#include "dv_conf.h"

/* One loaded .so, for one role, owned by a configuration generation. */
struct dv_module {
	char *path;
	void *dl;
	const struct dv_plugin *desc;      /* &copy once checked */
	struct dv_plugin copy;             /* the plugin's descriptor, zero-filled past its size */
	int role;
	const struct dv_conf_plugin *conf; /* params; points into the generation's conf */
	char *model_dir;
};

/* One instance of a module, with its host function table. */
struct dv_instance {
	struct dv_module *mod;
	struct dv_host host;
	void *inst;
};

/* Called before the first plugin loads: names OpenBLAS's core (the
 * OPENBLAS_CORETYPE environment variable) from the CPU's instruction sets
 * when the user has not, since OpenBLAS 0.3.21 falls back to SSE3 kernels on
 * CPU models it does not know. Returns the name set, or NULL. */
const char *dv_plugin_blas_core(void);
/* Load and check the plugin configured for `role` in conf. On failure
 * returns a negative value and appends the reason (naming the config
 * location, the file and both ABI versions where relevant) to errs. */
int dv_module_open(struct dv_module **out, const struct dv_conf *conf, int role,
    struct dv_conf_errs *errs);
void dv_module_close(struct dv_module *m);

/* Create an instance. On failure returns negative and writes the plugin's
 * reason into err. Not thread-safe per module unless DV_PLUGIN_SHARED. */
int dv_instance_new(struct dv_module *m, struct dv_instance **out, char *err, size_t errlen);
void dv_instance_free(struct dv_instance *i);

/* The reason given by the last failing plugin call on this thread. */
const char *dv_plugin_last_error(void);
void dv_plugin_clear_error(void);
/* Make msg this thread's last error (a helper thread's error, carried over). */
void dv_plugin_set_error(const char *msg);
#endif
