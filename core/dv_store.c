/* dv_store.c — the service's SQL (see dv_store.h). Every statement on tenant
 * data has "tenant_id = $1". */
#include "dv_store.h"
#include "dv_api.h"
#include "dv_db.h"
#include "dv_err.h"
#include "dv_keys.h"
#include "dv_log.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dv_store_init(struct dv_store *st, const char *conninfo)
{
	memset(st, 0, sizeof *st);
	st->conninfo = strdup(conninfo ? conninfo : "");
}

void dv_store_set_prepare(struct dv_store *st, bool on) { st->prepare = on; }

/* forget the prepared statements (the connection that had them is gone) */
static void dv_store_unprepare(struct dv_store *st)
{
	for (int i = 0; i < st->n_prep; i++)
		free(st->prep[i].sql);
	st->n_prep = 0;
}

void dv_store_fini(struct dv_store *st)
{
	if (st->c)
		PQfinish(st->c);
	dv_store_unprepare(st);
	free(st->conninfo);
	memset(st, 0, sizeof *st);
}

static unsigned dv_store_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The name of sql's prepared statement on this connection ("dv_pN"),
 * preparing it first when new; NULL: run it unprepared (preparing is off,
 * the cache is full, or the server refused: the statement will then say
 * why when it runs: preparing fails exactly where running would, inside a
 * transaction too). */
static const char *dv_store_prepared(struct dv_store *st, const char *sql, int n, char name[16])
{
	if (!st->prepare)
		return NULL;
	unsigned h = dv_store_hash(sql);
	for (int i = 0; i < st->n_prep; i++)
		if (st->prep[i].hash == h && !strcmp(st->prep[i].sql, sql)) {
			snprintf(name, 16, "dv_p%d", i);
			return name;
		}
	if (st->n_prep == DV_STORE_PREP_MAX)
		return NULL;
	snprintf(name, 16, "dv_p%d", st->n_prep);
	PGresult *r = PQprepare(st->c, name, sql, n, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	char *copy = ok ? strdup(sql) : NULL;
	if (!copy)
		return NULL;
	st->prep[st->n_prep++] = (struct dv_store_prep){copy, h};
	return name;
}

static int dv_store_connect(struct dv_store *st)
{
	if (st->c && PQstatus(st->c) == CONNECTION_OK)
		return 0;
	if (st->c) {
		PQfinish(st->c);
		st->c = NULL;
	}
	if (!st->conninfo || !st->conninfo[0]) {
		snprintf(st->err, sizeof st->err, "no database is configured");
		return DV_EDBUNAVAIL;
	}
	dv_store_unprepare(st); /* a new connection has none */
	st->c = dv_db_connect(st->conninfo, st->err, sizeof st->err);
	if (!st->c)
		return DV_EDBUNAVAIL;
	/* no statement may hold a worker for long */
	PGresult *r = PQexec(st->c, "SET statement_timeout = '10s'");
	PQclear(r);
	return 0;
}

void dv_store_defer(struct dv_store *st, const char *sql) { st->pending = sql; }

/* pre, then sql (its prepared statement prep, unless NULL), in one round
 * trip: the first failing result, else sql's. */
static PGresult *dv_store_pipeline(PGconn *c, const char *pre, const char *sql, const char *prep, int n,
    const char *const *vals, const int *lens, const int *fmts)
{
	if (!PQenterPipelineMode(c))
		return NULL;
	PGresult *out = NULL;
	if (PQsendQueryParams(c, pre, 0, NULL, NULL, NULL, NULL, 0) &&
	    (prep ? PQsendQueryPrepared(c, prep, n, vals, lens, fmts, 0) : PQsendQueryParams(c, sql, n, NULL, vals, lens, fmts, 0)) &&
	    PQpipelineSync(c)) {
		/* each statement's result then a NULL; finally the sync */
		for (int k = 0; k < 2; k++) {
			PGresult *r = PQgetResult(c);
			ExecStatusType s = PQresultStatus(r);
			if (!out && (k == 1 || (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)))
				out = r; /* pre's failure, or sql's result */
			else
				PQclear(r);
			while ((r = PQgetResult(c)) != NULL) /* up to the NULL ending this statement */
				PQclear(r);
		}
		PGresult *r;
		while ((r = PQgetResult(c)) != NULL) {
			ExecStatusType s = PQresultStatus(r);
			PQclear(r);
			if (s == PGRES_PIPELINE_SYNC)
				break;
		}
	}
	if (!PQexitPipelineMode(c)) { /* results left unread: report the connection's error */
		PQclear(out);
		return NULL;
	}
	return out;
}

PGresult *dv_store_q(struct dv_store *st, int *rc, const char *sql, int n, const char *const *vals, const int *bin)
{
	*rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		int cr = dv_store_connect(st);
		if (cr) {
			*rc = cr;
			return NULL;
		}
		int lens[16] = {0}, fmts[16] = {0};
		for (int i = 0; bin && i < n && i < 16; i++)
			if (bin[i] > 0) {
				lens[i] = bin[i];
				fmts[i] = 1;
			}
		const char *pre = st->pending;
		char name[16];
		const char *prep = dv_store_prepared(st, sql, n, name);
		PGresult *r = pre ? dv_store_pipeline(st->c, pre, sql, prep, n, vals, lens, fmts)
		                  : prep ? PQexecPrepared(st->c, prep, n, vals, lens, fmts, 0)
		                         : PQexecParams(st->c, sql, n, NULL, vals, lens, fmts, 0);
		ExecStatusType s = PQresultStatus(r);
		if (pre && PQstatus(st->c) == CONNECTION_OK) {
			/* sent: a BEGIN opened the transaction (even when sql failed in it) */
			st->pending = NULL;
			if (!strncmp(pre, "BEGIN", 5) && PQtransactionStatus(st->c) != PQTRANS_IDLE)
				st->in_tx = true;
		}
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
			return r;
		/* copied: the field lives in r, cleared below */
		char stbuf[8] = "";
		const char *sf = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		if (sf)
			snprintf(stbuf, sizeof stbuf, "%s", sf);
		const char *state = stbuf[0] ? stbuf : NULL;
		snprintf(st->err, sizeof st->err, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(st->c));
		size_t el = strlen(st->err);
		while (el && (st->err[el - 1] == '\n' || st->err[el - 1] == ' '))
			st->err[--el] = 0;
		PQclear(r);
		if (PQstatus(st->c) != CONNECTION_OK) {
			/* the server went away: one fresh connection, unless inside a
			 * transaction (its work is lost; the caller reports it) */
			PQfinish(st->c);
			st->c = NULL;
			bool was_in_tx = st->in_tx;
			st->in_tx = false;
			if (attempt == 0 && !was_in_tx && strncmp(sql, "BEGIN", 5))
				continue;
			*rc = DV_EDBUNAVAIL;
			return NULL;
		}
		if (prep && state && (!strcmp(state, "26000") || !strcmp(state, "0A000"))) {
			/* the prepared statement is not on this session (a pooler
			 * handing out server connections per transaction), or its plan
			 * no longer fits the schema: unprepared from now on */
			dv_warn("database: prepared statement %s failed state=%s: statements run unprepared on this connection "
			        "from now on (database_prepare: false behind a pooler that does not keep sessions)",
			    prep, state);
			dv_store_unprepare(st);
			st->prepare = false;
			if (attempt == 0 && !st->in_tx)
				continue;
		}
		if (state && !strcmp(state, "23505"))
			*rc = DV_ECONFLICT;
		else if (state && !strcmp(state, "23503"))
			*rc = DV_ENOTFOUND;
		else if (state && (!strncmp(state, "22", 2) || !strcmp(state, "23514")))
			*rc = DV_EINVALID;
		else if (state && (!strcmp(state, "42P01") || !strcmp(state, "42703") || !strncmp(state, "08", 2) ||
		                      !strncmp(state, "57", 2) || !strcmp(state, "25P02")))
			*rc = DV_EDBUNAVAIL; /* not migrated yet, shutting down, aborted transaction */
		else {
			dv_err("database statement failed state=%s reason=\"%s\"", state ? state : "?", st->err);
			*rc = DV_EINTERNAL;
		}
		return NULL;
	}
	*rc = DV_EDBUNAVAIL;
	return NULL;
}

