/* dv_store.h — every SQL statement of the recognition service, in one place
 * so that tenant scoping can be checked by reading one file: every query on
 * tenant data takes the caller's tenant id and filters on it. A store is one
 * connection, owned by one thread (each worker has its own); it reconnects
 * by itself, and every failure to reach the database is DV_EDBUNAVAIL.
 * Results that go to clients are built as JSON text by PostgreSQL. */
#ifndef DV_STORE_H
#define DV_STORE_H
#include "dv_buf.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DV_STORE_PREP_MAX 128 /* statements prepared per connection; more run unprepared */
struct dv_store {
	char *conninfo;
	PGconn *c;
	bool in_tx;         /* between BEGIN and COMMIT/ROLLBACK, on the server */
	/* a statement without parameters ("BEGIN", "SAVEPOINT x") to send with the
	 * next one, in one round trip (libpq's pipeline mode); NULL when none */
	const char *pending;
	char err[256];      /* the last failure, for logs and error bodies */
	/* the connection's prepared statements, by their SQL (database_prepare):
	 * a statement is parsed once per connection, and PostgreSQL may keep its
	 * plan; dropped with the connection */
	bool prepare;
	int n_prep;
	struct dv_store_prep { char *sql; unsigned hash; } prep[DV_STORE_PREP_MAX];
};

void dv_store_init(struct dv_store *st, const char *conninfo);
/* Prepare each statement once per connection (default: not; the server sets
 * it from database_prepare). */
void dv_store_set_prepare(struct dv_store *st, bool on);
/* Send sql (no parameters) together with the next statement, saving a round
 * trip; its failure is that statement's. dv_store_begin defers BEGIN so. */
void dv_store_defer(struct dv_store *st, const char *sql);
void dv_store_fini(struct dv_store *st);

/* Run one statement with text parameters (NULL = SQL NULL); bin[i] > 0 marks
 * parameter i as binary of that length. Returns the result (caller clears) or
 * NULL with a dv_err in *rc: DV_EDBUNAVAIL (unreachable, not migrated),
 * DV_ECONFLICT (unique violation), DV_ENOTFOUND (foreign key), DV_EINVALID
 * (bad value), DV_EINTERNAL. */
PGresult *dv_store_q(struct dv_store *st, int *rc, const char *sql, int n, const char *const *vals, const int *bin);
/* One row, one column of text into out (raw); DV_ENOTFOUND when no row. */
int dv_store_one(struct dv_store *st, struct dv_buf *out, const char *sql, int n, const char *const *vals);
/* BEGIN / COMMIT / ROLLBACK. */
int dv_store_begin(struct dv_store *st);
int dv_store_commit(struct dv_store *st);
void dv_store_rollback(struct dv_store *st);

/* ---- tenants and keys */
/* A key as authenticated. */
struct dv_keyinfo {
	uint64_t tenant, id;
	char name[64];
	uint32_t scopes;        /* DV_SC_* (dv_api.h); every one for keys made before scopes */
	bool publishable;       /* dvp_: browser-safe scopes, used from its origins only */
	int rate_per_minute;    /* 0: no limit */
	char origins[2048];     /* the browsers' origins it may be used from, one per line; "" when none */
};
/* Authenticate a presented API key: 0 with *ki filled, DV_EUNAUTHORIZED or
 * DV_EDBUNAVAIL. */
int dv_store_auth(struct dv_store *st, const char *key, struct dv_keyinfo *ki);
/* What a new key may do (NULL: everything). Arrays as PostgreSQL literals. */
struct dv_keyspec {
	const char *scopes_pg, *origins_pg; /* NULL: every scope / no origins */
	int rate_per_minute;                /* 0: none */
	bool publishable;
};
/* Create a tenant and its first key; the reply JSON {"id","name","api_key"}
 * (the key shown once) goes to out. */
