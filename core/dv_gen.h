/* dv_gen.h — a configuration generation: a validated config plus its loaded
 * plugin modules. Jobs and workers hold references; SIGHUP builds a new one
 * and swaps it in only when it is complete. */
#ifndef DV_GEN_H
#define DV_GEN_H
#include "dv_calib.h"
#include "dv_conf.h"
#include "dv_plugin.h"
#include "dv_hooks.h"
#include "dv_web.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DV_GEN_MAGIC 0x47454e31u /* "GEN1" */

struct dv_gen {
	uint32_t magic;
	atomic_int refs;
	unsigned long id;
	struct dv_conf *conf;
	struct dv_module *mods[DV_ROLE_COUNT];      /* NULL for roles not configured */
	struct dv_instance *shared[DV_ROLE_COUNT];  /* DV_PLUGIN_SHARED instances */
	bool has_embedder;
	struct dv_embedder_info einfo;              /* the embedder's stamp (model, fingerprint, dim) */
	struct dv_calib *calib;                     /* match.decision fpir: the embedder's calibration, or NULL */
	atomic_int gallery_ready;                   /* the matcher holds the database's faces */
	struct dv_hooks_conf *hooks;                /* the Lua hook files, or NULL */
	struct dv_web *web;                         /* the page's files, or NULL */
};

/* Build a generation from conf (ownership passes to the generation, also on
 * failure). Loads every plugin, creates the shared instances and one trial
 * instance of every other plugin, so that a generation that builds will run.
 * Returns 0 with *out holding one reference, or -1 with reasons in errs. */
int dv_gen_build(struct dv_conf *conf, unsigned long id, struct dv_gen **out, struct dv_conf_errs *errs);
struct dv_gen *dv_gen_ref(struct dv_gen *g);
/* Drop a reference; the last one unloads the plugins (any thread). */
void dv_gen_unref(struct dv_gen *g);
#endif