static int dv_store_exec(struct dv_store *st, const char *sql, int n, const char *const *vals)
{
	int rc;
	PGresult *r = dv_store_q(st, &rc, sql, n, vals, NULL);
	PQclear(r);
	return rc;
}

/* BEGIN goes with the transaction's first statement (dv_store_defer); the
 * database is checked now so an outage is reported here as before. */
int dv_store_begin(struct dv_store *st)
{
	int rc = dv_store_connect(st);
	if (rc)
		return rc;
	st->pending = "BEGIN";
	return 0;
}

int dv_store_commit(struct dv_store *st)
{
	if (st->pending && !strcmp(st->pending, "BEGIN") && !st->in_tx) {
		st->pending = NULL; /* nothing was written */
		return 0;
	}
	st->pending = NULL;
	int rc = dv_store_exec(st, "COMMIT", 0, NULL);
	st->in_tx = false;
	return rc;
}

void dv_store_rollback(struct dv_store *st)
{
	st->pending = NULL;
	st->in_tx = false;
	if (st->c && PQstatus(st->c) == CONNECTION_OK) {
		PGresult *r = PQexec(st->c, "ROLLBACK");
		PQclear(r);
	}
}

/* One-row, one-column text result into out (raw); DV_ENOTFOUND when no row. */
int dv_store_one(struct dv_store *st, struct dv_buf *out, const char *sql, int n, const char *const *vals)
{
	int rc;
	PGresult *r = dv_store_q(st, &rc, sql, n, vals, NULL);
	if (!r)
		return rc;
	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		return DV_ENOTFOUND;
	}
	if (out)
		dv_buf_add(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return out && out->failed ? DV_ENOMEM : 0;
}

#define U64(buf, v) (snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)(v)), buf)

/* a key as the API shows it (never its secret) */
#define DV_KEY_JSON                                                                                                    \
	"jsonb_build_object('id', k.id, 'name', k.name, 'prefix', CASE WHEN k.publishable THEN 'dvp_' ELSE 'dvk_' END "  \
	"|| k.prefix, 'publishable', k.publishable, 'scopes', coalesce(to_jsonb(k.scopes), to_jsonb(ARRAY['*'])), "     \
	"'origins', coalesce(to_jsonb(k.origins), '[]'::jsonb), 'rate_per_minute', k.rate_per_minute, "                  \
	"'created_at', k.created_at, 'revoked_at', k.revoked_at)"

/* ---------------------------------------------------------------- tenants, keys */

int dv_store_auth(struct dv_store *st, const char *key, struct dv_keyinfo *ki)
{
	char prefix[DV_KEY_PREFIX_LEN + 1];
	uint8_t hash[32];
	memset(ki, 0, sizeof *ki);
	if (dv_key_parse(key, prefix, hash) != 0)
		return DV_EUNAUTHORIZED;
	const char *v[] = {prefix};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT k.tenant_id, k.hash, k.id, k.name, k.scopes IS NULL, array_to_string(k.scopes, ' '), "
	    "array_to_string(k.origins, E'\\n'), coalesce(k.rate_per_minute, 0), k.publishable "
	    "FROM dv_api_keys k WHERE k.prefix = $1 AND k.revoked_at IS NULL",
	    1, v, NULL);
	if (!r)
		return rc;
	int ok = 0;
	if (PQntuples(r) == 1) {
		size_t hl = 0;
		unsigned char *h = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &hl);
		ok = h && hl == 32 && dv_key_equal(h, hash, 32);
		PQfreemem(h);
		ki->publishable = PQgetvalue(r, 0, 8)[0] == 't';
		/* the text's kind must be the row's: a dvk_ text for a publishable row is not the key */
		ok = ok && ki->publishable == dv_key_is_publishable(key);
		ki->tenant = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		ki->id = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
		snprintf(ki->name, sizeof ki->name, "%s", PQgetvalue(r, 0, 3));
		if (PQgetvalue(r, 0, 4)[0] == 't') {
			ki->scopes = DV_SC_ALL;
		} else {
			char sc[512];
			snprintf(sc, sizeof sc, "%s", PQgetvalue(r, 0, 5));
			for (char *save = NULL, *t = strtok_r(sc, " ", &save); t; t = strtok_r(NULL, " ", &save))
				ki->scopes |= dv_scope_bit(t);
		}
		snprintf(ki->origins, sizeof ki->origins, "%s", PQgetvalue(r, 0, 6));
		ki->rate_per_minute = atoi(PQgetvalue(r, 0, 7));
	}
	PQclear(r);
	return ok ? 0 : DV_EUNAUTHORIZED;
}

