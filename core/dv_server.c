/* dv_server.c — the daemon's main loop (the event-loop thread): builds the
 * first configuration generation, starts workers, listeners and the
 * database monitor, routes completed jobs back to the listener that owns
 * them, reloads on SIGHUP and drains on SIGTERM. */
#include "config.h"
#include "dv_api.h"
#include "dv_db.h"
#include "dv_err.h"
#include "dv_gallery.h"
#include "dv_hooks.h"
#include "dv_job.h"
#include "dv_log.h"
#include "dv_server.h"
#include "dv_alloc.h"
#include "dv_hooklib.h"
#include "dv_keyuse.h"
#include <event2/event.h>
#include <event2/listener.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <unistd.h>

void dv_server_gauges(struct dv_server *s, struct dv_gauges *g)
{
	memset(g, 0, sizeof *g);
	g->queue_depth = atomic_load(&s->queue.depth);
	g->queue_cap = s->queue.cap;
	g->workers = s->n_workers;
	for (int i = 0; i < s->n_workers; i++)
		g->workers_ready += atomic_load(&s->workers[i].ready);
	g->conns_http = dv_http_conns(s->http);
	g->conns_ops = dv_http_conns(s->ops);
	g->conns_tcp = s->tcp_conns;
	g->generation = s->gen->id;
	g->db_up = dv_db_monitor_up(s->db);
	g->inflight = s->inflight;
	g->uptime_s = dv_ms_since(&s->t_start) / 1000.0;
	g->rss_bytes = dv_rss_bytes();
	char why[8];
	g->ready = dv_server_ready(s, why, sizeof why);
	bool conn = false;
	dv_gallery_stats(s->gallery, &g->gallery_faces, &g->gallery_notes, &conn);
	g->gallery_connected = conn;
	if (s->hooklib)
		dv_hooklib_stats(s->hooklib, &g->hook_loads, &g->hook_changes, &g->hook_notified, &g->hook_tenants);
	g->async_pending = atomic_load(&s->async_pending);
	const struct dv_instance *mi = s->gen->shared[DV_ROLE_MATCHER];
	g->gallery_memory = mi && mi->mod->desc->matcher_memory ? mi->mod->desc->matcher_memory(mi->inst) : -1;
}

bool dv_server_ready(struct dv_server *s, char *why, size_t len)
{
	if (s->draining) {
		snprintf(why, len, "shutting down");
		return false;
	}
	if (!s->gen->conf->database[0]) {
		snprintf(why, len, "no database is configured");
		return false;
	}
	if (!dv_db_monitor_up(s->db)) {
		snprintf(why, len, "the database is unavailable");
		return false;
	}
	if (!atomic_load(&s->gen->gallery_ready)) {
		snprintf(why, len, "the gallery is loading from the database");
		return false;
	}
	for (int i = 0; i < s->n_workers; i++)
		if (!atomic_load(&s->workers[i].ready)) {
			snprintf(why, len, "worker %d has no working plugin instances: %s", i, s->workers[i].err);
			return false;
		}
	snprintf(why, len, "ok");
	return true;
}

int dv_server_submit(struct dv_server *s, struct dv_job *j)
{
	if (s->draining)
		return DV_ESHUTDOWN;
	int r = dv_queue_push(&s->queue, j);
	if (r == 0)
		s->inflight++;
	else if (r == DV_EOVERLOADED)
		s->metrics.rejected_overload++;
	return r;
}

static void dv_server_trim(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	/* Give freed request memory back to the system once idle, so that a
	 * burst does not leave the process at its peak size. */
	if (s->inflight == 0) {
		dv_alloc_trim();
		s->metrics.trims++;
		s->metrics.trimmed_since_job = 1;
	}
}

/* An async submission was acknowledged (202): queue its work, beyond the
 * queue's capacity if need be (bounded by limits.async_jobs). */
static void dv_server_spawn(struct dv_server *s, struct dv_job *sub)
{
	struct dv_job *j = dv_job_new(sub->spawn_api == DV_API_DETECT ? DV_OP_DETECT : DV_OP_RECOGNIZE, s->gen);
	if (!j) {
		dv_err("out of memory: async job lost job=%llu", (unsigned long long)sub->async_id);
		return;
	}
	j->req.api = sub->spawn_api;
	j->req.body = (uint8_t *)sub->spawn_body;
	j->req.body_len = sub->spawn_len;
	sub->spawn_body = NULL;
	j->req.ctype = strdup("application/json");
	j->tenant = sub->tenant;
	j->async_id = sub->async_id;
	j->req.path_id = sub->req.path_id;
	j->req.webhook = sub->req.webhook;
	sub->req.webhook = NULL;
	j->origin = DV_ORIGIN_ASYNC;
	j->route = DV_ROUTE_API;
	if (dv_queue_push_ex(&s->queue, j, true) == 0) {
		s->inflight++;
	} else {
		dv_warn("async job not run: shutting down job=%llu", (unsigned long long)j->async_id);
		atomic_fetch_sub(&s->async_pending, 1);
		dv_job_free(j);
	}
}

