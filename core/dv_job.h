/* dv_job.h — one unit of work: created by a listener on the loop thread,
 * run by a worker, answered on the loop thread. It owns its input bytes and
 * result and never points at libevent objects the worker could touch: the
 * origin pointer is only dereferenced on the loop thread. */
#ifndef DV_JOB_H
#define DV_JOB_H
#include "dv_assert.h"
#include "dv_buf.h"
#include "dv_conf.h"
#include <dejaview/plugin.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define DV_JOB_MAGIC 0x4a4f4231u /* "JOB1" */

struct dv_gen;
struct dv_quality;

enum dv_origin { DV_ORIGIN_HTTP = 1, DV_ORIGIN_TCP = 2, DV_ORIGIN_ASYNC = 3 };

/* How a face is declared known: under the configured fixed threshold, under
 * the threshold at which the tenant's gallery gives the target false-positive
 * identification rate (the calibration table), or under the request's own. */
enum dv_decision { DV_DECIDE_THRESHOLD = 0, DV_DECIDE_FPIR = 1, DV_DECIDE_REQUEST = 2 };

/* What was asked: written where the job is made (a listener on the loop
 * thread, or a worker for its own sub-jobs), read by the worker. Owned. */
struct dv_job_req {
	int op;                 /* enum dv_op: the pipeline to run */
	int api;                /* enum dv_api_op: the HTTP API operation; 0 = a bare pipeline job */
	uint8_t *body;
	size_t body_len;
	char *ctype;            /* Content-Type, or NULL */
	char *query;            /* the query string, or NULL */
	uint64_t path_id;       /* the {id} of the path */
	char path_name[72];     /* the {name} of the path (DV_API_NAME_MAX), or "" */
	char peer[64];          /* the client's address (the audit log) */
	char origin[256];       /* the browser's Origin header, or "" */
	char *key;              /* the presented API key, or NULL */
	bool admin;             /* the key is the configured admin key */
	int top_k;              /* 0 = configured default */
	int min_face;           /* detect.min_face for this request (the photo's pixels); -1 = configured */
	double threshold;       /* < 0 = the decision's; >= 0: the request's own (expert use) */
	bool has_box;           /* use this face box instead of the detector */
	float box[4];           /* x, y, w, h */
	bool keep_embeddings;   /* internal callers: keep the faces, vectors and matches (res) */
	int jitter;             /* embed: also this many jittered copies of each chip, averaged (enrol.jitter) */
	char *webhook;          /* async: called when done */
};

/* What came of it: written by the worker, read by the loop thread once the
 * job is back (and by a worker from its own sub-jobs). Owned. */
struct dv_job_res {
	int err;                /* 0 or a dv_err */
	char errmsg[256];
	struct dv_buf reply;    /* JSON on success */
	int status;             /* HTTP status on success (0 = 200) */
	const char *reply_ctype; /* static; NULL = application/json */
	char cors_origin[256];  /* the key allows this browser origin: the reply's Access-Control-Allow-Origin */
	int retry_after;        /* seconds, for a 429 (rate_limited) */
	/* timings */
	double stage_ms[DV_STAGE_COUNT];
	bool stage_ran[DV_STAGE_COUNT];
	double queue_ms;
	double record_ms;       /* the record and hooks stages together; -1 when neither ran */
	double run_ms;
	/* how "known" was decided, for the reply */
	int decision;           /* enum dv_decision */
	long long gallery_n;    /* DV_DECIDE_FPIR: the tenant's enrolled faces */
	double target_fpir;     /* DV_DECIDE_FPIR: the target */
	double correction;      /* DV_DECIDE_FPIR: taken off the calibrated threshold for this tenant (0: none) */
	int auto_update_max;    /* with a record stage: the tenant's settings.auto_update (faces a person may reach; 0: off) */
	double confirm_threshold; /* up to this distance a nearest person is worth asking about; 0 = no confirmation */
	/* DV_DECIDE_FPIR by the cohort score (match.cohort): the tenant's people
	 * (0: decided by the distance), the score that names and the one worth
	 * asking about */
	long long cohort_people;
	double cohort_threshold, cohort_confirm;
	/* req.keep_embeddings: what the stages found */
	float *embeddings;      /* n_embeddings x embedding_dim (NULL, dim 0 without embed) */
	int n_embeddings, embedding_dim; /* n_embeddings: the number of faces */
	float *face_boxes;      /* x, y, w, h, score per face */
	struct dv_face *faces;  /* the faces (box, score, pass, landmarks) */
	struct dv_quality *quality; /* per face (recognize pipelines), or NULL */
	uint8_t *chips;         /* per face the chip the embedder saw (RGB), when materialised */
	char *aligned;          /* per face: 'd' dlib chip, 'b' box crop (both in chips), 'f' face-api crop (not kept) */
	int chip_w, chip_h;
	struct dv_embedder_info einfo; /* with an embed stage */
	struct dv_match *matches; /* with a match stage: n_embeddings x top_k_used */
	int *n_matches;
	int top_k_used;
	double threshold_used;
	uint64_t *best_person;   /* with a record stage: per face, its nearest face's person (0: none) */
	char **best_person_json; /* ... and that person's JSON, or NULL */
	int n_best;              /* entries of best_person and best_person_json */
	bool *best_known;        /* ... and whether the face was named (dv_work_known: threshold, margin, quality) */
};

/* A job is its envelope — who it is, where it came from and where its answer
 * goes — around what was asked (req) and what came of it (res). */
struct dv_job {
	uint32_t magic;
	unsigned long long id;  /* the request id (logs, X-Request-Id) */
	struct dv_gen *gen;     /* configuration generation (a reference) */
	uint64_t tenant;        /* set by the worker once authenticated */
	uint64_t key_id;        /* ... and the key's id (0: the admin key or none) */
	char key_name[64];      /* ... and its name */
	uint32_t key_scopes;    /* ... its scopes (DV_SC_*, dv_api.h) */
	bool key_publishable;   /* ... dvp_ */
	int key_rate;           /* ... its rate_per_minute (0: none) */
	uint64_t async_id;      /* an async job's dv_jobs row (0: synchronous) */
	/* origin: loop thread only */
	int origin;             /* enum dv_origin */
	void *origin_ptr;       /* the HTTP connection or struct dv_tcp_conn* */
	uint32_t tcp_req_id;
	bool tcp_call;          /* a CALL frame: answered with a RESPONSE frame */
	int route;              /* metrics route */
	struct timespec t_start;
	/* an async submission's follow-up: the job the loop thread queues next */
	char *spawn_body;
	size_t spawn_len;
	int spawn_api;
	struct dv_job *next;    /* queue links */

	struct dv_job_req req;
	struct dv_job_res res;
};

/* A new job owning a copy of nothing: the caller sets body (malloc'd). */
struct dv_job *dv_job_new(int op, struct dv_gen *gen);
void dv_job_free(struct dv_job *j);
/* Set the error once; the first error wins. */
void dv_job_fail(struct dv_job *j, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double dv_ms_since(const struct timespec *t);
#define DV_CHECK_JOB(j) DV_CHECK_MAGIC(j, DV_JOB_MAGIC)
#endif
