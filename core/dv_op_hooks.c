/* dv_op_hooks.c — a tenant's stored Lua hooks and the audit log:
 *   GET    /v1/hooks                         the hooks in run order (stored, and the configuration's files)
 *   PUT    /v1/hooks/{name}                  a new version (checked in a sandbox first), activated unless
 *                                            ?activate=false
 *   GET    /v1/hooks/{name}                  the active version with its source
 *   GET    /v1/hooks/{name}/versions[/{v}]   the history / one version
 *   POST   /v1/hooks/{name}/activate         {"version": v}: roll back or forward
 *   POST   /v1/hooks/{name}/test             a dry run (nothing is kept)
 *   POST   /v1/hooks/{name}/install          {"from": "builtin:loyalty"}
 *   DELETE /v1/hooks/{name}                  deactivated (versions kept); ?purge=true removes it
 *   GET    /v1/catalogue/hooks               the built-in hooks
 *   GET    /v1/audit                         who changed what, when, from where
 * Every change commits, then is announced (dv_store_hooks.c), so every server
 * on the database swaps the tenant's hooks (dv_hooklib.h). */
#include "dv_ops.h"
#include "dv_api.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_hooks.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_record.h"
#include "dv_sha256.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the built-in catalogue: the scripts/ hooks, compiled in (dv_builtin_hooks.c) */
extern const char dv_builtin_frontdesk[], dv_builtin_loyalty[], dv_builtin_hotel[], dv_builtin_attendance[];
static const struct {
	const char *name, *src, *about;
} dv_builtins[] = {
	{"frontdesk", dv_builtin_frontdesk, "greets a visitor by name, says when they were last here"},
	{"loyalty", dv_builtin_loyalty, "a point per visit (once a day), a reward every tenth"},
	{"hotel", dv_builtin_hotel, "remembers a guest's preferences (room and bath temperature) and stays"},
	{"attendance", dv_builtin_attendance, "marks a person present once a day, with the time of arrival"},
};
#define DV_NBUILTINS (sizeof dv_builtins / sizeof dv_builtins[0])

const char *dv_builtin_hook(const char *name)
{
	for (size_t i = 0; i < DV_NBUILTINS; i++)
		if (!strcmp(dv_builtins[i].name, name))
			return dv_builtins[i].src;
	return NULL;
}

static struct dv_actor dv_actor_of(const struct dv_job *j)
{
	return (struct dv_actor){.key_id = j->req.admin ? 0 : j->key_id,
	    .key_name = j->req.admin ? "admin" : j->key_name, .address = j->req.peer[0] ? j->req.peer : NULL};
}

/* A stored hook's name: also its state namespace and its reply member. */
static bool dv_hook_name_ok(struct dv_job *j, const char *name)
{
	size_t n = strlen(name);
	bool ok = n >= 1 && n <= 64 && name[0] >= 'a' && name[0] <= 'z' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
	if (!ok)
		dv_job_fail(j, DV_EINVALID, "a hook's name is 1 to 64 lowercase letters, digits and _, starting with a "
		                            "letter: \"%.72s\"", name);
	return ok;
}

/* 422 invalid_hook with the line: the body is written here, for its extra members. */
static void dv_hook_invalid(struct dv_job *j, const char *name, int line, const char *msg)
{
	struct dv_json js;
	dv_buf_reset(&j->res.reply);
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "error");
	dv_json_obj_open(&js);
	dv_json_key(&js, "code");
	dv_json_str(&js, dv_err_code(DV_EINVALIDHOOK));
	dv_json_key(&js, "message");
	dv_json_str(&js, msg);
	dv_json_key(&js, "hook");
	dv_json_str(&js, name);
	dv_json_key(&js, "line");
	if (line > 0)
		dv_json_int(&js, line);
	else
		dv_json_null(&js);
	dv_json_obj_close(&js);
	dv_json_obj_close(&js);
	j->res.status = dv_err_http_status(DV_EINVALIDHOOK);
}

