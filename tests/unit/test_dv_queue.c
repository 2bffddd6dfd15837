/* Unit tests for core/dv_queue.c: bounded, never blocking the producer,
 * FIFO, and closing wakes consumers. */
#include "../tap.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_queue.h"
#include <pthread.h>
#include <stdlib.h>

static struct dv_queue q;
static int popped;

static void *consumer(void *arg)
{
	struct dv_job *j;
	while ((j = dv_queue_pop(&q)) != NULL) {
		popped++;
		dv_job_free(j);
	}
	return NULL;
}

int main(void)
{
	ok(dv_queue_init(&q, 2) == 0, "init");
	struct dv_job *a = dv_job_new(0, NULL), *b = dv_job_new(0, NULL), *c = dv_job_new(0, NULL);
	is_int(dv_queue_push(&q, a), 0, "push 1");
	is_int(dv_queue_push(&q, b), 0, "push 2");
	is_int(dv_queue_push(&q, c), DV_EOVERLOADED, "a full queue refuses at once");
	is_int(atomic_load(&q.depth), 2, "depth");
	ok(dv_queue_pop(&q) == a, "FIFO order");
	is_int(dv_queue_push(&q, c), 0, "room again after a pop");
	dv_job_free(a);
	pthread_t t;
	pthread_create(&t, NULL, consumer, NULL);
	dv_queue_close(&q);
	pthread_join(t, NULL);
	is_int(popped, 2, "closing lets consumers drain what is left");
	struct dv_job *d = dv_job_new(0, NULL);
	is_int(dv_queue_push(&q, d), DV_ESHUTDOWN, "push after close is refused");
	dv_job_free(d);
	dv_queue_fini(&q);
	return tap_done();
}
