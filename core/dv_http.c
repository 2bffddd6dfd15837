/* dv_http.c — the HTTP listener (evhttp), on the loop thread: accepts
 * connections up to the limit, routes requests, answers health, readiness
 * and metrics at once, turns pipeline requests into jobs, and writes every
 * reply — success or JSON error — when jobs complete. This file and
 * dv_tcp.c are the only places that write replies. */
#include "dv_api.h"
#include "dv_buf.h"
#include "dv_keys.h"
#include "dv_err.h"
#include "dv_job.h"
#include "dv_log.h"
#include "dv_server.h"
#include "dv_web.h"
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <sys/queue.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_ullong dv_http_ids = 1ULL << 40; /* distinct from job ids */
extern const char dv_openapi_yaml[]; /* docs/openapi.yaml, compiled in (dv_openapi.c) */

static void dv_http_send(struct dv_server *s, struct evhttp_request *req, int route, int status,
    const char *ctype, const char *body, size_t len, unsigned long long rid)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	char id[32];
	snprintf(id, sizeof id, "%llu", rid);
	evhttp_add_header(h, "X-Request-Id", id);
	struct evbuffer *b = evbuffer_new();
	if (b && len)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, status, NULL, b);
	if (b)
		evbuffer_free(b);
	dv_metrics_request(&s->metrics, route, status);
}

/* The one place that maps an error to an HTTP reply. */
static void dv_http_send_error(struct dv_server *s, struct evhttp_request *req, int route, int err, const char *msg,
    unsigned long long rid)
{
	struct dv_buf b;
	dv_buf_init(&b);
	dv_err_json(&b, err, msg);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	if (err == DV_EOVERLOADED || err == DV_ESHUTDOWN || err == DV_EDBUNAVAIL || err == DV_EPLUGIN)
		evhttp_add_header(h, "Retry-After", "1");
	if (err == DV_ESHUTDOWN)
		evhttp_add_header(h, "Connection", "close");
	dv_http_send(s, req, route, dv_err_http_status(err), "application/json", b.data ? b.data : "{}",
	    b.data ? b.len : 2, rid);
	dv_buf_fini(&b);
}

static void dv_http_send_json(struct dv_server *s, struct evhttp_request *req, int route, int status,
    const struct dv_buf *b, unsigned long long rid)
{
	dv_http_send(s, req, route, status, "application/json", b->data ? b->data : "{}", b->data ? b->len : 2, rid);
}

static int dv_http_method(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return DV_M_GET;
	case EVHTTP_REQ_POST: return DV_M_POST;
	case EVHTTP_REQ_PATCH: return DV_M_PATCH;
	case EVHTTP_REQ_DELETE: return DV_M_DELETE;
	case EVHTTP_REQ_PUT: return DV_M_PUT;
	case EVHTTP_REQ_HEAD: return DV_M_HEAD;
	default: return 0;
	}
}

static void dv_http_allow(struct evhttp_request *req, int allow)
{
	char a[64] = "";
	static const struct { int bit; const char *name; } m[] = {
	    {DV_M_GET, "GET"}, {DV_M_HEAD, "HEAD"}, {DV_M_POST, "POST"}, {DV_M_PATCH, "PATCH"}, {DV_M_DELETE, "DELETE"}};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (allow & m[i].bit)
			snprintf(a + strlen(a), sizeof a - strlen(a), "%s%s", a[0] ? ", " : "", m[i].name);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", a);
}

static char *dv_strdup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Every /v1 operation: a job with the request's bytes, run by a worker
 * (dv_ops.c), which authenticates the key against the database. */