struct dv_hook_src {
	const char *name, *src, *comment, *position;
	size_t len;
	bool activate;
	const char *action;
};

/* Check src in a sandbox and store it as a new version: the reply, or j failed. */
static void dv_hook_store_version(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_hook_src *hs)
{
	const struct dv_conf *c = j->gen->conf;
	if ((long long)hs->len > c->hook_max_source) {
		dv_job_fail(j, DV_ETOOLARGE, "the hook's source is %zu bytes; hooks.max_source is %lld", hs->len,
		    c->hook_max_source);
		return;
	}
	if (memchr(hs->src, 0, hs->len)) {
		dv_job_fail(j, DV_EINVALID, "the hook's source is Lua text (it holds a NUL byte)");
		return;
	}
	struct dv_buf pg, fj, detail;
	dv_buf_init(&pg);
	dv_buf_init(&fj);
	dv_buf_init(&detail);
	char msg[600];
	int line = 0;
	int rc = dv_hooks_check(j->gen->hooks, hs->name, hs->src, hs->len, &pg, &fj, &line, msg, sizeof msg);
	if (rc == DV_EINVALIDHOOK) {
		dv_hook_invalid(j, hs->name, line, msg);
		goto out;
	}
	if (rc) {
		dv_job_fail(j, rc, "%s", msg);
		goto out;
	}
	uint8_t d[32];
	char sha[65];
	dv_sha256(hs->src, hs->len, d);
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", d[i]);
	dv_buf_printf(&detail, "{\"sha256\":\"%s\",\"bytes\":%zu,\"activate\":%s", sha, hs->len,
	    hs->activate ? "true" : "false");
	if (hs->comment) {
		dv_buf_puts(&detail, ",\"comment\":");
		dv_json_escape(&detail, hs->comment, strlen(hs->comment));
	}
	dv_buf_puts(&detail, "}");
	/* the source is text: a copy with its NUL for libpq */
	char *src = malloc(hs->len + 1);
	if (!src) {
		dv_job_fail(j, DV_ENOMEM, NULL);
		goto out;
	}
	memcpy(src, hs->src, hs->len);
	src[hs->len] = 0;
	struct dv_hook_put p = {.name = hs->name, .source = src, .len = hs->len, .sha256 = sha, .functions = pg.data,
	    .comment = hs->comment, .position = hs->position, .activate = hs->activate,
	    .keep_versions = (int)c->hook_keep_versions, .max_hooks = (int)c->hook_max_per_tenant,
	    .action = hs->action, .detail = detail.data};
	struct dv_actor a = dv_actor_of(j);
	int version = 0, active = 0;
	long long seq = 0;
	rc = dv_store_hook_put(oc->store, j->tenant, &p, &a, &version, &active, &seq);
	free(src);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? "no such tenant" : "%s", oc->store->err);
		goto out;
	}
	dv_hooks_changed(oc->hooks, j->tenant, seq);
	struct dv_json js;
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "name");
	dv_json_str(&js, hs->name);
	dv_json_key(&js, "version");
	dv_json_int(&js, version);
	dv_json_key(&js, "active_version");
	if (active)
		dv_json_int(&js, active);
	else
		dv_json_null(&js);
	dv_json_key(&js, "functions");
	dv_json_raw(&js, fj.data);
	dv_json_key(&js, "sha256");
	dv_json_str(&js, sha);
	dv_json_obj_close(&js);
	j->res.status = 201;
out:
	dv_buf_fini(&pg);
	dv_buf_fini(&fj);
	dv_buf_fini(&detail);
}

