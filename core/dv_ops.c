/* dv_ops.c — runs an API operation on a worker thread (see dv_ops.h): the
 * key is checked against the database (unless the admin key or an async job
 * already was), then the route's handler runs (its column of the route
 * table, dv_api.c) and leaves either job->err or job->reply (+ job->status).
 * The handlers are grouped by family in dv_op_*.c; every statement on
 * tenant data goes through dv_store.c with the authenticated tenant. */
#include "dv_ops.h"
#include "dv_api.h"
#include "dv_err.h"
#include "dv_job.h"
#include "dv_keyuse.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "dv_log.h"
#include "dv_store.h"

int dv_ops_store_rc(struct dv_job *j, struct dv_ops_ctx *oc, int rc, const char *notfound)
{
	if (rc)
		dv_job_fail(j, rc, rc == DV_ENOTFOUND ? notfound : "%s", oc->store->err);
	return rc;
}

void dv_ops_audit(struct dv_job *j, struct dv_ops_ctx *oc, uint64_t tenant, const char *action, const char *target,
    const char *detail)
{
	struct dv_actor a = {.key_id = j->req.admin ? 0 : j->key_id, .key_name = j->req.admin ? "admin" : j->key_name,
	    .address = j->req.peer[0] ? j->req.peer : NULL};
	/* the change is made: a failure to log it is logged, not the client's */
	if (dv_store_audit_add(oc->store, tenant, &a, action, target, detail) != 0)
		dv_warn("audit entry not written action=%s target=%s reason=\"%s\"", action, target, oc->store->err);
}

static double dv_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The key: known, allowed this operation (its scopes), from this browser
 * origin (publishable keys: only their origins), within its rate. 0, or j
 * failed. */
static int dv_ops_key_check(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_keyinfo ki;
	int rc = dv_store_auth(oc->store, j->req.key, &ki);
	if (rc) {
		dv_job_fail(j, rc, rc == DV_EUNAUTHORIZED ? "the API key is unknown or revoked" : "%s", oc->store->err);
		return -1;
	}
	j->tenant = ki.tenant;
	j->key_id = ki.id;
	snprintf(j->key_name, sizeof j->key_name, "%s", ki.name);
	j->key_scopes = ki.scopes;
	j->key_publishable = ki.publishable;
	j->key_rate = ki.rate_per_minute;
	const char *origin = j->req.origin;
	if (origin[0] && dv_origin_in(ki.origins, origin))
		snprintf(j->res.cors_origin, sizeof j->res.cors_origin, "%s", origin);
	uint32_t need = dv_api_scopes(j->req.api);
	if (need && !(ki.scopes & need)) {
		dv_keyuse_count(oc->keyuse, ki.id, DV_KU_FORBIDDEN);
		char names[160] = "";
		for (uint32_t b = 1; b && b <= need; b <<= 1)
			if (need & b)
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? " or " : "",
				    dv_scope_name(b));
		dv_job_fail(j, DV_EFORBIDDEN, "this key may not call %s: it needs the scope %s", dv_api_name(j->req.api),
		    names);
		return -1;
	}
	if (ki.publishable && origin[0] && !j->res.cors_origin[0]) {
		dv_keyuse_count(oc->keyuse, ki.id, DV_KU_FORBIDDEN);
		dv_job_fail(j, DV_EFORBIDDEN, "this publishable key is not for the origin %.200s", origin);
		return -1;
	}
	double wait;
	if (!dv_keyuse_take(oc->keyuse, ki.id, ki.rate_per_minute, dv_now_s(), &wait)) {
		dv_keyuse_count(oc->keyuse, ki.id, DV_KU_RATE_LIMITED);
		j->res.retry_after = (int)wait + 1;
		dv_job_fail(j, DV_ERATELIMITED, "this key may make %d requests a minute: retry in %d s", ki.rate_per_minute,
		    j->res.retry_after);
		return -1;
	}
	dv_keyuse_count(oc->keyuse, ki.id, DV_KU_OK);
	return 0;
}

void dv_ops_run(struct dv_job *j, struct dv_ops_ctx *oc)
{
	DV_CHECK_JOB(j);
	if (j->req.api == DV_API_NONE) {
		/* a bare pipeline job: no tenant, nothing looked up or stored */
		dv_pipeline_run(j, &oc->pipe);
		return;
	}
	dv_op_fn *run = dv_api_handler(j->req.api);
	DV_ASSERT(run != NULL); /* every route has a handler: dv_api.c */
	if (!j->req.admin && !j->async_id && !dv_api_is_open(j->req.api) && dv_ops_key_check(j, oc) != 0)
		return;
	if (j->async_id && j->origin == DV_ORIGIN_ASYNC)
		dv_store_job_start(oc->store, j->async_id);
	run(j, oc);
	if (j->res.reply.failed)
		dv_job_fail(j, DV_ENOMEM, "out of memory while writing the reply");
	if (j->res.err)
		dv_buf_reset(&j->res.reply);
	if (j->origin == DV_ORIGIN_ASYNC)
		dv_ops_async_finish(j, oc);
}
