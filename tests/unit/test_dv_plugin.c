/* Unit tests for core/dv_plugin.c: the loader refuses every broken plugin
 * with a message naming the config location, the file and both versions;
 * parameters are validated against the plugin's table; the example plugins
 * load and their host table works. */
#include "../tap.h"
#include "dv_conf.h"
#include "dv_gen.h"
#include "dv_plugin.h"
#include <stdlib.h>

static const char *good_dir, *bad_dir;

/* Open a detector from dir/so with the given YAML params. */
static int try_open(const char *dir, const char *so, const char *params, struct dv_conf_errs *e, struct dv_module **m,
    struct dv_conf **cout)
{
	char text[1024];
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  detector: {so: %s%s%s}\n", dir, so, params ? ", " : "",
	    params ? params : "");
	dv_conf_errs_fini(e);
	struct dv_conf *c = dv_conf_parse("p.yaml", text, strlen(text), e);
	if (e->n)
		return -99;
	*cout = c;
	return dv_module_open(m, c, DV_ROLE_DETECTOR, e);
}

static void refused(const char *so, const char *want1, const char *want2, const char *name)
{
	struct dv_conf_errs e = {0};
	struct dv_module *m = NULL;
	struct dv_conf *c = NULL;
	int r = try_open(bad_dir, so, NULL, &e, &m, &c);
	ok(r == -1 && e.n == 1, "%s: refused", name);
	if (e.n) {
		contains(e.msg[0], "p.yaml:3:3: plugins.detector: ", "  message has the config position");
		contains(e.msg[0], so, "  message names the file");
		contains(e.msg[0], want1, "  message explains");
		if (want2)
			contains(e.msg[0], want2, "  message names both versions");
	}
	dv_module_close(m);
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
}

