/* dv_ops.h — the HTTP API's operations, run on a worker thread: the key is
 * authenticated against the database, the request body read (dv_form.h),
 * the image pipeline run where the operation needs it, the database written
 * (dv_store.h) and the matcher kept current (dv_gallery.h); the reply body
 * and status go into the job, which the loop thread sends. */
#ifndef DV_OPS_H
#define DV_OPS_H
#include "dv_pipeline.h"
#include <stdatomic.h>

struct dv_job;
struct dv_store;
struct dv_gallery;

struct dv_ops_ctx {
	struct dv_pipeline_ctx pipe;   /* this worker's plugin instances */
	struct dv_store *store;        /* this worker's database connection */
	struct dv_gallery *gallery;
	const char *node;              /* this server's name (async jobs) */
	atomic_int *async_pending;     /* async jobs accepted, not finished */
	struct dv_hooks *hooks;        /* this worker's Lua hooks, or NULL */
};

void dv_ops_run(struct dv_job *j, struct dv_ops_ctx *oc);
/* dv_opoint.c: GET /v1/tenant/operating_point */
void dv_op_operating_point(struct dv_job *j, struct dv_ops_ctx *oc);
#endif
