/* dv_worker.c — the worker threads. Each pops jobs from the bounded queue,
 * makes sure it holds plugin instances of the job's configuration
 * generation (creating them on the first job of a new generation), runs the
 * pipeline and hands the job back through the completion queue. Workers
 * never touch libevent objects other than event_active(). */
#include "dv_api.h"
#include "dv_err.h"
#include "dv_job.h"
#include "dv_log.h"
#include "dv_ops.h"
#include "dv_par.h"
#include "dv_pipeline.h"
#include "dv_store.h"
#include "dv_server.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The roles a worker's helpers run (dv_par.h): the per-face passes. */
static bool dv_helper_role(int r) { return r == DV_ROLE_LANDMARKER || r == DV_ROLE_EMBEDDER; }

static void dv_worker_drop_helpers(struct dv_worker *w)
{
	dv_par_free(w->par);
	w->par = NULL;
	for (int k = 0; k < w->n_helpers; k++)
		for (int r = 0; r < DV_ROLE_COUNT; r++)
			dv_instance_free(w->hinst[k][r]);
	free(w->hinst);
	w->hinst = NULL;
	w->n_helpers = 0;
}

static void dv_worker_drop(struct dv_worker *w)
{
	dv_worker_drop_helpers(w);
	for (int r = 0; r < DV_ROLE_COUNT; r++) {
		dv_instance_free(w->inst[r]);
		w->inst[r] = NULL;
	}
	dv_hooks_free(w->hooks);
	w->hooks = NULL;
	dv_gen_unref(w->gen);
	w->gen = NULL;
}

/* Switch the worker to generation g. Returns 0 when every plugin is up. */
static int dv_worker_switch(struct dv_worker *w, struct dv_gen *g)
{
	dv_worker_drop(w);
	w->gen = dv_gen_ref(g);
	w->err[0] = 0;
	for (int r = 0; r < DV_ROLE_COUNT; r++) {
		struct dv_module *m = g->mods[r];
		if (!m || (m->desc->flags & DV_PLUGIN_SHARED))
			continue;
		if (dv_instance_new(m, &w->inst[r], w->err, sizeof w->err) != 0) {
			clock_gettime(CLOCK_MONOTONIC, &w->failed_at);
			dv_err("worker cannot create plugin instance worker=%d role=%s reason=\"%s\"", w->index,
			    dv_role_name(r), w->err);
			atomic_store(&w->ready, 0);
			return -1;
		}
	}
	/* face_threads: helpers with instances of their own. Without them the
	 * worker still serves, on its own thread, and says so. */
	int nh = (int)g->conf->face_threads - 1;
	if (nh > 0) {
		w->hinst = calloc((size_t)nh, sizeof *w->hinst);
		int ok = w->hinst != NULL;
		w->n_helpers = ok ? nh : 0;
		for (int k = 0; ok && k < nh; k++)
			for (int r = 0; ok && r < DV_ROLE_COUNT; r++) {
				struct dv_module *m = g->mods[r];
				if (!dv_helper_role(r) || !m)
					continue;
				/* a shared instance (NULL here) serves every thread */
				if (!(m->desc->flags & DV_PLUGIN_SHARED) && dv_instance_new(m, &w->hinst[k][r], w->err, sizeof w->err) != 0)
					ok = 0;
			}
		if (ok)
			w->par = dv_par_new(nh, &w->srv->par_load);
		if (!ok || !w->par) {
			dv_warn("worker runs without face threads worker=%d face_threads=%d reason=\"%s\"", w->index,
			    nh + 1, ok ? "cannot start a thread" : w->err);
			dv_worker_drop_helpers(w);
			w->err[0] = 0;
		}
	}
	if (g->hooks) {
		w->hooks = dv_hooks_new(g->hooks, w->srv->hooklib, w->err, sizeof w->err);
		if (!w->hooks) {
			clock_gettime(CLOCK_MONOTONIC, &w->failed_at);
			dv_err("worker cannot load the hooks worker=%d reason=\"%s\"", w->index, w->err);
			atomic_store(&w->ready, 0);
			return -1;
		}
	}
	atomic_store(&w->ready, 1);
	dv_debug("worker switched generation worker=%d gen=%lu", w->index, g->id);
	return 0;
}

static void *dv_worker_main(void *arg)
{
	struct dv_worker *w = arg;
	struct dv_server *s = w->srv;
	struct dv_job *j;
	while ((j = dv_queue_pop(&s->queue)) != NULL) {
		dv_log_set_request(j->id);
		j->res.queue_ms = dv_ms_since(&j->t_start);
		/* A job never runs on an older generation than the worker has. A
		 * failed instantiation (a model gone missing) is retried at most
		 * once a second, not on every job: it means loading the models. */
		if (!w->gen || j->gen->id > w->gen->id)
			dv_worker_switch(w, j->gen);
		else if (!atomic_load(&w->ready) && dv_ms_since(&w->failed_at) >= 1000)
			dv_worker_switch(w, w->gen);
		if (!atomic_load(&w->ready) && dv_api_needs_plugins(j->req.api)) {
			dv_job_fail(j, DV_EPLUGIN, "plugins are unavailable on this worker: %s", w->err);
		} else {
			struct dv_ops_ctx oc = {.pipe = {.conf = w->gen->conf}, .store = w->store, .gallery = s->gallery,
			    .node = s->node, .async_pending = &s->async_pending, .hooks = w->hooks,
			    .keyuse = s->keyuse};
			for (int r = 0; r < DV_ROLE_COUNT; r++)
				oc.pipe.inst[r] = w->inst[r] ? w->inst[r] : w->gen->shared[r];
			oc.pipe.par = w->par;
			oc.pipe.hinst = w->hinst;
			struct timespec t0;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			atomic_fetch_add(&s->par_load.busy, 1);
			dv_ops_run(j, &oc);
			atomic_fetch_sub(&s->par_load.busy, 1);
			j->res.run_ms = dv_ms_since(&t0);
		}
		dv_log_set_request(0);
		dv_done_push(&s->done, j);
	}
	dv_worker_drop(w);
	dv_store_fini(w->store);
	free(w->store);
	w->store = NULL;
	return NULL;
}

int dv_workers_start(struct dv_server *s)
{
	s->workers = calloc((size_t)s->n_workers, sizeof *s->workers);
	if (!s->workers)
		return -1;
	atomic_init(&s->par_load.busy, 0);
	s->par_load.cpus = dv_par_cpus();
	for (int i = 0; i < s->n_workers; i++) {
		struct dv_worker *w = &s->workers[i];
		w->index = i;
		w->srv = s;
		atomic_init(&w->ready, 0);
		w->store = malloc(sizeof *w->store);
		if (!w->store)
			return -1;
		dv_store_init(w->store, s->gen->conf->database);
		dv_store_set_prepare(w->store, s->gen->conf->database_prepare);
		/* Instances are created before the thread starts so that readiness
		 * is known at once; the thread then owns them. */
		dv_worker_switch(w, s->gen);
		if (pthread_create(&w->tid, NULL, dv_worker_main, w) != 0) {
			dv_err("cannot start worker thread worker=%d", i);
			s->n_workers = i;
			return -1;
		}
		pthread_setname_np(w->tid, "dv-worker");
	}
	return 0;
}

void dv_workers_join(struct dv_server *s)
{
	dv_queue_close(&s->queue);
	for (int i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i].tid, NULL);
	free(s->workers);
	s->workers = NULL;
}