void dv_op_hook_put(struct dv_job *j, struct dv_ops_ctx *oc)
{
	const char *name = j->req.path_name;
	if (!dv_hook_name_ok(j, name))
		return;
	struct dv_in in = {0};
	static const char *const q[] = {"activate", "comment", "position", NULL};
	struct dv_hook_src hs = {.name = name, .activate = true, .action = "hook.put"};
	bool lua = j->req.ctype && (!strncasecmp(j->req.ctype, "text/x-lua", 10) ||
	                               !strncasecmp(j->req.ctype, "text/plain", 10) ||
	                               !strncasecmp(j->req.ctype, "application/x-lua", 17));
	const char *act = NULL;
	char pb[24];
	if (dv_in_query(j, &in, q) != 0)
		goto out;
	act = dv_in_get(&in, "activate");
	if (act && strcmp(act, "true") && strcmp(act, "false")) {
		dv_job_fail(j, DV_EINVALID, "activate is true or false");
		goto out;
	}
	hs.activate = !act || !strcmp(act, "true");
	hs.comment = dv_in_get(&in, "comment");
	hs.position = dv_in_get(&in, "position");
	if (lua) {
		hs.src = (const char *)j->req.body;
		hs.len = j->req.body_len;
	} else {
		const struct dv_jv *o = dv_in_json(j, &in), *ps, *ac;
		if (!o)
			goto out;
		if (dv_jstr(j, o, "source", (size_t)j->gen->conf->hook_max_source + 1, &hs.src, NULL) ||
		    dv_jstr(j, o, "comment", 1000, &hs.comment, NULL))
			goto out;
		if (!hs.src) {
			dv_job_fail(j, DV_EINVALID, "send the Lua source (Content-Type: text/x-lua), or JSON "
			                            "{\"source\", \"comment\", \"position\"}");
			goto out;
		}
		hs.len = strlen(hs.src);
		if ((ps = dv_jv_get(o, "position")) && ps->type != DV_JNULL) {
			if (ps->type != DV_JNUM || ps->num != (double)(long long)ps->num || ps->num < -1000000 ||
			    ps->num > 1000000) {
				dv_job_fail(j, DV_EINVALID, "position is a whole number (the run order, lowest first)");
				goto out;
			}
			snprintf(pb, sizeof pb, "%lld", (long long)ps->num);
			hs.position = pb;
		}
		if ((ac = dv_jv_get(o, "activate")) && ac->type == DV_JBOOL)
			hs.activate = ac->b;
	}
	if (hs.comment && strlen(hs.comment) > 1000) {
		dv_job_fail(j, DV_EINVALID, "comment is at most 1000 bytes");
		goto out;
	}
	if (hs.position && hs.position != pb) {
		char *end;
		long long v = strtoll(hs.position, &end, 10);
		if (!*hs.position || *end || v < -1000000 || v > 1000000) {
			dv_job_fail(j, DV_EINVALID, "position is a whole number (the run order, lowest first)");
			goto out;
		}
	}
	dv_hook_store_version(j, oc, &hs);
out:
	dv_in_fini(&in);
}

void dv_op_hook_install(struct dv_job *j, struct dv_ops_ctx *oc)
{
	const char *name = j->req.path_name;
	if (!dv_hook_name_ok(j, name))
		return;
	struct dv_in in = {0};
	const struct dv_jv *o = dv_in_json(j, &in), *ac;
	const char *from = NULL;
	if (o && !dv_jstr(j, o, "from", 200, &from, NULL)) {
		const char *src = from && !strncmp(from, "builtin:", 8) ? dv_builtin_hook(from + 8) : NULL;
		if (!src) {
			dv_job_fail(j, DV_EINVALID, "from names a built-in hook: builtin:frontdesk, builtin:loyalty, "
			                            "builtin:hotel or builtin:attendance (GET /v1/catalogue/hooks)");
		} else {
			char comment[240];
			snprintf(comment, sizeof comment, "installed from %s", from);
			struct dv_hook_src hs = {.name = name, .src = src, .len = strlen(src), .comment = comment,
			    .activate = !((ac = dv_jv_get(o, "activate")) && ac->type == DV_JBOOL && !ac->b),
			    .action = "hook.install"};
			dv_hook_store_version(j, oc, &hs);
		}
	}
	dv_in_fini(&in);
}

