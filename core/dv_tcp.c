/* dv_tcp.c — the raw TCP listener, on the loop thread: accepts connections
 * up to the limits (per listener, per client address), cuts the byte stream
 * into frames (dv_frame.c) under deadlines (a frame's header within
 * limits.header_timeout_ms of its first byte, its payload within
 * limits.body_timeout_ms plus its size at limits.body_min_rate; a connection
 * with nothing buffered and nothing in flight is idle after
 * limits.idle_timeout_ms), submits pipeline requests as jobs (many in flight
 * per connection, answered by request id) and writes result or error frames
 * when jobs complete. */
#include "dv_buf.h"
#include "dv_api.h"
#include "dv_err.h"
#include "dv_frame.h"
#include "dv_job.h"
#include "dv_log.h"
#include "dv_server.h"
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DV_TCP_MAGIC 0x54435031u /* "TCP1" */

struct dv_tcp_conn {
	uint32_t magic;
	struct dv_server *s;
	struct bufferevent *bev; /* NULL once the socket is closed */
	int inflight;            /* jobs not yet answered */
	bool closing;            /* close after the output is flushed */
	char *key;               /* the API key accepted by an AUTH frame */
	uint64_t addr_key;       /* dv_guard */
	char addr[64];           /* the client's address (the audit log) */
	struct event *timer;     /* the frame's or the idle deadline */
	bool in_frame, hdr_done; /* a frame has begun / its header is whole */
	double t_frame, t_payload;
	struct dv_tcp_conn *prev, *next;
};

static double dv_tcp_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void dv_tcp_conn_free(struct dv_tcp_conn *c)
{
	c->magic = 0;
	free(c->key);
	free(c);
}

static void dv_tcp_unlink(struct dv_tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->s->tcp_list == c)
		c->s->tcp_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Close the socket; the struct lives on until its last job completes. */
static void dv_tcp_close(struct dv_tcp_conn *c)
{
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		event_free(c->timer);
		c->timer = NULL;
		dv_guard_release(&c->s->guard, c->addr_key);
		c->s->tcp_conns--;
		dv_tcp_unlink(c);
	}
	if (c->inflight == 0)
		dv_tcp_conn_free(c);
}

static void dv_tcp_send(struct dv_tcp_conn *c, uint8_t type, uint32_t id, const void *p, size_t n)
{
	if (!c->bev)
		return;
	uint8_t h[DV_FRAME_HDR];
	dv_frame_write(h, type, id, (uint32_t)n);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, h, sizeof h);
	if (n)
		evbuffer_add(out, p, n);
}

static void dv_tcp_send_error(struct dv_tcp_conn *c, uint32_t id, int err, const char *msg)
{
	struct dv_buf b;
	dv_buf_init(&b);
	dv_err_json(&b, err, msg);
	/* the HTTP status too: {"error":{...},"status":N} */
	if (b.len > 1 && b.data[b.len - 1] == '}') {
		b.len--;
		dv_buf_printf(&b, ",\"status\":%d}", dv_err_http_status(err));
	}
	dv_tcp_send(c, DV_FT_ERROR, id, b.data, b.len);
	dv_buf_fini(&b);
	c->s->metrics.requests[DV_ROUTE_TCP][dv_err_http_status(err)]++;
}

/* Send an error frame, then close once it is written. */
static void dv_tcp_fatal(struct dv_tcp_conn *c, uint32_t id, int err, const char *msg)
{
	c->s->metrics.tcp_bad_frames++;
	dv_tcp_send_error(c, id, err, msg);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		dv_tcp_close(c);
}

static void dv_tcp_arm(struct dv_tcp_conn *c, double deadline)
{
	double ms = deadline - dv_tcp_now();
	if (ms < 0)
		ms = 0;
	struct timeval tv = {(long)(ms / 1000), (long)((long long)ms % 1000) * 1000};
	event_add(c->timer, &tv);
}

/* The deadline that applies now: the partial frame's, or idleness (none
 * while answers are owed: waiting for our own replies is not idleness). */
static void dv_tcp_rearm(struct dv_tcp_conn *c)
{
	if (!c->bev || c->closing)
		return;
	const struct dv_conf *conf = c->s->gen->conf;
	size_t avail = evbuffer_get_length(bufferevent_get_input(c->bev));
	if (avail == 0) {
		c->in_frame = false;
		if (c->inflight > 0)
			event_del(c->timer);
		else
			dv_tcp_arm(c, dv_tcp_now() + (double)conf->limits.idle_timeout_ms);
		return;
	}
	double now = dv_tcp_now();
	if (!c->in_frame) {
		c->in_frame = true;
		c->hdr_done = false;
		c->t_frame = now;
	}
	if (avail < DV_FRAME_HDR) {
		dv_tcp_arm(c, c->t_frame + (double)conf->limits.header_timeout_ms);
		return;
	}
	if (!c->hdr_done) {
		c->hdr_done = true;
		c->t_payload = now;
	}
	dv_tcp_arm(c, c->t_payload + (double)conf->limits.body_timeout_ms +
	                  (double)(avail - DV_FRAME_HDR) * 1000.0 / (double)conf->limits.body_min_rate);
}

