/* dv_job.c — job objects that cross from the loop thread to a worker and
 * back; each hand-off checks the magic number. */
#include "dv_job.h"
#include "dv_gen.h"
#include "dv_log.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ullong dv_job_ids;



double dv_ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

struct dv_job *dv_job_new(int op, struct dv_gen *gen)
{
	struct dv_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->magic = DV_JOB_MAGIC;
	j->id = atomic_fetch_add(&dv_job_ids, 1) + 1;
	j->req.op = op;
	j->req.threshold = -1;
	j->req.min_face = -1;
	j->res.record_ms = -1;
	j->gen = dv_gen_ref(gen);
	dv_buf_init(&j->res.reply);
	clock_gettime(CLOCK_MONOTONIC, &j->t_start);
	return j;
}

void dv_job_free(struct dv_job *j)
{
	if (!j)
		return;
	DV_CHECK_JOB(j);
	j->magic = 0;
	free(j->req.body);
	free(j->req.key);
	free(j->req.ctype);
	free(j->req.query);
	free(j->req.webhook);
	free(j->spawn_body);
	free(j->res.embeddings);
	free(j->res.face_boxes);
	free(j->res.faces);
	free(j->res.quality);
	free(j->res.chips);
	free(j->res.aligned);
	free(j->res.matches);
	free(j->res.n_matches);
	dv_strv_free(j->res.best_person_json, j->res.n_best);
	free(j->res.best_person);
	free(j->res.best_known);
	dv_buf_fini(&j->res.reply);
	dv_gen_unref(j->gen);
	free(j);
}

void dv_job_fail(struct dv_job *j, int err, const char *fmt, ...)
{
	if (j->res.err)
		return;
	j->res.err = err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->res.errmsg, sizeof j->res.errmsg, fmt, ap);
	va_end(ap);
}