int dv_hooks_install_builtins(struct dv_store *st, struct dv_hooks *hooks, const struct dv_conf *c,
    const struct dv_hooks_conf *hc, uint64_t tenant, const char *const *names, int n, const struct dv_actor *a,
    char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		const char *src = dv_builtin_hook(names[i]);
		if (!src) {
			snprintf(err, errlen, "no built-in hook is called \"%.100s\"", names[i]);
			return DV_EINVALID;
		}
		struct dv_buf pg, fj;
		dv_buf_init(&pg);
		dv_buf_init(&fj);
		char msg[600], sha[65], comment[120];
		int line = 0, version, active;
		long long seq;
		int rc = dv_hooks_check(hc, names[i], src, strlen(src), &pg, &fj, &line, msg, sizeof msg);
		if (!rc) {
			uint8_t d[32];
			dv_sha256(src, strlen(src), d);
			for (int k = 0; k < 32; k++)
				snprintf(sha + 2 * k, 3, "%02x", d[k]);
			snprintf(comment, sizeof comment, "installed from builtin:%s", names[i]);
			struct dv_hook_put p = {.name = names[i], .source = src, .len = strlen(src), .sha256 = sha,
			    .functions = pg.data, .comment = comment, .activate = true,
			    .keep_versions = (int)c->hook_keep_versions, .max_hooks = (int)c->hook_max_per_tenant,
			    .action = "hook.install", .detail = NULL};
			rc = dv_store_hook_put(st, tenant, &p, a, &version, &active, &seq);
			if (rc)
				snprintf(msg, sizeof msg, "%s", st->err);
			else
				dv_hooks_changed(hooks, tenant, seq);
		}
		dv_buf_fini(&pg);
		dv_buf_fini(&fj);
		if (rc) {
			snprintf(err, errlen, "hook %s: %s", names[i], msg);
			return rc;
		}
	}
	return 0;
}

/* The configuration's hook files for this tenant as JSON, each with whether
 * a stored hook of its name replaces it. */
static void dv_hook_files(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_jv *stored, struct dv_buf *out)
{
	struct dv_tenant_brief brief = {0};
	const char *tname = NULL;
	if (dv_tenant_brief_get(oc->store, j->tenant, &brief) == 0 && brief.name[0])
		tname = brief.name;
	struct dv_buf names;
	dv_buf_init(&names);
	dv_hooks_conf_files(j->gen->hooks, j->tenant, tname, &names);
	struct dv_jv *v = dv_jsonp_parse(names.data ? names.data : "[]", names.len ? names.len : 2, NULL, 0);
	dv_buf_puts(out, "[");
	for (int i = 0; v && v->type == DV_JARR && i < v->n; i++) {
		const struct dv_jv *f = v->items[i], *nm = dv_jv_get(f, "name"), *file = dv_jv_get(f, "file");
		bool replaced = false;
		for (int k = 0; stored && stored->type == DV_JARR && k < stored->n; k++) {
			const struct dv_jv *sn = dv_jv_get(stored->items[k], "name"), *av = dv_jv_get(stored->items[k],
			                                                                   "active_version");
			replaced |= sn && nm && sn->type == DV_JSTR && nm->type == DV_JSTR && !strcmp(sn->str, nm->str) && av &&
			    av->type == DV_JNUM;
		}
		dv_buf_printf(out, "%s{\"name\":", i ? "," : "");
		dv_json_value(out, nm);
		dv_buf_puts(out, ",\"file\":");
		dv_json_value(out, file);
		dv_buf_printf(out, ",\"read_only\":true,\"replaced_by_stored\":%s}", replaced ? "true" : "false");
	}
	dv_buf_puts(out, "]");
	dv_jv_free(v);
	dv_buf_fini(&names);
	dv_tenant_brief_fini(&brief);
}

