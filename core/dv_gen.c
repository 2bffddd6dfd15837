/* dv_gen.c — configuration generations, built on the main thread at start
 * and on SIGHUP, released by whichever thread drops the last reference. */
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_log.h"
#include <malloc.h>
#include <stdlib.h>

static void dv_gen_free(struct dv_gen *g)
{
	for (int r = 0; r < DV_ROLE_COUNT; r++) {
		dv_instance_free(g->shared[r]);
		dv_module_close(g->mods[r]);
	}
	dv_hooks_conf_free(g->hooks);
	dv_web_free(g->web);
	dv_conf_free(g->conf);
	g->magic = 0;
	free(g);
}

int dv_gen_build(struct dv_conf *conf, unsigned long id, struct dv_gen **out, struct dv_conf_errs *errs)
{
	struct dv_gen *g = calloc(1, sizeof *g);
	if (!g) {
		dv_conf_free(conf);
		return -1;
	}
	g->magic = DV_GEN_MAGIC;
	atomic_init(&g->refs, 1);
	atomic_init(&g->gallery_ready, 0);
	g->id = id;
	g->conf = conf;
	int bad = 0;
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (conf->plugins[r].present && conf->plugins[r].so &&
		    dv_module_open(&g->mods[r], conf, r, errs) != 0)
			bad++;
	for (int r = 0; r < DV_ROLE_COUNT && !bad; r++) {
		struct dv_module *m = g->mods[r];
		if (!m)
			continue;
		char err[768];
		struct dv_instance *in = NULL;
		if (dv_instance_new(m, &in, err, sizeof err) != 0) {
			dv_conf_errs_add(errs, conf->path, conf->plugins[r].line, conf->plugins[r].col, "plugins.%s: %s",
			    dv_role_name(r), err);
			bad++;
			continue;
		}
		if (r == DV_ROLE_EMBEDDER && m->desc->embedder_info &&
		    m->desc->embedder_info(in->inst, &g->einfo) == 0)
			g->has_embedder = true;
		if (m->desc->flags & DV_PLUGIN_SHARED)
			g->shared[r] = in;
		else
			dv_instance_free(in); /* a trial: workers create their own */
	}
	/* the hook files: read, compiled (a syntax error refuses the generation) and run once in a scratch state */
	if (!bad && dv_hooks_conf_build(conf, &g->hooks, errs) != 0)
		bad++;
	if (!bad && dv_web_load(conf, &g->web, errs) != 0)
		bad++;
	if (!bad && g->hooks) {
		char err[1024];
		struct dv_hooks *trial = dv_hooks_new(g->hooks, err, sizeof err);
		if (!trial) {
			dv_conf_errs_add(errs, conf->path, 0, 0, "hooks: %s", err);
			bad++;
		}
		dv_hooks_free(trial);
	}
	if (bad) {
		dv_gen_free(g);
		return -1;
	}
	*out = g;
	return 0;
}

struct dv_gen *dv_gen_ref(struct dv_gen *g)
{
	if (g) {
		dv_check_magic(g->magic, DV_GEN_MAGIC, __FILE__, __LINE__);
		atomic_fetch_add(&g->refs, 1);
	}
	return g;
}

void dv_gen_unref(struct dv_gen *g)
{
	if (!g)
		return;
	dv_check_magic(g->magic, DV_GEN_MAGIC, __FILE__, __LINE__);
	if (atomic_fetch_sub(&g->refs, 1) == 1) {
		dv_debug("configuration generation released gen=%lu", g->id);
		dv_gen_free(g);
		/* its networks were hundreds of MiB: give the pages back now, not
		 * when the server is next idle (under steady traffic, never) */
		malloc_trim(0);
	}
}
