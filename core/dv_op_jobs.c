/* dv_op_jobs.c — background jobs: POST /v1/jobs (the job is committed,
 * answered 202, and the loop thread queues its work), GET /v1/jobs/{id}, and
 * an async job's end (its result into dv_jobs, then its webhook). */
#include "dv_ops.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_input.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dv_api.h"
#include "dv_form.h"
#include "dv_log.h"
#include "dv_webhook.h"
#include <math.h>
#include <strings.h>

void dv_op_job_submit(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	static const char *const imgs[] = {"image", "image_a", "image_b", NULL};
	const struct dv_jv *o;
	const char *op, *hook;
	if (j->req.ctype && strncasecmp(j->req.ctype, "application/json", 16)) {
		dv_job_fail(j, DV_EMEDIATYPE,
		    "send the job as application/json: {\"op\": \"recognize\", \"image\": base64, ...}");
		goto out;
	}
	if (dv_in_body(j, &in, imgs) || !(o = in.form.json) || dv_jstr(j, o, "op", 32, &op, NULL) ||
	    dv_jstr(j, o, "webhook", 2000, &hook, NULL))
		goto out;
	int api = op ? dv_api_op_by_name(op) : 0;
	if (!api) {
		dv_job_fail(j, DV_EINVALID, "op must be recognize, detect, verify or enrol");
		goto out;
	}
	long long person = 0;
	const struct dv_jv *pid = dv_jv_get(o, "person_id");
	if (api == DV_API_FACE_ADD) {
		if (!pid || pid->type != DV_JNUM || pid->num < 1 || pid->num != floor(pid->num)) {
			dv_job_fail(j, DV_EINVALID, "enrol needs person_id");
			goto out;
		}
		person = (long long)pid->num;
	}
	char err[200];
	if (hook && dv_webhook_url_ok(hook, err, sizeof err) != 0) {
		dv_job_fail(j, DV_EINVALID, "%s", err);
		goto out;
	}
	long long limit = j->gen->conf->limits.async_jobs;
	if (atomic_fetch_add(oc->async_pending, 1) >= limit) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_job_fail(j, DV_EOVERLOADED, "%lld async jobs are pending (limits.async_jobs)", limit);
		goto out;
	}
	/* what is stored: the parameters, not the images */
	struct dv_buf req;
	dv_buf_init(&req);
	dv_buf_puts(&req, "{");
	int n = 0;
	for (int i = 0; i < o->n; i++) {
		if (!strcmp(o->keys[i], "image") || !strcmp(o->keys[i], "image_a") || !strcmp(o->keys[i], "image_b"))
			continue;
		dv_buf_printf(&req, "%s", n++ ? "," : "");
		dv_json_escape(&req, o->keys[i], strlen(o->keys[i]));
		dv_buf_puts(&req, ":");
		dv_json_value(&req, o->items[i]);
	}
	dv_buf_puts(&req, "}");
	uint64_t id = 0;
	int rc = dv_store_job_create(oc->store, j->tenant, op, oc->node, req.data, hook, &id);
	dv_buf_fini(&req);
	if (rc) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_job_fail(j, rc, "%s", oc->store->err);
		goto out;
	}
	/* the loop thread queues the work once this 202 is on its way */
	j->spawn_body = dv_memdup(j->req.body, j->req.body_len);
	if (!j->spawn_body) {
		atomic_fetch_sub(oc->async_pending, 1);
		dv_store_job_finish(oc->store, id, 503, NULL,
		    "{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}");
		dv_job_fail(j, DV_ENOMEM, "out of memory");
		goto out;
	}
	j->spawn_len = j->req.body_len;
	j->spawn_api = api;
	j->async_id = id;
	j->req.path_id = (uint64_t)person;
	if (hook)
		j->req.webhook = strdup(hook);
	dv_buf_printf(&j->res.reply, "{\"id\":%" PRIu64 ",\"status\":\"queued\",\"op\":", id);
	dv_json_escape(&j->res.reply, op, strlen(op));
	dv_buf_puts(&j->res.reply, "}");
	j->res.status = 202;
out:
	dv_in_fini(&in);
}

void dv_op_job_get(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_job_get(oc->store, j->tenant, j->req.path_id, &j->res.reply), "no such job");
}

/* An async job's end: the result or the error into dv_jobs, then the webhook. */
void dv_ops_async_finish(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_buf err, body;
	dv_buf_init(&err);
	dv_buf_init(&body);
	int status = j->res.err ? dv_err_http_status(j->res.err) : j->res.status ? j->res.status : 200;
	if (j->res.err) {
		dv_buf_printf(&err, "{\"code\":\"%s\",\"message\":", dv_err_code(j->res.err));
		const char *m = j->res.errmsg[0] ? j->res.errmsg : dv_err_message(j->res.err);
		dv_json_escape(&err, m, strlen(m));
		dv_buf_printf(&err, ",\"status\":%d}", status);
	}
	int rc = dv_store_job_finish(oc->store, j->async_id, status,
	    j->res.err ? NULL : (j->res.reply.data ? j->res.reply.data : "{}"),
	    j->res.err ? err.data : NULL);
	if (rc)
		dv_warn("async job result not stored job=%" PRIu64 " reason=\"%s\"", j->async_id, oc->store->err);
	if (j->req.webhook) {
		dv_buf_printf(&body,
		    "{\"id\":%" PRIu64 ",\"status\":\"%s\",\"http_status\":%d,\"result\":%s,\"error\":%s}",
		    j->async_id, j->res.err ? "failed" : "done", status,
		    j->res.err ? "null" : (j->res.reply.data ? j->res.reply.data : "{}"),
		    j->res.err ? err.data : "null");
		int code = dv_webhook_post(j->req.webhook, body.data, body.len, 5000);
		if (code < 200 || code > 299)
			dv_warn("webhook call failed job=%" PRIu64 " status=%d", j->async_id, code);
		dv_store_job_webhook(oc->store, j->async_id, code);
	}
	dv_buf_fini(&err);
	dv_buf_fini(&body);
	atomic_fetch_sub(oc->async_pending, 1);
}