int main(void)
{
	good_dir = getenv("DV_PLUGIN_BUILD_DIR");
	bad_dir = getenv("DV_TEST_PLUGIN_DIR");
	if (!good_dir || !bad_dir) {
		printf("1..0 # SKIP DV_PLUGIN_BUILD_DIR and DV_TEST_PLUGIN_DIR are not set (run through make check)\n");
		return 0;
	}
	char abi[32], newer[32], major[32];
	snprintf(abi, sizeof abi, "ABI %d.%d", DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
	snprintf(newer, sizeof newer, "ABI %d.%d", DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR + 1);
	snprintf(major, sizeof major, "ABI %d.0", DV_PLUGIN_ABI_MAJOR + 1);

	refused("bad_noentry", "has no symbol 'dv_plugin_entry'", abi, "missing entry symbol");
	refused("bad_magic", "bad magic", abi, "bad magic");
	refused("bad_major", "the major versions differ", major, "wrong major");
	refused("bad_major", abi, NULL, "wrong major names the host version");
	refused("bad_minor", "newer than this dejaviewd", newer, "newer minor");
	refused("bad_minor", abi, NULL, "newer minor names the host version");
	refused("bad_kind", "unknown plugin kind 9", abi, "unknown kind");
	refused("bad_nofn", "lacks a function", NULL, "missing kind function");
	refused("does_not_exist", "cannot load", NULL, "missing file");
	refused("bad_short", "shorter than ABI 3.1 requires", abi, "a descriptor shorter than its minor defines");

	/* failing create: the module loads, the instance does not */
	struct dv_conf_errs e = {0};
	struct dv_module *m = NULL;
	struct dv_conf *c = NULL;
	is_int(try_open(bad_dir, "bad_create", NULL, &e, &m, &c), 0, "bad_create loads");
	struct dv_instance *in = NULL;
	char err[512];
	ok(dv_instance_new(m, &in, err, sizeof err) != 0, "failing create is reported");
	contains(err, "create failed: model file nothing.weights is missing", "the plugin's reason is passed on");
	contains(err, abi, "the failing create names the plugin's ABI version");
	dv_module_close(m);
	dv_conf_free(c);
	/* and through a whole generation, as --check-config does */
	dv_conf_errs_fini(&e);
	const char *gt = "plugins:\n  detector: {so: bad_create}\n";
	char text[512];
	snprintf(text, sizeof text, "plugin_dir: %s\n%s", bad_dir, gt);
	c = dv_conf_parse("g.yaml", text, strlen(text), &e);
	struct dv_gen *g = NULL;
	ok(dv_gen_build(c, 1, &g, &e) != 0 && e.n == 1, "a generation with a failing create does not build");
	if (e.n)
		contains(e.msg[0], "g.yaml:3:3: plugins.detector:", "with the config position");

	/* parameters checked against the plugin's own table */
	m = NULL;
	c = NULL;
	ok(try_open(good_dir, "detect_example", "threshold: 300, colour: red, min_size: x", &e, &m, &c) == -1,
	    "bad params refuse the plugin");
	is_int(e.n, 3, "every bad parameter is reported");
	for (int i = 0; i < e.n; i++)
		printf("#   %s\n", e.msg[i]);
	ok(e.n == 3 && strstr(e.msg[0], "threshold: expected a value between 0 and 255, got 300"), "bound");
	ok(e.n == 3 && strstr(e.msg[1], "colour: unknown parameter of plugin detect_example (it takes: so, threshold"), "unknown param lists the known ones");
	ok(e.n == 3 && strstr(e.msg[2], "min_size: expected an integer"), "type");
	dv_conf_free(c);

	/* the example plugins load, read params, and fail on request */
	m = NULL;
	c = NULL;
	is_int(try_open(good_dir, "detect_example", "threshold: 99", &e, &m, &c), 0, "detect_example loads");
	ok(dv_instance_new(m, &in, err, sizeof err) == 0, "and creates");
	long long v = 0;
	in->host.param_int(&in->host, "threshold", &v);
	is_int(v, 99, "host returns the configured value");
	in->host.param_int(&in->host, "min_size", &v);
	is_int(v, 8, "host returns the default");
	ok(in->host.param_int(&in->host, "nope", &v) == -1, "undeclared params are refused");
	char path[256];
	in->host.model_path(&in->host, "x.weights", path, sizeof path);
	contains(path, "/x.weights", "model_path resolves in the model dir");
	dv_instance_free(in);
	dv_module_close(m);
	dv_conf_free(c);
	m = NULL;
	c = NULL;
	is_int(try_open(good_dir, "detect_example", "fail_create: true", &e, &m, &c), 0, "fail_create loads");
	ok(dv_instance_new(m, &in, err, sizeof err) != 0, "fail_create fails to create");
	dv_module_close(m);
	dv_conf_free(c);

	/* a plugin built against an older minor (3.0): loads, its newer fields
	 * read as NULL (not the 0xff bytes after its descriptor), and it runs */
	dv_conf_errs_fini(&e);
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  matcher: {so: old_minor}\n", bad_dir);
	c = dv_conf_parse("o.yaml", text, strlen(text), &e);
	m = NULL;
	ok(dv_module_open(&m, c, DV_ROLE_MATCHER, &e) == 0, "a plugin of ABI 3.0 loads on a host of ABI %d.%d",
	    DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR);
	for (int i = 0; i < e.n; i++)
		printf("#   %s\n", e.msg[i]);
	if (m) {
		is_int(m->desc->abi_minor, 0, "its minor is 0");
		is_int(m->desc->size, (long long)DV_PLUGIN_SIZE_3_0, "its descriptor is 3.0's size");
		ok(m->desc->matcher_memory == NULL, "the field 3.1 appended reads as NULL");
		ok(dv_instance_new(m, &in, err, sizeof err) == 0, "it creates an instance");
		float a[4] = {1, 0, 0, 0}, b[4] = {0, 1, 0, 0}, q[4] = {0.1f, 0.9f, 0, 0};
		m->desc->matcher_add(in->inst, 1, 11, a, 4);
		m->desc->matcher_add(in->inst, 1, 22, b, 4);
		struct dv_match out[2] = {0};
		int n = 0;
		ok(m->desc->matcher_search(in->inst, 1, q, 4, 2, out, &n) == 0 && n == 1 && out[0].id == 22,
		    "and it matches (22 nearest)");
		is_int(m->desc->matcher_count(in->inst), 2, "and counts");
		dv_instance_free(in);
		dv_module_close(m);
	}
	dv_conf_free(c);
	/* (tests/e2e/abi.sh runs it in dejaviewd: enrolment, recognition, /metrics) */

	/* wrong role */
	dv_conf_errs_fini(&e);
	snprintf(text, sizeof text, "plugin_dir: %s\nplugins:\n  detector: {so: embed_example}\n", good_dir);
	c = dv_conf_parse("r.yaml", text, strlen(text), &e);
	m = NULL;
	ok(dv_module_open(&m, c, DV_ROLE_DETECTOR, &e) != 0 && e.n == 1 && strstr(e.msg[0], "is a embedder plugin, not a detector"),
	    "a plugin of the wrong kind for its role is refused");
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
	return tap_done();
}