static void dv_server_done(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	struct dv_job *j = dv_done_take(&s->done);
	while (j) {
		struct dv_job *next = j->next;
		DV_CHECK_JOB(j);
		for (int st = 0; st < DV_STAGE_COUNT; st++)
			if (j->res.stage_ran[st])
				dv_hist_observe(&s->metrics.stage[st], j->res.stage_ms[st] / 1e3);
		dv_hist_observe(&s->metrics.queue_wait, j->res.queue_ms / 1e3);
		if (j->res.record_ms >= 0)
			dv_hist_observe(&s->metrics.record, j->res.record_ms / 1e3);
		dv_hist_observe(&s->metrics.request, dv_ms_since(&j->t_start) / 1e3);
		if (j->origin == DV_ORIGIN_HTTP)
			dv_http_complete(s, j);
		else if (j->origin == DV_ORIGIN_TCP)
			dv_tcp_complete(s, j);
		/* DV_ORIGIN_ASYNC: the worker stored the result (and called the webhook) */
		if (j->spawn_body && !j->res.err)
			dv_server_spawn(s, j);
		s->inflight--;
		s->metrics.trimmed_since_job = 0;
		dv_job_free(j);
		j = next;
	}
	if (s->inflight == 0) {
		struct timeval tv = {1, 0};
		event_add(s->ev_trim, &tv);
		if (s->draining) {
			dv_info("all in-flight jobs answered, exiting once replies are written");
			struct timeval now = {0, 0};
			event_add(s->ev_flush, &now);
		}
	}
}

/* While draining with nothing in flight: exit when every reply has left the
 * output buffers (or after 2 s for clients that do not read). */
static void dv_server_flush_check(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	size_t pending = dv_http_pending_output(s) + dv_tcp_pending_output(s);
	if (pending == 0 || dv_ms_since(&s->t_flush) > 2000) {
		if (pending)
			dv_warn("exiting with unsent replies bytes=%zu", pending);
		event_base_loopexit(s->base, NULL);
		return;
	}
	struct timeval tv = {0, 10000};
	event_add(s->ev_flush, &tv);
}

static void dv_server_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	dv_warn("drain timeout: exiting with jobs still in flight inflight=%lld", s->inflight);
	event_base_loopexit(s->base, NULL);
}

static void dv_server_term(evutil_socket_t sig, short what, void *arg)
{
	struct dv_server *s = arg;
	if (s->draining) {
		dv_warn("second termination signal: exiting now inflight=%lld", s->inflight);
		event_base_loopexit(s->base, NULL);
		return;
	}
	s->draining = true;
	dv_info("termination signal: draining signal=%d inflight=%lld", (int)sig, s->inflight);
	dv_http_stop_accepting(s);
	dv_tcp_stop_accepting(s);
	clock_gettime(CLOCK_MONOTONIC, &s->t_flush);
	if (s->inflight == 0) {
		struct timeval tv0 = {0, 0};
		event_add(s->ev_flush, &tv0);
		return;
	}
	long long ms = s->gen->conf->limits.drain_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(s->ev_drain, &tv);
}

static void dv_errs_log(const struct dv_conf_errs *e, const char *what)
{
	for (int i = 0; i < e->n; i++)
		dv_err("%s: %s", what, e->msg[i]);
}

/* A reloaded generation takes over once its matcher holds the gallery (so
 * that no request sees an empty one), or after 60 s whatever the state. */
static void dv_server_pending_check(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	struct dv_gen *g = s->pending;
	if (!g)
		return;
	bool late = dv_ms_since(&s->t_pending) > 60000;
	if (!atomic_load(&g->gallery_ready) && !late) {
		struct timeval tv = {0, 20000};
		event_add(s->ev_pending, &tv);
		return;
	}
	if (late)
		dv_warn("the reloaded generation's gallery is not loaded after 60 s; switching anyway gen=%lu", g->id);
	struct dv_gen *old = s->gen;
	s->gen = g;
	s->pending = NULL;
	dv_gen_unref(old);
	s->metrics.reloads_ok++;
	dv_info("configuration reloaded gen=%lu", g->id);
}

