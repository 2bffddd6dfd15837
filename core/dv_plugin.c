/* dv_plugin.c — the plugin loader (main thread, at start and on SIGHUP) and
 * the host function table handed to plugins (any thread). The loader refuses
 * anything that does not match the ABI and says why, naming the config
 * location, the file and both versions. */
#include "config.h"
#include "dv_plugin.h"
#include "dv_log.h"
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char dv_plugin_err[512];

const char *dv_plugin_last_error(void) { return dv_plugin_err[0] ? dv_plugin_err : "no reason given"; }
void dv_plugin_clear_error(void) { dv_plugin_err[0] = 0; }
void dv_plugin_set_error(const char *msg) { snprintf(dv_plugin_err, sizeof dv_plugin_err, "%s", msg); }

/* ---------------------------------------------------------------- host table */

static void dv_host_log(const struct dv_host *h, int level, const char *fmt, ...)
{
	const struct dv_instance *in = h->host_data;
	char prefix[96];
	snprintf(prefix, sizeof prefix, "[%s] ", in->mod->desc->name);
	va_list ap;
	va_start(ap, fmt);
	dv_vlog(level, prefix, fmt, ap);
	va_end(ap);
}

static void dv_host_error(const struct dv_host *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dv_plugin_err, sizeof dv_plugin_err, fmt, ap);
	va_end(ap);
}