/* Insert a new key for tenant (spec NULL: every scope); its text into key. */
static int dv_store_key_insert(struct dv_store *st, uint64_t tenant, const char *name,
    const struct dv_keyspec *spec, char key[DV_KEY_LEN + 1], uint64_t *id)
{
	if (dv_key_new(key) != 0)
		return DV_EINTERNAL;
	if (spec && spec->publishable)
		key[2] = 'p'; /* dvp_ */
	char prefix[DV_KEY_PREFIX_LEN + 1], t[24], rb[16];
	uint8_t hash[32];
	dv_key_parse(key, prefix, hash);
	if (spec && spec->rate_per_minute > 0)
		snprintf(rb, sizeof rb, "%d", spec->rate_per_minute);
	const char *v[] = {U64(t, tenant), prefix, (const char *)hash, name ? name : "", spec ? spec->scopes_pg : NULL,
	    spec ? spec->origins_pg : NULL, spec && spec->rate_per_minute > 0 ? rb : NULL,
	    spec && spec->publishable ? "t" : "f"};
	const int bin[] = {0, 0, 32, 0, 0, 0, 0, 0};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_api_keys (tenant_id, prefix, hash, name, scopes, origins, rate_per_minute, publishable) "
	    "VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7::int, $8::bool) RETURNING id",
	    8, v, bin);
	if (!r)
		return rc;
	*id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int dv_store_tenant_create(struct dv_store *st, const char *name, const char *settings_json, struct dv_buf *out)
{
	int rc = dv_store_begin(st);
	if (rc)
		return rc;
	const char *v[] = {name, settings_json ? settings_json : "{}"};
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_tenants (name, settings) VALUES ($1, $2::jsonb) RETURNING id", 2, v, NULL);
	if (!r) {
		dv_store_rollback(st);
		return rc;
	}
	uint64_t id = strtoull(PQgetvalue(r, 0, 0), NULL, 10), kid;
	PQclear(r);
	char key[DV_KEY_LEN + 1];
	rc = dv_store_key_insert(st, id, "first key", NULL, key, &kid);
	if (!rc)
		rc = dv_store_commit(st);
	if (rc) {
		dv_store_rollback(st);
		return rc;
	}
	struct dv_json j;
	dv_json_init(&j, out);
	dv_json_obj_open(&j);
	dv_json_key(&j, "id"); dv_json_uint(&j, id);
	dv_json_key(&j, "name"); dv_json_str(&j, name);
	dv_json_key(&j, "api_key"); dv_json_str(&j, key);
	dv_json_key(&j, "key_id"); dv_json_uint(&j, kid);
	dv_json_key(&j, "settings"); dv_json_raw(&j, settings_json ? settings_json : "{}");
	dv_json_obj_close(&j);
	return 0;
}

#define TENANT_JSON "jsonb_build_object('id', t.id, 'name', t.name, 'settings', t.settings, 'created_at', t.created_at, " \
	"'persons', (SELECT count(*) FROM dv_persons p WHERE p.tenant_id = t.id), " \
	"'faces', (SELECT count(*) FROM dv_faces f WHERE f.tenant_id = t.id))"

int dv_store_tenant_list(struct dv_store *st, struct dv_buf *out)
{
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('tenants', coalesce(jsonb_agg(" TENANT_JSON " ORDER BY t.id), '[]'))::text FROM dv_tenants t",
	    0, NULL);
}

int dv_store_tenant_get(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out, "SELECT " TENANT_JSON "::text FROM dv_tenants t WHERE t.id = $1", 1, v);
}

int dv_store_tenant_settings(struct dv_store *st, uint64_t tenant, const char *settings_json, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant), settings_json};
	/* the merged settings are checked before they are written: a patch
	 * that would grow them past 64 KiB changes nothing */
	int rc = dv_store_one(st, NULL,
	    "UPDATE dv_tenants SET settings = jsonb_strip_nulls(settings || $2::jsonb) WHERE id = $1 "
	    "AND octet_length(jsonb_strip_nulls(settings || $2::jsonb)::text) <= 65536 RETURNING id",
	    2, v);
	if (rc == DV_ENOTFOUND) {
		snprintf(st->err, sizeof st->err, "the tenant's settings are limited to 64 KiB of JSON, merged; nothing was changed");
		return DV_EINVALID;
	}
	return rc ? rc : dv_store_tenant_get(st, tenant, out);
}

int dv_store_tenant_flag(struct dv_store *st, uint64_t tenant, const char *key, bool *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant), key};
	struct dv_buf b;
	dv_buf_init(&b);
	int rc = dv_store_one(st, &b, "SELECT coalesce((settings ->> $2)::boolean, false)::text FROM dv_tenants WHERE id = $1", 2,
	    v);
	*out = !rc && b.data && !strcmp(b.data, "true");
	dv_buf_fini(&b);
	return rc;
}

int dv_store_key_create(struct dv_store *st, uint64_t tenant, const char *name, const struct dv_keyspec *spec,
    struct dv_buf *out)
{
	char key[DV_KEY_LEN + 1];
	uint64_t id;
	int rc = dv_store_key_insert(st, tenant, name, spec, key, &id);
	if (rc)
		return rc;
	/* the key as the list shows it, with its text (shown once) */
	struct dv_json j;
	dv_json_init(&j, out);
	dv_json_obj_open(&j);
	dv_json_key(&j, "id"); dv_json_uint(&j, id);
	dv_json_key(&j, "name"); dv_json_str(&j, name ? name : "");
	dv_json_key(&j, "api_key"); dv_json_str(&j, key);
	char prefix[4 + DV_KEY_PREFIX_LEN + 1];
	snprintf(prefix, sizeof prefix, "%.*s", 4 + DV_KEY_PREFIX_LEN, key);
	dv_json_key(&j, "prefix"); dv_json_str(&j, prefix);
	dv_json_key(&j, "publishable"); dv_json_bool(&j, spec && spec->publishable);
	/* the array literals ({"a","b"}) back as JSON arrays */
	const char *lits[2] = {spec ? spec->scopes_pg : NULL, spec ? spec->origins_pg : NULL};
	for (int f = 0; f < 2; f++) {
		dv_json_key(&j, f ? "origins" : "scopes");
		dv_json_arr_open(&j);
		if (!lits[f] && !f)
			dv_json_str(&j, "*");
		for (const char *p = lits[f]; p && *p;) {
			const char *q = strchr(p, '"');
			const char *e = q ? strchr(q + 1, '"') : NULL;
			if (!q || !e)
				break;
			dv_json_strn(&j, q + 1, (size_t)(e - q - 1));
			p = e + 1;
		}
		dv_json_arr_close(&j);
	}
	dv_json_key(&j, "rate_per_minute");
	if (spec && spec->rate_per_minute > 0)
		dv_json_int(&j, spec->rate_per_minute);
	else
		dv_json_null(&j);
	dv_json_obj_close(&j);
	return out->failed ? DV_ENOMEM : 0;
}

int dv_store_key_list(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('keys', coalesce(jsonb_agg(" DV_KEY_JSON " ORDER BY k.id), '[]'))::text "
	    "FROM dv_api_keys k WHERE k.tenant_id = $1",
	    1, v);
}

int dv_store_key_revoke(struct dv_store *st, uint64_t tenant, uint64_t key_id)
{
	char t[24], k[24];
	const char *v[] = {U64(t, tenant), U64(k, key_id)};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "UPDATE dv_api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2 RETURNING id", 2, v,
	    NULL);
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : DV_ENOTFOUND;
	PQclear(r);
	return rc;
}

/* ---------------------------------------------------------------- persons */

#define PERSON_JSON "jsonb_build_object('id', p.id, 'name', p.name, 'external_id', p.external_id, " \
	"'attributes', p.attributes, 'created_at', p.created_at, 'updated_at', p.updated_at, " \
	"'face_count', (SELECT count(*) FROM dv_faces f WHERE f.tenant_id = p.tenant_id AND f.person_id = p.id))"

