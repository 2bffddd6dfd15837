/* dv_store_hooks.c — the SQL of stored hooks and of the audit log (see
 * dv_store.h). Every statement has "tenant_id = $1". A change to a tenant's
 * hooks is one transaction: the tenant's row is locked by bumping its
 * hooks_seq (so concurrent changes of one tenant queue), the rows written,
 * the audit entry added, and pg_notify('dv_hooks', 'TENANT SEQ') queued for
 * the commit. */
#include "dv_store.h"
#include "dv_err.h"
#include "dv_hooklib.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U64(buf, v) (snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)(v)), buf)
#define INT(buf, v) (snprintf(buf, sizeof buf, "%d", (int)(v)), buf)

int dv_store_hooks_active(struct dv_store *st, uint64_t tenant, long long *seq, struct dv_hookver **h, int *n)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	int rc;
	*h = NULL;
	*n = 0;
	*seq = 0;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT t.hooks_seq, h.name, v.version, v.sha256, v.source FROM dv_tenants t "
	    "LEFT JOIN dv_hooks h ON h.tenant_id = t.id AND h.active_version IS NOT NULL "
	    "LEFT JOIN dv_hook_versions v ON v.tenant_id = h.tenant_id AND v.name = h.name AND v.version = h.active_version "
	    "WHERE t.id = $1 ORDER BY h.position, h.name",
	    1, v, NULL);
	if (!r)
		return rc;
	int rows = PQntuples(r);
	if (rows > 0)
		*seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	struct dv_hookver *a = rows > 0 ? calloc((size_t)rows, sizeof *a) : NULL;
	int k = 0;
	for (int i = 0; i < rows && a; i++) {
		if (PQgetisnull(r, i, 1) || PQgetisnull(r, i, 2))
			continue; /* no hooks (the LEFT JOIN's one empty row) */
		struct dv_hookver *x = &a[k];
		x->name = strdup(PQgetvalue(r, i, 1));
		x->version = atoi(PQgetvalue(r, i, 2));
		snprintf(x->sha, sizeof x->sha, "%s", PQgetvalue(r, i, 3));
		x->len = (size_t)PQgetlength(r, i, 4);
		x->src = malloc(x->len + 1);
		if (!x->name || !x->src) {
			free(x->name);
			free(x->src);
			continue;
		}
		memcpy(x->src, PQgetvalue(r, i, 4), x->len);
		x->src[x->len] = 0;
		k++;
	}
	PQclear(r);
	if (rows && !a)
		return DV_ENOMEM;
	if (k == 0) {
		free(a);
		a = NULL;
	}
	*h = a;
	*n = k;
	return 0;
}

#define DV_HOOK_ROW_JSON                                                                                               \
	"jsonb_build_object('name', h.name, 'position', h.position, 'active_version', h.active_version, "                  \
	"'functions', COALESCE(to_jsonb(v.functions), '[]'::jsonb), 'sha256', v.sha256, "                                   \
	"'versions', (SELECT count(*) FROM dv_hook_versions x WHERE x.tenant_id = h.tenant_id AND x.name = h.name), "     \
	"'updated_at', h.updated_at, 'updated_by', jsonb_build_object('key_id', h.updated_by, 'name', "                    \
	"COALESCE(h.updated_by_name, CASE WHEN h.updated_by IS NULL THEN 'admin' END)))"

int dv_store_hook_list(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out,
	    "SELECT COALESCE(jsonb_agg(" DV_HOOK_ROW_JSON " ORDER BY h.position, h.name), '[]')::text FROM dv_hooks h "
	    "LEFT JOIN dv_hook_versions v ON v.tenant_id = h.tenant_id AND v.name = h.name AND v.version = h.active_version "
	    "WHERE h.tenant_id = $1",
	    1, v);
}

