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

struct dv_job {
	uint32_t magic;
	unsigned long long id;
	int op;                 /* enum dv_op */
	struct dv_gen *gen;     /* configuration generation (a reference) */

	/* input, owned */
	uint8_t *body;
	size_t body_len;
	int top_k;              /* 0 = configured default */
	double threshold;       /* < 0 = the decision's; >= 0: the request's own (expert use) */
	/* how "known" was decided, for the reply (set by the service) */
	int decision;           /* enum dv_decision */
	long long gallery_n;    /* DV_DECIDE_FPIR: the tenant's enrolled faces */
	double target_fpir;     /* DV_DECIDE_FPIR: the target */
	double confirm_threshold; /* up to this distance a nearest person is worth asking about; 0 = no confirmation */
	bool has_box;           /* use this face box instead of the detector */
	float box[4];           /* x, y, w, h */
	bool keep_embeddings;   /* internal callers: keep the vectors below */

	/* the HTTP API (dv_api.h): set on the loop thread, run by dv_ops.c */
	int api;                /* enum dv_api_op; 0 = a bare pipeline job */
	uint64_t path_id;       /* the {id} of the path */
	char *key;              /* the presented API key (owned), or NULL */
	bool admin;             /* the key is the configured admin key */
	char *ctype;            /* Content-Type (owned), or NULL */
	char *query;            /* the query string (owned), or NULL */
	uint64_t tenant;        /* set by the worker once authenticated */
	uint64_t async_id;      /* an async job's dv_jobs row (0: synchronous) */
	char *webhook;          /* async: called when done (owned) */
	char *spawn_body;       /* async submission: the job to run next (loop thread submits it) */
	size_t spawn_len;
	int spawn_api;
	int status;             /* HTTP status on success (0 = 200) */
	const char *reply_ctype; /* static; NULL = application/json */

	/* origin: loop thread only */
	int origin;
	void *origin_ptr;       /* evhttp_request* or struct dv_tcp_conn* */
	uint32_t tcp_req_id;
	bool tcp_call;          /* a CALL frame: answered with a RESPONSE frame */
	int route;              /* metrics route */
	struct timespec t_start;

	/* result: written by the worker, read by the loop after completion */
	int err;                /* 0 or a dv_err */
	char errmsg[256];
	struct dv_buf reply;    /* JSON on success */
	double stage_ms[DV_STAGE_COUNT];
	bool stage_ran[DV_STAGE_COUNT];
	double queue_ms;
	double record_ms;       /* recognize: persons, events, hooks and commit in PostgreSQL; -1 when not run */
	double run_ms;
	float *embeddings;      /* keep_embeddings: n_embeddings x embedding_dim (NULL, dim 0 without embed) */
	int n_embeddings, embedding_dim; /* n_embeddings: the number of faces */
	float *face_boxes;      /* keep_embeddings: x, y, w, h, score per face */
	struct dv_face *faces;  /* keep_embeddings: the faces (box, score, pass, landmarks) */
	struct dv_quality *quality; /* keep_embeddings: per face (recognize pipelines), or NULL */
	uint8_t *chips;         /* keep_embeddings: per face the chip the embedder saw (RGB), when materialised */
	char *aligned;          /* per face: 'd' dlib chip, 'b' box crop (both in chips), 'f' face-api crop (not kept) */
	int chip_w, chip_h;
	struct dv_embedder_info einfo; /* keep_embeddings, with an embed stage */
	struct dv_match *matches; /* keep_embeddings, with a match stage: n_embeddings x top_k_used */
	int *n_matches;
	int top_k_used;
	double threshold_used;
	uint64_t *best_person;   /* keep_embeddings, with a record stage: per face, its nearest face's person (0: none) */
	char **best_person_json; /* ... and that person's JSON (owned), or NULL */
	int n_best;              /* entries of best_person and best_person_json */

	struct dv_job *next;    /* queue links */
};

/* A new job owning a copy of nothing: the caller sets body (malloc'd). */
struct dv_job *dv_job_new(int op, struct dv_gen *gen);
void dv_job_free(struct dv_job *j);
/* Set the error once; the first error wins. */
void dv_job_fail(struct dv_job *j, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double dv_ms_since(const struct timespec *t);
#define DV_CHECK_JOB(j) DV_CHECK_MAGIC(j, DV_JOB_MAGIC)
#endif