int dv_store_person_get(struct dv_store *st, uint64_t tenant, uint64_t person, struct dv_buf *out)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person)};
	return dv_store_one(st, out, "SELECT " PERSON_JSON "::text FROM dv_persons p WHERE p.tenant_id = $1 AND p.id = $2", 2,
	    v);
}

int dv_store_person_create(struct dv_store *st, uint64_t tenant, const char *name, const char *external_id,
    const char *attributes_json, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant), name, external_id, attributes_json ? attributes_json : "{}"};
	return dv_store_one(st, out,
	    "INSERT INTO dv_persons AS p (tenant_id, name, external_id, attributes) VALUES ($1, $2, $3, $4::jsonb) "
	    "RETURNING " PERSON_JSON "::text",
	    4, v);
}

int dv_store_person_update(struct dv_store *st, uint64_t tenant, uint64_t person, const char *name,
    const char *external_id, bool clear_external_id, const char *attributes_json, bool replace, struct dv_buf *out)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person), name, external_id, clear_external_id ? "1" : "0",
	    attributes_json, replace ? "1" : "0"};
	return dv_store_one(st, out,
	    "UPDATE dv_persons AS p SET name = coalesce($3, p.name), "
	    "external_id = CASE WHEN $5 = '1' THEN NULL ELSE coalesce($4, p.external_id) END, "
	    "attributes = CASE WHEN $6::jsonb IS NULL THEN p.attributes WHEN $7 = '1' THEN jsonb_strip_nulls($6::jsonb) "
	    "ELSE jsonb_strip_nulls(p.attributes || $6::jsonb) END, updated_at = now() "
	    "WHERE p.tenant_id = $1 AND p.id = $2 RETURNING " PERSON_JSON "::text",
	    7, v);
}

int dv_store_person_delete(struct dv_store *st, uint64_t tenant, uint64_t person, uint64_t **face_ids, int *n_faces)
{
	*face_ids = NULL;
	*n_faces = 0;
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person)};
	int rc = dv_store_begin(st);
	if (rc)
		return rc;
	/* the row lock first, so that a concurrent enrolment waits for us */
	PGresult *r = dv_store_q(st, &rc, "SELECT id FROM dv_persons WHERE tenant_id = $1 AND id = $2 FOR UPDATE", 2, v, NULL);
	if (r && PQntuples(r) == 0)
		rc = DV_ENOTFOUND;
	PQclear(r);
	if (!rc) {
		r = dv_store_q(st, &rc, "DELETE FROM dv_faces WHERE tenant_id = $1 AND person_id = $2 RETURNING id", 2, v, NULL);
		if (r) {
			int n = PQntuples(r);
			*face_ids = malloc(sizeof **face_ids * (size_t)(n ? n : 1));
			for (int i = 0; *face_ids && i < n; i++)
				(*face_ids)[i] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
			*n_faces = *face_ids ? n : 0;
			PQclear(r);
		}
	}
	/* the faces kept with recognitions settled as the person (theirs, though the model named nobody) */
	if (!rc)
		rc = dv_store_exec(st, "DELETE FROM dv_event_faces x USING dv_events e WHERE e.id = x.event_id AND "
		    "e.tenant_id = $1 AND e.outcome_person_id = $2", 2, v);
	if (!rc)
		rc = dv_store_exec(st, "DELETE FROM dv_events WHERE tenant_id = $1 AND person_id = $2", 2, v);
	if (!rc)
		rc = dv_store_exec(st, "DELETE FROM dv_hook_state WHERE tenant_id = $1 AND person_id = $2", 2, v);
	if (!rc)
		rc = dv_store_exec(st, "DELETE FROM dv_persons WHERE tenant_id = $1 AND id = $2", 2, v);
	if (!rc)
		rc = dv_store_commit(st);
	if (rc) {
		dv_store_rollback(st);
		free(*face_ids);
		*face_ids = NULL;
		*n_faces = 0;
	}
	return rc;
}

int dv_store_person_list(struct dv_store *st, uint64_t tenant, const char *query, int limit, uint64_t after,
    struct dv_buf *out)
{
	char t[24], a[24], l[16];
	snprintf(l, sizeof l, "%d", limit);
	const char *v[] = {U64(t, tenant), query && *query ? query : NULL, l, U64(a, after)};
	return dv_store_one(st, out,
	    "WITH page AS (SELECT p.* FROM dv_persons p WHERE p.tenant_id = $1 AND p.id > $4 AND "
	    "($2::text IS NULL OR p.external_id = $2 OR strpos(lower(p.name), lower($2)) > 0) ORDER BY p.id LIMIT $3) "
	    "SELECT jsonb_build_object('persons', coalesce(jsonb_agg(" PERSON_JSON " ORDER BY p.id), '[]'), "
	    "'next_after', CASE WHEN count(*) = $3 THEN max(p.id) END)::text FROM page p",
	    4, v);
}

/* ---------------------------------------------------------------- faces */

int dv_store_face_add(struct dv_store *st, uint64_t tenant, const struct dv_face_row *f, const char *location,
    const char *camera, const char *request_id, uint64_t *face_id, int (*in_tx)(void *arg, uint64_t face_id),
    void *arg)
{
	char t[24], p[24], d[16], q[32];
	snprintf(d, sizeof d, "%d", f->dim);
	snprintf(q, sizeof q, "%.4f", f->quality);
	/* the vector as little-endian float32 bytes (x86 and arm64 are little-endian) */
	const char *v[] = {U64(t, tenant), U64(p, f->person), (const char *)f->vec, d, f->model, f->fingerprint,
	    f->box_json, f->landmarks_json, f->found_by, q, (const char *)f->chip};
	int bin[] = {0, 0, (int)(sizeof(float) * (size_t)f->dim), 0, 0, 0, 0, 0, 0, 0, f->chip ? (int)f->chip_len : 0};
	int rc = dv_store_begin(st);
	if (rc)
		return rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_faces (tenant_id, person_id, embedding, dim, model, fingerprint, box, landmarks, found_by, quality, chip) "
	    "SELECT $1, p.id, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11 FROM dv_persons p "
	    "WHERE p.tenant_id = $1 AND p.id = $2 FOR SHARE OF p RETURNING id",
	    11, v, bin);
	if (r && PQntuples(r) != 1)
		rc = DV_ENOTFOUND; /* no such person in this tenant */
	if (r && !rc)
		*face_id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (!rc) {
		struct dv_event_row ev = {.kind = "enrolled", .person = f->person, .face = *face_id, .distance = -1,
		    .similarity = -1, .box_json = f->box_json};
		rc = dv_store_events_add(st, tenant, &ev, 1, location, camera, request_id, NULL, NULL);
	}
	if (!rc && in_tx)
		rc = in_tx(arg, *face_id); /* the hooks, in this transaction */
	if (!rc)
		rc = dv_store_commit(st);
	if (rc)
		dv_store_rollback(st);
	return rc;
}

