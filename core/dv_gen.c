/* dv_gen.c — configuration generations, built on the main thread at start
 * and on SIGHUP, released by whichever thread drops the last reference. */
#include "dv_gen.h"
#include "dv_alloc.h"
#include "dv_assert.h"
#include "dv_log.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dv_gen_free(struct dv_gen *g)
{
	for (int r = 0; r < DV_ROLE_COUNT; r++) {
		dv_instance_free(g->shared[r]);
		dv_module_close(g->mods[r]);
	}
	dv_hooks_conf_free(g->hooks);
	dv_web_free(g->web);
	if (g->calib) {
		dv_calib_fini(g->calib);
		free(g->calib);
	}
	dv_conf_free(g->conf);
	g->magic = 0;
	free(g);
}

/* Does the table belong to the loaded embedder and alignment? */
static bool dv_calib_fits(const struct dv_gen *g, const struct dv_calib *c, char *why, size_t len)
{
	if (strcmp(c->fingerprint, g->einfo.fingerprint)) {
		snprintf(why, len, "it was measured for the embedder %s (%s), not for the loaded %s (%s)", c->model, c->fingerprint,
		    g->einfo.model, g->einfo.fingerprint);
		return false;
	}
	if (c->align[0] && strcmp(c->align, g->conf->align_method)) {
		snprintf(why, len, "it was measured with align.method %s, not %s", c->align, g->conf->align_method);
		return false;
	}
	if (c->flip != g->conf->embed_flip) {
		snprintf(why, len, "it was measured with embed.flip %s, not %s", c->flip ? "true" : "false",
		    g->conf->embed_flip ? "true" : "false");
		return false;
	}
	return true;
}

/* The embedder's calibration table (match.decision fpir decides by it;
 * either decision reports the expected rates with it). A table named in the
 * config must fit the embedder, or the generation is refused; without one,
 * the *.calibration.tsv in model_dir that fits is taken, and when none does,
 * decision fpir falls back to match.threshold (said in the log and in every
 * reply). */
static int dv_gen_calibration(struct dv_gen *g, struct dv_conf_errs *errs)
{
	const struct dv_conf *conf = g->conf;
	bool fpir = !strcmp(conf->match_decision, "fpir");
	if (!g->has_embedder)
		return 0;
	struct dv_calib *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	char err[600], why[400];
	if (conf->match_calibration[0]) {
		if (dv_calib_load(conf->match_calibration, c, err, sizeof err) != 0) {
			dv_conf_errs_add(errs, conf->path, 0, 0, "match.calibration: %s", err);
			free(c);
			return -1;
		}
		if (!dv_calib_fits(g, c, why, sizeof why)) {
			dv_conf_errs_add(errs, conf->path, 0, 0, "match.calibration: %s does not fit: %s; run make calibrate",
			    conf->match_calibration, why);
			dv_calib_fini(c);
			free(c);
			return -1;
		}
		g->calib = c;
		return 0;
	}
	DIR *d = opendir(conf->model_dir);
	struct dirent *e;
	while (d && !g->calib && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 16 || strcmp(e->d_name + n - 16, ".calibration.tsv"))
			continue;
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", conf->model_dir, e->d_name);
		if (dv_calib_load(path, c, err, sizeof err) != 0)
			continue;
		if (dv_calib_fits(g, c, why, sizeof why)) {
			g->calib = c;
			if (fpir)
				dv_info("decision by false-positive identification rate calibration=%s target_fpir=%g", path,
				    conf->match_target_fpir);
			else
				dv_info("decision by match.threshold %g; expected rates from calibration=%s", conf->match_threshold, path);
		} else {
			dv_calib_fini(c);
		}
	}
	if (d)
		closedir(d);
	if (!g->calib) {
		free(c);
		if (fpir)
			dv_warn("match.decision fpir: no calibration table in %s fits the embedder %s (%s): deciding by match.threshold %g "
		        "(run make calibrate)",
		    conf->model_dir, g->einfo.model, g->einfo.fingerprint, conf->match_threshold);
	}
	return 0;
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
	if (!bad && dv_gen_calibration(g, errs) != 0)
		bad++;
	/* a recognize pipeline that matches but records nothing is allowed (a dry
	 * run) but is rarely what an operator meant: say so */
	const struct dv_conf_pipeline *rp = &conf->pipelines[DV_OP_RECOGNIZE];
	bool matches = false, records = false, hooks = false;
	for (int i = 0; rp->present && i < rp->n_stages; i++) {
		matches |= rp->stages[i] == DV_STAGE_MATCH;
		records |= rp->stages[i] == DV_STAGE_RECORD;
		hooks |= rp->stages[i] == DV_STAGE_HOOKS;
	}
	if (!bad && matches && !records)
		dv_warn("pipelines.recognize has no 'record' stage: recognitions name no persons and store no events (a dry run)");
	else if (!bad && records && !hooks && conf->n_hooksets > 0)
		dv_warn("pipelines.recognize has no 'hooks' stage: the configured hooks run on enrolment only");
	/* the hook files: read, compiled (a syntax error refuses the generation) and run once in a scratch state */
	if (!bad && dv_hooks_conf_build(conf, &g->hooks, errs) != 0)
		bad++;
	if (!bad && dv_web_load(conf, &g->web, errs) != 0)
		bad++;
	if (!bad && g->hooks) {
		char err[1024];
		struct dv_hooks *trial = dv_hooks_new(g->hooks, NULL, err, sizeof err);
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
		DV_CHECK_MAGIC(g, DV_GEN_MAGIC);
		atomic_fetch_add(&g->refs, 1);
	}
	return g;
}

void dv_gen_unref(struct dv_gen *g)
{
	if (!g)
		return;
	DV_CHECK_MAGIC(g, DV_GEN_MAGIC);
	int was = atomic_fetch_sub(&g->refs, 1);
	DV_ASSERT(was >= 1); /* one unref per ref */
	if (was == 1) {
		dv_debug("configuration generation released gen=%lu", g->id);
		dv_gen_free(g);
		/* its networks were hundreds of MiB: give the pages back now, not
		 * when the server is next idle (under steady traffic, never) */
		dv_alloc_trim();
	}
}
