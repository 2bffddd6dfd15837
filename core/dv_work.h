/* dv_work.h — one pipeline run's working state, shared by the files that
 * run its stages (private to them): dv_pipeline.c (the engine and the image
 * stages, decode to match), dv_record.c (record and hooks) and dv_reply.c
 * (the reply body). Lives on the worker's stack for one run. */
#ifndef DV_WORK_H
#define DV_WORK_H
#include "dv_buf.h"
#include "dv_image.h"
#include "dv_pipeline.h"
#include "dv_record.h"
#include <stdbool.h>
#include <stdint.h>

struct dv_job;
struct dv_quality;
struct dv_event_row;

/* What the record and hooks stages found and wrote. */
struct dv_record {
	uint64_t *faces;      /* the matched face ids, each once */
	char **persons;       /* their person's JSON (NULL: a face of nobody, erased meanwhile) */
	uint64_t *person_ids; /* their person's id (0: none) */
	int n;
	struct dv_event_row *ev; /* per face, once recorded */
	char **boxes;         /* per face: its box as JSON (the events' copy) */
	uint64_t *event_ids;  /* per face: its event (0: not written) */
	int events_written;
	bool in_tx;           /* the request's transaction is open (the hooks stage commits it) */
	/* hooks */
	bool hooks_on;        /* the tenant has hooks and they ran */
	struct dv_hookrun hr;
	char **face_hooks;    /* per face: {"hook": {...}, ...} */
	int n_face_hooks;
};

struct dv_work {
	struct dv_job *job;
	const struct dv_pipeline_ctx *ctx;
	struct dv_img img;    /* the photo, at 1/img.denom (a large JPEG: dv_image_decode_scaled) */
	/* faces too small in img: one region holding them all, decoded again at a
	 * finer scale (1/fine.denom, its top-left at fine_at in that scale) */
	struct dv_img fine;
	int fine_at[2];
	bool *on_fine;        /* per face, or NULL */
	struct dv_face *faces; /* in the photo's pixels (full size), whatever was decoded */
	int n_faces;
	int n_found;          /* before the faces limit */
	struct dv_embedder_info einfo;
	uint8_t *chips;       /* n_faces chips, RGB */
	char *aligned;        /* per face: 'd' dlib chip, 'f' face-api crop, 'b' box crop */
	struct dv_image *views; /* per face: the chip, or (faceapi) a crop of the image */
	float *emb;           /* n_faces * dim */
	struct dv_match *matches; /* n_faces * top_k */
	int *n_matches;
	int top_k;            /* candidates searched a face */
	int top_k_reply;      /* ... of which the reply shows (the request's top_k) */
	double threshold;
	double *cohort;       /* per face, with the cohort decision: its score (NaN: no candidates) */
	struct dv_quality *quality; /* per face, once assessed (dv_work_quality) */
	bool have[DV_STAGE_COUNT];
	/* the tenant (service runs): fetched once, by the first stage that needs it */
	bool have_tenant;
	struct dv_tenant_brief tenant;
	struct dv_record rec;
};

/* A service run (the recognition service's lookups and writes), not a bare one. */
static inline bool dv_work_service(const struct dv_work *w) { return w->ctx->mode != DV_RUN_BARE && w->ctx->store; }
/* Face i is too poor to judge: no name, and no stranger either. */
bool dv_work_unsure(const struct dv_work *w, int i);
/* The tenant's name and settings, fetched once (0, or the store's error). */
int dv_work_tenant(struct dv_work *w);

/* dv_record.c: the record and hooks stages; what they found, for the reply */
int dv_stage_record(struct dv_work *w);
int dv_stage_hooks(struct dv_work *w);
/* After the stages: roll back a transaction an error left open; free. */
void dv_record_fini(struct dv_work *w);
/* The person JSON of a matched face, or NULL (no record stage, or nobody's);
 * with id, the person's id too (0: none). */
const char *dv_record_person(const struct dv_work *w, uint64_t face, uint64_t *id);
/* Are two matched faces one person's? (false when unknown) */
bool dv_record_same_person(const struct dv_work *w, uint64_t a, uint64_t b);
/* Does face i's nearest person stand out from the nearest other person among
 * its candidates (match.margin_ratio)? True without persons to tell apart. */
bool dv_record_stands_out(const struct dv_work *w, int i);
/* The candidates searched a face at least, for the margin over the next person. */
#define DV_MARGIN_CANDIDATES 3
/* ... and for the cohort score: its next people among them (a person may
 * have several faces; people missing count as far as the last candidate) */
#define DV_COHORT_CANDIDATES 24
/* With the cohort decision and the candidates' persons: every face's score
 * (the nearest person's distance - weight x the mean of the next K people's),
 * into w->cohort. 0, or -1 out of memory. */
int dv_record_cohort(struct dv_work *w);
/* Face i is named: within the threshold (with the cohort decision: its score
 * within the score's), standing out, not uncertain. */
bool dv_work_known(const struct dv_work *w, int i);
/* Face i's nearest person within the threshold (the cohort score's or the
 * distance's), standing out or not; within the looser bound worth asking about. */
bool dv_work_within_threshold(const struct dv_work *w, int i);
bool dv_work_within_confirm(const struct dv_work *w, int i);

/* dv_reply.c: the reply body, into w->job->reply */
void dv_reply_write(struct dv_work *w);

#endif