int dv_store_face_delete(struct dv_store *st, uint64_t tenant, uint64_t face)
{
	char t[24], f[24];
	const char *v[] = {U64(t, tenant), U64(f, face)};
	int rc;
	PGresult *r = dv_store_q(st, &rc, "DELETE FROM dv_faces WHERE tenant_id = $1 AND id = $2 RETURNING id", 2, v, NULL);
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : DV_ENOTFOUND;
	PQclear(r);
	return rc;
}

int dv_store_face_list(struct dv_store *st, uint64_t tenant, uint64_t person, struct dv_buf *out)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person)};
	int rc = dv_store_one(st, NULL, "SELECT 1 FROM dv_persons WHERE tenant_id = $1 AND id = $2", 2, v);
	if (rc)
		return rc;
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('faces', coalesce(jsonb_agg(jsonb_build_object('face_id', f.id, 'person_id', f.person_id, "
	    "'box', f.box, 'quality', f.quality, 'found_by', f.found_by, 'model', f.model, 'fingerprint', f.fingerprint, "
	    "'has_chip', f.chip IS NOT NULL, 'created_at', f.created_at) ORDER BY f.id), '[]'))::text "
	    "FROM dv_faces f WHERE f.tenant_id = $1 AND f.person_id = $2",
	    2, v);
}

int dv_store_face_chip(struct dv_store *st, uint64_t tenant, uint64_t face, struct dv_buf *out)
{
	char t[24], f[24];
	const char *v[] = {U64(t, tenant), U64(f, face)};
	int rc;
	PGresult *r = dv_store_q(st, &rc, "SELECT chip FROM dv_faces WHERE tenant_id = $1 AND id = $2", 2, v, NULL);
	if (!r)
		return rc;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		return DV_ENOTFOUND;
	}
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
	PQclear(r);
	if (!b)
		return DV_ENOMEM;
	dv_buf_add(out, b, n);
	PQfreemem(b);
	return out->failed ? DV_ENOMEM : 0;
}

int dv_store_person_vectors(struct dv_store *st, uint64_t tenant, uint64_t person, const char *model,
    const char *fingerprint, float **vecs, int *n, int dim)
{
	*vecs = NULL;
	*n = 0;
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person), model, fingerprint};
	int rc = dv_store_one(st, NULL, "SELECT 1 FROM dv_persons WHERE tenant_id = $1 AND id = $2", 2, v);
	if (rc)
		return rc;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT embedding FROM dv_faces WHERE tenant_id = $1 AND person_id = $2 AND model = $3 AND fingerprint = $4",
	    4, v, NULL);
	if (!r)
		return rc;
	int m = PQntuples(r);
	*vecs = malloc(sizeof **vecs * (size_t)dim * (size_t)(m ? m : 1));
	for (int i = 0; *vecs && i < m; i++) {
		size_t len = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 0), &len);
		if (b && len == sizeof **vecs * (size_t)dim)
			memcpy(*vecs + (size_t)(*n)++ * dim, b, len);
		PQfreemem(b);
	}
	PQclear(r);
	return *vecs ? 0 : DV_ENOMEM;
}