static void dv_tcp_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dv_tcp_conn *c = arg;
	(void)fd;
	(void)what;
	if (!c->bev || c->closing)
		return;
	if (c->in_frame) {
		c->s->metrics.tcp_timeouts[0]++;
		dv_tcp_fatal(c, 0, DV_ETIMEOUT,
		    c->hdr_done ? "incomplete frame: timed out waiting for the rest (limits.body_timeout_ms, limits.body_min_rate)"
		                : "incomplete frame: timed out waiting for the rest (limits.header_timeout_ms)");
		return;
	}
	c->s->metrics.tcp_timeouts[1]++;
	dv_debug("closing idle TCP connection");
	dv_tcp_close(c);
}

static void dv_tcp_frame(struct dv_tcp_conn *c, const struct dv_frame_hdr *h, struct evbuffer *in)
{
	struct dv_server *s = c->s;
	s->metrics.tcp_frames_in++;
	if (h->type == DV_FT_PING) {
		uint8_t *p = h->len ? malloc(h->len) : NULL;
		if (h->len && !p) {
			evbuffer_drain(in, h->len);
			dv_tcp_send_error(c, h->req_id, DV_ENOMEM, NULL);
			return;
		}
		evbuffer_remove(in, p, h->len);
		dv_tcp_send(c, DV_FT_PONG, h->req_id, p, h->len);
		s->metrics.requests[DV_ROUTE_TCP][200]++;
		free(p);
		return;
	}
	if (h->type != DV_FT_RECOGNIZE && h->type != DV_FT_DETECT && h->type != DV_FT_AUTH && h->type != DV_FT_CALL) {
		evbuffer_drain(in, h->len);
		s->metrics.tcp_bad_frames++;
		char msg[64];
		snprintf(msg, sizeof msg, "unknown frame type 0x%02x", h->type);
		dv_tcp_send_error(c, h->req_id, DV_EBADFRAME, msg);
		return;
	}
	if (s->draining) {
		evbuffer_drain(in, h->len);
		dv_tcp_send_error(c, h->req_id, DV_ESHUTDOWN, NULL);
		return;
	}
	if (c->inflight >= s->gen->conf->limits.inflight_per_connection) {
		evbuffer_drain(in, h->len);
		dv_tcp_send_error(c, h->req_id, DV_EOVERLOADED, "too many requests in flight on this connection");
		return;
	}
	if (h->type != DV_FT_AUTH && !c->key) {
		evbuffer_drain(in, h->len);
		dv_tcp_send_error(c, h->req_id, DV_EUNAUTHORIZED, "send an AUTH frame with an API key first");
		return;
	}
	if (h->type == DV_FT_AUTH && (h->len == 0 || h->len > 256)) {
		evbuffer_drain(in, h->len);
		dv_tcp_send_error(c, h->req_id, DV_EUNAUTHORIZED, "the AUTH frame carries the API key (1 to 256 bytes)");
		return;
	}
	struct dv_job *j = dv_job_new(h->type == DV_FT_DETECT ? DV_OP_DETECT : DV_OP_RECOGNIZE, s->gen);
	uint8_t *body = malloc((size_t)h->len + 1);
	if (!j || !body) {
		free(body);
		dv_job_free(j);
		evbuffer_drain(in, h->len);
		dv_tcp_send_error(c, h->req_id, DV_ENOMEM, NULL);
		return;
	}
	evbuffer_remove(in, body, h->len);
	if (h->type == DV_FT_CALL) {
		/* any operation of the HTTP API: route it as dv_http.c does */
		struct dv_frame_call fc;
		char err[200];
		uint64_t id = 0;
		int allow = 0, op = 0;
		char name[DV_API_NAME_MAX] = "";
		static const struct { const char *m; int bit; } ms[] = {
		    {"GET", DV_M_GET}, {"POST", DV_M_POST}, {"PATCH", DV_M_PATCH}, {"DELETE", DV_M_DELETE},
		    {"PUT", DV_M_PUT}};
		int rc = dv_frame_call_parse(body, h->len, &fc, err, sizeof err) == 0 ? 0 : DV_EBADFRAME;
		if (!rc) {
			int m = 0;
			for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
				if (!strcmp(ms[i].m, fc.method))
					m = ms[i].bit;
			op = dv_api_route(m, fc.path, &id, name, &allow);
			if (op == 0) {
				rc = DV_ENOTFOUND;
				snprintf(err, sizeof err, "no such resource: %.100s", fc.path);
			} else if (op < 0) {
				rc = DV_EMETHOD;
				snprintf(err, sizeof err, "%.100s does not take %s", fc.path, fc.method);
			} else if (dv_api_is_admin(op)) {
				rc = DV_EFORBIDDEN;
				snprintf(err, sizeof err, "admin operations are HTTP only (with the admin key)");
			}
		}
		if (rc) {
			free(body);
			dv_job_free(j);
			dv_tcp_send_error(c, h->req_id, rc, err);
			return;
		}
		j->req.api = op;
		j->req.path_id = id;
		snprintf(j->req.path_name, sizeof j->req.path_name, "%s", name);
		snprintf(j->req.peer, sizeof j->req.peer, "%s", c->addr);
		j->req.key = strdup(c->key);
		j->req.ctype = fc.ctype[0] ? strdup(fc.ctype) : NULL;
		j->req.query = fc.query[0] ? strdup(fc.query) : NULL;
		j->req.body_len = h->len - fc.body_off;
		memmove(body, body + fc.body_off, j->req.body_len);
		j->req.body = body;
		j->tcp_call = true;
		if (op == DV_API_DETECT)
			j->req.op = DV_OP_DETECT;
	} else if (h->type == DV_FT_AUTH) {
		/* checked by a worker against the database (the tenant's record is the answer) */
		body[h->len] = 0;
		j->req.key = (char *)body;
		j->req.body = NULL;
		j->req.api = DV_API_TENANT_GET;
	} else {
		j->req.body = body;
		j->req.body_len = h->len;
		j->req.api = h->type == DV_FT_DETECT ? DV_API_DETECT : DV_API_RECOGNIZE;
		j->req.key = strdup(c->key);
	}
	j->origin = DV_ORIGIN_TCP;
	j->origin_ptr = c;
	j->tcp_req_id = h->req_id;
	j->route = DV_ROUTE_TCP;
	int r = dv_server_submit(s, j);
	if (r != 0) {
		dv_tcp_send_error(c, h->req_id, r, NULL);
		dv_job_free(j);
		return;
	}
	c->inflight++;
}