static void dv_http_api(struct dv_server *s, struct evhttp_request *req, int op, uint64_t id)
{
	int route = op == DV_API_RECOGNIZE ? DV_ROUTE_RECOGNIZE : op == DV_API_DETECT ? DV_ROUTE_DETECT : DV_ROUTE_API;
	unsigned long long rid = atomic_fetch_add(&dv_http_ids, 1);
	if (s->draining) {
		dv_http_send_error(s, req, route, DV_ESHUTDOWN, NULL, rid);
		return;
	}
	struct evkeyvalq *in_h = evhttp_request_get_input_headers(req);
	const char *key = dv_key_from_header(evhttp_find_header(in_h, "Authorization"), evhttp_find_header(in_h, "X-API-Key"));
	bool admin = false;
	if (dv_api_is_admin(op)) {
		const char *want = s->gen->conf->admin_key_sha256;
		if (!want || !want[0]) {
			dv_http_send_error(s, req, route, DV_EFORBIDDEN,
			    "the admin API is disabled: set admin.key_sha256 in the configuration (dejaviewd admin key)", rid);
			return;
		}
		char got[65];
		dv_key_hash_hex(key ? key : "", got);
		if (!key || strlen(want) != 64 || !dv_key_equal(got, want, 64)) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
			dv_http_send_error(s, req, route, DV_EUNAUTHORIZED, "this operation needs the admin key", rid);
			return;
		}
		admin = true;
	} else if (!key || !*key) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
		dv_http_send_error(s, req, route, DV_EUNAUTHORIZED,
		    "send an API key: Authorization: Bearer <key> (or X-API-Key)", rid);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	if ((long long)n > s->gen->conf->limits.body_bytes) {
		dv_http_send_error(s, req, route, DV_ETOOLARGE, NULL, rid);
		return;
	}
	int pop = op == DV_API_DETECT ? DV_OP_DETECT : DV_OP_RECOGNIZE;
	struct dv_job *j = dv_job_new(pop, s->gen);
	uint8_t *body = malloc(n ? n : 1);
	if (!j || !body) {
		free(body);
		dv_job_free(j);
		dv_http_send_error(s, req, route, DV_ENOMEM, NULL, rid);
		return;
	}
	evbuffer_remove(in, body, n);
	j->body = body;
	j->body_len = n;
	j->api = op;
	j->path_id = id;
	j->admin = admin;
	j->key = dv_strdup_or_null(admin ? NULL : key);
	j->ctype = dv_strdup_or_null(evhttp_find_header(in_h, "Content-Type"));
	j->query = dv_strdup_or_null(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)));
	j->origin = DV_ORIGIN_HTTP;
	j->origin_ptr = req;
	j->route = route;
	int r = dv_server_submit(s, j);
	if (r != 0) {
		dv_http_send_error(s, req, route, r, NULL, j->id);
		dv_job_free(j);
	}
	/* Otherwise the request stays open until dv_http_complete. If the
	 * client goes away meanwhile, evhttp keeps the request (it is not
	 * "done") and frees it when we reply. */
}

void dv_http_complete(struct dv_server *s, struct dv_job *j)
{
	struct evhttp_request *req = j->origin_ptr;
	if (j->err == DV_EUNAUTHORIZED)
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
	if (j->err)
		dv_http_send_error(s, req, j->route, j->err, j->errmsg, j->id);
	else if (j->status == 204)
		dv_http_send(s, req, j->route, 204, "application/json", "", 0, j->id);
	else
		dv_http_send(s, req, j->route, j->status ? j->status : 200, j->reply_ctype ? j->reply_ctype : "application/json",
		    j->reply.data ? j->reply.data : "{}", j->reply.data ? j->reply.len : 2, j->id);
}

static void dv_http_readyz(struct dv_server *s, struct evhttp_request *req, unsigned long long rid)
{
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
	dv_http_send_json(s, req, DV_ROUTE_READYZ, ok ? 200 : 503, &b, rid);
	dv_buf_fini(&b);
}

