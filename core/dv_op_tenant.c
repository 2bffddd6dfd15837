/* dv_op_tenant.c — a tenant and its keys: GET/PATCH /v1/tenant,
 * POST/GET /v1/keys, DELETE /v1/keys/{id}; and, with the admin key,
 * POST/GET /v1/admin/tenants and POST /v1/admin/tenants/{id}/keys.
 * (GET /v1/tenant/operating_point is dv_opoint.c.) */
#include "dv_ops.h"
#include "dv_api.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void dv_op_admin_tenant_create(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	struct dv_buf set;
	dv_buf_init(&set);
	const struct dv_jv *o;
	const char *name;
	if ((o = dv_in_json(j, &in)) && !dv_jstr(j, o, "name", 200, &name, NULL)) {
		const struct dv_jv *s = dv_jv_get(o, "settings"), *hooks = dv_jv_get(o, "hooks");
		const char *names[32];
		int n = 0;
		for (int i = 0; hooks && hooks->type == DV_JARR && i < hooks->n && i < 32; i++)
			if (hooks->items[i]->type == DV_JSTR && dv_builtin_hook(hooks->items[i]->str))
				names[n++] = hooks->items[i]->str;
		if (!name) {
			dv_job_fail(j, DV_EINVALID, "name is required");
		} else if (hooks && (hooks->type != DV_JARR || n != hooks->n)) {
			dv_job_fail(j, DV_EINVALID, "hooks is a list of built-in hooks: frontdesk, loyalty, hotel, attendance");
		} else if ((!s || !dv_check_attrs(j, s, &set, "settings")) &&
		           !dv_ops_store_rc(j, oc, dv_store_tenant_create(oc->store, name, set.data, &j->res.reply),
		               "no such resource")) {
			j->res.status = 201;
			/* the new tenant starts with copies of the built-in hooks it asked for */
			struct dv_jv *r = n ? dv_jsonp_parse(j->res.reply.data, j->res.reply.len, NULL, 0) : NULL;
			const struct dv_jv *id = dv_jv_get(r, "id");
			struct dv_actor a = {.key_id = 0, .key_name = "admin", .address = j->req.peer[0] ? j->req.peer : NULL};
			char err[300];
			if (n && (!id || id->type != DV_JNUM ||
			             dv_hooks_install_builtins(oc->store, oc->hooks, j->gen->conf, j->gen->hooks,
			                 (uint64_t)id->num, names, n, &a, err, sizeof err) != 0))
				dv_job_fail(j, DV_EINTERNAL, "the tenant was created, but its hooks could not be installed: %s",
				    id ? err : "no id");
			dv_jv_free(r);
		}
	}
	dv_buf_fini(&set);
	dv_in_fini(&in);
}

void dv_op_admin_tenant_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_tenant_list(oc->store, &j->res.reply), "no such resource");
}

/* A browser origin as a key lists it: scheme://host[:port], nothing else. */
static bool dv_origin_ok(const char *o)
{
	const char *h = !strncmp(o, "https://", 8) ? o + 8 : !strncmp(o, "http://", 7) ? o + 7 : NULL;
	return h && *h && strlen(o) <= 200 &&
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(h);
}

/* The key's scopes, origins and rate from the body into spec (PostgreSQL
 * array literals in sc and or); 0, or j failed. */
static int dv_keyspec_read(struct dv_job *j, const struct dv_jv *o, struct dv_keyspec *spec, struct dv_buf *sc,
    struct dv_buf *or)
{
	const struct dv_jv *scopes = dv_jv_get(o, "scopes"), *origins = dv_jv_get(o, "origins");
	const struct dv_jv *rate = dv_jv_get(o, "rate_per_minute");
	uint32_t bits = 0;
	if (scopes && scopes->type != DV_JNULL) {
		if (scopes->type != DV_JARR || scopes->n == 0 || scopes->n > 16) {
			dv_job_fail(j, DV_EINVALID, "scopes is a list: recognize, detect, verify, enrol, persons:read, "
			                            "persons:write, events:read, hooks, keys, jobs");
			return -1;
		}
		dv_buf_puts(sc, "{");
		for (int i = 0; i < scopes->n; i++) {
			const struct dv_jv *x = scopes->items[i];
			uint32_t b = x->type == DV_JSTR ? dv_scope_bit(x->str) : 0;
			if (!b) {
				dv_job_fail(j, DV_EINVALID, "unknown scope %.60s: recognize, detect, verify, enrol, persons:read, "
				                            "persons:write, events:read, hooks, keys, jobs",
				    x->type == DV_JSTR ? x->str : "(not a string)");
				return -1;
			}
			bits |= b;
			dv_buf_printf(sc, "%s\"%s\"", i ? "," : "", dv_scope_name(b));
		}
		dv_buf_puts(sc, "}");
		spec->scopes_pg = sc->data;
	}
	if (origins && origins->type != DV_JNULL) {
		if (origins->type != DV_JARR || origins->n == 0 || origins->n > 20) {
			dv_job_fail(j, DV_EINVALID, "origins is a list of 1 to 20 browser origins, e.g. [\"https://shop.example\"]");
			return -1;
		}
		dv_buf_puts(or, "{");
		for (int i = 0; i < origins->n; i++) {
			const struct dv_jv *x = origins->items[i];
			if (x->type != DV_JSTR || !dv_origin_ok(x->str)) {
				dv_job_fail(j, DV_EINVALID, "an origin is scheme://host[:port] with no path, e.g. https://shop.example");
				return -1;
			}
			dv_buf_printf(or, "%s\"%s\"", i ? "," : "", x->str);
		}
		dv_buf_puts(or, "}");
		spec->origins_pg = or->data;
		/* a key browsers may hold: browser-safe scopes only */
		if (!spec->scopes_pg || (bits & ~(uint32_t)DV_SC_BROWSER)) {
			dv_job_fail(j, DV_EINVALID, "a key with origins is publishable: give it scopes among recognize, detect, "
			                            "verify and enrol only");
			return -1;
		}
		spec->publishable = true;
	}
	if (rate && rate->type != DV_JNULL) {
		if (rate->type != DV_JNUM || rate->num < 1 || rate->num > 1000000 || rate->num != (double)(int)rate->num) {
			dv_job_fail(j, DV_EINVALID, "rate_per_minute is a whole number from 1 to 1000000");
			return -1;
		}
		spec->rate_per_minute = (int)rate->num;
	}
	return 0;
}