static void dv_tcp_read(struct bufferevent *bev, void *arg)
{
	struct dv_tcp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint32_t max = (uint32_t)c->s->gen->conf->limits.frame_bytes;
	while (c->bev && !c->closing) {
		size_t avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		size_t want = avail < DV_FRAME_HDR ? avail : DV_FRAME_HDR;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)want);
		struct dv_frame_hdr h;
		int r = dv_frame_parse(p, want, max, &h);
		if (r == DV_FRAME_MORE)
			break;
		if (r == DV_FRAME_EMAGIC) {
			dv_tcp_fatal(c, 0, DV_EBADFRAME, "bad magic: not a dejaview frame");
			return;
		}
		if (r == DV_FRAME_EVERSION) {
			dv_tcp_fatal(c, h.req_id, DV_EBADFRAME, "unsupported frame version");
			return;
		}
		if (r == DV_FRAME_ETOOLARGE) {
			char msg[96];
			snprintf(msg, sizeof msg, "frame payload of %u bytes is over the limit of %u", h.len, max);
			dv_tcp_fatal(c, h.req_id, DV_ETOOLARGE, msg);
			return;
		}
		if (avail < DV_FRAME_HDR + (size_t)h.len) {
			/* wait for the rest; make sure the buffer may grow that far */
			break;
		}
		evbuffer_drain(in, DV_FRAME_HDR);
		c->in_frame = false;
		dv_tcp_frame(c, &h, in);
	}
	dv_tcp_rearm(c);
}

static void dv_tcp_write(struct bufferevent *bev, void *arg)
{
	struct dv_tcp_conn *c = arg;
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		dv_tcp_close(c);
}

static void dv_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct dv_tcp_conn *c = arg;
	(void)bev;
	/* EOF, an error, or replies the client does not read (write timeout) */
	dv_tcp_close(c);
}