void dv_op_hook_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_buf stored;
	dv_buf_init(&stored);
	if (!dv_ops_store_rc(j, oc, dv_store_hook_list(oc->store, j->tenant, &stored), "no such tenant")) {
		struct dv_jv *sv = dv_jsonp_parse(stored.data, stored.len, NULL, 0);
		dv_buf_puts(&j->res.reply, "{\"hooks\":");
		dv_buf_add(&j->res.reply, stored.data, stored.len);
		dv_buf_puts(&j->res.reply, ",\"files\":");
		dv_hook_files(j, oc, sv, &j->res.reply);
		dv_buf_puts(&j->res.reply, ",\"order\":\"the configuration's files first (a stored hook of the same name "
		                           "replaces its file), then the stored hooks by position\"}");
		dv_jv_free(sv);
	}
	dv_buf_fini(&stored);
}

void dv_op_hook_get(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_hook_name_ok(j, j->req.path_name))
		return;
	dv_ops_store_rc(j, oc, dv_store_hook_get(oc->store, j->tenant, j->req.path_name, 0, &j->res.reply),
	    "no such hook, or it has no active version (GET /v1/hooks/NAME/versions)");
}

void dv_op_hook_version(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_hook_name_ok(j, j->req.path_name))
		return;
	if (j->req.path_id > 1000000000) {
		dv_job_fail(j, DV_ENOTFOUND, "no such version");
		return;
	}
	dv_ops_store_rc(j, oc,
	    dv_store_hook_get(oc->store, j->tenant, j->req.path_name, (int)j->req.path_id, &j->res.reply),
	    "no such hook or version");
}

void dv_op_hook_versions(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_hook_name_ok(j, j->req.path_name))
		return;
	dv_ops_store_rc(j, oc, dv_store_hook_versions(oc->store, j->tenant, j->req.path_name, &j->res.reply),
	    "no such hook");
}

static void dv_hook_set_active(struct dv_job *j, struct dv_ops_ctx *oc, int version, bool purge)
{
	struct dv_actor a = dv_actor_of(j);
	long long seq = 0;
	const char *name = j->req.path_name;
	if (dv_ops_store_rc(j, oc, dv_store_hook_activate(oc->store, j->tenant, name, version, purge, &a, &seq),
	        version > 0 ? "no such hook or version" : "no such hook"))
		return;
	dv_hooks_changed(oc->hooks, j->tenant, seq);
	struct dv_json js;
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "name");
	dv_json_str(&js, name);
	dv_json_key(&js, "active_version");
	if (version > 0)
		dv_json_int(&js, version);
	else
		dv_json_null(&js);
	if (purge) {
		dv_json_key(&js, "purged");
		dv_json_bool(&js, true);
	}
	dv_json_obj_close(&js);
}

void dv_op_hook_activate(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_hook_name_ok(j, j->req.path_name))
		return;
	struct dv_in in = {0};
	const struct dv_jv *o = dv_in_json(j, &in), *v;
	if (o) {
		v = dv_jv_get(o, "version");
		if (!v || v->type != DV_JNUM || v->num < 1 || v->num > 1e9 || v->num != (double)(int)v->num)
			dv_job_fail(j, DV_EINVALID, "send {\"version\": N} (GET /v1/hooks/%s/versions lists them)",
			    j->req.path_name);
		else
			dv_hook_set_active(j, oc, (int)v->num, false);
	}
	dv_in_fini(&in);
}

void dv_op_hook_delete(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_hook_name_ok(j, j->req.path_name))
		return;
	struct dv_in in = {0};
	static const char *const q[] = {"purge", NULL};
	bool purge = false;
	if (dv_in_query(j, &in, q) == 0 && dv_in_flag(j, &in, "purge", &purge) == 0)
		dv_hook_set_active(j, oc, 0, purge);
	dv_in_fini(&in);
}

