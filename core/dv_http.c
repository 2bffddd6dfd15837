/* dv_http.c — the HTTP/1.1 listeners, on the loop thread: the API listener
 * (listen.http) and the operator listener (listen.ops, /healthz, /readyz and
 * /metrics only, with connection slots of its own). Accepts connections
 * within the limits (per listener, per client address), reads each request
 * under deadlines (its head within limits.header_timeout_ms of its first
 * byte, its body within limits.body_timeout_ms plus its size at
 * limits.body_min_rate), routes it, answers health, readiness and metrics at
 * once, turns API requests into jobs, and writes every reply — success or
 * JSON error — when jobs complete. This file and dv_tcp.c are the only
 * places that write replies; dv_http1.c frames the bytes.
 *
 * A connection is in one state at a time: HEAD (reading a request line and
 * headers), BODY, WAIT (its request is a job: reading is paused, so a
 * client cannot pile up data meanwhile), WRITE (the reply is leaving),
 * IDLE (keep-alive, limits.idle_timeout_ms), or LINGER (an error reply was
 * sent with the request unread: the write side is shut and what the client
 * still sends is read and dropped for a moment, so that the reply is not
 * lost to a reset). */
#include "dv_api.h"
#include "dv_buf.h"
#include "dv_err.h"
#include "dv_guard.h"
#include "dv_http1.h"
#include "dv_keyuse.h"
#include "dv_job.h"
#include "dv_keys.h"
#include "dv_log.h"
#include "dv_server.h"
#include "dv_web.h"
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DV_HTTP_MAGIC 0x48545031u /* "HTP1" */
#define DV_HTTP_MAX_HEAD (64 * 1024)
#define DV_LINGER_MS 2000
#define DV_LINGER_BYTES (1 << 20)

enum { HC_HEAD, HC_BODY, HC_WAIT, HC_WRITE, HC_IDLE, HC_LINGER };

struct dv_http_lis {
	struct dv_server *s;
	struct evconnlistener *l; /* NULL once closed */
	bool ops;                 /* the operator listener */
	const char *name;         /* "http" or "ops" */
	long conns;
	struct dv_guard *guard;   /* per-address counts: the server's (shared with TCP), or the ops listener's own */
	struct dv_guard own_guard;
	struct dv_http_conn *list;
};

struct dv_http_conn {
	uint32_t magic;
	struct dv_server *s;
	struct dv_http_lis *lis;
	struct bufferevent *bev;  /* NULL once closed */
	struct event *timer;      /* the current phase's deadline */
	uint64_t addr_key;
	char addr[64];            /* the client's address (the audit log) */
	int state;
	bool started;             /* bytes of the current request have arrived */
	bool close_after;         /* close once the reply is written */
	bool linger;              /* ...after lingering (the request was not read whole) */
	bool head_only;           /* a HEAD request: no body in the reply */
	bool have_req;
	struct dv_http1_req req;
	struct dv_http1_chunked ch;
	struct dv_buf cbody;      /* a chunked body, decoded */
	size_t raw;               /* body bytes received, as sent */
	double t_phase;           /* monotonic ms: when the phase began */
	size_t lingered;
	struct dv_buf hdrs;       /* extra header lines of the reply being built */
	int inflight;             /* 1 while its request is a job */
	struct dv_http_conn *prev, *next;
};

static atomic_ullong dv_http_ids = 1ULL << 40; /* distinct from job ids */
extern const char dv_openapi_yaml[]; /* docs/openapi.yaml, compiled in (dv_openapi.c) */

static double dv_mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void dv_http_arm(struct dv_http_conn *c, double deadline)
{
	double ms = deadline - dv_mono_ms();
	if (ms < 0)
		ms = 0;
	struct timeval tv = {(long)(ms / 1000), (long)((long long)ms % 1000) * 1000};
	event_add(c->timer, &tv);
}

static void dv_http_process(struct dv_http_conn *c);

/* ---------------------------------------------------------------- connections */

static void dv_http_unlink(struct dv_http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->lis->list == c)
		c->lis->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static long dv_http_limit(const struct dv_http_lis *L)
{
	const struct dv_conf *conf = L->s->gen->conf;
	return L->ops ? conf->limits.ops_connections : conf->limits.connections;
}

/* At the limit the listener stops accepting: new clients wait in the
 * kernel's backlog, as with nginx's worker_connections and HAProxy's maxconn,
 * and are served as connections close. */