static void dv_http_handle(struct evhttp_request *req, void *arg)
{
	struct dv_server *s = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	unsigned long long rid;
	if (!path)
		path = "/";
	if (!strncmp(path, "/v1/", 4) && strcmp(path, "/v1/openapi.yaml")) {
		uint64_t id;
		int allow;
		int op = dv_api_route(dv_http_method(cmd), path, &id, &allow);
		if (op > 0) {
			dv_http_api(s, req, op, id);
			return;
		}
		rid = atomic_fetch_add(&dv_http_ids, 1);
		int route = !strcmp(path, "/v1/recognize") ? DV_ROUTE_RECOGNIZE : !strcmp(path, "/v1/detect") ? DV_ROUTE_DETECT
		                                                                                             : DV_ROUTE_API;
		char msg[200];
		if (op < 0) {
			dv_http_allow(req, allow);
			snprintf(msg, sizeof msg, "%.100s does not take this method", path);
			dv_http_send_error(s, req, route, DV_EMETHOD, msg, rid);
		} else {
			snprintf(msg, sizeof msg, "no such resource: %.100s", path);
			dv_http_send_error(s, req, route, DV_ENOTFOUND, msg, rid);
		}
		return;
	}
	rid = atomic_fetch_add(&dv_http_ids, 1);
	if (!strcmp(path, "/v1/openapi.yaml")) {
		if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
			dv_http_allow(req, DV_M_GET | DV_M_HEAD);
			dv_http_send_error(s, req, DV_ROUTE_API, DV_EMETHOD, NULL, rid);
			return;
		}
		dv_http_send(s, req, DV_ROUTE_API, 200, "application/yaml", dv_openapi_yaml, strlen(dv_openapi_yaml), rid);
		return;
	}
	const struct dv_web_file *wf = dv_web_find(s->gen->web, path);
	if (wf && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)) {
		/* the front-desk page: our own files only, from memory */
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		evhttp_add_header(h, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
		    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
		dv_http_send(s, req, DV_ROUTE_OTHER, 200, wf->ctype, wf->data, wf->len, rid);
		return;
	}
	int route = !strcmp(path, "/healthz") ? DV_ROUTE_HEALTHZ
	          : !strcmp(path, "/readyz")  ? DV_ROUTE_READYZ
	          : !strcmp(path, "/metrics") ? DV_ROUTE_METRICS
	                                      : DV_ROUTE_OTHER;
	if (route == DV_ROUTE_OTHER) {
		char msg[160];
		snprintf(msg, sizeof msg, "no such resource: %.100s", path);
		dv_http_send_error(s, req, route, DV_ENOTFOUND, msg, rid);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		dv_http_send_error(s, req, route, DV_EMETHOD, NULL, rid);
		return;
	}
	if (route == DV_ROUTE_HEALTHZ) {
		static const char ok[] = "{\"status\":\"ok\"}";
		dv_http_send(s, req, route, 200, "application/json", ok, sizeof ok - 1, rid);
	} else if (route == DV_ROUTE_READYZ) {
		dv_http_readyz(s, req, rid);
	} else {
		struct dv_gauges g;
		dv_server_gauges(s, &g);
		struct dv_buf b;
		dv_buf_init(&b);
		/* count this scrape before rendering so it is included */
		dv_metrics_request(&s->metrics, DV_ROUTE_METRICS, 200);
		dv_metrics_render(&s->metrics, &g, &b);
		s->metrics.requests[DV_ROUTE_METRICS][200]--;
		dv_http_send(s, req, route, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len, rid);
		dv_buf_fini(&b);
	}
}

/* ---------------------------------------------------------------- connections
 * evhttp (libevent 2.1) has no connection limit and no hook for the close of
 * a connection that never sends a request. We create each connection's
 * bufferevent (evhttp_set_bevcb) and hold one extra reference to it; when
 * evhttp frees the connection, the bufferevent loses its callbacks (its
 * socket stays open until the last reference goes), and a sweep every
 * 200 ms drops our reference, which closes the socket, and the count. At
 * the limit we stop accepting: new clients wait in the kernel's backlog, as
 * with nginx's worker_connections, and are served as connections close. */

struct dv_http_conns {
	struct bufferevent **bev;
	long n, cap;
	struct event *sweep;
};
static struct dv_http_conns dv_hc;