static const struct dv_param *dv_param_find(const struct dv_plugin *d, const char *name)
{
	for (const struct dv_param *p = d->params; p && p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/* The configured value of name, or its default; NULL if name is unknown. */
static const char *dv_param_value(const struct dv_host *h, const char *name, int type)
{
	const struct dv_instance *in = h->host_data;
	const struct dv_param *p = dv_param_find(in->mod->desc, name);
	if (!p || p->type != type) {
		dv_log(DV_LOG_LVL_ERROR, "plugin asked for an undeclared parameter plugin=%s param=%s",
		    in->mod->desc->name, name);
		return NULL;
	}
	const struct dv_conf_plugin *cp = in->mod->conf;
	for (int i = 0; cp && i < cp->n_params; i++)
		if (!strcmp(cp->params[i].key, name))
			return cp->params[i].value;
	return p->def ? p->def : "";
}

static int dv_host_param_int(const struct dv_host *h, const char *name, long long *out)
{
	const char *v = dv_param_value(h, name, DV_PARAM_INT);
	if (!v)
		return -1;
	*out = strtoll(v, NULL, 10);
	return 0;
}

static int dv_host_param_double(const struct dv_host *h, const char *name, double *out)
{
	const char *v = dv_param_value(h, name, DV_PARAM_DOUBLE);
	if (!v)
		return -1;
	*out = strtod(v, NULL);
	return 0;
}

static int dv_host_param_bool(const struct dv_host *h, const char *name, int *out)
{
	const char *v = dv_param_value(h, name, DV_PARAM_BOOL);
	if (!v)
		return -1;
	*out = !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on");
	return 0;
}

static int dv_host_param_string(const struct dv_host *h, const char *name, const char **out)
{
	const char *v = dv_param_value(h, name, DV_PARAM_STRING);
	if (!v)
		return -1;
	*out = v;
	return 0;
}

static int dv_host_model_path(const struct dv_host *h, const char *name, char *buf, size_t len)
{
	const struct dv_instance *in = h->host_data;
	int n = name[0] == '/' ? snprintf(buf, len, "%s", name)
	                       : snprintf(buf, len, "%s/%s", in->mod->model_dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---------------------------------------------------------------- checks */

static bool dv_is_bool(const char *s)
{
	static const char *const v[] = {"true", "false", "yes", "no", "on", "off"};
	for (int i = 0; i < 6; i++)
		if (!strcasecmp(s, v[i]))
			return true;
	return false;
}

/* Validate the YAML params against the plugin's table. */
static int dv_module_check_params(const struct dv_module *m, const char *file, const char *role,
    struct dv_conf_errs *errs)
{
	int bad = 0;
	const struct dv_conf_plugin *cp = m->conf;
	for (int i = 0; i < cp->n_params; i++) {
		const struct dv_conf_param *cfg = &cp->params[i];
		const struct dv_param *p = dv_param_find(m->desc, cfg->key);
		if (!p) {
			char known[512] = "";
			size_t kl = 0;
			for (const struct dv_param *q = m->desc->params; q && q->name && kl < sizeof known - 64; q++)
				kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", kl ? ", " : "", q->name);
			dv_conf_errs_add(errs, file, cfg->line, cfg->col,
			    "plugins.%s.%s: unknown parameter of plugin %s (it takes: so%s%s)", role, cfg->key,
			    m->desc->name, kl ? ", " : "", known);
			bad++;
			continue;
		}
		const char *v = cfg->value;
		char *end = NULL;
		if (!cfg->is_scalar) {
			dv_conf_errs_add(errs, file, cfg->line, cfg->col, "plugins.%s.%s: expected a scalar value", role, cfg->key);
			bad++;
			continue;
		}
		switch (p->type) {
		case DV_PARAM_INT:
		case DV_PARAM_DOUBLE: {
			errno = 0;
			double d = p->type == DV_PARAM_INT ? (double)strtoll(v, &end, 10) : strtod(v, &end);
			if (!*v || *end || errno || !isfinite(d)) {
				dv_conf_errs_add(errs, file, cfg->line, cfg->col, "plugins.%s.%s: expected %s, got \"%s\"",
				    role, cfg->key, p->type == DV_PARAM_INT ? "an integer" : "a number", v);
				bad++;
			} else if (d < p->min || d > p->max) {
				dv_conf_errs_add(errs, file, cfg->line, cfg->col,
				    "plugins.%s.%s: expected a value between %g and %g, got %s", role, cfg->key, p->min,
				    p->max, v);
				bad++;
			}
			break;
		}
		case DV_PARAM_BOOL:
			if (!dv_is_bool(v)) {
				dv_conf_errs_add(errs, file, cfg->line, cfg->col, "plugins.%s.%s: expected true or false, got \"%s\"",
				    role, cfg->key, v);
				bad++;
			}
			break;
		default:
			break;
		}
	}
	for (const struct dv_param *p = m->desc->params; p && p->name; p++) {
		if (p->def)
			continue;
		bool found = false;
		for (int i = 0; i < cp->n_params; i++)
			found |= !strcmp(cp->params[i].key, p->name);
		if (!found) {
			dv_conf_errs_add(errs, file, cp->line, cp->col, "plugins.%s: missing required parameter '%s' of plugin %s (%s)",
			    role, p->name, m->desc->name, p->help ? p->help : "");
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* OpenBLAS 0.3.21 (Debian 12) names the CPU's core from its family and model
 * and, on a model it does not know, falls back to its SSE3 "Prescott" kernels
 * (a several-fold slower sgemm, e.g. on an AVX-512 Xeon under a hypervisor).
 * Plugins bring OpenBLAS into the process, and it picks its kernels when it
 * loads; so before the first plugin, unless the user has set
 * OPENBLAS_CORETYPE, name the core from the instruction sets the CPU and OS
 * support. Returns the name set, or NULL when left to OpenBLAS. */
const char *dv_plugin_blas_core(void)
{
	static const char *done;
	static int once;
	if (once)
		return done;
	once = 1;
	if (getenv("OPENBLAS_CORETYPE"))
		return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512vl"))
		done = "SkylakeX";
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		done = "Haswell";
	if (done)
		setenv("OPENBLAS_CORETYPE", done, 0);
#endif
	return done;
}

int dv_module_open(struct dv_module **out, const struct dv_conf *conf, int role, struct dv_conf_errs *errs)
{
	const struct dv_conf_plugin *cp = &conf->plugins[role];
	const char *file = conf->path, *rn = dv_role_name(role);
	struct dv_module *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->role = role;
	m->conf = cp;
	m->model_dir = strdup(conf->model_dir);
	if (strchr(cp->so, '/')) {
		m->path = strdup(cp->so);
	} else {
		const char *ext = strstr(cp->so, ".so") ? "" : ".so";
		if (asprintf(&m->path, "%s/%s%s", conf->plugin_dir, cp->so, ext) < 0)
			m->path = NULL;
	}
	if (!m->path || !m->model_dir)
		goto fail;

	dv_plugin_blas_core();
	dlerror();
	m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		const char *e = dlerror();
		dv_conf_errs_add(errs, file, cp->line, cp->col, "plugins.%s: cannot load %s: %s", rn, m->path,
		    e ? e : "unknown error");
		goto fail;
	}
	dv_plugin_entry_fn entry;
	*(void **)&entry = dlsym(m->dl, DV_PLUGIN_ENTRY);
	if (!entry) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s has no symbol '%s': not a dejaview plugin (this dejaviewd speaks plugin ABI %d.%d)",
		    rn, m->path, DV_PLUGIN_ENTRY, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	const struct dv_plugin *d = entry();
	if (!d || d->magic != DV_PLUGIN_MAGIC) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s: %s() returned no valid descriptor (bad magic); this dejaviewd speaks plugin ABI %d.%d",
		    rn, m->path, DV_PLUGIN_ENTRY, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	if (d->abi_major != DV_PLUGIN_ABI_MAJOR) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s was built for plugin ABI %u.%u, but this dejaviewd speaks ABI %d.%d: the major versions differ; rebuild the plugin against dejaview/plugin.h %d.x",
		    rn, m->path, d->abi_major, d->abi_minor, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR, DV_PLUGIN_ABI_MAJOR);
		goto fail;
	}
	if (d->abi_minor > DV_PLUGIN_ABI_MINOR) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s was built for plugin ABI %u.%u, newer than this dejaviewd's ABI %d.%d: upgrade dejaviewd or rebuild the plugin against the older header",
		    rn, m->path, d->abi_major, d->abi_minor, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	/* the size its minor defines: from its major's first minor up */
	static const size_t min_size[] = {DV_PLUGIN_SIZE_3_0, DV_PLUGIN_SIZE_3_1, DV_PLUGIN_SIZE_3_2, DV_PLUGIN_SIZE_3_3};
	_Static_assert(sizeof min_size / sizeof min_size[0] == DV_PLUGIN_ABI_MINOR + 1, "a size per minor");
	size_t need = min_size[d->abi_minor];
	if (d->size < need) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s declares a descriptor of %u bytes, shorter than ABI %u.%u requires (%zu); ABI %d.%d here",
		    rn, m->path, d->size, d->abi_major, d->abi_minor, need, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	if (d->size > sizeof(struct dv_plugin)) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s declares a descriptor of %u bytes, longer than ABI %u.%u defines (%zu); ABI %d.%d here",
		    rn, m->path, d->size, d->abi_major, d->abi_minor, need, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	/* From here on the host reads its own zero-filled copy: the fields of
	 * minors newer than the plugin's are NULL/0, whatever follows the
	 * plugin's descriptor in its memory. */
	memset(&m->copy, 0, sizeof m->copy);
	memcpy(&m->copy, d, d->size);
	d = &m->copy;
	if (d->kind < DV_PLUGIN_DETECTOR || d->kind > DV_PLUGIN_MATCHER) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s declares unknown plugin kind %u (ABI %u.%u); this dejaviewd (ABI %d.%d) knows kinds 1-4: detector, landmarker, embedder, matcher",
		    rn, m->path, d->kind, d->abi_major, d->abi_minor, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
		goto fail;
	}
	if ((int)d->kind != role + 1) {
		dv_conf_errs_add(errs, file, cp->line, cp->col, "plugins.%s: %s is a %s plugin, not a %s", rn, m->path,
		    dv_role_name((int)d->kind - 1), rn);
		goto fail;
	}
	bool fns = d->create && d->destroy && d->name;
	switch (d->kind) {
	case DV_PLUGIN_DETECTOR: fns = fns && d->detect; break;
	case DV_PLUGIN_LANDMARKER: fns = fns && d->landmarks; break;
	case DV_PLUGIN_EMBEDDER: fns = fns && d->embedder_info && d->embed; break;
	case DV_PLUGIN_MATCHER:
		fns = fns && d->matcher_add && d->matcher_remove && d->matcher_search && d->matcher_count;
		break;
	}
	if (!fns) {
		dv_conf_errs_add(errs, file, cp->line, cp->col,
		    "plugins.%s: %s lacks a function its kind requires (name, create, destroy and the %s calls)", rn,
		    m->path, rn);
		goto fail;
	}
	m->desc = d;
	if (dv_module_check_params(m, file, rn, errs) != 0)
		goto fail;
	*out = m;
	return 0;
fail:
	m->desc = NULL;
	dv_module_close(m);
	return -1;
}

void dv_module_close(struct dv_module *m)
{
	if (!m)
		return;
	if (m->dl)
		dlclose(m->dl);
	free(m->path);
	free(m->model_dir);
	free(m);
}

int dv_instance_new(struct dv_module *m, struct dv_instance **out, char *err, size_t errlen)
{
	struct dv_instance *in = calloc(1, sizeof *in);
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	in->mod = m;
	in->host = (struct dv_host){
	    .size = sizeof(struct dv_host),
	    .abi_major = DV_PLUGIN_ABI_MAJOR,
	    .abi_minor = DV_PLUGIN_ABI_MINOR,
	    .log = dv_host_log,
	    .error = dv_host_error,
	    .param_int = dv_host_param_int,
	    .param_double = dv_host_param_double,
	    .param_bool = dv_host_param_bool,
	    .param_string = dv_host_param_string,
	    .model_path = dv_host_model_path,
	    .host_data = in,
	};
	dv_plugin_clear_error();
	if (m->desc->create(&in->host, &in->inst) != 0) {
		snprintf(err, errlen, "%s (%s, plugin ABI %u.%u): create failed: %s", m->path, m->desc->name,
		    m->desc->abi_major, m->desc->abi_minor, dv_plugin_last_error());
		free(in);
		return -1;
	}
	*out = in;
	return 0;
}

void dv_instance_free(struct dv_instance *in)
{
	if (!in)
		return;
	if (in->inst)
		in->mod->desc->destroy(in->inst);
	free(in);
}
