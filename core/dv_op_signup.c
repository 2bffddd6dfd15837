/* dv_op_signup.c — POST /v1/signup {"shop", "invitation"}: a shop owner
 * creates a tenant from the web page, with no key (signup.enabled; off by
 * default). The new tenant starts with the built-in hooks of signup.hooks and
 * gets its first secret key, shown once. Abuse limits: an invitation code
 * when signup.invitation_sha256 is set (compared by its SHA-256, in constant
 * time), signup.per_address_per_hour sign-ups from one client address
 * (counted in PostgreSQL, so every server shares the count), a shop name of
 * 1 to 100 characters. Every sign-up is in the new tenant's audit log. */
#include "dv_ops.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_keys.h"
#include "dv_store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dv_op_signup_info(struct dv_job *j, struct dv_ops_ctx *oc)
{
	(void)oc;
	const struct dv_conf *c = j->gen->conf;
	dv_buf_printf(&j->res.reply, "{\"enabled\":%s,\"invitation\":%s}", c->signup_enabled ? "true" : "false",
	    c->signup_invitation_sha256 && c->signup_invitation_sha256[0] ? "true" : "false");
}

void dv_op_signup(struct dv_job *j, struct dv_ops_ctx *oc)
{
	const struct dv_conf *c = j->gen->conf;
	if (!c->signup_enabled) {
		dv_job_fail(j, DV_EFORBIDDEN, "sign-up is off on this server (signup.enabled)");
		return;
	}
	struct dv_in in = {0};
	const struct dv_jv *o = dv_in_json(j, &in);
	const char *shop = NULL, *inv = NULL;
	struct dv_buf reply;
	dv_buf_init(&reply);
	if (!o || dv_jstr(j, o, "shop", 100, &shop, NULL) || dv_jstr(j, o, "invitation", 200, &inv, NULL))
		goto out;
	if (!shop || !shop[strspn(shop, " ")]) {
		dv_job_fail(j, DV_EINVALID, "shop is the shop's name (1 to 100 characters)");
		goto out;
	}
	const char *want = c->signup_invitation_sha256;
	if (want && want[0]) {
		char got[65];
		dv_key_hash_hex(inv ? inv : "", got);
		if (!inv || strlen(want) != 64 || !dv_key_equal(got, want, 64)) {
			dv_job_fail(j, DV_EFORBIDDEN, "sign-up needs a valid invitation code");
			goto out;
		}
	}
	/* the address's sign-ups in the last hour */
	const char *v[] = {j->req.peer};
	struct dv_buf n;
	dv_buf_init(&n);
	int rc = dv_store_one(oc->store, &n,
	    "SELECT count(*)::text FROM dv_signups WHERE address = $1 AND created_at > now() - interval '1 hour'", 1, v);
	long long count = rc ? 0 : atoll(n.data ? n.data : "0");
	dv_buf_fini(&n);
	if (dv_ops_store_rc(j, oc, rc, ""))
		goto out;
	if (count >= c->signup_per_hour) {
		j->res.retry_after = 3600;
		dv_job_fail(j, DV_ERATELIMITED, "this address has made %lld shops in the last hour "
		                                "(signup.per_address_per_hour): try again later", count);
		goto out;
	}
	if (dv_ops_store_rc(j, oc, dv_store_tenant_create(oc->store, shop, "{}", &reply), ""))
		goto out;
	struct dv_jv *r = dv_jsonp_parse(reply.data, reply.len, NULL, 0);
	const struct dv_jv *id = dv_jv_get(r, "id");
	uint64_t tenant = id && id->type == DV_JNUM ? (uint64_t)id->num : 0;
	char target[40];
	snprintf(target, sizeof target, "tenant:%llu", (unsigned long long)tenant);
	const char *sv[] = {target + 7, j->req.peer};
	struct dv_buf none;
	dv_buf_init(&none);
	rc = dv_store_one(oc->store, &none,
	    "INSERT INTO dv_signups (tenant_id, address) VALUES ($1::bigint, $2) RETURNING id::text", 2, sv);
	dv_buf_fini(&none);
	/* the built-in hooks it starts with */
	char hooks[256], err[300] = "";
	snprintf(hooks, sizeof hooks, "%s", c->signup_hooks ? c->signup_hooks : "");
	const char *names[16];
	int nn = 0;
	for (char *save = NULL, *t = strtok_r(hooks, ", ", &save); t && nn < 16; t = strtok_r(NULL, ", ", &save))
		if (dv_builtin_hook(t))
			names[nn++] = t;
	struct dv_actor a = {.key_id = 0, .key_name = "signup", .address = j->req.peer[0] ? j->req.peer : NULL};
	if (!rc && tenant && nn)
		rc = dv_hooks_install_builtins(oc->store, oc->hooks, c, j->gen->hooks, tenant, names, nn, &a, err, sizeof err);
	if (rc || !tenant) {
		dv_job_fail(j, rc ? rc : DV_EINTERNAL, "the shop was created, but not set up: %s",
		    err[0] ? err : rc ? oc->store->err : "no id");
	} else {
		dv_store_audit_add(oc->store, tenant, &a, "tenant.signup", target, NULL);
		dv_buf_add(&j->res.reply, reply.data, reply.len - 1); /* without its closing brace */
		dv_buf_puts(&j->res.reply, ",\"hooks\":[");
		for (int i = 0; i < nn; i++)
			dv_buf_printf(&j->res.reply, "%s\"%s\"", i ? "," : "", names[i]);
		dv_buf_puts(&j->res.reply, "]}");
		j->res.status = 201;
	}
	dv_jv_free(r);
out:
	dv_buf_fini(&reply);
	dv_in_fini(&in);
}