static void dv_http_limit_check(struct dv_http_lis *L)
{
	if (!L->l)
		return;
	if (L->conns >= dv_http_limit(L))
		evconnlistener_disable(L->l);
	else
		evconnlistener_enable(L->l);
}

/* Close the socket; the struct lives on until its job completes. */
static void dv_http_close(struct dv_http_conn *c)
{
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		event_free(c->timer);
		c->timer = NULL;
		dv_guard_release(c->lis->guard, c->addr_key);
		c->lis->conns--;
		dv_http_unlink(c);
		dv_http_limit_check(c->lis);
		dv_http1_req_fini(&c->req);
		dv_buf_fini(&c->cbody);
		dv_buf_fini(&c->hdrs);
	}
	if (c->inflight == 0) {
		c->magic = 0;
		free(c);
	}
}

static void dv_http_hdr(struct dv_http_conn *c, const char *name, const char *value)
{
	dv_buf_printf(&c->hdrs, "%s: %s\r\n", name, value);
}

/* Write a reply; the connection goes on once it has left (dv_http_written). */
static void dv_http_send(struct dv_http_conn *c, int route, int status, const char *ctype, const char *body,
    size_t len, unsigned long long rid)
{
	struct dv_server *s = c->s;
	if (!c->bev)
		return;
	if (s->draining && !c->lis->ops)
		c->close_after = true;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\nX-Request-Id: %llu\r\n%s%s\r\n",
	    status, dv_http1_reason(status), ctype, len, rid, c->hdrs.data ? c->hdrs.data : "",
	    c->close_after ? "Connection: close\r\n" : (c->have_req && c->req.version == 10 ? "Connection: keep-alive\r\n" : ""));
	if (!c->head_only && len)
		evbuffer_add(out, body, len);
	dv_buf_reset(&c->hdrs);
	dv_metrics_request(&s->metrics, route, status);
	dv_http1_req_fini(&c->req);
	c->have_req = false;
	c->state = HC_WRITE;
	event_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* The one place that maps an error to an HTTP reply. */
static void dv_http_send_error(struct dv_http_conn *c, int route, int err, const char *msg, unsigned long long rid)
{
	struct dv_buf b;
	dv_buf_init(&b);
	dv_err_json(&b, err, msg);
	if (err == DV_EOVERLOADED || err == DV_ESHUTDOWN || err == DV_EDBUNAVAIL || err == DV_EPLUGIN ||
	    err == DV_EADDRLIMIT)
		dv_http_hdr(c, "Retry-After", "1");
	if (err == DV_ESHUTDOWN)
		c->close_after = true;
	dv_http_send(c, route, dv_err_http_status(err), "application/json", b.data ? b.data : "{}", b.data ? b.len : 2, rid);
	dv_buf_fini(&b);
}

/* A request that cannot be read on: answer, then close (lingering). */
static void dv_http_fail(struct dv_http_conn *c, int err, const char *msg)
{
	c->close_after = true;
	c->linger = true;
	dv_http_send_error(c, DV_ROUTE_OTHER, err, msg, atomic_fetch_add(&dv_http_ids, 1));
}

static void dv_http_send_json(struct dv_http_conn *c, int route, int status, const struct dv_buf *b,
    unsigned long long rid)
{
	dv_http_send(c, route, status, "application/json", b->data ? b->data : "{}", b->data ? b->len : 2, rid);
}

/* ---------------------------------------------------------------- requests */

static int dv_http_method(const char *m)
{
	static const struct { const char *name; int bit; } ms[] = {{"GET", DV_M_GET}, {"POST", DV_M_POST},
	    {"PATCH", DV_M_PATCH}, {"DELETE", DV_M_DELETE}, {"PUT", DV_M_PUT}, {"HEAD", DV_M_HEAD}};
	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
		if (!strcmp(m, ms[i].name))
			return ms[i].bit;
	return 0;
}

static void dv_http_allow(struct dv_http_conn *c, int allow)
{
	char a[64] = "";
	static const struct { int bit; const char *name; } m[] = {
	    {DV_M_GET, "GET"}, {DV_M_HEAD, "HEAD"}, {DV_M_POST, "POST"}, {DV_M_PUT, "PUT"}, {DV_M_PATCH, "PATCH"},
	    {DV_M_DELETE, "DELETE"}};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (allow & m[i].bit)
			snprintf(a + strlen(a), sizeof a - strlen(a), "%s%s", a[0] ? ", " : "", m[i].name);
	dv_http_hdr(c, "Allow", a);
}