int dv_store_persons_of_faces(struct dv_store *st, uint64_t tenant, const uint64_t *faces, int n, char **json,
    uint64_t *person_ids)
{
	for (int i = 0; i < n; i++) {
		json[i] = NULL;
		person_ids[i] = 0;
	}
	if (n == 0)
		return 0;
	struct dv_buf arr;
	dv_buf_init(&arr);
	dv_buf_puts(&arr, "{");
	for (int i = 0; i < n; i++)
		dv_buf_printf(&arr, "%s%" PRIu64, i ? "," : "", faces[i]);
	dv_buf_puts(&arr, "}");
	char t[24];
	const char *v[] = {U64(t, tenant), arr.data};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT f.id, p.id, jsonb_build_object('id', p.id, 'name', p.name, 'external_id', p.external_id, "
	    "'attributes', p.attributes)::text FROM dv_faces f JOIN dv_persons p ON p.id = f.person_id AND p.tenant_id = $1 "
	    "WHERE f.tenant_id = $1 AND f.id = ANY($2::bigint[])",
	    2, v, NULL);
	dv_buf_fini(&arr);
	if (!r)
		return rc;
	for (int k = 0; k < PQntuples(r); k++) {
		uint64_t fid = strtoull(PQgetvalue(r, k, 0), NULL, 10);
		for (int i = 0; i < n; i++)
			if (faces[i] == fid && !json[i]) {
				json[i] = strdup(PQgetvalue(r, k, 2));
				person_ids[i] = strtoull(PQgetvalue(r, k, 1), NULL, 10);
			}
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- events */

/* The kept faces as one JSON array, in face order: {"v": vector hex, "l":
 * landmarks, "b": found by, "q": quality, "c": chip hex}, null for a face
 * not kept. */
static void dv_event_faces_json(struct dv_buf *b, const struct dv_event_faces *k, int n)
{
	dv_buf_puts(b, "[");
	for (int i = 0; i < n; i++) {
		if (k->keep && !k->keep[i]) {
			dv_buf_puts(b, i ? ",null" : "null");
			continue;
		}
		dv_buf_puts(b, i ? ",{\"v\":\"" : "{\"v\":\"");
		dv_buf_hex(b, k->vecs + (size_t)i * k->dim, sizeof(float) * (size_t)k->dim);
		dv_buf_printf(b, "\",\"l\":%s,\"b\":\"%s\",\"q\":%.4f,\"c\":",
		    k->landmarks_json && k->landmarks_json[i] && k->landmarks_json[i][0] ? k->landmarks_json[i] : "null",
		    k->found_by && k->found_by[i] ? k->found_by[i] : "",
		    k->quality && isfinite(k->quality[i]) ? k->quality[i] : 0.0);
		if (k->chips && k->chips[i] && k->chip_lens[i]) {
			dv_buf_puts(b, "\"");
			dv_buf_hex(b, k->chips[i], k->chip_lens[i]);
			dv_buf_puts(b, "\"}");
		} else {
			dv_buf_puts(b, "null}");
		}
	}
	dv_buf_puts(b, "]");
}

int dv_store_events_add(struct dv_store *st, uint64_t tenant, const struct dv_event_row *ev, int n,
    const char *location, const char *camera, const char *request_id, uint64_t *ids,
    const struct dv_event_faces *keep)
{
	for (int i = 0; ids && i < n; i++)
		ids[i] = 0;
	if (n == 0)
		return 0;
	/* one statement for all the faces of a photo: arrays, unnested */
	struct dv_buf kinds, persons, facesb, dists, sims, boxes;
	struct dv_buf *all[] = {&kinds, &persons, &facesb, &dists, &sims, &boxes};
	for (int i = 0; i < 6; i++) {
		dv_buf_init(all[i]);
		dv_buf_puts(all[i], "[");
	}
	for (int i = 0; i < n; i++) {
		const char *c = i ? "," : "";
		dv_buf_printf(&kinds, "%s\"%s\"", c, ev[i].kind);
		if (ev[i].person)
			dv_buf_printf(&persons, "%s%" PRIu64, c, ev[i].person);
		else
			dv_buf_printf(&persons, "%snull", c);
		if (ev[i].face)
			dv_buf_printf(&facesb, "%s%" PRIu64, c, ev[i].face);
		else
			dv_buf_printf(&facesb, "%snull", c);
		if (ev[i].distance >= 0 && isfinite(ev[i].distance))
			dv_buf_printf(&dists, "%s%.6g", c, ev[i].distance);
		else
			dv_buf_printf(&dists, "%snull", c);
		if (ev[i].similarity >= 0 && isfinite(ev[i].similarity))
			dv_buf_printf(&sims, "%s%.6g", c, ev[i].similarity);
		else
			dv_buf_printf(&sims, "%snull", c);
		dv_buf_printf(&boxes, "%s%s", c, ev[i].box_json ? ev[i].box_json : "null");
	}
	for (int i = 0; i < 6; i++)
		dv_buf_puts(all[i], "]");
	char t[24], kd[16] = "", kt[32] = "";
	struct dv_buf kj;
	dv_buf_init(&kj);
	if (keep && keep->ttl > 0 && keep->vecs && keep->dim > 0) {
		dv_event_faces_json(&kj, keep, n);
		snprintf(kd, sizeof kd, "%d", keep->dim);
		snprintf(kt, sizeof kt, "%lld", keep->ttl);
	}
	const char *v[] = {U64(t, tenant), kinds.data, persons.data, facesb.data, dists.data, sims.data, boxes.data, location,
	    camera, request_id, kj.data, kd, keep ? keep->model : NULL, keep ? keep->fingerprint : NULL, kt};
	/* with faces to keep, they go in with their events: one statement (both
	 * texts are put together by the compiler) */
#define DV_EVENTS_INSERT \
	    "INSERT INTO dv_events (tenant_id, kind, person_id, face_id, distance, similarity, box, location, camera, request_id, " \
	    "face_index) " \
	    "SELECT $1, k.value #>> '{}', (p.value #>> '{}')::bigint, (f.value #>> '{}')::bigint, (d.value #>> '{}')::real, " \
	    "(s.value #>> '{}')::real, NULLIF(b.value, 'null'::jsonb), $8, $9, $10, (k.i - 1)::int " \
	    "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY k(value, i) " \
	    "JOIN jsonb_array_elements($3::jsonb) WITH ORDINALITY p(value, i) USING (i) " \
	    "JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY f(value, i) USING (i) " \
	    "JOIN jsonb_array_elements($5::jsonb) WITH ORDINALITY d(value, i) USING (i) " \
	    "JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY s(value, i) USING (i) " \
	    "JOIN jsonb_array_elements($7::jsonb) WITH ORDINALITY b(value, i) USING (i) " \
	    "WHERE p.value = 'null'::jsonb OR EXISTS (SELECT 1 FROM dv_persons x WHERE x.tenant_id = $1 " \
	    "AND x.id = (p.value #>> '{}')::bigint) RETURNING id, face_index"
	static const char ins[] = DV_EVENTS_INSERT;
	static const char with_keep[] = "WITH e AS (" DV_EVENTS_INSERT
	    "), x AS (INSERT INTO dv_event_faces (event_id, tenant_id, embedding, dim, model, fingerprint, landmarks, found_by, "
	    "quality, chip, expires_at) "
	    "SELECT e.id, $1, decode(y.value->>'v', 'hex'), $12::int, $13, $14, NULLIF(y.value->'l', 'null'::jsonb), "
	    "NULLIF(y.value->>'b', ''), (y.value->>'q')::real, decode(y.value->>'c', 'hex'), "
	    "now() + make_interval(secs => $15::double precision) "
	    "FROM e JOIN jsonb_array_elements($11::jsonb) WITH ORDINALITY y(value, i) ON y.i = e.face_index + 1 "
	    "WHERE y.value <> 'null'::jsonb) "
	    "SELECT id, face_index FROM e";
#undef DV_EVENTS_INSERT
	/* A person erased while this request ran (after its persons were looked
	 * up) is erased: their event is not written, and the recognition is
	 * answered as it was made. A delete still in flight can slip past the
	 * EXISTS and fail the foreign key; the statement runs once more. As the
	 * first statement of a transaction (the record stage's, when hooks
	 * follow) the failed transaction held nothing else: it is begun again.
	 * Deeper in one, a savepoint (sent with the statement) keeps the rest. */
	bool first = st->pending && !strcmp(st->pending, "BEGIN") && !st->in_tx, deeper = st->in_tx;
	int rc = 0;
	for (int attempt = 0; attempt < 2 && !rc; attempt++) {
		if (deeper && !st->pending)
			dv_store_defer(st, "SAVEPOINT dv_events");
		else if (deeper)
			rc = dv_store_exec(st, "SAVEPOINT dv_events", 0, NULL);
		if (rc)
			break;
		PGresult *res = dv_store_q(st, &rc, kj.data ? with_keep : ins, kj.data ? 15 : 10, v, NULL);
		for (int r = 0; res && ids && r < PQntuples(res); r++) {
			int at = atoi(PQgetvalue(res, r, 1));
			if (at >= 0 && at < n)
				ids[at] = strtoull(PQgetvalue(res, r, 0), NULL, 10);
		}
		PQclear(res);
		if (rc != DV_ENOTFOUND || attempt == 1)
			break;
		if (deeper) {
			rc = dv_store_exec(st, "ROLLBACK TO SAVEPOINT dv_events", 0, NULL);
		} else if (first) {
			dv_store_rollback(st);
			rc = dv_store_begin(st);
		} else {
			rc = 0;
		}
	}
	for (int i = 0; i < 6; i++)
		dv_buf_fini(all[i]);
	dv_buf_fini(&kj);
	return rc;
}

void dv_event_face_fini(struct dv_event_face *f)
{
	free(f->vec);
	free(f->model);
	free(f->fingerprint);
	free(f->box_json);
	free(f->landmarks_json);
	free(f->found_by);
	free(f->kind);
	free(f->chip);
	free(f->outcome);
	memset(f, 0, sizeof *f);
}

static char *dv_pq_dup(PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? NULL : strdup(PQgetvalue(r, 0, col));
}

int dv_store_event_face_get(struct dv_store *st, uint64_t tenant, uint64_t event, struct dv_event_face *out)
{
	char t[24], e[24];
	const char *v[] = {U64(t, tenant), U64(e, event)};
	int rc;
	memset(out, 0, sizeof *out);
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT e.kind, e.person_id, e.distance, e.box::text, e.outcome, e.outcome_person_id, x.event_id IS NOT NULL, "
	    "encode(x.embedding, 'hex'), x.dim, x.model, x.fingerprint, x.landmarks::text, x.found_by, x.quality, "
	    "encode(x.chip, 'hex') "
	    "FROM dv_events e LEFT JOIN dv_event_faces x ON x.event_id = e.id AND x.expires_at > now() "
	    "WHERE e.tenant_id = $1 AND e.id = $2",
	    2, v, NULL);
	if (!rc && PQntuples(r) != 1)
		rc = DV_ENOTFOUND;
	if (!rc && strcmp(PQgetvalue(r, 0, 6), "t"))
		rc = DV_EGONE;
	if (!rc) {
		out->kind = dv_pq_dup(r, 0);
		out->person = PQgetisnull(r, 0, 1) ? 0 : strtoull(PQgetvalue(r, 0, 1), NULL, 10);
		out->distance = PQgetisnull(r, 0, 2) ? -1 : strtod(PQgetvalue(r, 0, 2), NULL);
		out->box_json = dv_pq_dup(r, 3);
		out->outcome = dv_pq_dup(r, 4);
		out->outcome_person = PQgetisnull(r, 0, 5) ? 0 : strtoull(PQgetvalue(r, 0, 5), NULL, 10);
		const char *hex = PQgetvalue(r, 0, 7);
		out->dim = atoi(PQgetvalue(r, 0, 8));
		size_t hl = strlen(hex);
		if (out->dim <= 0 || hl != (size_t)out->dim * sizeof(float) * 2 ||
		    !(out->vec = malloc(sizeof(float) * (size_t)out->dim)) || dv_hex_decode(hex, (uint8_t *)out->vec) != 0) {
			rc = DV_EINTERNAL;
			snprintf(st->err, sizeof st->err, "the kept face of event %" PRIu64 " is malformed", event);
		}
		out->model = dv_pq_dup(r, 9);
		out->fingerprint = dv_pq_dup(r, 10);
		out->landmarks_json = dv_pq_dup(r, 11);
		out->found_by = dv_pq_dup(r, 12);
		out->quality = PQgetisnull(r, 0, 13) ? 0 : strtod(PQgetvalue(r, 0, 13), NULL);
		const char *ch = PQgetisnull(r, 0, 14) ? "" : PQgetvalue(r, 0, 14);
		size_t cl = strlen(ch) / 2;
		if (!rc && cl && (out->chip = malloc(cl)) != NULL && dv_hex_decode(ch, out->chip) == 0)
			out->chip_len = cl;
	}
	PQclear(r);
	if (rc)
		dv_event_face_fini(out);
	return rc;
}

int dv_store_event_face_take(struct dv_store *st, uint64_t tenant, uint64_t event, uint64_t person)
{
	char t[24], e[24], p[24];
	const char *v[] = {U64(t, tenant), U64(e, event), U64(p, person)};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "WITH x AS (DELETE FROM dv_event_faces WHERE tenant_id = $1 AND event_id = $2 RETURNING event_id), "
	    "o AS (UPDATE dv_events SET outcome = 'confirmed', outcome_person_id = $3::bigint, outcome_at = now() "
	    "WHERE tenant_id = $1 AND id IN (SELECT event_id FROM x) AND outcome IS NULL) "
	    "SELECT count(*) FROM x",
	    3, v, NULL);
	if (!rc && (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "1")))
		rc = DV_EGONE;
	PQclear(r);
	return rc;
}