static void dv_server_reload(evutil_socket_t sig, short what, void *arg)
{
	struct dv_server *s = arg;
	dv_info("SIGHUP: reloading the configuration path=%s", s->conf_path);
	struct dv_conf_errs errs = {0};
	struct dv_conf *c = dv_conf_load(s->conf_path, &errs);
	struct dv_gen *g = NULL;
	/* the hook files as this reload reads them: hooks.watch reloads again
	 * only when they change after it, refused or not */
	if (c)
		s->hooks_mtime = dv_hooks_conf_mtime(c);
	if (c && errs.n == 0)
		dv_gen_build(c, s->gen_seq + 1, &g, &errs);
	else
		dv_conf_free(c);
	if (!g) {
		dv_errs_log(&errs, "reload refused");
		dv_err("configuration reload failed, keeping generation %lu errors=%d", s->gen->id, errs.n);
		s->metrics.reloads_failed++;
		dv_conf_errs_fini(&errs);
		return;
	}
	dv_conf_errs_fini(&errs);
	const struct dv_conf *o = s->gen->conf, *n = g->conf;
	if (strcmp(o->listen_http, n->listen_http) || strcmp(o->listen_tcp, n->listen_tcp) ||
	    strcmp(o->listen_ops, n->listen_ops) || o->workers != n->workers ||
	    strcmp(o->database, n->database))
		dv_warn("listen addresses, workers and database take effect only after a restart; the running values are kept");
	s->gen_seq++;
	dv_queue_set_cap(&s->queue, (int)n->limits.queue);
	dv_log_set_level(dv_log_level_parse(n->log_level));
	if (s->pending) {
		dv_warn("a reload was still loading its gallery; replaced by this one gen=%lu", s->pending->id);
		dv_gen_unref(s->pending);
	}
	s->pending = g;
	s->hooks_mtime = dv_hooks_conf_mtime(g->conf);
	clock_gettime(CLOCK_MONOTONIC, &s->t_pending);
	dv_gallery_serve(s->gallery, g);
	dv_server_pending_check(-1, 0, s);
}

/* hooks.watch: a changed hook file reloads as SIGHUP does (a file with a
 * syntax error is refused and the running hooks stay). */
static void dv_server_watch(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	const struct dv_conf *c = s->pending ? s->pending->conf : s->gen->conf;
	if (!c->hook_watch || s->draining)
		return;
	long long m = dv_hooks_conf_mtime(c);
	if (m != s->hooks_mtime) {
		s->hooks_mtime = m;
		dv_info("a hook file changed: reloading");
		dv_server_reload(-1, 0, s);
	}
}

static int dv_write_ports(struct dv_server *s)
{
	if (!s->ports_file)
		return 0;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", s->ports_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "http=%d\ntcp=%d\nops=%d\npid=%d\n", s->http_port, s->tcp_port, s->ops_port, (int)getpid());
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, s->ports_file);
}