void dv_op_hook_catalogue(struct dv_job *j, struct dv_ops_ctx *oc)
{
	(void)oc;
	struct dv_json js;
	dv_json_init(&js, &j->res.reply);
	dv_json_obj_open(&js);
	dv_json_key(&js, "hooks");
	dv_json_arr_open(&js);
	for (size_t i = 0; i < DV_NBUILTINS; i++) {
		struct dv_buf pg, fj;
		dv_buf_init(&pg);
		dv_buf_init(&fj);
		char msg[300];
		int line;
		dv_hooks_check(j->gen->hooks, dv_builtins[i].name, dv_builtins[i].src, strlen(dv_builtins[i].src), &pg, &fj,
		    &line, msg, sizeof msg);
		dv_json_obj_open(&js);
		dv_json_key(&js, "from");
		char from[64];
		snprintf(from, sizeof from, "builtin:%s", dv_builtins[i].name);
		dv_json_str(&js, from);
		dv_json_key(&js, "about");
		dv_json_str(&js, dv_builtins[i].about);
		dv_json_key(&js, "functions");
		dv_json_raw(&js, fj.data ? fj.data : "[]");
		dv_json_key(&js, "bytes");
		dv_json_int(&js, (long long)strlen(dv_builtins[i].src));
		dv_json_obj_close(&js);
		dv_buf_fini(&pg);
		dv_buf_fini(&fj);
	}
	dv_json_arr_close(&js);
	dv_json_obj_close(&js);
}

void dv_op_audit_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	static const char *const q[] = {"since", "limit", "after", NULL};
	long long limit, after;
	if (dv_in_query(j, &in, q) == 0 && dv_in_int(j, &in, "limit", 1, 1000, 100, &limit) == 0 &&
	    dv_in_int(j, &in, "after", 0, INT64_MAX, 0, &after) == 0) {
		const char *since = dv_in_get(&in, "since");
		struct dv_buf b;
		dv_buf_init(&b);
		int rc = dv_store_audit_list(oc->store, j->tenant, since, (int)limit, (uint64_t)after, &b);
		if (rc == DV_EINVALID)
			dv_job_fail(j, rc, "since is a time (ISO 8601, e.g. 2026-12-01T10:00:00Z)");
		else if (!dv_ops_store_rc(j, oc, rc, "no such tenant")) {
			dv_buf_puts(&j->res.reply, "{\"entries\":");
			dv_buf_add(&j->res.reply, b.data, b.len);
			dv_buf_puts(&j->res.reply, "}");
		}
		dv_buf_fini(&b);
	}
	dv_in_fini(&in);
}

/* ---------------------------------------------------------------- a dry run */

/* The event a test runs on: the body's "event" (an object like the hook's
 * ev, or "last": the tenant's newest event), else the newest
 * event, else an unknown visitor. Returns 0 or fails j. */
static int dv_test_event(struct dv_job *j, struct dv_ops_ctx *oc, const struct dv_jv *e, struct dv_hook_event *ev,
    struct dv_buf *person, char *kind, size_t kindlen, struct dv_buf *last)
{
	snprintf(kind, kindlen, "unknown");
	ev->distance = ev->similarity = -1;
	const struct dv_jv *src = e;
	struct dv_jv *lastv = NULL;
	if (!e || (e->type == DV_JSTR && !strcmp(e->str, "last"))) {
		int rc = dv_store_last_event(oc->store, j->tenant, last);
		if (rc && rc != DV_ENOTFOUND)
			return dv_ops_store_rc(j, oc, rc, "");
		if (rc == DV_ENOTFOUND && e) {
			dv_job_fail(j, DV_ENOTFOUND, "the tenant has no event yet: send an event {\"kind\", \"person_id\"}");
			return -1;
		}
		src = rc ? NULL : (lastv = dv_jsonp_parse(last->data, last->len, NULL, 0));
	} else if (e->type != DV_JOBJ) {
		dv_job_fail(j, DV_EINVALID, "event is an object {\"kind\", \"person_id\", \"distance\"} or \"last\"");
		return -1;
	}
	const struct dv_jv *k = dv_jv_get(src, "kind"), *p = dv_jv_get(src, "person_id"), *d = dv_jv_get(src, "distance");
	if (!p) {
		const struct dv_jv *po = dv_jv_get(src, "person");
		p = po ? dv_jv_get(po, "id") : NULL;
	}
	int rc = 0;
	if (k && k->type == DV_JSTR) {
		if (strcmp(k->str, "recognized") && strcmp(k->str, "unknown") && strcmp(k->str, "enrolled") &&
		    strcmp(k->str, "uncertain")) {
			dv_job_fail(j, DV_EINVALID, "event.kind is recognized, unknown, uncertain or enrolled");
			rc = -1;
		} else {
			snprintf(kind, kindlen, "%s", k->str);
		}
	} else if (p && p->type == DV_JNUM) {
		snprintf(kind, kindlen, "recognized");
	}
	if (!rc && p && p->type == DV_JNUM && p->num >= 1) {
		ev->person = (uint64_t)p->num;
		int r = dv_store_person_get(oc->store, j->tenant, ev->person, person);
		if (r) {
			dv_ops_store_rc(j, oc, r, "event.person_id: no such person in this tenant");
			rc = -1;
		}
		ev->person_json = person->data;
	}
	if (!rc && d && d->type == DV_JNUM && d->num >= 0) {
		ev->distance = d->num;
		ev->similarity = dv_similarity(d->num, j->gen->conf->match_threshold);
	}
	ev->kind = kind;
	dv_jv_free(lastv);
	return rc;
}

