/* Unit tests for core/dv_conf.c: defaults, types, bounds, unknown keys,
 * suggestions, plugins and pipelines, all errors collected with positions. */
#include "../tap.h"
#include "dv_conf.h"
#include <stdlib.h>

static struct dv_conf *parse(const char *text, struct dv_conf_errs *e)
{
	dv_conf_errs_fini(e);
	return dv_conf_parse("t.yaml", text, strlen(text), e);
}

static int has(const struct dv_conf_errs *e, const char *needle)
{
	for (int i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return 1;
	return 0;
}

static void dump(const struct dv_conf_errs *e)
{
	for (int i = 0; i < e->n; i++)
		printf("#   %s\n", e->msg[i]);
}

int main(void)
{
	struct dv_conf_errs e = {0};
	struct dv_conf *c;

	c = parse("workers: 3\n", &e);
	is_int(e.n, 0, "minimal config has no errors");
	is_int(c->workers, 3, "workers read");
	is_int(c->limits.queue, 64, "limits.queue default");
	is_int(c->limits.body_bytes, 10 * 1024 * 1024, "limits.body_bytes default 10MiB");
	is_str(c->listen_http, "127.0.0.1:8080", "listen.http default");
	ok(c->match_threshold == 0.6, "match.threshold default");
	dv_conf_free(c);

	c = parse("wrokers: 2\nlimits:\n  queue: lots\n", &e);
	is_int(e.n, 2, "a misspelt key and a wrong type are both reported");
	ok(has(&e, "t.yaml:1:1: unknown key 'wrokers' (did you mean 'workers'?)"), "unknown key with position and suggestion");
	ok(has(&e, "t.yaml:3:10: limits.queue: expected an integer, got \"lots\""), "wrong type with position");
	dump(&e);
	dv_conf_free(c);

	c = parse("workers: -1\nlimits: {body_bytes: 512KiB, faces: 5000}\n", &e);
	ok(has(&e, "t.yaml:1:10: workers: expected a value between 0 and 256, got -1"), "lower bound");
	ok(has(&e, "limits.faces: expected a value between 1 and 1000, got 5000"), "upper bound");
	is_int(c->limits.body_bytes, 512 * 1024, "byte sizes with units");
	dv_conf_free(c);

	c = parse("workers: \"2\"\nmigrate_on_start: maybe\n", &e);
	ok(has(&e, "workers: expected an integer, got \"2\""), "a quoted number is a string");
	ok(has(&e, "migrate_on_start: expected true or false"), "bool checked");
	dv_conf_free(c);

	c = parse("listen: {http: 'nonsense'}\nlog: {level: loud}\n", &e);
	ok(has(&e, "listen.http: expected host:port"), "address checked");
	ok(has(&e, "log.level: expected one of error, warn, info, debug"), "log level checked");
	dv_conf_free(c);

	c = parse("workers: [1, 2]\nlimits: 5\n", &e);
	ok(has(&e, "workers: expected an integer, got a list"), "list where scalar expected");
	ok(has(&e, "limits: expected a mapping, got a scalar"), "scalar where mapping expected");
	dv_conf_free(c);

	c = parse("workers: 2\nworkers: 3\n", &e);
	ok(has(&e, "t.yaml:2:1: duplicate key 'workers' (first at line 1)"), "duplicate keys are errors");
	dv_conf_free(c);

	c = parse("workers: 2\n  bad: [\n", &e);
	ok(e.n >= 1 && has(&e, "YAML syntax error"), "syntax errors carry a position");
	dump(&e);
	dv_conf_free(c);

	c = parse("", &e);
	ok(has(&e, "the configuration is empty"), "empty file");
	dv_conf_free(c);

	c = parse("plugins:\n  detector: {so: detect_example, threshold: 100}\n  embedder: {so: embed_example}\n"
	          "  matcher: {so: match_example}\n"
	          "pipelines:\n  detect: [decode, detect]\n  recognize: [decode, detect, align, embed, match]\n", &e);
	is_int(e.n, 0, "plugins and pipelines parse");
	dump(&e);
	ok(c->plugins[DV_ROLE_DETECTOR].present && !strcmp(c->plugins[DV_ROLE_DETECTOR].so, "detect_example"), "detector so");
	is_int(c->plugins[DV_ROLE_DETECTOR].n_params, 1, "detector params kept for the plugin");
	is_str(c->plugins[DV_ROLE_DETECTOR].params[0].key, "threshold", "param key");
	is_int(c->plugins[DV_ROLE_DETECTOR].params[0].line, 2, "param line kept for later errors");
	is_int(c->pipelines[DV_OP_RECOGNIZE].n_stages, 5, "recognize stages");
	is_int(c->pipelines[DV_OP_RECOGNIZE].stages[4], DV_STAGE_MATCH, "last stage is match");
	dv_conf_free(c);

	c = parse("plugins:\n  detektor: {so: x}\n  embedder: {threshold: 1}\n"
	          "pipelines:\n  recognise: [decode]\n  detect: [detect, decode, smile]\n  recognize: [decode, match]\n", &e);
	ok(has(&e, "unknown role 'detektor'"), "unknown plugin role");
	ok(has(&e, "plugins.embedder: missing required key 'so'"), "so is required");
	ok(has(&e, "unknown operation 'recognise'"), "unknown operation");
	ok(has(&e, "stage 'decode' is out of order"), "stage order");
	ok(has(&e, "unknown stage 'smile'"), "unknown stage");
	ok(has(&e, "pipelines.detect: the first stage must be 'decode'"), "decode first");
	ok(has(&e, "stage 'match' needs stage 'embed' before it"), "stage dependencies");
	ok(has(&e, "stage 'match' needs a plugin under plugins.matcher"), "stage needs its plugin");
	dump(&e);
	dv_conf_free(c);

	char *h;
	int port;
	ok(dv_conf_split_addr("[::1]:99", &h, &port) == 0 && !strcmp(h, "::1") && port == 99, "IPv6 address split");
	free(h);
	ok(dv_conf_split_addr("localhost:70000", &h, &port) != 0, "port out of range refused");

	dv_conf_errs_fini(&e);
	return tap_done();
}