/* Refuse before reading: one error frame, then close. */
static void dv_tcp_refuse(evutil_socket_t fd, int err, const char *msg)
{
	struct dv_buf b;
	dv_buf_init(&b);
	dv_err_json(&b, err, msg);
	uint8_t frame[DV_FRAME_HDR + 512];
	size_t n = b.len < 512 ? b.len : 0;
	dv_frame_write(frame, DV_FT_ERROR, 0, (uint32_t)n);
	memcpy(frame + DV_FRAME_HDR, b.data, n);
	ssize_t w = send(fd, frame, DV_FRAME_HDR + n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	dv_buf_fini(&b);
	close(fd);
}

static void dv_tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct dv_server *s = arg;
	const struct dv_conf *conf = s->gen->conf;
	(void)l;
	(void)salen;
	if (s->tcp_conns >= conf->limits.connections || s->draining) {
		s->metrics.conn_refused++;
		dv_tcp_refuse(fd, s->draining ? DV_ESHUTDOWN : DV_ETOOMANYCONN, NULL);
		return;
	}
	char addr[64];
	uint64_t key = dv_guard_key(sa, addr, sizeof addr);
	if (!dv_guard_admit(&s->guard, key, conf->limits.connections_per_address)) {
		s->metrics.conn_refused_addr++;
		dv_debug("connection refused: the address holds limits.connections_per_address listener=tcp addr=%s", addr);
		dv_tcp_refuse(fd, DV_EADDRLIMIT, NULL);
		return;
	}
	struct dv_tcp_conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev = c ? bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	struct event *timer = c ? evtimer_new(s->base, dv_tcp_timeout, c) : NULL;
	if (!c || !bev || !timer) {
		dv_guard_release(&s->guard, key);
		free(c);
		if (timer)
			event_free(timer);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	c->magic = DV_TCP_MAGIC;
	c->s = s;
	c->bev = bev;
	c->timer = timer;
	c->addr_key = key;
	snprintf(c->addr, sizeof c->addr, "%s", addr);
	c->next = s->tcp_list;
	if (s->tcp_list)
		s->tcp_list->prev = c;
	s->tcp_list = c;
	s->tcp_conns++;
	struct timeval tv = {conf->limits.idle_timeout_ms / 1000, (conf->limits.idle_timeout_ms % 1000) * 1000};
	bufferevent_set_timeouts(bev, NULL, &tv);
	bufferevent_setcb(bev, dv_tcp_read, dv_tcp_write, dv_tcp_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	dv_tcp_rearm(c);
}

void dv_tcp_complete(struct dv_server *s, struct dv_job *j)
{
	struct dv_tcp_conn *c = j->origin_ptr;
	dv_check_magic(c->magic, DV_TCP_MAGIC, __FILE__, __LINE__);
	c->inflight--;
	if (c->bev) {
		if (j->res.err) {
			dv_tcp_send_error(c, j->tcp_req_id, j->res.err, j->res.errmsg);
		} else if (j->req.api == DV_API_TENANT_GET) {
			/* AUTH accepted: the key serves every later frame */
			free(c->key);
			c->key = j->req.key;
			j->req.key = NULL;
			dv_tcp_send(c, DV_FT_AUTH_OK, j->tcp_req_id, j->res.reply.data, j->res.reply.len);
			s->metrics.requests[DV_ROUTE_TCP][200]++;
		} else if (j->tcp_call) {
			struct dv_buf b;
			dv_buf_init(&b);
			dv_buf_printf(&b, "%d %s\n", j->res.status ? j->res.status : 200,
			    j->res.reply_ctype ? j->res.reply_ctype : "application/json");
			if (j->res.reply.len)
				dv_buf_add(&b, j->res.reply.data, j->res.reply.len);
			dv_tcp_send(c, DV_FT_RESPONSE, j->tcp_req_id, b.data, b.len);
			dv_buf_fini(&b);
			s->metrics.requests[DV_ROUTE_TCP][j->res.status ? j->res.status : 200]++;
		} else {
			dv_tcp_send(c, DV_FT_RESULT, j->tcp_req_id, j->res.reply.data, j->res.reply.len);
			s->metrics.requests[DV_ROUTE_TCP][200]++;
		}
		if (c->inflight == 0)
			dv_tcp_rearm(c);
	} else if (c->inflight == 0) {
		dv_tcp_conn_free(c);
	}
}

int dv_tcp_start(struct dv_server *s)
{
	const char *addr = s->gen->conf->listen_tcp;
	if (!addr[0])
		return 0;
	s->tcp_lis = dv_server_listen(s, "TCP", addr, dv_tcp_accept, &s->tcp_port);
	if (!s->tcp_lis)
		return -1;
	dv_info("listening for raw TCP frames addr=%s port=%d", addr, s->tcp_port);
	return 0;
}

size_t dv_tcp_pending_output(struct dv_server *s)
{
	size_t n = 0;
	for (struct dv_tcp_conn *c = s->tcp_list; c; c = c->next)
		if (c->bev)
			n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

/* Draining: the listening socket is closed, so new clients are refused at
 * once instead of waiting in a backlog. */
void dv_tcp_stop_accepting(struct dv_server *s)
{
	if (s->tcp_lis)
		evconnlistener_free(s->tcp_lis);
	s->tcp_lis = NULL;
}

void dv_tcp_free(struct dv_server *s)
{
	if (s->tcp_lis)
		evconnlistener_free(s->tcp_lis);
	s->tcp_lis = NULL;
	while (s->tcp_list) {
		struct dv_tcp_conn *c = s->tcp_list;
		c->inflight = 0;
		dv_tcp_close(c);
	}
}
