/* dv_server.h — the daemon's state, shared by the loop-thread modules
 * (dv_server.c, dv_http.c, dv_tcp.c) and the workers (dv_worker.c). */
#ifndef DV_SERVER_H
#define DV_SERVER_H
#include "dv_gen.h"
#include "dv_guard.h"
#include "dv_metrics.h"
#include "dv_queue.h"
#include "dv_par.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct event_base;
struct evconnlistener;
struct dv_http_lis;
struct event;
struct dv_db_monitor;
struct sockaddr;
struct dv_job;
struct dv_store;
struct dv_gallery;

struct dv_worker {
	int index;
	pthread_t tid;
	struct dv_server *srv;
	struct dv_gen *gen;                        /* generation of inst[] */
	struct dv_instance *inst[DV_ROLE_COUNT];  /* own (non-shared) instances */
	struct dv_par *par;                        /* face_threads - 1 helpers, or NULL */
	struct dv_instance *(*hinst)[DV_ROLE_COUNT]; /* the helpers' landmarker and embedder */
	int n_helpers;                             /* of par and hinst */
	atomic_int ready;                          /* plugins instantiated */
	struct dv_store *store;                    /* this worker's database connection */
	struct dv_hooks *hooks;                    /* this worker's Lua state (generation gen), or NULL */
	struct timespec failed_at;                 /* last failed instantiation */
	char err[768];
};

struct dv_server {
	struct event_base *base;
	char *conf_path;
	struct dv_gen *gen;          /* current generation; loop thread only */
	unsigned long gen_seq;
	struct dv_queue queue;
	struct dv_done done;
	struct dv_worker *workers;
	int n_workers;
	struct dv_par_load par_load; /* workers running a request; the CPUs (face_threads) */
	struct dv_metrics metrics;   /* loop thread only */
	long long inflight;          /* loop thread only: accepted, not answered */

	/* HTTP (dv_http.c): the API listener and the operator listener */
	struct dv_http_lis *http, *ops;
	int http_port, ops_port;
	struct dv_guard guard;       /* connections per client address, HTTP and TCP together */
	/* TCP */
	struct evconnlistener *tcp_lis;
	long tcp_conns;
	int tcp_port;
	struct dv_tcp_conn *tcp_list; /* open connections */

	struct event *ev_term, *ev_int, *ev_hup, *ev_drain, *ev_trim, *ev_flush;
	struct timespec t_flush;
	bool draining;
	struct timespec t_start;
	struct dv_db_monitor *db;
	struct dv_gallery *gallery;  /* matcher <-> PostgreSQL (NULL without a database) */
	struct dv_hooklib *hooklib;  /* the tenants' stored hooks, shared by the workers */
	struct dv_keyuse *keyuse;    /* keys' rates, counters and the browsers' origins */
	struct dv_gen *pending;      /* a reloaded generation waiting for its gallery */
	struct timespec t_pending;
	struct event *ev_pending;
	struct event *ev_watch;      /* hooks.watch: the hook files' mtime, every second */
	long long hooks_mtime;
	atomic_int async_pending;    /* async jobs accepted, not finished */
	char node[128];
	const char *ports_file;
};

/* dv_server.c */
int dv_server_run(const char *conf_path, const char *ports_file);
/* Submit a job from a listener. Returns 0 (the server owns the job) or a
 * dv_err (the caller still owns it and answers the error). */
int dv_server_submit(struct dv_server *s, struct dv_job *j);
bool dv_server_ready(struct dv_server *s, char *why, size_t len);
void dv_server_gauges(struct dv_server *s, struct dv_gauges *g);

/* Resolve "host:port" and listen on it (port 0: any free port), calling cb
 * with s for each connection. Returns the listener and the bound port in
 * *port, or NULL with the reason logged under `what`. */
struct evconnlistener *dv_server_listen(struct dv_server *s, const char *what, const char *addr,
    void (*cb)(struct evconnlistener *, int, struct sockaddr *, int, void *), int *port);

/* dv_worker.c */
int dv_workers_start(struct dv_server *s);
void dv_workers_join(struct dv_server *s);

/* dv_http.c */
int dv_http_start(struct dv_server *s);
/* Close the API listener's socket (draining); the operator listener stays. */
void dv_http_stop_accepting(struct dv_server *s);
long dv_http_conns(const struct dv_http_lis *l);
void dv_http_free(struct dv_server *s);
/* Bytes of replies not yet written to sockets. */
size_t dv_http_pending_output(struct dv_server *s);
void dv_http_complete(struct dv_server *s, struct dv_job *j);

/* dv_tcp.c */
int dv_tcp_start(struct dv_server *s);
void dv_tcp_stop_accepting(struct dv_server *s);
void dv_tcp_free(struct dv_server *s);
size_t dv_tcp_pending_output(struct dv_server *s);
void dv_tcp_complete(struct dv_server *s, struct dv_job *j);
#endif
