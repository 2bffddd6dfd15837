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
	j->op = op;
	j->threshold = -1;
	j->record_ms = -1;
	j->gen = dv_gen_ref(gen);
	dv_buf_init(&j->reply);
	clock_gettime(CLOCK_MONOTONIC, &j->t_start);
	return j;
}

void dv_job_free(struct dv_job *j)
{
	if (!j)
		return;
	DV_CHECK_JOB(j);
	j->magic = 0;
	free(j->body);
	free(j->key);
	free(j->ctype);
	free(j->query);
	free(j->webhook);
	free(j->spawn_body);
	free(j->embeddings);
	free(j->face_boxes);
	free(j->faces);
	free(j->quality);
	free(j->chips);
	free(j->aligned);
	free(j->matches);
	free(j->n_matches);
	dv_strv_free(j->best_person_json, j->n_best);
	free(j->best_person);
	dv_buf_fini(&j->reply);
	dv_gen_unref(j->gen);
	free(j);
}

void dv_job_fail(struct dv_job *j, int err, const char *fmt, ...)
{
	if (j->err)
		return;
	j->err = err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->errmsg, sizeof j->errmsg, fmt, ap);
	va_end(ap);
}