/* A photo's first face as the test's event: the recognize pipeline up to
 * its lookup (nothing recorded), recognized when its nearest face is under
 * the tenant's threshold, else unknown. 0, or j failed. */
static int dv_test_photo(struct dv_job *j, struct dv_ops_ctx *oc, struct dv_in *in, struct dv_hook_event *ev,
    struct dv_buf *person, char *kind, size_t kindlen)
{
	static const char *const imgs[] = {"image", NULL};
	if (dv_in_body(j, in, imgs) != 0)
		return -1;
	struct dv_job *k = dv_ops_run_image(j, oc, DV_OP_RECOGNIZE, dv_form_get(&in->form, "image"), NULL, 1, -1,
	    DV_RUN_LOOKUP, NULL, 0);
	if (!k)
		return -1;
	int rc = 0;
	const struct dv_job_res *kr = &k->res;
	if (kr->n_embeddings == 0) {
		dv_job_fail(j, DV_ENOFACE, "no face was found in the photo");
		rc = -1;
	} else {
		const struct dv_match *m = kr->matches && kr->n_matches && kr->n_matches[0] > 0 ? &kr->matches[0] : NULL;
		uint64_t pid = kr->n_best > 0 ? kr->best_person[0] : 0;
		bool known = m && m->distance <= kr->threshold_used && pid && kr->best_person_json[0];
		snprintf(kind, kindlen, "%s", known ? "recognized" : "unknown");
		ev->person = known ? pid : 0;
		if (known) {
			dv_buf_puts(person, kr->best_person_json[0]);
			ev->person_json = person->data;
		}
		ev->distance = m ? m->distance : -1;
		ev->similarity = m ? dv_similarity(m->distance, kr->threshold_used) : -1;
		ev->kind = kind;
	}
	dv_job_free(k);
	return rc;
}