static char *dv_strdup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Every /v1 operation: a job with the request's bytes, run by a worker
 * (dv_ops.c), which authenticates the key against the database. The body
 * (malloc'd or NULL) is the job's or freed here. */
static void dv_http_api(struct dv_http_conn *c, int op, uint64_t id, const char *name, uint8_t *body, size_t n)
{
	struct dv_server *s = c->s;
	int route = op == DV_API_RECOGNIZE ? DV_ROUTE_RECOGNIZE : op == DV_API_DETECT ? DV_ROUTE_DETECT : DV_ROUTE_API;
	unsigned long long rid = atomic_fetch_add(&dv_http_ids, 1);
	if (s->draining) {
		free(body);
		dv_http_send_error(c, route, DV_ESHUTDOWN, NULL, rid);
		return;
	}
	const char *key = dv_key_from_header(dv_http1_field(&c->req, "Authorization"), dv_http1_field(&c->req, "X-API-Key"));
	bool admin = false;
	if (dv_api_is_admin(op)) {
		const char *want = s->gen->conf->admin_key_sha256;
		if (!want || !want[0]) {
			free(body);
			dv_http_send_error(c, route, DV_EFORBIDDEN,
			    "the admin API is disabled: set admin.key_sha256 in the configuration (dejaviewd admin key)", rid);
			return;
		}
		char got[65];
		dv_key_hash_hex(key ? key : "", got);
		if (!key || strlen(want) != 64 || !dv_key_equal(got, want, 64)) {
			free(body);
			dv_http_hdr(c, "WWW-Authenticate", "Bearer");
			dv_http_send_error(c, route, DV_EUNAUTHORIZED, "this operation needs the admin key", rid);
			return;
		}
		admin = true;
	} else if ((!key || !*key) && !dv_api_is_open(op)) {
		free(body);
		dv_http_hdr(c, "WWW-Authenticate", "Bearer");
		dv_http_send_error(c, route, DV_EUNAUTHORIZED, "send an API key: Authorization: Bearer <key> (or X-API-Key)", rid);
		return;
	}
	int pop = op == DV_API_DETECT ? DV_OP_DETECT : DV_OP_RECOGNIZE;
	struct dv_job *j = dv_job_new(pop, s->gen);
	if (!j) {
		free(body);
		dv_http_send_error(c, route, DV_ENOMEM, NULL, rid);
		return;
	}
	j->req.body = body ? body : malloc(1);
	j->req.body_len = body ? n : 0;
	j->req.api = op;
	j->req.path_id = id;
	snprintf(j->req.path_name, sizeof j->req.path_name, "%s", name);
	snprintf(j->req.peer, sizeof j->req.peer, "%s", c->addr);
	j->req.admin = admin;
	j->req.key = dv_strdup_or_null(admin ? NULL : key);
	j->req.ctype = dv_strdup_or_null(dv_http1_field(&c->req, "Content-Type"));
	const char *origin = dv_http1_field(&c->req, "Origin");
	if (origin)
		snprintf(j->req.origin, sizeof j->req.origin, "%s", origin);
	j->req.query = dv_strdup_or_null(c->req.query);
	j->origin = DV_ORIGIN_HTTP;
	j->origin_ptr = c;
	j->route = route;
	int r = dv_server_submit(s, j);
	if (r != 0) {
		dv_http_send_error(c, route, r, NULL, j->id);
		dv_job_free(j);
		return;
	}
	c->inflight = 1;
	/* the connection waits (reading paused) until dv_http_complete */
}

void dv_http_complete(struct dv_server *s, struct dv_job *j)
{
	struct dv_http_conn *c = j->origin_ptr;
	dv_check_magic(c->magic, DV_HTTP_MAGIC, __FILE__, __LINE__);
	c->inflight = 0;
	if (!c->bev) {
		dv_http_close(c); /* the client went away meanwhile: free it now */
		return;
	}
	if (j->res.err == DV_EUNAUTHORIZED)
		dv_http_hdr(c, "WWW-Authenticate", "Bearer");
	if (j->res.cors_origin[0]) {
		/* the key allows this browser origin (a publishable key's list) */
		dv_http_hdr(c, "Access-Control-Allow-Origin", j->res.cors_origin);
		dv_http_hdr(c, "Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
		dv_http_hdr(c, "Vary", "Origin");
	}
	if (j->res.err == DV_ERATELIMITED) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", j->res.retry_after > 0 ? j->res.retry_after : 1);
		dv_http_hdr(c, "Retry-After", ra);
	}
	if (j->res.err)
		dv_http_send_error(c, j->route, j->res.err, j->res.errmsg, j->id);
	else if (j->res.status == 204)
		dv_http_send(c, j->route, 204, "application/json", "", 0, j->id);
	else
		dv_http_send(c, j->route, j->res.status ? j->res.status : 200,
		    j->res.reply_ctype ? j->res.reply_ctype : "application/json",
		    j->res.reply.data ? j->res.reply.data : "{}", j->res.reply.data ? j->res.reply.len : 2, j->id);
	(void)s;
}

static void dv_http_readyz(struct dv_http_conn *c, unsigned long long rid)
{
	struct dv_server *s = c->s;
	char why[256];
	bool ok = dv_server_ready(s, why, sizeof why);
	struct dv_gauges g;
	dv_server_gauges(s, &g);
	struct dv_buf b;
	dv_buf_init(&b);
	struct dv_json j;
	dv_json_init(&j, &b);
	dv_json_obj_open(&j);
	dv_json_key(&j, "ready");
	dv_json_bool(&j, ok);
	if (!ok) {
		dv_json_key(&j, "reason");
		dv_json_str(&j, why);
	}
	dv_json_key(&j, "database");
	dv_json_str(&j, !s->gen->conf->database[0] ? "not configured" : g.db_up ? "up" : "down");
	dv_json_key(&j, "workers");
	dv_json_int(&j, g.workers);
	dv_json_key(&j, "workers_ready");
	dv_json_int(&j, g.workers_ready);
	dv_json_key(&j, "generation");
	dv_json_uint(&j, g.generation);
	dv_json_key(&j, "plugins");
	dv_json_obj_open(&j);
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (s->gen->mods[r]) {
			dv_json_key(&j, dv_role_name(r));
			dv_json_str(&j, s->gen->mods[r]->desc->name);
		}
	dv_json_obj_close(&j);
	dv_json_obj_close(&j);
	dv_http_send_json(c, DV_ROUTE_READYZ, ok ? 200 : 503, &b, rid);
	dv_buf_fini(&b);
}

extern const char dv_sdk_js[]; /* web/sdk/dejaview.js, compiled in (dv_sdk.c) */

/* A CORS preflight of /v1 (OPTIONS with Access-Control-Request-Method): the
 * browser asks before sending a key in a header. Answered for the origins of
 * publishable keys only (any tenant's: the request itself is then checked
 * against its own key's list); other origins get no CORS headers, so the
 * browser sends nothing. */
static void dv_http_preflight(struct dv_http_conn *c, unsigned long long rid)
{
	const char *origin = dv_http1_field(&c->req, "Origin");
	if (origin && dv_http1_field(&c->req, "Access-Control-Request-Method") &&
	    dv_keyuse_origin_known(c->s->keyuse, origin)) {
		dv_http_hdr(c, "Access-Control-Allow-Origin", origin);
		dv_http_hdr(c, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
		dv_http_hdr(c, "Access-Control-Allow-Headers", "Authorization, X-API-Key, Content-Type");
		dv_http_hdr(c, "Access-Control-Max-Age", "600");
	}
	dv_http_hdr(c, "Vary", "Origin");
	dv_http_send(c, DV_ROUTE_API, 204, "application/json", "", 0, rid);
}

/* One whole request (head parsed, body read): answer it or make it a job. */
static void dv_http_handle(struct dv_http_conn *c, uint8_t *body, size_t blen)
{
	struct dv_server *s = c->s;
	const char *path = c->req.path;
	int method = dv_http_method(c->req.method);
	bool get = method == DV_M_GET || method == DV_M_HEAD;
	unsigned long long rid;
	if (!c->lis->ops && !strcmp(c->req.method, "OPTIONS") && !strncmp(path, "/v1/", 4)) {
		free(body);
		dv_http_preflight(c, atomic_fetch_add(&dv_http_ids, 1));
		return;
	}
	if (!c->lis->ops && get && !strcmp(path, "/sdk/v1/dejaview.js")) {
		/* the browser SDK: any page may include it */
		free(body);
		dv_http_hdr(c, "Access-Control-Allow-Origin", "*");
		dv_http_hdr(c, "Cross-Origin-Resource-Policy", "cross-origin");
		dv_http_hdr(c, "X-Content-Type-Options", "nosniff");
		dv_http_hdr(c, "Cache-Control", "public, max-age=3600");
		dv_http_send(c, DV_ROUTE_API, 200, "text/javascript; charset=utf-8", dv_sdk_js, strlen(dv_sdk_js),
		    atomic_fetch_add(&dv_http_ids, 1));
		return;
	}
	if (!c->lis->ops && !strncmp(path, "/v1/", 4) && strcmp(path, "/v1/openapi.yaml")) {
		uint64_t id;
		int allow;
		char name[DV_API_NAME_MAX];
		int op = dv_api_route(method, path, &id, name, &allow);
		if (op > 0) {
			dv_http_api(c, op, id, name, body, blen);
			return;
		}
		free(body);
		rid = atomic_fetch_add(&dv_http_ids, 1);
		int route = !strcmp(path, "/v1/recognize") ? DV_ROUTE_RECOGNIZE : !strcmp(path, "/v1/detect") ? DV_ROUTE_DETECT
		                                                                                             : DV_ROUTE_API;
		char msg[200];
		if (op < 0) {
			dv_http_allow(c, allow);
			snprintf(msg, sizeof msg, "%.100s does not take this method", path);
			dv_http_send_error(c, route, DV_EMETHOD, msg, rid);
		} else {
			snprintf(msg, sizeof msg, "no such resource: %.100s", path);
			dv_http_send_error(c, route, DV_ENOTFOUND, msg, rid);
		}
		return;
	}
	free(body);
	rid = atomic_fetch_add(&dv_http_ids, 1);
	if (!c->lis->ops && !strcmp(path, "/v1/openapi.yaml")) {
		if (!get) {
			dv_http_allow(c, DV_M_GET | DV_M_HEAD);
			dv_http_send_error(c, DV_ROUTE_API, DV_EMETHOD, NULL, rid);
			return;
		}
		dv_http_send(c, DV_ROUTE_API, 200, "application/yaml", dv_openapi_yaml, strlen(dv_openapi_yaml), rid);
		return;
	}
	const struct dv_web_file *wf = c->lis->ops ? NULL : dv_web_find(s->gen->web, path);
	if (wf && get) {
		/* the front-desk page: our own files only, from memory */
		dv_http_hdr(c, "X-Content-Type-Options", "nosniff");
		dv_http_hdr(c, "Referrer-Policy", "no-referrer");
		dv_http_hdr(c, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
		    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
		dv_http_send(c, DV_ROUTE_OTHER, 200, wf->ctype, wf->data, wf->len, rid);
		return;
	}
	int route = !strcmp(path, "/healthz") ? DV_ROUTE_HEALTHZ
	          : !strcmp(path, "/readyz")  ? DV_ROUTE_READYZ
	          : !strcmp(path, "/metrics") ? DV_ROUTE_METRICS
	                                      : DV_ROUTE_OTHER;
	if (route == DV_ROUTE_OTHER) {
		char msg[200];
		if (c->lis->ops)
			snprintf(msg, sizeof msg, "no such resource: %.100s (the operator listener serves /healthz, /readyz and /metrics)",
			    path);
		else
			snprintf(msg, sizeof msg, "no such resource: %.100s", path);
		dv_http_send_error(c, route, DV_ENOTFOUND, msg, rid);
		return;
	}
	if (!get) {
		dv_http_hdr(c, "Allow", "GET, HEAD");
		dv_http_send_error(c, route, DV_EMETHOD, NULL, rid);
		return;
	}
	if (route == DV_ROUTE_HEALTHZ) {
		static const char ok[] = "{\"status\":\"ok\"}";
		dv_http_send(c, route, 200, "application/json", ok, sizeof ok - 1, rid);
	} else if (route == DV_ROUTE_READYZ) {
		dv_http_readyz(c, rid);
	} else {
		struct dv_gauges g;
		dv_server_gauges(s, &g);
		struct dv_buf b;
		dv_buf_init(&b);
		/* count this scrape before rendering so it is included */
		dv_metrics_request(&s->metrics, DV_ROUTE_METRICS, 200);
		dv_metrics_render(&s->metrics, &g, &b);
		dv_keyuse_metrics(s->keyuse, &b);
		s->metrics.requests[DV_ROUTE_METRICS][200]--;
		dv_http_send(c, route, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len, rid);
		dv_buf_fini(&b);
	}
}

/* ---------------------------------------------------------------- reading */

static void dv_http_dispatch(struct dv_http_conn *c, uint8_t *body, size_t n)
{
	c->state = HC_WAIT;
	event_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	dv_http_handle(c, body, n);
}

static int dv_http_status_err(long status)
{
	switch (status) {
	case 414: return DV_EURITOOLONG;
	case 431: return DV_EHEADTOOLARGE;
	case 417: return DV_EEXPECT;
	case 501: return DV_ENOTIMPL;
	case 505: return DV_EHTTPVERSION;
	case 503: return DV_ENOMEM;
	default: return DV_EBADREQUEST;
	}
}

/* The body's deadline: its grace, plus one second per body_min_rate bytes received. */
static void dv_http_body_deadline(struct dv_http_conn *c)
{
	const struct dv_conf *conf = c->s->gen->conf;
	dv_http_arm(c, c->t_phase + (double)conf->limits.body_timeout_ms +
	                   (double)c->raw * 1000.0 / (double)conf->limits.body_min_rate);
}

/* The head has been parsed: decide how the body comes, or dispatch. */
static void dv_http_headed(struct dv_http_conn *c)
{
	const struct dv_conf *conf = c->s->gen->conf;
	c->have_req = true;
	c->head_only = !strcmp(c->req.method, "HEAD");
	c->close_after = !c->req.keep_alive;
	if (c->req.content_length > conf->limits.body_bytes) {
		char msg[160];
		snprintf(msg, sizeof msg, "the request body of %lld bytes exceeds the limit of %lld (limits.body_bytes)",
		    c->req.content_length, conf->limits.body_bytes);
		dv_http_fail(c, DV_ETOOLARGE, msg);
		return;
	}
	if (c->req.chunked || c->req.content_length > 0) {
		c->state = HC_BODY;
		c->t_phase = dv_mono_ms();
		c->raw = 0;
		memset(&c->ch, 0, sizeof c->ch);
		dv_buf_reset(&c->cbody);
		dv_http_body_deadline(c);
		if (c->req.expect_continue && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		return;
	}
	dv_http_dispatch(c, NULL, 0);
}

static void dv_http_process(struct dv_http_conn *c)
{
	const struct dv_conf *conf = c->s->gen->conf;
	while (c->bev) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		size_t avail = evbuffer_get_length(in);
		switch (c->state) {
		case HC_LINGER:
			c->lingered += avail;
			evbuffer_drain(in, avail);
			if (c->lingered > DV_LINGER_BYTES)
				dv_http_close(c);
			return;
		case HC_WAIT:
		case HC_WRITE:
			return;
		case HC_IDLE:
			if (!avail)
				return;
			c->state = HC_HEAD;
			c->t_phase = dv_mono_ms();
			dv_http_arm(c, c->t_phase + (double)conf->limits.header_timeout_ms);
			break;
		case HC_HEAD: {
			if (!avail)
				return;
			c->started = true;
			size_t want = avail < DV_HTTP_MAX_HEAD + 1 ? avail : DV_HTTP_MAX_HEAD + 1;
			const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
			const char *why = NULL;
			long r = dv_http1_parse(p, want, DV_HTTP_MAX_HEAD, &c->req, &why);
			if (r == 0)
				return;
			if (r < 0) {
				dv_http_fail(c, dv_http_status_err(-r), why);
				return;
			}
			evbuffer_drain(in, (size_t)r);
			dv_http_headed(c);
			break;
		}
		case HC_BODY:
			if (c->req.chunked) {
				int rc = DV_CHUNKED_MORE;
				while (rc == DV_CHUNKED_MORE && evbuffer_get_length(in) > 0) {
					struct evbuffer_iovec v;
					if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
						break;
					size_t used = 0;
					rc = dv_http1_chunked_feed(&c->ch, v.iov_base, v.iov_len, &c->cbody,
					    (size_t)conf->limits.body_bytes, &used);
					evbuffer_drain(in, used);
					c->raw += used;
				}
				if (rc == DV_CHUNKED_EBAD) {
					dv_http_fail(c, DV_EBADREQUEST, "the chunked body is malformed");
					return;
				}
				if (rc == DV_CHUNKED_ETOOLARGE) {
					char msg[120];
					snprintf(msg, sizeof msg, "the request body exceeds the limit of %lld bytes (limits.body_bytes)",
					    conf->limits.body_bytes);
					dv_http_fail(c, DV_ETOOLARGE, msg);
					return;
				}
				if (rc == DV_CHUNKED_MORE) {
					dv_http_body_deadline(c);
					return;
				}
				size_t n = 0;
				uint8_t *body = (uint8_t *)dv_buf_steal(&c->cbody, &n);
				dv_http_dispatch(c, body, n);
			} else {
				size_t want = (size_t)c->req.content_length;
				if (avail < want) {
					c->raw = avail;
					dv_http_body_deadline(c);
					return;
				}
				uint8_t *body = malloc(want);
				if (!body) {
					dv_http_fail(c, DV_ENOMEM, NULL);
					return;
				}
				evbuffer_remove(in, body, want);
				dv_http_dispatch(c, body, want);
			}
			break;
		}
	}
}

static void dv_http_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	dv_http_process(arg);
}

/* The reply has left: close, linger, or wait for the next request. */
static void dv_http_written(struct bufferevent *bev, void *arg)
{
	struct dv_http_conn *c = arg;
	if (c->state != HC_WRITE)
		return;
	if (c->close_after) {
		if (!c->linger) {
			dv_http_close(c);
			return;
		}
		/* shut our side, drop what the client still sends, close at EOF or soon */
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		c->state = HC_LINGER;
		c->lingered = 0;
		bufferevent_enable(bev, EV_READ);
		dv_http_arm(c, dv_mono_ms() + DV_LINGER_MS);
		dv_http_process(c);
		return;
	}
	c->state = HC_IDLE;
	c->started = false;
	dv_http_arm(c, dv_mono_ms() + (double)c->s->gen->conf->limits.idle_timeout_ms);
	bufferevent_enable(bev, EV_READ);
	dv_http_process(c); /* a pipelined request may be waiting */
}

static void dv_http_event(struct bufferevent *bev, short what, void *arg)
{
	struct dv_http_conn *c = arg;
	(void)bev;
	if ((what & BEV_EVENT_EOF) && c->state == HC_WAIT) {
		/* the client closed its side after the request: answer, then close */
		c->close_after = true;
		return;
	}
	/* EOF, an error, or a reply the client does not read (write timeout) */
	if (what & BEV_EVENT_TIMEOUT)
		c->s->metrics.http_timeouts[DV_HTTP_TIMEOUT_WRITE]++;
	dv_http_close(c);
}

static void dv_http_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dv_http_conn *c = arg;
	const struct dv_conf *conf = c->s->gen->conf;
	(void)fd;
	(void)what;
	char msg[200];
	switch (c->state) {
	case HC_HEAD:
		if (!c->started) {
			/* a connection that never sent a byte */
			c->s->metrics.http_timeouts[DV_HTTP_TIMEOUT_IDLE]++;
			dv_http_close(c);
			return;
		}
		c->s->metrics.http_timeouts[DV_HTTP_TIMEOUT_HEADER]++;
		snprintf(msg, sizeof msg, "the request line and headers did not arrive within %lld ms (limits.header_timeout_ms)",
		    conf->limits.header_timeout_ms);
		dv_http_fail(c, DV_EREQTIMEOUT, msg);
		return;
	case HC_BODY:
		c->s->metrics.http_timeouts[DV_HTTP_TIMEOUT_BODY]++;
		snprintf(msg, sizeof msg,
		    "the request body did not arrive in time: %lld ms (limits.body_timeout_ms) plus its size at %lld bytes/s "
		    "(limits.body_min_rate)",
		    conf->limits.body_timeout_ms, conf->limits.body_min_rate);
		dv_http_fail(c, DV_EREQTIMEOUT, msg);
		return;
	case HC_IDLE:
		c->s->metrics.http_timeouts[DV_HTTP_TIMEOUT_IDLE]++;
		dv_http_close(c);
		return;
	case HC_LINGER:
		dv_http_close(c);
		return;
	default:
		return;
	}
}

/* ---------------------------------------------------------------- accepting */

/* Refuse a connection before reading from it: one reply, then close. */
static void dv_http_refuse(evutil_socket_t fd, int err)
{
	struct dv_buf b;
	dv_buf_init(&b);
	dv_err_json(&b, err, NULL);
	char head[256];
	int st = dv_err_http_status(err);
	int hl = snprintf(head, sizeof head,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
	    st, dv_http1_reason(st), b.len);
	struct iovec v[2] = {{head, (size_t)hl}, {b.data, b.len}};
	struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
	ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	dv_buf_fini(&b);
	close(fd);
}

static void dv_http_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct dv_http_lis *L = arg;
	struct dv_server *s = L->s;
	const struct dv_conf *conf = s->gen->conf;
	(void)l;
	(void)salen;
	char addr[64];
	uint64_t key = dv_guard_key(sa, addr, sizeof addr);
	if (!dv_guard_admit(L->guard, key, conf->limits.connections_per_address)) {
		s->metrics.conn_refused_addr++;
		dv_debug("connection refused: the address holds limits.connections_per_address listener=%s addr=%s", L->name,
		    addr);
		dv_http_refuse(fd, DV_EADDRLIMIT);
		return;
	}
	struct dv_http_conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev = c ? bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	struct event *timer = c ? evtimer_new(s->base, dv_http_timeout, c) : NULL;
	if (!c || !bev || !timer) {
		dv_guard_release(L->guard, key);
		free(c);
		if (timer)
			event_free(timer);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	c->magic = DV_HTTP_MAGIC;
	c->s = s;
	c->lis = L;
	c->bev = bev;
	c->timer = timer;
	c->addr_key = key;
	snprintf(c->addr, sizeof c->addr, "%s", addr);
	dv_buf_init(&c->cbody);
	dv_buf_init(&c->hdrs);
	c->req.content_length = -1;
	c->next = L->list;
	if (L->list)
		L->list->prev = c;
	L->list = c;
	L->conns++;
	/* the first request's head is due within header_timeout_ms of the connection */
	c->state = HC_HEAD;
	c->t_phase = dv_mono_ms();
	dv_http_arm(c, c->t_phase + (double)conf->limits.header_timeout_ms);
	struct timeval wt = {conf->limits.idle_timeout_ms / 1000, (conf->limits.idle_timeout_ms % 1000) * 1000};
	bufferevent_set_timeouts(bev, NULL, &wt);
	bufferevent_setcb(bev, dv_http_read, dv_http_written, dv_http_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	dv_http_limit_check(L);
}

/* ---------------------------------------------------------------- the listeners */

static struct dv_http_lis *dv_http_listen(struct dv_server *s, const char *addr, bool ops, int *port)
{
	struct dv_http_lis *L = calloc(1, sizeof *L);
	if (!L)
		return NULL;
	L->s = s;
	L->ops = ops;
	L->name = ops ? "ops" : "http";
	L->guard = ops ? &L->own_guard : &s->guard;
	L->l = dv_server_listen(s, ops ? "the operator listener" : "HTTP", addr, dv_http_accept, port);
	if (!L->l) {
		free(L);
		return NULL;
	}
	evconnlistener_set_cb(L->l, dv_http_accept, L);
	return L;
}

int dv_http_start(struct dv_server *s)
{
	const struct dv_conf *c = s->gen->conf;
	if (c->listen_http[0]) {
		s->http = dv_http_listen(s, c->listen_http, false, &s->http_port);
		if (!s->http)
			return -1;
		dv_info("listening for HTTP addr=%s port=%d", c->listen_http, s->http_port);
	}
	if (c->listen_ops[0]) {
		s->ops = dv_http_listen(s, c->listen_ops, true, &s->ops_port);
		if (!s->ops)
			return -1;
		dv_info("listening for operators (/healthz /readyz /metrics) addr=%s port=%d", c->listen_ops, s->ops_port);
	}
	return 0;
}

long dv_http_conns(const struct dv_http_lis *L) { return L ? L->conns : 0; }

/* Draining: the API listener's socket is closed (new clients are refused at
 * once instead of waiting in a backlog); the operator listener stays, so
 * /readyz can say "shutting down" until the process exits. */
void dv_http_stop_accepting(struct dv_server *s)
{
	if (s->http && s->http->l) {
		evconnlistener_free(s->http->l);
		s->http->l = NULL;
	}
}

static size_t dv_http_lis_pending(const struct dv_http_lis *L)
{
	size_t n = 0;
	for (const struct dv_http_conn *c = L ? L->list : NULL; c; c = c->next)
		if (c->bev)
			n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

size_t dv_http_pending_output(struct dv_server *s) { return dv_http_lis_pending(s->http) + dv_http_lis_pending(s->ops); }

static void dv_http_lis_free(struct dv_http_lis *L)
{
	if (!L)
		return;
	if (L->l)
		evconnlistener_free(L->l);
	while (L->list) {
		struct dv_http_conn *c = L->list;
		c->inflight = 0; /* jobs finished after the loop stopped were freed by the server */
		dv_http_close(c);
	}
	dv_guard_fini(&L->own_guard);
	free(L);
}

void dv_http_free(struct dv_server *s)
{
	dv_http_lis_free(s->http);
	dv_http_lis_free(s->ops);
	s->http = s->ops = NULL;
}
