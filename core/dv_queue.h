/* dv_queue.h — the bounded job queue (loop thread -> workers) and the
 * completion queue (workers -> loop thread). */
#ifndef DV_QUEUE_H
#define DV_QUEUE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct dv_job;
struct event;

struct dv_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dv_job *head, *tail;
	int len, cap;
	bool closed;
	atomic_int depth;    /* == len, readable without the lock */
};

int dv_queue_init(struct dv_queue *q, int cap);
void dv_queue_fini(struct dv_queue *q);
/* Never blocks. Returns 0, DV_EOVERLOADED when full, DV_ESHUTDOWN when closed.
 * On success the queue owns the job until a worker pops it. */
int dv_queue_push(struct dv_queue *q, struct dv_job *j);
/* over_cap: accepted beyond the capacity (async jobs already acknowledged,
 * bounded by limits.async_jobs). */
int dv_queue_push_ex(struct dv_queue *q, struct dv_job *j, bool over_cap);
/* Blocks until a job is available; NULL once closed and empty. */
struct dv_job *dv_queue_pop(struct dv_queue *q);
/* Wake all workers; pop returns NULL once the queue is empty. */
void dv_queue_close(struct dv_queue *q);
void dv_queue_set_cap(struct dv_queue *q, int cap);

/* Completion queue: workers push finished jobs and wake the loop thread
 * through event_active() on ev (created on the loop's base). */
struct dv_done {
	pthread_mutex_t mu;
	struct dv_job *head, *tail;
	struct event *ev;
};
int dv_done_init(struct dv_done *d);
void dv_done_fini(struct dv_done *d);
void dv_done_push(struct dv_done *d, struct dv_job *j);
/* Take every finished job (loop thread); returns a list linked by next. */
struct dv_job *dv_done_take(struct dv_done *d);
#endif
