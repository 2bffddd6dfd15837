/* dv_ops.h — the HTTP API's operations, run on a worker thread: the key is
 * authenticated against the database, the request's inputs read
 * (dv_input.h), the image pipeline run where the operation needs it, the
 * database written (dv_store.h) and the matcher kept current (dv_gallery.h);
 * the reply body and status go into the job, which the loop thread sends.
 * dv_ops.c dispatches through the route table's handler column (dv_api.c);
 * the handlers live in one file per family, below. */
#ifndef DV_OPS_H
#define DV_OPS_H
#include "dv_pipeline.h"
#include <stdatomic.h>

struct dv_job;
struct dv_store;
struct dv_gallery;
struct dv_field;

struct dv_ops_ctx {
	struct dv_pipeline_ctx pipe;   /* this worker's plugin instances */
	struct dv_store *store;        /* this worker's database connection */
	struct dv_gallery *gallery;
	const char *node;              /* this server's name (async jobs) */
	atomic_int *async_pending;     /* async jobs accepted, not finished */
	struct dv_hooks *hooks;        /* this worker's Lua hooks, or NULL */
	struct dv_keyuse *keyuse;      /* keys' rates and counters (the server's) */
};

/* Run job j's operation (j->api) to its reply or error. */
void dv_ops_run(struct dv_job *j, struct dv_ops_ctx *oc);

/* The store's answer rc for job j: 0 (returned), or j failed — a 404 saying
 * notfound (a constant) when nothing of the tenant's was found, else the
 * store's error. */
int dv_ops_store_rc(struct dv_job *j, struct dv_ops_ctx *oc, int rc, const char *notfound);

/* An audit entry for a change j made to tenant (its key and address); a
 * failure to write it is logged. */
void dv_ops_audit(struct dv_job *j, struct dv_ops_ctx *oc, uint64_t tenant, const char *action, const char *target,
    const char *detail);

/* An operation's handler: leaves j->err, or j->reply and j->status. */
typedef void dv_op_fn(struct dv_job *j, struct dv_ops_ctx *oc);

/* dv_op_image.c: recognize, detect, verify */
dv_op_fn dv_op_recognize, dv_op_detect, dv_op_verify;
/* Run pipeline op (enum dv_op) on an image for job j, as mode (enum
 * dv_run_mode) says, each face's descriptor averaging jitter jittered copies
 * (enrolment: enrol.jitter); returns the sub-job holding the faces, vectors
 * and matches (the caller frees it), or NULL with j failed. */
struct dv_job *dv_ops_run_image(struct dv_job *j, struct dv_ops_ctx *oc, int op, const struct dv_field *img,
    const float *box, int top_k, double threshold, int mode, const struct dv_visit *visit, int jitter);
/* dv_op_faces.c: enrolment and faces */
dv_op_fn dv_op_face_add, dv_op_face_list, dv_op_face_delete, dv_op_face_chip;
/* Recognitions that are sure beyond doubt add their face to the person
 * (settings.auto_update), up to auto_update_max faces a person. */
void dv_ops_auto_update(struct dv_job *j, struct dv_ops_ctx *oc, struct dv_job *k);
/* dv_op_persons.c: people, events, the hooks' state */
dv_op_fn dv_op_person_create, dv_op_person_update, dv_op_person_get, dv_op_person_delete, dv_op_person_list;
dv_op_fn dv_op_event_list, dv_op_state_list, dv_op_event_outcome;
/* dv_op_tenant.c: the tenant, its keys, the admin API */
dv_op_fn dv_op_tenant_get, dv_op_tenant_update, dv_op_key_create, dv_op_key_list, dv_op_key_revoke;
dv_op_fn dv_op_key_self;
dv_op_fn dv_op_admin_tenant_create, dv_op_admin_tenant_list;
/* dv_opoint.c: GET /v1/tenant/operating_point */
dv_op_fn dv_op_operating_point;
/* dv_op_hooks.c: the tenant's stored hooks, the built-in catalogue, the audit log */
dv_op_fn dv_op_hook_list, dv_op_hook_get, dv_op_hook_put, dv_op_hook_delete, dv_op_hook_versions;
dv_op_fn dv_op_hook_version, dv_op_hook_activate, dv_op_hook_test, dv_op_hook_install, dv_op_hook_catalogue;
dv_op_fn dv_op_audit_list;
/* dv_op_signup.c: a shop signs up */
dv_op_fn dv_op_signup, dv_op_signup_info;
/* A built-in hook's source (scripts/NAME.lua, compiled in), or NULL. */
const char *dv_builtin_hook(const char *name);
struct dv_actor;
struct dv_hooks_conf;
struct dv_conf;
/* Install built-in hooks names[0..n) as the tenant's stored hooks (a new
 * tenant's {"hooks": [...]}); 0, or an error with err set. */
int dv_hooks_install_builtins(struct dv_store *st, struct dv_hooks *hooks, const struct dv_conf *c,
    const struct dv_hooks_conf *hc, uint64_t tenant, const char *const *names, int n, const struct dv_actor *a,
    char *err, size_t errlen);
/* dv_op_jobs.c: background jobs */
dv_op_fn dv_op_job_submit, dv_op_job_get;
/* An async job's end: its result into dv_jobs, then its webhook. */
void dv_ops_async_finish(struct dv_job *j, struct dv_ops_ctx *oc);
#endif