int dv_store_tenant_create(struct dv_store *st, const char *name, const char *settings_json, struct dv_buf *out);
int dv_store_tenant_list(struct dv_store *st, struct dv_buf *out);
int dv_store_tenant_get(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
int dv_store_tenant_settings(struct dv_store *st, uint64_t tenant, const char *settings_json, struct dv_buf *out);
/* A setting of the tenant: a boolean, or a number (NAN when unset). */
int dv_store_tenant_flag(struct dv_store *st, uint64_t tenant, const char *key, bool *out);
int dv_store_key_create(struct dv_store *st, uint64_t tenant, const char *name, const struct dv_keyspec *spec,
    struct dv_buf *out);
int dv_store_key_list(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
int dv_store_key_revoke(struct dv_store *st, uint64_t tenant, uint64_t key_id);

/* ---- persons */
int dv_store_person_create(struct dv_store *st, uint64_t tenant, const char *name, const char *external_id,
    const char *attributes_json, struct dv_buf *out);
int dv_store_person_get(struct dv_store *st, uint64_t tenant, uint64_t person, struct dv_buf *out);
/* NULL fields are left alone; attributes are merged (JSON object keys with
 * null values are removed) unless replace is set. */
int dv_store_person_update(struct dv_store *st, uint64_t tenant, uint64_t person, const char *name,
    const char *external_id, bool clear_external_id, const char *attributes_json, bool replace, struct dv_buf *out);
/* Deletes the person, its faces (their ids go to *face_ids, malloc'd, for
 * the matcher), events and hook state, in one transaction. */
int dv_store_person_delete(struct dv_store *st, uint64_t tenant, uint64_t person, uint64_t **face_ids, int *n_faces);
/* Page of persons by id after `after`, optionally matching query against
 * name (case-insensitive substring) or external_id (exact). */
int dv_store_person_list(struct dv_store *st, uint64_t tenant, const char *query, int limit, uint64_t after,
    struct dv_buf *out);

/* ---- faces */
struct dv_face_row {
	uint64_t person;
	const float *vec;
	int dim;
	const char *model, *fingerprint;
	const char *box_json, *landmarks_json, *found_by;
	double quality;
	const uint8_t *chip;     /* JPEG or NULL */
	size_t chip_len;
};
/* Insert a face and its "enrolled" event in one transaction. */
int dv_store_face_add(struct dv_store *st, uint64_t tenant, const struct dv_face_row *f, const char *location,
    const char *camera, const char *request_id, uint64_t *face_id, int (*in_tx)(void *arg, uint64_t face_id),
    void *arg);
int dv_store_face_delete(struct dv_store *st, uint64_t tenant, uint64_t face);
int dv_store_face_list(struct dv_store *st, uint64_t tenant, uint64_t person, struct dv_buf *out);
/* The face's JPEG chip into out (raw bytes). */
int dv_store_face_chip(struct dv_store *st, uint64_t tenant, uint64_t face, struct dv_buf *out);
/* The vectors of a person's faces under one model stamp (for verify);
 * *vecs malloc'd, n x dim. */
int dv_store_person_vectors(struct dv_store *st, uint64_t tenant, uint64_t person, const char *model,
    const char *fingerprint, float **vecs, int *n, int dim);

/* Person JSON ({"id","name","external_id","attributes"}) of each face id, for
 * match results; *json[i] is malloc'd or NULL when the face is gone. */
int dv_store_persons_of_faces(struct dv_store *st, uint64_t tenant, const uint64_t *faces, int n, char **json,
    uint64_t *person_ids);

/* ---- events */
struct dv_event_row {
	const char *kind;        /* recognized, unknown, uncertain, enrolled */
	uint64_t person, face;   /* 0 = none */
	double distance, similarity; /* < 0 = none */
	const char *box_json;
};
/* A recognition's faces, kept with their events for ttl seconds (events.face_ttl)
 * so that one can be added to a person later (dv_store_event_face_take). */
struct dv_event_faces {
	const float *vecs;        /* n x dim */
	int dim;
	const char *model, *fingerprint;
	const char *const *landmarks_json; /* per face, or NULL */
	const char *const *found_by;       /* per face */
	const double *quality;             /* per face, or NULL */
	uint8_t *const *chips;             /* per face: JPEG or NULL */
	const size_t *chip_lens;
	const bool *keep;                  /* per face: kept (NULL: all) */
	long long ttl;
};
/* ids (or NULL): per face its event's id (0: not written, a person erased
 * meanwhile); keep (or NULL): the faces to keep with their events. */
int dv_store_events_add(struct dv_store *st, uint64_t tenant, const struct dv_event_row *ev, int n,
    const char *location, const char *camera, const char *request_id, uint64_t *ids,
    const struct dv_event_faces *keep);
/* A kept face of a recognition event: what POST /v1/persons/{id}/faces?event_id= adds. */
struct dv_event_face {
	float *vec;               /* malloc'd, dim floats */
	int dim;
	char *model, *fingerprint, *box_json, *landmarks_json, *found_by, *kind;
	double quality;
	uint8_t *chip;            /* malloc'd JPEG or NULL */
	size_t chip_len;
	uint64_t person;          /* whom the event named (0: nobody) */
	double distance;          /* < 0: none */
	char *outcome;            /* NULL, "confirmed" or "rejected" */
	uint64_t outcome_person;
};
/* Read event's kept face: DV_ENOTFOUND when the event is not the tenant's,
 * DV_EGONE when its face is no longer kept (expired, taken, or never kept). */
int dv_store_event_face_get(struct dv_store *st, uint64_t tenant, uint64_t event, struct dv_event_face *out);
void dv_event_face_fini(struct dv_event_face *f);
/* Inside a transaction: take the event's kept face (delete it: a face is added
 * once) and settle the event as confirmed for person when it is not settled;
 * DV_EGONE when it was taken meanwhile. */
int dv_store_event_face_take(struct dv_store *st, uint64_t tenant, uint64_t event, uint64_t person);
/* Settle an event: confirmed as person (> 0) or rejected (0); the event JSON
 * into out; DV_ENOTFOUND when the event or the person is not the tenant's. */
int dv_store_event_outcome(struct dv_store *st, uint64_t tenant, uint64_t event, uint64_t person, uint64_t key_id,
    struct dv_buf *out);
int dv_store_event_list(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, const char *since,
    int limit, uint64_t after, struct dv_buf *out);

/* ---- async jobs */
int dv_store_job_create(struct dv_store *st, uint64_t tenant, const char *op, const char *node,
    const char *request_json, const char *webhook, uint64_t *job);
int dv_store_job_start(struct dv_store *st, uint64_t job);
int dv_store_job_finish(struct dv_store *st, uint64_t job, int status_code, const char *result_json,
    const char *error_json);
int dv_store_job_webhook(struct dv_store *st, uint64_t job, int http_status);
int dv_store_job_get(struct dv_store *st, uint64_t tenant, uint64_t job, struct dv_buf *out);
#endif

/* ---- hook state (dv_hooks.c), inside the request's transaction */
/* The JSON value under (person, ns, key) into out; DV_ENOTFOUND when unset. */
int dv_store_state_get(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    struct dv_buf *out);
/* Set it (JSON text); DV_ENOTFOUND when the person is not the tenant's. */
int dv_store_state_set(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    const char *json);
/* Add delta to a number (absent = 0) atomically; the new value in *out. */
int dv_store_state_incr(struct dv_store *st, uint64_t tenant, uint64_t person, const char *ns, const char *key,
    double delta, double *out);
/* Events of a person (kind NULL = any) in the last since_s seconds (<= 0: ever). */
int dv_store_event_count(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, double since_s,
    long long *count);
/* A person's newest events (at most limit) as a JSON array of
 * {time, kind, location, camera, distance}. */
int dv_store_person_events(struct dv_store *st, uint64_t tenant, uint64_t person, const char *kind, double since_s,
    int limit, struct dv_buf *out);
/* Every value under (ns, key), with its person: the report behind GET /v1/state. */
int dv_store_state_report(struct dv_store *st, uint64_t tenant, const char *ns, const char *key, uint64_t person,
    struct dv_buf *out);
/* A tenant's name (for hooks.tenants). */
int dv_store_tenant_name(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
/* {"name","settings"} of a tenant (cheap: no counts). */
int dv_store_tenant_brief(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
int dv_store_exec_sql(struct dv_store *st, const char *sql);

/* ---- stored hooks and the audit log (dv_store_hooks.c) */
struct dv_hookver;
/* Who makes a change: the key (id 0: the admin key), its name, the client's
 * address. */
struct dv_actor {
	uint64_t key_id;
	const char *key_name;
	const char *address;
};
/* The tenant's active hooks in run order (for dv_hooklib); *h malloc'd. */
int dv_store_hooks_active(struct dv_store *st, uint64_t tenant, long long *seq, struct dv_hookver **h, int *n);
/* The tenant's stored hooks as a JSON array (run order). */
int dv_store_hook_list(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
/* One version (0: the active one) as JSON with its source; DV_ENOTFOUND. */
int dv_store_hook_get(struct dv_store *st, uint64_t tenant, const char *name, int version, struct dv_buf *out);
/* A version's source only (0: the active one, -1: the newest) into out. */
int dv_store_hook_source(struct dv_store *st, uint64_t tenant, const char *name, int version, struct dv_buf *out,
    int *got_version);
int dv_store_hook_versions(struct dv_store *st, uint64_t tenant, const char *name, struct dv_buf *out);
struct dv_hook_put {
	const char *name, *source;
	size_t len;
	const char *sha256;
	const char *functions;  /* a PostgreSQL array literal: {on_recognized,on_unknown} */
	const char *comment;    /* or NULL */
	const char *position;   /* decimal, or NULL: keep (new hooks go last) */
	bool activate;
	int keep_versions;      /* older versions beyond this many are pruned (never the active one) */
	int max_hooks;          /* hooks per tenant */
	const char *action;     /* audit: "hook.put", "hook.install" */
	const char *detail;     /* audit detail JSON or NULL */
};
/* Store a new version (and activate it): *version, *active, *seq. DV_ELIMIT
 * when the tenant has max_hooks others. The change is announced on dv_hooks
 * at commit and written to the audit log in the same transaction. */
int dv_store_hook_put(struct dv_store *st, uint64_t tenant, const struct dv_hook_put *p, const struct dv_actor *a,
    int *version, int *active, long long *seq);
/* Activate version v (DV_ENOTFOUND when it does not exist), or with v = 0
 * deactivate the hook; purge removes it with its versions. */
int dv_store_hook_activate(struct dv_store *st, uint64_t tenant, const char *name, int v, bool purge,
    const struct dv_actor *a, long long *seq);
/* One audit entry (its own statement: for changes outside a hook's). */
int dv_store_audit_add(struct dv_store *st, uint64_t tenant, const struct dv_actor *a, const char *action,
    const char *target, const char *detail_json);
/* Entries after since (an ISO time or NULL), oldest first, as a JSON array. */
int dv_store_audit_list(struct dv_store *st, uint64_t tenant, const char *since, int limit, uint64_t after,
    struct dv_buf *out);
/* The tenant's newest event (for a hook's test), as
 * {"kind","person_id","distance","location","camera"}; DV_ENOTFOUND. */
int dv_store_last_event(struct dv_store *st, uint64_t tenant, struct dv_buf *out);
