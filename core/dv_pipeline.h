/* dv_pipeline.h — runs one job's configured stages on a worker thread. */
#ifndef DV_PIPELINE_H
#define DV_PIPELINE_H
#include "dv_conf.h"
#include "dv_plugin.h"

struct dv_job;

struct dv_json;

/* What the recognition service adds to a pipeline reply (dv_ops.c). */
struct dv_pipeline_hooks {
	/* After the match stage: decide (the threshold may be set here, once the
	 * tenant is known: job->decision says how) and look up the matched faces
	 * (e.g. their persons); may fail the job. */
	int (*resolve)(void *arg, struct dv_job *job, const struct dv_match *m, const int *n_m, int n_faces, int top_k,
	    double *threshold);
	/* Inside a match or candidate object: more members for face id. */
	void (*match_json)(void *arg, struct dv_json *j, uint64_t face_id);
	/* At the end of face i's object: more members. */
	void (*face_json)(void *arg, struct dv_json *j, int face);
	/* At the end of the top-level reply object: more members. */
	void (*reply_json)(void *arg, struct dv_json *j);
	/* Are two matched faces of one person? (NULL: they are taken as two) */
	bool (*same_person)(void *arg, uint64_t face_a, uint64_t face_b);
};

struct dv_pipeline_ctx {
	const struct dv_conf *conf;
	struct dv_instance *inst[DV_ROLE_COUNT]; /* NULL for roles not configured */
	uint64_t tenant;                         /* the matcher's partition */
	const struct dv_pipeline_hooks *hooks;   /* NULL: the bare pipeline reply */
	void *hooks_arg;
};

/* Run the job's pipeline. On return either job->err is set (with
 * job->errmsg) or job->reply holds the JSON body; per-stage timings are in
 * job->stage_ms. Never fails silently. */
void dv_pipeline_run(struct dv_job *job, const struct dv_pipeline_ctx *ctx);

/* Similarity in [0, 1] for a distance, 0.5 at the threshold. */
double dv_similarity(double distance, double threshold);
/* "direct", "canvas", "scale", "whole_image" or "client_box" (enum dv_face_pass). */
const char *dv_pass_name(int pass);

#endif