int dv_store_hook_get(struct dv_store *st, uint64_t tenant, const char *name, int version, struct dv_buf *out)
{
	char t[24], vb[16];
	const char *v[] = {U64(t, tenant), name, version > 0 ? INT(vb, version) : NULL};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('name', h.name, 'version', v.version, 'active_version', h.active_version, "
	    "'active', v.version IS NOT DISTINCT FROM h.active_version, 'position', h.position, 'source', v.source, "
	    "'sha256', v.sha256, 'functions', to_jsonb(v.functions), 'comment', v.comment, 'created_at', v.created_at, "
	    "'author', jsonb_build_object('key_id', v.author_key, 'name', COALESCE(v.author_name, "
	    "CASE WHEN v.author_key IS NULL THEN 'admin' END)))::text "
	    "FROM dv_hooks h JOIN dv_hook_versions v ON v.tenant_id = h.tenant_id AND v.name = h.name "
	    "AND v.version = COALESCE($3::int, h.active_version) WHERE h.tenant_id = $1 AND h.name = $2",
	    3, v);
}

int dv_store_hook_source(struct dv_store *st, uint64_t tenant, const char *name, int version, struct dv_buf *out,
    int *got_version)
{
	char t[24], vb[16];
	const char *v[] = {U64(t, tenant), name, INT(vb, version)};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT v.version, v.source FROM dv_hooks h JOIN dv_hook_versions v ON v.tenant_id = h.tenant_id "
	    "AND v.name = h.name AND v.version = CASE WHEN $3::int > 0 THEN $3::int WHEN $3::int < 0 THEN (SELECT max(x.version) "
	    "FROM dv_hook_versions x WHERE x.tenant_id = $1 AND x.name = $2) ELSE h.active_version END "
	    "WHERE h.tenant_id = $1 AND h.name = $2",
	    3, v, NULL);
	if (!r)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return DV_ENOTFOUND;
	}
	*got_version = atoi(PQgetvalue(r, 0, 0));
	dv_buf_add(out, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
	PQclear(r);
	return out->failed ? DV_ENOMEM : 0;
}

int dv_store_hook_versions(struct dv_store *st, uint64_t tenant, const char *name, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant), name};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('name', h.name, 'active_version', h.active_version, 'versions', "
	    "(SELECT COALESCE(jsonb_agg(jsonb_build_object('version', v.version, 'sha256', v.sha256, 'functions', "
	    "to_jsonb(v.functions), 'comment', v.comment, 'created_at', v.created_at, 'active', "
	    "v.version IS NOT DISTINCT FROM h.active_version, 'bytes', octet_length(v.source), 'author', "
	    "jsonb_build_object('key_id', v.author_key, 'name', COALESCE(v.author_name, "
	    "CASE WHEN v.author_key IS NULL THEN 'admin' END))) ORDER BY v.version DESC), '[]') "
	    "FROM dv_hook_versions v WHERE v.tenant_id = h.tenant_id AND v.name = h.name))::text "
	    "FROM dv_hooks h WHERE h.tenant_id = $1 AND h.name = $2",
	    2, v);
}

/* A change's transaction: begun, the tenant's hooks_seq bumped (locking its
 * row, so that changes of one tenant queue). */
static int dv_store_hooks_open(struct dv_store *st, const char *t, long long *seq)
{
	const char *v[] = {t};
	int rc = dv_store_begin(st);
	if (rc)
		return rc;
	PGresult *r = dv_store_q(st, &rc, "UPDATE dv_tenants SET hooks_seq = hooks_seq + 1 WHERE id = $1 RETURNING hooks_seq",
	    1, v, NULL);
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : DV_ENOTFOUND;
	if (!rc)
		*seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return rc;
}