/* A key for the caller's tenant, or (admin) for tenant {id}. */
void dv_op_key_create(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	const struct dv_jv *o;
	const char *name;
	struct dv_keyspec spec = {0};
	struct dv_buf sc, or;
	dv_buf_init(&sc);
	dv_buf_init(&or);
	if ((o = dv_in_json(j, &in)) && !dv_jstr(j, o, "name", 200, &name, NULL) &&
	    !dv_keyspec_read(j, o, &spec, &sc, &or)) {
		uint64_t t = j->req.api == DV_API_KEY_CREATE ? j->tenant : j->req.path_id;
		if (!dv_ops_store_rc(j, oc, dv_store_key_create(oc->store, t, name, &spec, &j->res.reply),
		        "no such resource")) {
			j->res.status = 201;
			struct dv_jv *r = dv_jsonp_parse(j->res.reply.data, j->res.reply.len, NULL, 0);
			const struct dv_jv *id = dv_jv_get(r, "id");
			char target[40], detail[300];
			snprintf(target, sizeof target, "key:%.0f", id && id->type == DV_JNUM ? id->num : 0.0);
			struct dv_buf d;
			dv_buf_init(&d);
			dv_buf_puts(&d, "{\"name\":");
			dv_json_escape(&d, name ? name : "", name ? strlen(name) : 0);
			dv_buf_puts(&d, "}");
			snprintf(detail, sizeof detail, "%s", d.data ? d.data : "{}");
			dv_buf_fini(&d);
			dv_ops_audit(j, oc, t, "key.create", target, detail);
			dv_jv_free(r);
		}
	}
	dv_buf_fini(&sc);
	dv_buf_fini(&or);
	dv_in_fini(&in);
}

void dv_op_tenant_get(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_tenant_get(oc->store, j->tenant, &j->res.reply), "no such resource");
}

void dv_op_tenant_update(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	struct dv_buf set;
	dv_buf_init(&set);
	const struct dv_jv *o = dv_in_json(j, &in);
	if (o) {
		const struct dv_jv *s = dv_jv_get(o, "settings");
		const struct dv_jv *rd = s ? dv_jv_get(s, "reject_duplicates") : NULL;
		if (!s || s->type != DV_JOBJ || o->n != 1)
			dv_job_fail(j, DV_EINVALID, "send {\"settings\": {...}} (e.g. reject_duplicates: true)");
		else if (rd && rd->type != DV_JBOOL && rd->type != DV_JNULL)
			dv_job_fail(j, DV_EINVALID, "settings.reject_duplicates must be true or false");
		else if (!dv_check_attrs(j, s, &set, "settings") && /* refused before anything is written */
		         !dv_ops_store_rc(j, oc, dv_store_tenant_settings(oc->store, j->tenant, set.data, &j->res.reply),
		             "no such resource"))
			dv_ops_audit(j, oc, j->tenant, "tenant.settings", "tenant:settings", set.data);
	}
	dv_buf_fini(&set);
	dv_in_fini(&in);
}

void dv_op_key_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_key_list(oc->store, j->tenant, &j->res.reply), "no such resource");
}

void dv_op_key_revoke(struct dv_job *j, struct dv_ops_ctx *oc)
{
	if (!dv_ops_store_rc(j, oc, dv_store_key_revoke(oc->store, j->tenant, j->req.path_id), "no such resource")) {
		dv_buf_printf(&j->res.reply, "{\"revoked\":true,\"id\":%" PRIu64 "}", j->req.path_id);
		char target[40];
		snprintf(target, sizeof target, "key:%" PRIu64, j->req.path_id);
		dv_ops_audit(j, oc, j->tenant, "key.revoke", target, NULL);
	}
}

/* GET /v1/key: what the calling key may do (any key: a page's SDK asks it
 * whether to offer enrolment). Never its secret, nor its origins' list. */
void dv_op_key_self(struct dv_job *j, struct dv_ops_ctx *oc)
{
	(void)oc;
	struct dv_json w;
	dv_json_init(&w, &j->res.reply);
	dv_json_obj_open(&w);
	dv_json_key(&w, "id");
	dv_json_uint(&w, j->key_id);
	dv_json_key(&w, "name");
	dv_json_str(&w, j->key_name);
	dv_json_key(&w, "publishable");
	dv_json_bool(&w, j->key_publishable);
	dv_json_key(&w, "scopes");
	dv_json_arr_open(&w);
	for (uint32_t b = 1; b <= DV_SC_ALL; b <<= 1)
		if (j->key_scopes & b)
			dv_json_str(&w, dv_scope_name(b));
	dv_json_arr_close(&w);
	dv_json_key(&w, "rate_per_minute");
	if (j->key_rate > 0)
		dv_json_int(&w, j->key_rate);
	else
		dv_json_null(&w);
	dv_json_obj_close(&w);
}