struct evconnlistener *dv_server_listen(struct dv_server *s, const char *what, const char *addr,
    void (*cb)(struct evconnlistener *, int, struct sockaddr *, int, void *), int *port)
{
	char *host;
	int p;
	if (dv_conf_split_addr(addr, &host, &p) != 0)
		return NULL;
	struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = EVUTIL_AI_PASSIVE};
	struct evutil_addrinfo *ai = NULL;
	char ports[8];
	snprintf(ports, sizeof ports, "%d", p);
	int r = evutil_getaddrinfo(host, ports, &hints, &ai);
	free(host);
	if (r != 0 || !ai) {
		dv_err("cannot resolve the %s listen address addr=%s", what, addr);
		return NULL;
	}
	struct evconnlistener *l = evconnlistener_new_bind(s->base, cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (!l) {
		dv_err("cannot listen for %s addr=%s reason=\"%s\"", what, addr, strerror(errno));
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	return l;
}

static void dv_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int dv_server_run(const char *conf_path, const char *ports_file)
{
	struct dv_server srv, *s = &srv;
	memset(s, 0, sizeof *s);
	s->conf_path = (char *)conf_path;
	s->ports_file = ports_file;
	clock_gettime(CLOCK_MONOTONIC, &s->t_start);
	int rc = 1;

	struct dv_conf_errs errs = {0};
	struct dv_conf *c = dv_conf_load(conf_path, &errs);
	if (!c || errs.n) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		dv_conf_errs_fini(&errs);
		dv_conf_free(c);
		return 2;
	}
	dv_log_set_level(dv_log_level_parse(c->log_level));
	if (dv_gen_build(c, 1, &s->gen, &errs) != 0) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		dv_conf_errs_fini(&errs);
		return 2;
	}
	s->gen_seq = 1;
	const struct dv_conf *conf = s->gen->conf;

	signal(SIGPIPE, SIG_IGN);
	dv_raise_nofile();
	dv_alloc_setup(); /* before any thread: dv_alloc.c */
	if (evthread_use_pthreads() != 0) {
		dv_err("libevent has no pthreads support");
		goto out_gen;
	}
	s->base = event_base_new();
	if (!s->base || dv_queue_init(&s->queue, (int)conf->limits.queue) != 0 || dv_done_init(&s->done) != 0)
		goto out_gen;
	s->done.ev = event_new(s->base, -1, EV_PERSIST | EV_READ, dv_server_done, s);
	s->ev_term = evsignal_new(s->base, SIGTERM, dv_server_term, s);
	s->ev_int = evsignal_new(s->base, SIGINT, dv_server_term, s);
	s->ev_hup = evsignal_new(s->base, SIGHUP, dv_server_reload, s);
	s->ev_drain = evtimer_new(s->base, dv_server_drain_timeout, s);
	s->ev_trim = evtimer_new(s->base, dv_server_trim, s);
	s->ev_flush = evtimer_new(s->base, dv_server_flush_check, s);
	s->ev_pending = evtimer_new(s->base, dv_server_pending_check, s);
	s->ev_watch = event_new(s->base, -1, EV_PERSIST, dv_server_watch, s);
	s->hooks_mtime = dv_hooks_conf_mtime(conf);
	if (s->ev_watch) {
		struct timeval one = {1, 0};
		event_add(s->ev_watch, &one);
	}
	if (!s->done.ev || !s->ev_term || !s->ev_int || !s->ev_hup || !s->ev_drain || !s->ev_trim || !s->ev_flush ||
	    !s->ev_pending)
		goto out_base;
	event_add(s->ev_term, NULL);
	event_add(s->ev_int, NULL);
	event_add(s->ev_hup, NULL);

	if (conf->node[0])
		snprintf(s->node, sizeof s->node, "%s", conf->node);
	else if (gethostname(s->node, sizeof s->node - 1) != 0)
		snprintf(s->node, sizeof s->node, "dejaviewd");
	atomic_init(&s->async_pending, 0);
	s->hooklib = dv_hooklib_new();
	s->keyuse = dv_keyuse_new();
	if (!s->hooklib || !s->keyuse)
		goto out_base;
	if (conf->database[0]) {
		s->db = dv_db_monitor_start(conf->database, conf->migrate_on_start);
		s->gallery = dv_gallery_start(conf->database, s->node, s->hooklib, s->keyuse);
	} else {
		dv_warn("no database is configured: /readyz will answer 503");
	}
	dv_gallery_serve(s->gallery, s->gen);
	/* one worker per core: more only queue for the same cores (make bench,
	 * 2 cores: 2 workers 74 recognitions/s, 3 workers 73, 4 workers 70) */
	cpu_set_t set;
	long cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
	s->n_workers = conf->workers ? (int)conf->workers : cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
	if (dv_workers_start(s) != 0)
		goto out_workers;
	if (dv_http_start(s) != 0 || dv_tcp_start(s) != 0)
		goto out_listen;
	if (dv_write_ports(s) != 0)
		dv_warn("cannot write the ports file path=%s", ports_file);
	dv_info("dejaviewd %s started workers=%d gen=%lu config=%s allocator=\"%s\"", PACKAGE_VERSION, s->n_workers,
	    s->gen->id, conf_path, dv_alloc_name());

	event_base_dispatch(s->base);
	rc = 0;
	dv_info("event loop stopped inflight=%lld", s->inflight);

out_listen:
	dv_http_stop_accepting(s);
	dv_tcp_stop_accepting(s);
out_workers:
	dv_workers_join(s);
	/* Jobs finished after the loop stopped (drain timeout) are not
	 * answered; free them before the listeners free their connections. */
	for (struct dv_job *j = dv_done_take(&s->done), *n; j; j = n) {
		n = j->next;
		dv_job_free(j);
	}
	dv_http_free(s);
	dv_tcp_free(s);
	dv_guard_fini(&s->guard);
	dv_gallery_stop(s->gallery);
	dv_gen_unref(s->pending);
	dv_db_monitor_stop(s->db);
out_base:
	dv_hooklib_free(s->hooklib);
	s->hooklib = NULL;
	dv_keyuse_free(s->keyuse);
	s->keyuse = NULL;
	if (s->done.ev)
		event_free(s->done.ev);
	if (s->ev_term)
		event_free(s->ev_term);
	if (s->ev_int)
		event_free(s->ev_int);
	if (s->ev_hup)
		event_free(s->ev_hup);
	if (s->ev_drain)
		event_free(s->ev_drain);
	if (s->ev_trim)
		event_free(s->ev_trim);
	if (s->ev_flush)
		event_free(s->ev_flush);
	if (s->ev_pending)
		event_free(s->ev_pending);
	if (s->ev_watch)
		event_free(s->ev_watch);
	dv_done_fini(&s->done);
	dv_queue_fini(&s->queue);
	if (s->base)
		event_base_free(s->base);
out_gen:
	dv_gen_unref(s->gen);
	if (ports_file)
		unlink(ports_file);
	return rc;
}