/* Within the change's transaction: the audit entry and the announcement. */
static int dv_store_hooks_close(struct dv_store *st, const char *t, long long seq, const struct dv_actor *a,
    const char *action, const char *target, const char *detail)
{
	int rc = dv_store_audit_add(st, strtoull(t, NULL, 10), a, action, target, detail);
	if (rc)
		return rc;
	char sb[24];
	snprintf(sb, sizeof sb, "%lld", seq);
	const char *v[] = {t, sb};
	PGresult *r = dv_store_q(st, &rc, "SELECT pg_notify('dv_hooks', $1 || ' ' || $2)", 2, v, NULL);
	PQclear(r);
	return rc;
}

static int dv_store_hooks_end(struct dv_store *st, int rc)
{
	if (rc) {
		dv_store_rollback(st);
		return rc;
	}
	return dv_store_commit(st);
}

int dv_store_hook_put(struct dv_store *st, uint64_t tenant, const struct dv_hook_put *p, const struct dv_actor *a,
    int *version, int *active, long long *seq)
{
	char t[24], kb[24], mx[16], keep[16];
	U64(t, tenant);
	const char *key = a->key_id ? U64(kb, a->key_id) : NULL;
	int rc = dv_store_hooks_open(st, t, seq);
	PGresult *r = NULL;
	if (!rc) {
		/* the limit: other hooks of the tenant, deactivated ones included */
		const char *v[] = {t, p->name, INT(mx, p->max_hooks)};
		r = dv_store_q(st, &rc,
		    "SELECT count(*) >= $3::int AND NOT EXISTS (SELECT 1 FROM dv_hooks WHERE tenant_id = $1 AND name = $2) "
		    "FROM dv_hooks WHERE tenant_id = $1",
		    3, v, NULL);
		if (r && PQgetvalue(r, 0, 0)[0] == 't') {
			snprintf(st->err, sizeof st->err, "the tenant has %d hooks (hooks.max_per_tenant): remove one with "
			    "DELETE /v1/hooks/NAME?purge=true", p->max_hooks);
			rc = DV_ELIMIT;
		}
		PQclear(r);
	}
	if (!rc) {
		const char *v[] = {t, p->name, p->position, key, a->key_name};
		r = dv_store_q(st, &rc,
		    "INSERT INTO dv_hooks (tenant_id, name, position, updated_by, updated_by_name) VALUES ($1, $2, "
		    "COALESCE($3::int, (SELECT COALESCE(max(position), 0) + 10 FROM dv_hooks WHERE tenant_id = $1)), $4, $5) "
		    "ON CONFLICT (tenant_id, name) DO UPDATE SET position = COALESCE($3::int, dv_hooks.position), "
		    "updated_at = now(), updated_by = $4, updated_by_name = $5",
		    5, v, NULL);
		PQclear(r);
	}
	if (!rc) {
		const char *v[] = {t, p->name, p->source, p->sha256, p->functions, key, a->key_name, p->comment};
		r = dv_store_q(st, &rc,
		    "INSERT INTO dv_hook_versions (tenant_id, name, version, source, sha256, functions, author_key, "
		    "author_name, comment) SELECT $1, $2, COALESCE(max(version), 0) + 1, $3, $4, $5::text[], $6, $7, $8 "
		    "FROM dv_hook_versions WHERE tenant_id = $1 AND name = $2 RETURNING version",
		    8, v, NULL);
		if (r)
			*version = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	char vb[16];
	if (!rc) {
		const char *v[] = {t, p->name, INT(vb, *version), p->activate ? "t" : "f", INT(keep, p->keep_versions)};
		r = dv_store_q(st, &rc,
		    "WITH a AS (UPDATE dv_hooks SET active_version = CASE WHEN $4::bool THEN $3::int ELSE active_version END "
		    "WHERE tenant_id = $1 AND name = $2 RETURNING active_version), "
		    "p AS (DELETE FROM dv_hook_versions WHERE tenant_id = $1 AND name = $2 AND version NOT IN "
		    "(SELECT version FROM dv_hook_versions WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT $5::int) "
		    "AND version IS DISTINCT FROM (SELECT active_version FROM a)) SELECT COALESCE(active_version, 0) FROM a",
		    5, v, NULL);
		if (r)
			*active = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (!rc) {
		char target[100];
		snprintf(target, sizeof target, "hook:%s", p->name);
		rc = dv_store_hooks_close(st, t, *seq, a, p->action, target, p->detail);
	}
	return dv_store_hooks_end(st, rc);
}

int dv_store_hook_activate(struct dv_store *st, uint64_t tenant, const char *name, int version, bool purge,
    const struct dv_actor *a, long long *seq)
{
	char t[24], kb[24], vb[16];
	U64(t, tenant);
	const char *key = a->key_id ? U64(kb, a->key_id) : NULL;
	int rc = dv_store_hooks_open(st, t, seq);
	PGresult *r = NULL;
	if (!rc && purge) {
		const char *v[] = {t, name};
		r = dv_store_q(st, &rc, "DELETE FROM dv_hooks WHERE tenant_id = $1 AND name = $2", 2, v, NULL);
	} else if (!rc) {
		const char *v[] = {t, name, version > 0 ? INT(vb, version) : NULL, key, a->key_name};
		r = dv_store_q(st, &rc,
		    "UPDATE dv_hooks h SET active_version = $3::int, updated_at = now(), updated_by = $4, updated_by_name = $5 "
		    "WHERE h.tenant_id = $1 AND h.name = $2 AND ($3::int IS NULL OR EXISTS (SELECT 1 FROM dv_hook_versions v "
		    "WHERE v.tenant_id = $1 AND v.name = $2 AND v.version = $3::int))",
		    5, v, NULL);
	}
	if (r && atoi(PQcmdTuples(r)) != 1)
		rc = DV_ENOTFOUND;
	PQclear(r);
	if (!rc) {
		char target[100], detail[64];
		snprintf(target, sizeof target, "hook:%s", name);
		snprintf(detail, sizeof detail, "{\"version\":%d}", version);
		rc = dv_store_hooks_close(st, t, *seq, a,
		    purge ? "hook.purge" : version > 0 ? "hook.activate" : "hook.deactivate", target,
		    version > 0 ? detail : NULL);
	}
	return dv_store_hooks_end(st, rc);
}

int dv_store_audit_add(struct dv_store *st, uint64_t tenant, const struct dv_actor *a, const char *action,
    const char *target, const char *detail_json)
{
	char t[24], kb[24];
	const char *v[] = {U64(t, tenant), a && a->key_id ? U64(kb, a->key_id) : NULL,
	    a && a->key_id ? a->key_name : "admin", a ? a->address : NULL, action, target, detail_json ? detail_json : "{}"};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_audit (tenant_id, key_id, key_name, address, action, target, detail) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
	    7, v, NULL);
	PQclear(r);
	return rc;
}

int dv_store_audit_list(struct dv_store *st, uint64_t tenant, const char *since, int limit, uint64_t after,
    struct dv_buf *out)
{
	char t[24], lb[16], ab[24];
	const char *v[] = {U64(t, tenant), since, INT(lb, limit), U64(ab, after)};
	return dv_store_one(st, out,
	    "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', a.id, 'at', a.at, 'key', jsonb_build_object('id', a.key_id, "
	    "'name', a.key_name), 'address', a.address, 'action', a.action, 'target', a.target, 'detail', a.detail) "
	    "ORDER BY a.id), '[]')::text FROM (SELECT * FROM dv_audit WHERE tenant_id = $1 AND "
	    "($2::timestamptz IS NULL OR at >= $2::timestamptz) AND id > $4::bigint ORDER BY id LIMIT $3::int) a",
	    4, v);
}

int dv_store_last_event(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('kind', e.kind, 'person_id', e.person_id, 'distance', e.distance, "
	    "'location', e.location, 'camera', e.camera)::text FROM dv_events e WHERE e.tenant_id = $1 "
	    "ORDER BY e.id DESC LIMIT 1",
	    1, v);
}