static void dv_http_limit_check(struct dv_server *s)
{
	if (!s->http_lis || s->draining)
		return;
	if (s->http_conns >= s->gen->conf->limits.connections)
		evconnlistener_disable(s->http_lis);
	else
		evconnlistener_enable(s->http_lis);
}

static void dv_http_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct dv_server *s = arg;
	long kept = 0;
	for (long i = 0; i < dv_hc.n; i++) {
		struct bufferevent *b = dv_hc.bev[i];
		bufferevent_data_cb rd, wr;
		bufferevent_event_cb ev;
		void *a;
		bufferevent_getcb(b, &rd, &wr, &ev, &a);
		if (!rd && !wr && !ev) {
			bufferevent_decref(b);
			s->http_conns--;
		} else {
			dv_hc.bev[kept++] = b;
		}
	}
	dv_hc.n = kept;
	dv_http_limit_check(s);
}

static struct bufferevent *dv_http_bevcb(struct event_base *base, void *arg)
{
	struct dv_server *s = arg;
	if (dv_hc.n == dv_hc.cap) {
		long cap = dv_hc.cap ? dv_hc.cap * 2 : 256;
		struct bufferevent **v = realloc(dv_hc.bev, sizeof *v * (size_t)cap);
		if (!v)
			return NULL; /* evhttp then makes its own, uncounted */
		dv_hc.bev = v;
		dv_hc.cap = cap;
	}
	struct bufferevent *b = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!b)
		return NULL;
	bufferevent_incref(b);
	dv_hc.bev[dv_hc.n++] = b;
	s->http_conns++;
	if (s->http_conns >= s->gen->conf->limits.connections) {
		s->metrics.conn_refused++;
		dv_http_limit_check(s);
	}
	return b;
}

size_t dv_http_pending_output(struct dv_server *s)
{
	size_t n = 0;
	for (long i = 0; i < dv_hc.n; i++) {
		bufferevent_data_cb rd, wr;
		bufferevent_event_cb ev;
		void *a;
		bufferevent_getcb(dv_hc.bev[i], &rd, &wr, &ev, &a);
		if (rd || wr || ev)
			n += evbuffer_get_length(bufferevent_get_output(dv_hc.bev[i]));
	}
	return n;
}

int dv_http_start(struct dv_server *s)
{
	const struct dv_conf *c = s->gen->conf;
	if (!c->listen_http[0])
		return 0;
	s->http = evhttp_new(s->base);
	if (!s->http)
		return -1;
	evhttp_set_max_body_size(s->http, c->limits.body_bytes);
	evhttp_set_max_headers_size(s->http, 64 * 1024);
	evhttp_set_timeout(s->http, (int)((c->limits.idle_timeout_ms + 999) / 1000));
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(s->http, dv_http_handle, s);
	evhttp_set_bevcb(s->http, dv_http_bevcb, s);

	s->http_lis = dv_server_listen(s, "HTTP", c->listen_http, NULL, &s->http_port);
	if (!s->http_lis)
		return -1;
	if (!evhttp_bind_listener(s->http, s->http_lis)) {
		dv_err("evhttp cannot take the listener addr=%s", c->listen_http);
		return -1;
	}
	dv_hc.sweep = event_new(s->base, -1, EV_PERSIST, dv_http_sweep, s);
	struct timeval tv = {0, 200000};
	if (!dv_hc.sweep || event_add(dv_hc.sweep, &tv) != 0)
		return -1;
	dv_info("listening for HTTP addr=%s port=%d", c->listen_http, s->http_port);
	return 0;
}

void dv_http_stop_accepting(struct dv_server *s)
{
	if (s->http_lis)
		evconnlistener_disable(s->http_lis);
}

void dv_http_free(struct dv_server *s)
{
	/* evhttp owns the listener once bound and frees it */
	s->http_lis = NULL;
	if (s->http)
		evhttp_free(s->http);
	s->http = NULL;
}
