/* dv_queue.c — the hand-offs between threads: the bounded job queue that
 * the loop thread fills (never blocking: a full queue is an immediate 503)
 * and workers drain, and the completion list that workers fill and the loop
 * thread drains after event_active() wakes it. */
#include "dv_queue.h"
#include "dv_err.h"
#include "dv_job.h"
#include <event2/event.h>

int dv_queue_init(struct dv_queue *q, int cap)
{
	q->head = q->tail = NULL;
	q->len = 0;
	q->cap = cap;
	q->closed = false;
	atomic_init(&q->depth, 0);
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&q->cv, NULL) != 0) {
		pthread_mutex_destroy(&q->mu);
		return -1;
	}
	return 0;
}

void dv_queue_fini(struct dv_queue *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

int dv_queue_push(struct dv_queue *q, struct dv_job *j)
{
	return dv_queue_push_ex(q, j, false);
}

int dv_queue_push_ex(struct dv_queue *q, struct dv_job *j, bool over_cap)
{
	DV_CHECK_JOB(j);
	int r = 0;
	pthread_mutex_lock(&q->mu);
	if (q->closed) {
		r = DV_ESHUTDOWN;
	} else if (q->len >= q->cap && !over_cap) {
		r = DV_EOVERLOADED;
	} else {
		j->next = NULL;
		if (q->tail)
			q->tail->next = j;
		else
			q->head = j;
		q->tail = j;
		q->len++;
		DV_ASSERT(q->head != NULL && q->len > 0);
		atomic_store(&q->depth, q->len);
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return r;
}

struct dv_job *dv_queue_pop(struct dv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	struct dv_job *j = q->head;
	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		DV_ASSERT(q->len >= 0 && (q->len == 0) == (q->head == NULL));
		atomic_store(&q->depth, q->len);
		j->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	if (j)
		DV_CHECK_JOB(j);
	return j;
}

void dv_queue_close(struct dv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void dv_queue_set_cap(struct dv_queue *q, int cap)
{
	pthread_mutex_lock(&q->mu);
	q->cap = cap;
	pthread_mutex_unlock(&q->mu);
}

int dv_done_init(struct dv_done *d)
{
	d->head = d->tail = NULL;
	d->ev = NULL;
	return pthread_mutex_init(&d->mu, NULL) == 0 ? 0 : -1;
}

void dv_done_fini(struct dv_done *d) { pthread_mutex_destroy(&d->mu); }

void dv_done_push(struct dv_done *d, struct dv_job *j)
{
	DV_CHECK_JOB(j);
	j->next = NULL;
	pthread_mutex_lock(&d->mu);
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
	pthread_mutex_unlock(&d->mu);
	if (d->ev)
		event_active(d->ev, EV_READ, 0);
}

struct dv_job *dv_done_take(struct dv_done *d)
{
	pthread_mutex_lock(&d->mu);
	struct dv_job *j = d->head;
	d->head = d->tail = NULL;
	pthread_mutex_unlock(&d->mu);
	return j;
}
