/* dv_pipeline.h — runs one job's configured stages on a worker thread:
 * decode ▸ detect ▸ landmarks ▸ align ▸ embed ▸ match (dv_pipeline.c) ▸
 * record ▸ hooks (dv_record.c), then writes the reply (dv_reply.c). */
#ifndef DV_PIPELINE_H
#define DV_PIPELINE_H
#include "dv_conf.h"
#include "dv_plugin.h"

struct dv_job;
struct dv_store;
struct dv_gallery;
struct dv_hooks;
struct dv_par;

/* What a run may look up and write. */
enum dv_run_mode {
	DV_RUN_BARE = 0, /* the stages alone: the fixed threshold, no lookups, nothing stored (tools, verify) */
	DV_RUN_LOOKUP,   /* the tenant's decision and the persons of the matches; nothing stored (detect, enrol) */
	DV_RUN_RECORD    /* and the record and hooks stages write (recognize) */
};

/* What the client said about the visit, for the events and the hooks. */
struct dv_visit {
	const char *location, *camera; /* or NULL */
	const char *fields_json;       /* the client's "fields" object, or NULL */
};

struct dv_pipeline_ctx {
	const struct dv_conf *conf;
	struct dv_instance *inst[DV_ROLE_COUNT]; /* NULL for roles not configured */
	/* face_threads: the worker's helpers (dv_par.h) and their landmarker
	 * and embedder instances, hinst[k - 1] for part k; NULL par = none */
	struct dv_par *par;
	struct dv_instance *(*hinst)[DV_ROLE_COUNT];
	uint64_t tenant;                         /* the matcher's partition */
	int mode;                                /* enum dv_run_mode */
	/* the recognition service (mode > DV_RUN_BARE): this worker's */
	struct dv_store *store;                  /* database connection */
	struct dv_gallery *gallery;              /* the tenants' face counts (the decision) */
	struct dv_hooks *hooks;                  /* Lua hooks, or NULL */
	/* the tenant's stored hooks as of the request's start (DV_RUN_RECORD):
	 * a request runs the version it started with, whatever changes meanwhile */
	struct dv_tenant_hooks *tenant_hooks;
	const struct dv_visit *visit;            /* or NULL */
};

/* Run the job's pipeline. On return either job->err is set (with
 * job->errmsg) or job->reply holds the JSON body; per-stage timings are in
 * job->stage_ms. Never fails silently. */
void dv_pipeline_run(struct dv_job *job, const struct dv_pipeline_ctx *ctx);

/* The most jittered copies a face's embedding averages (enrol.jitter). */
#define DV_JITTER_MAX 64
/* Embed n faces: views[i] (chips: n RGB chips behind them, or NULL), with
 * flip each chip's mirror image and jitter jittered copies of it averaged
 * in; out n x dim. The plugin's code, or DV_PLUGIN_ENOMEM. */
struct dv_instance;
struct dv_embedder_info;
int dv_embed_chips(struct dv_instance *in, const struct dv_image *views, const uint8_t *chips, int n,
    const struct dv_embedder_info *ei, bool flip, int jitter, float *out);
/* The same with the passes split over ctx's face threads (ctx->par). */
int dv_embed_chips_ctx(const struct dv_pipeline_ctx *ctx, const struct dv_image *views, const uint8_t *chips, int n,
    const struct dv_embedder_info *ei, bool flip, int jitter, float *out);

/* Similarity in [0, 1] for a distance, 0.5 at the threshold. */
double dv_similarity(double distance, double threshold);
/* A face's box as JSON: {"x","y","w","h"} in pixels. */
struct dv_buf;
void dv_face_box_json(struct dv_buf *b, const struct dv_face *f);
/* Its landmarks as JSON ([[x,y],...], photo pixels); nothing without landmarks. */
void dv_face_landmarks_json(struct dv_buf *b, const struct dv_face *f);
/* "direct", "canvas", "scale", "whole_image" or "client_box" (enum dv_face_pass). */
const char *dv_pass_name(int pass);

#endif
