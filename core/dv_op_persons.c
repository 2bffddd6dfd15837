/* dv_op_persons.c — people and what is known of them: POST/GET
 * /v1/persons, GET/PATCH/DELETE /v1/persons/{id}, GET /v1/events, and the
 * hooks' stored values (GET /v1/state). */
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
#include "dv_gallery.h"
#include <event2/http.h>

static void dv_op_person_write(struct dv_job *j, struct dv_ops_ctx *oc, bool create)
{
	struct dv_in in = {0};
	struct dv_buf attrs;
	dv_buf_init(&attrs);
	static const char *const qs[] = {"replace", NULL};
	const struct dv_jv *o = NULL;
	const char *name, *ext;
	bool ext_null = false;
	if (dv_in_query(j, &in, create ? NULL : qs) || !(o = dv_in_json(j, &in)) ||
	    dv_jstr(j, o, "name", 200, &name, NULL) || dv_jstr(j, o, "external_id", 200, &ext, &ext_null) ||
	    dv_check_attrs(j, dv_jv_get(o, "attributes"), &attrs, "attributes"))
		goto out;
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], "name") && strcmp(o->keys[i], "external_id") && strcmp(o->keys[i],
		    "attributes")) {
			dv_job_fail(j, DV_EINVALID, "unknown field '%.64s' (expected name, external_id, attributes)",
			    o->keys[i]);
			goto out;
		}
	int rc;
	if (create) {
		if (!name) {
			dv_job_fail(j, DV_EINVALID, "name is required");
			goto out;
		}
		rc = dv_store_person_create(oc->store, j->tenant, name, ext, attrs.data, &j->res.reply);
		j->res.status = 201;
	} else {
		const char *rep = in.have_q ? evhttp_find_header(&in.q, "replace") : NULL;
		rc = dv_store_person_update(oc->store, j->tenant, j->req.path_id, name, ext, ext_null, attrs.data,
		    rep && (!strcmp(rep, "1") || !strcmp(rep, "true")), &j->res.reply);
	}
	if (rc)
		dv_job_fail(j, rc, rc == DV_ECONFLICT ? "external_id is already used by another person of this tenant"
		                   : rc == DV_ENOTFOUND ? "no such person" : "%s", oc->store->err);
out:
	dv_buf_fini(&attrs);
	dv_in_fini(&in);
}

void dv_op_person_create(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_person_write(j, oc, true); }
void dv_op_person_update(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_person_write(j, oc, false); }

void dv_op_person_get(struct dv_job *j, struct dv_ops_ctx *oc)
{
	dv_ops_store_rc(j, oc, dv_store_person_get(oc->store, j->tenant, j->req.path_id, &j->res.reply),
	    "no such person");
}

void dv_op_person_delete(struct dv_job *j, struct dv_ops_ctx *oc)
{
	uint64_t *faces = NULL;
	int n = 0;
	if (dv_ops_store_rc(j, oc, dv_store_person_delete(oc->store, j->tenant, j->req.path_id, &faces, &n),
	    "no such person"))
		return;
	dv_gallery_removed(oc->gallery, j->gen, j->tenant, faces, n);
	free(faces);
	dv_buf_printf(&j->res.reply, "{\"deleted\":true,\"id\":%" PRIu64 ",\"faces_deleted\":%d}", j->req.path_id, n);
}

static void dv_op_list(struct dv_job *j, struct dv_ops_ctx *oc, bool events)
{
	static const char *const pq[] = {"query", "limit", "after", NULL};
	static const char *const eq[] = {"person_id", "kind", "since", "limit", "after", NULL};
	struct dv_in in = {0};
	long long limit, after, person = 0;
	if (dv_in_query(j, &in, events ? eq : pq) || dv_in_int(j, &in, "limit", 1, 1000, 50, &limit) ||
	    dv_in_int(j, &in, "after", 0, INT64_MAX, 0, &after) ||
	    (events && dv_in_int(j, &in, "person_id", 1, INT64_MAX, 0, &person)))
		goto out;
	int rc;
	if (events) {
		const char *kind = evhttp_find_header(&in.q, "kind"), *since = evhttp_find_header(&in.q, "since");
		if (kind && strcmp(kind, "recognized") && strcmp(kind, "unknown") && strcmp(kind, "enrolled")) {
			dv_job_fail(j, DV_EBADREQUEST, "kind must be recognized, unknown or enrolled");
			goto out;
		}
		rc = dv_store_event_list(oc->store, j->tenant, (uint64_t)person, kind, since, (int)limit,
		    (uint64_t)after, &j->res.reply);
		if (rc == DV_EINVALID)
			dv_job_fail(j, DV_EBADREQUEST, "since must be a timestamp such as 2026-11-28T09:00:00Z");
	} else {
		const char *q = evhttp_find_header(&in.q, "query");
		if (q && strlen(q) > 200) {
			dv_job_fail(j, DV_EBADREQUEST, "query is limited to 200 characters");
			goto out;
		}
		rc = dv_store_person_list(oc->store, j->tenant, q, (int)limit, (uint64_t)after, &j->res.reply);
	}
	if (rc)
		dv_job_fail(j, rc, "%s", oc->store->err);
out:
	dv_in_fini(&in);
}

void dv_op_person_list(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_list(j, oc, false); }
void dv_op_event_list(struct dv_job *j, struct dv_ops_ctx *oc) { dv_op_list(j, oc, true); }

/* GET /v1/state?namespace=&key=&person_id=: the hooks' values (e.g. the attendance report) */
void dv_op_state_list(struct dv_job *j, struct dv_ops_ctx *oc)
{
	static const char *const qs[] = {"namespace", "key", "person_id", NULL};
	struct dv_in in = {0};
	long long person = 0;
	if (dv_in_query(j, &in, qs) == 0 && dv_in_int(j, &in, "person_id", 1, INT64_MAX, 0, &person) == 0) {
		const char *ns = evhttp_find_header(&in.q, "namespace"), *key = evhttp_find_header(&in.q, "key");
		if (!ns || !*ns || strlen(ns) > 100) {
			dv_job_fail(j, DV_EBADREQUEST, "namespace is required (a hook's name, e.g. attendance)");
		} else {
			int rc = dv_store_state_report(oc->store, j->tenant, ns, key, (uint64_t)person, &j->res.reply);
			if (rc)
				dv_job_fail(j, rc, "%s", oc->store->err);
		}
	}
	dv_in_fini(&in);
}

/* POST /v1/events/{id}/outcome {"person_id": N | null}: a person at the desk
 * settles a recognition — confirmed as person N (the model was unsure, or
 * wrong), or rejected (nobody of these: null). Kept beside what the model
 * decided. */
void dv_op_event_outcome(struct dv_job *j, struct dv_ops_ctx *oc)
{
	struct dv_in in = {0};
	const struct dv_jv *o = dv_in_json(j, &in), *p;
	if (o) {
		p = dv_jv_get(o, "person_id");
		if (!p || (p->type != DV_JNULL && (p->type != DV_JNUM || p->num < 1 || p->num != (double)(uint64_t)p->num)))
			dv_job_fail(j, DV_EINVALID, "send {\"person_id\": N} (confirmed as that person) or {\"person_id\": null} "
			                            "(nobody of them)");
		else
			dv_ops_store_rc(j, oc,
			    dv_store_event_outcome(oc->store, j->tenant, j->req.path_id,
			        p->type == DV_JNUM ? (uint64_t)p->num : 0, j->key_id, &j->res.reply),
			    "no such event, or the person is not of this tenant");
	}
	dv_in_fini(&in);
}