int dv_store_event_outcome(struct dv_store *st, uint64_t tenant, uint64_t event, uint64_t person, uint64_t key_id,
    struct dv_buf *out)
{
	char t[24], e[24], p[24], k[24];
	const char *v[] = {U64(t, tenant), U64(e, event), person ? U64(p, person) : NULL, key_id ? U64(k, key_id) : NULL};
	/* the person, when given, must be the tenant's: else nothing is updated */
	return dv_store_one(st, out,
	    "UPDATE dv_events e SET outcome = CASE WHEN $3::bigint IS NULL THEN 'rejected' ELSE 'confirmed' END, "
	    "outcome_person_id = $3::bigint, outcome_at = now(), outcome_key = $4::bigint "
	    "WHERE e.tenant_id = $1 AND e.id = $2 AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM dv_persons x "
	    "WHERE x.tenant_id = $1 AND x.id = $3::bigint)) "
	    "RETURNING jsonb_build_object('id', e.id, 'kind', e.kind, 'person_id', e.person_id, 'distance', e.distance, "
	    "'face_index', e.face_index, 'outcome', e.outcome, 'outcome_person_id', e.outcome_person_id, "
	    "'outcome_at', e.outcome_at)::text",
	    4, v);
}

int dv_store_event_list(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, const char *since,
    int limit, uint64_t after, struct dv_buf *out)
{
	char t[24], p[24], a[24], l[16];
	snprintf(l, sizeof l, "%d", limit);
	const char *v[] = {U64(t, tenant), person ? U64(p, person) : NULL, kind, since, l, U64(a, after)};
	return dv_store_one(st, out,
	    "WITH page AS (SELECT e.* FROM dv_events e WHERE e.tenant_id = $1 AND ($2::bigint IS NULL OR e.person_id = $2) "
	    "AND ($3::text IS NULL OR e.kind = $3) AND ($4::timestamptz IS NULL OR e.created_at >= $4::timestamptz) "
	    "AND ($6::bigint = 0 OR e.id < $6) ORDER BY e.id DESC LIMIT $5) "
	    "SELECT jsonb_build_object('events', coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, "
	    "'person', CASE WHEN p.id IS NULL THEN NULL ELSE jsonb_build_object('id', p.id, 'name', p.name, 'external_id', p.external_id) END, "
	    "'face_id', e.face_id, 'distance', e.distance, 'similarity', e.similarity, 'box', e.box, 'location', e.location, "
	    "'camera', e.camera, 'request_id', e.request_id, 'time', e.created_at, 'face_index', e.face_index, "
	    "'outcome', e.outcome, 'outcome_person_id', e.outcome_person_id, 'outcome_at', e.outcome_at) "
	    "ORDER BY e.id DESC), '[]'), "
	    "'next_after', CASE WHEN count(*) = $5 THEN min(e.id) END)::text "
	    "FROM page e LEFT JOIN dv_persons p ON p.id = e.person_id AND p.tenant_id = $1",
	    6, v);
}

/* ---------------------------------------------------------------- jobs */

int dv_store_job_create(struct dv_store *st, uint64_t tenant, const char *op, const char *node,
    const char *request_json, const char *webhook, uint64_t *job)
{
	char t[24];
	const char *v[] = {U64(t, tenant), op, node, request_json ? request_json : "{}", webhook};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_jobs (tenant_id, op, status, node, request, webhook) VALUES ($1, $2, 'queued', $3, $4::jsonb, $5) "
	    "RETURNING id",
	    5, v, NULL);
	if (!r)
		return rc;
	*job = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int dv_store_job_start(struct dv_store *st, uint64_t job)
{
	char j[24];
	const char *v[] = {U64(j, job)};
	return dv_store_exec(st, "UPDATE dv_jobs SET status = 'running', started_at = now() WHERE id = $1", 1, v);
}