void dv_op_hook_test(struct dv_job *j, struct dv_ops_ctx *oc)
{
	const char *name = j->req.path_name;
	if (!dv_hook_name_ok(j, name))
		return;
	struct dv_in in = {0};
	/* a photo (any body but JSON): its first face is the event; ?version= */
	bool photo = j->req.body_len > 0 && (!j->req.ctype || strncasecmp(j->req.ctype, "application/json", 16));
	struct dv_buf src, person, last, out;
	dv_buf_init(&src);
	dv_buf_init(&person);
	dv_buf_init(&last);
	dv_buf_init(&out);
	struct dv_tenant_brief brief = {0};
	static const char *const q[] = {"version", NULL};
	struct dv_jv *qo = NULL;
	const struct dv_jv *o = NULL, *ver, *fields;
	const char *inline_src = NULL;
	int version = 0;
	char kind[32];
	struct dv_hook_event ev = {0};
	if (photo) {
		/* the options from the query: {"version": v} */
		long long v = 0;
		if (dv_in_query(j, &in, q) != 0 || dv_in_int(j, &in, "version", 1, 1000000000, 0, &v) != 0)
			goto out;
		char qb[48];
		snprintf(qb, sizeof qb, v ? "{\"version\":%lld}" : "{}", v);
		o = qo = dv_jsonp_parse(qb, strlen(qb), NULL, 0);
	} else {
		o = dv_in_json(j, &in);
	}
	if (!o || dv_jstr(j, o, "source", (size_t)j->gen->conf->hook_max_source, &inline_src, NULL))
		goto out;
	if ((ver = dv_jv_get(o, "version")) && (ver->type != DV_JNUM || ver->num < 1 || ver->num > 1e9)) {
		dv_job_fail(j, DV_EINVALID, "version is a version number of the hook");
		goto out;
	}
	if ((fields = dv_jv_get(o, "fields")) && fields->type != DV_JOBJ) {
		dv_job_fail(j, DV_EINVALID, "fields is an object (the request's fields the hook sees)");
		goto out;
	}
	if (inline_src) {
		dv_buf_add(&src, inline_src, strlen(inline_src));
	} else {
		/* the given version, else the newest (a staged one included) */
		int got = 0;
		int rc = dv_store_hook_source(oc->store, j->tenant, name, ver ? (int)ver->num : -1, &src, &got);
		if (dv_ops_store_rc(j, oc, rc, "no such hook or version (or send {\"source\": ...} to test Lua not yet saved)"))
			goto out;
		version = got;
	}
	if (photo ? dv_test_photo(j, oc, &in, &ev, &person, kind, sizeof kind)
	          : dv_test_event(j, oc, dv_jv_get(o, "event"), &ev, &person, kind, sizeof kind, &last))
		goto out;
	if (dv_ops_store_rc(j, oc, dv_tenant_brief_get(oc->store, j->tenant, &brief), "no such tenant"))
		goto out;
	struct dv_buf fj;
	dv_buf_init(&fj);
	if (fields)
		dv_json_value(&fj, fields);
	struct dv_hook_req rq = {.store = oc->store, .tenant = j->tenant, .tenant_name = brief.name[0] ? brief.name : NULL,
	    .fields_json = fields ? fj.data : NULL, .settings_json = brief.settings_json, .request_id = j->id};
	const struct dv_jv *lo = dv_jv_get(o, "location"), *ca = dv_jv_get(o, "camera");
	rq.location = lo && lo->type == DV_JSTR ? lo->str : NULL;
	rq.camera = ca && ca->type == DV_JSTR ? ca->str : NULL;
	/* everything the hook writes is rolled back */
	int rc = dv_store_begin(oc->store);
	if (!rc)
		rc = dv_store_exec_sql(oc->store, "SET LOCAL statement_timeout = '10s'");
	if (!rc)
		rc = dv_hooks_test(j->gen->hooks, name, src.data ? src.data : "", src.len, &rq, &ev, &out);
	dv_store_rollback(oc->store);
	dv_buf_fini(&fj);
	if (dv_ops_store_rc(j, oc, rc, "no such tenant"))
		goto out;
	/* {"name","version",...the run...} */
	dv_buf_puts(&j->res.reply, "{\"name\":");
	dv_json_escape(&j->res.reply, name, strlen(name));
	if (version)
		dv_buf_printf(&j->res.reply, ",\"version\":%d", version);
	else
		dv_buf_puts(&j->res.reply, ",\"version\":null");
	dv_buf_puts(&j->res.reply, ",\"committed\":false,");
	dv_buf_add(&j->res.reply, out.data + 1, out.len - 1);
out:
	dv_tenant_brief_fini(&brief);
	dv_buf_fini(&src);
	dv_buf_fini(&person);
	dv_buf_fini(&last);
	dv_buf_fini(&out);
	dv_in_fini(&in);
	dv_jv_free(qo);
}