int dv_store_job_finish(struct dv_store *st, uint64_t job, int status_code, const char *result_json,
    const char *error_json)
{
	char j[24], s[16];
	snprintf(s, sizeof s, "%d", status_code);
	const char *v[] = {U64(j, job), result_json, error_json, s};
	return dv_store_exec(st,
	    "UPDATE dv_jobs SET status = CASE WHEN $3::jsonb IS NULL THEN 'done' ELSE 'failed' END, result = $2::jsonb, "
	    "error = $3::jsonb, finished_at = now(), request = request || jsonb_build_object('http_status', $4::int) WHERE id = $1",
	    4, v);
}

int dv_store_job_webhook(struct dv_store *st, uint64_t job, int http_status)
{
	char j[24], s[16];
	snprintf(s, sizeof s, "%d", http_status);
	const char *v[] = {U64(j, job), s};
	return dv_store_exec(st, "UPDATE dv_jobs SET webhook_status = $2 WHERE id = $1", 2, v);
}

int dv_store_job_get(struct dv_store *st, uint64_t tenant, uint64_t job, struct dv_buf *out)
{
	char t[24], j[24];
	const char *v[] = {U64(t, tenant), U64(j, job)};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('id', id, 'op', op, 'status', status, 'result', result, 'error', error, "
	    "'webhook', webhook, 'webhook_status', webhook_status, 'created_at', created_at, 'started_at', started_at, "
	    "'finished_at', finished_at)::text FROM dv_jobs WHERE tenant_id = $1 AND id = $2",
	    2, v);
}

/* ---------------------------------------------------------------- hook state */

int dv_store_exec_sql(struct dv_store *st, const char *sql) { return dv_store_exec(st, sql, 0, NULL); }

int dv_store_state_get(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    struct dv_buf *out)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person), ns, key};
	return dv_store_one(st, out,
	    "SELECT value::text FROM dv_hook_state WHERE tenant_id = $1 AND person_id = $2 AND namespace = $3 AND key = $4", 4, v);
}

int dv_store_state_set(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    const char *json)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), U64(p, person), ns, key, json};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_hook_state (tenant_id, person_id, namespace, key, value) "
	    "SELECT $1, p.id, $3, $4, $5::jsonb FROM dv_persons p WHERE p.tenant_id = $1 AND p.id = $2 "
	    "ON CONFLICT (tenant_id, person_id, namespace, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() "
	    "RETURNING 1",
	    5, v, NULL);
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : DV_ENOTFOUND;
	PQclear(r);
	return rc;
}

int dv_store_state_incr(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    double delta, double *out)
{
	char t[24], p[24], d[40];
	snprintf(d, sizeof d, "%.17g", delta);
	const char *v[] = {U64(t, tenant), U64(p, person), ns, key, d};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "INSERT INTO dv_hook_state AS s (tenant_id, person_id, namespace, key, value) "
	    "SELECT $1, p.id, $3, $4, to_jsonb($5::numeric) FROM dv_persons p WHERE p.tenant_id = $1 AND p.id = $2 "
	    "ON CONFLICT (tenant_id, person_id, namespace, key) DO UPDATE SET "
	    "value = to_jsonb(CASE WHEN jsonb_typeof(s.value) = 'number' THEN (s.value #>> '{}')::numeric ELSE 0 END + $5::numeric), "
	    "updated_at = now() RETURNING value #>> '{}'",
	    5, v, NULL);
	if (!r)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : DV_ENOTFOUND;
	if (!rc)
		*out = strtod(PQgetvalue(r, 0, 0), NULL);
	PQclear(r);
	return rc;
}

int dv_store_event_count(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, double since_s,
    long long *count)
{
	char t[24], p[24], s[40];
	snprintf(s, sizeof s, "%.6f", since_s);
	const char *v[] = {U64(t, tenant), U64(p, person), kind, s};
	struct dv_buf b;
	dv_buf_init(&b);
	int rc = dv_store_one(st, &b,
	    "SELECT count(*) FROM dv_events WHERE tenant_id = $1 AND person_id = $2 AND ($3::text IS NULL OR kind = $3) "
	    "AND ($4::float8 <= 0 OR created_at >= now() - make_interval(secs => $4::float8))",
	    4, v);
	*count = rc ? 0 : strtoll(b.data, NULL, 10);
	dv_buf_fini(&b);
	return rc;
}

int dv_store_state_report(struct dv_store *st, uint64_t tenant, const char *ns, const char *key, uint64_t person,
    struct dv_buf *out)
{
	char t[24], p[24];
	const char *v[] = {U64(t, tenant), ns, key, person ? U64(p, person) : NULL};
	return dv_store_one(st, out,
	    "SELECT jsonb_build_object('namespace', $2::text, 'values', coalesce(jsonb_agg(jsonb_build_object("
	    "'person', jsonb_build_object('id', p.id, 'name', p.name, 'external_id', p.external_id), 'key', s.key, "
	    "'value', s.value, 'updated_at', s.updated_at) ORDER BY s.key, p.name), '[]'))::text "
	    "FROM dv_hook_state s JOIN dv_persons p ON p.id = s.person_id AND p.tenant_id = $1 "
	    "WHERE s.tenant_id = $1 AND s.namespace = $2 AND ($3::text IS NULL OR s.key = $3) AND ($4::bigint IS NULL OR s.person_id = $4)",
	    4, v);
}

int dv_store_tenant_name(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out, "SELECT name FROM dv_tenants WHERE id = $1", 1, v);
}

int dv_store_tenant_brief(struct dv_store *st, uint64_t tenant, struct dv_buf *out)
{
	char t[24];
	const char *v[] = {U64(t, tenant)};
	return dv_store_one(st, out, "SELECT jsonb_build_object('name', name, 'settings', settings)::text FROM dv_tenants WHERE id = $1",
	    1, v);
}

int dv_store_person_events(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, double since_s,
    int limit, struct dv_buf *out)
{
	char t[24], p[24], s[40], l[16];
	snprintf(s, sizeof s, "%.6f", since_s);
	snprintf(l, sizeof l, "%d", limit);
	const char *v[] = {U64(t, tenant), U64(p, person), kind, s, l};
	return dv_store_one(st, out,
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('time', extract(epoch FROM e.created_at), 'kind', e.kind, "
	    "'location', e.location, 'camera', e.camera, 'distance', e.distance) ORDER BY e.id DESC), '[]')::text FROM ("
	    "SELECT * FROM dv_events WHERE tenant_id = $1 AND person_id = $2 AND ($3::text IS NULL OR kind = $3) "
	    "AND ($4::float8 <= 0 OR created_at >= now() - make_interval(secs => $4::float8)) ORDER BY id DESC LIMIT $5) e",
	    5, v);
}
