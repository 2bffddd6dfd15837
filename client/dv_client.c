/* dv_client.c — libdejaview (see dejaview.h). Blocking sockets bounded by
 * poll() timeouts; no global state. */
#include "dejaview.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR 16

struct dv_client {
	int fd;
	int transport;
	char host[256];
	int port;
	char *key;
	int timeout_ms;
	uint32_t next_id;
	char err[256];
	uint8_t *in;      /* read buffer */
	size_t in_len, in_cap;
	char *refusal;    /* TCP: the server's answer to AUTH when it refused the key */
	size_t refusal_len;
};

static int dv_fail(dv_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

const char *dv_client_error(const dv_client *c) { return c ? c->err : "no client"; }

static int dv_connect(dv_client *c)
{
	char port[8];
	snprintf(port, sizeof port, "%d", c->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(c->host, port, &hints, &ai) != 0 || !ai)
		return dv_fail(c, "cannot resolve %s", c->host);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (fd < 0)
		return dv_fail(c, "socket: %s", strerror(errno));
	if (r != 0 && errno != EINPROGRESS) {
		close(fd);
		return dv_fail(c, "cannot connect to %s:%d: %s", c->host, c->port, strerror(errno));
	}
	struct pollfd p = {fd, POLLOUT, 0};
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (poll(&p, 1, c->timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		close(fd);
		return dv_fail(c, "cannot connect to %s:%d: %s", c->host, c->port, soerr ? strerror(soerr) : "timeout");
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->in_len = 0;
	return 0;
}

static int dv_send_all(dv_client *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return dv_fail(c, "send: %s", strerror(errno));
		struct pollfd pw = {c->fd, POLLOUT, 0};
		if (poll(&pw, 1, c->timeout_ms) != 1)
			return dv_fail(c, "send: timeout");
	}
	return 0;
}

/* Read more bytes into the buffer; 0, or -1 (closed, timeout). */
static int dv_fill(dv_client *c)
{
	if (c->in_cap - c->in_len < 65536) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 1 << 17;
		uint8_t *b = realloc(c->in, cap);
		if (!b)
			return dv_fail(c, "out of memory");
		c->in = b;
		c->in_cap = cap;
	}
	for (;;) {
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r > 0) {
			c->in_len += (size_t)r;
			return 0;
		}
		if (r == 0)
			return dv_fail(c, "the server closed the connection");
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return dv_fail(c, "recv: %s", strerror(errno));
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, c->timeout_ms) != 1)
			return dv_fail(c, "no answer within %d ms", c->timeout_ms);
	}
}

static void dv_consume(dv_client *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void put_hdr(uint8_t *h, uint8_t type, uint32_t id, uint32_t len)
{
	memcpy(h, "DVF1", 4);
	h[4] = 1;
	h[5] = type;
	h[6] = h[7] = 0;
	for (int i = 0; i < 4; i++) {
		h[8 + i] = (uint8_t)(id >> (24 - 8 * i));
		h[12 + i] = (uint8_t)(len >> (24 - 8 * i));
	}
}

/* Read one whole frame; its type, id and payload (malloc'd). */
static int dv_read_frame(dv_client *c, uint8_t *type, uint32_t *id, char **payload, size_t *len)
{
	while (c->in_len < HDR)
		if (dv_fill(c))
			return -1;
	if (memcmp(c->in, "DVF1", 4) || c->in[4] != 1)
		return dv_fail(c, "not a dejaview frame from the server");
	uint32_t n = be32(c->in + 12);
	while (c->in_len < HDR + (size_t)n)
		if (dv_fill(c))
			return -1;
	*type = c->in[5];
	*id = be32(c->in + 8);
	*payload = malloc((size_t)n + 1);
	if (!*payload)
		return dv_fail(c, "out of memory");
	memcpy(*payload, c->in + HDR, n);
	(*payload)[n] = 0;
	*len = n;
	dv_consume(c, HDR + (size_t)n);
	return 0;
}

/* "code":"..." and "status":N of an error body */
static void dv_error_fields(struct dv_reply *r)
{
	const char *k = r->body ? strstr(r->body, "\"code\":\"") : NULL;
	if (k) {
		k += 8;
		size_t n = strcspn(k, "\"");
		snprintf(r->code, sizeof r->code, "%.*s", (int)(n < sizeof r->code ? n : sizeof r->code - 1), k);
	}
	const char *st = r->body ? strstr(r->body, "\"status\":") : NULL;
	if (st && !r->status)
		r->status = atoi(st + 9);
}

/* A frame's reply: RESPONSE "STATUS type\n" + body, ERROR (JSON), RESULT, AUTH_OK. */
static int dv_frame_reply(dv_client *c, uint8_t type, char *payload, size_t len, struct dv_reply *out)
{
	memset(out, 0, sizeof *out);
	if (type == 0x91) {
		char *nl = memchr(payload, '\n', len);
		if (!nl) {
			free(payload);
			return dv_fail(c, "malformed RESPONSE frame");
		}
		*nl = 0;
		char ct[64] = "";
		if (sscanf(payload, "%d %63s", &out->status, ct) < 1) {
			free(payload);
			return dv_fail(c, "malformed RESPONSE frame");
		}
		snprintf(out->content_type, sizeof out->content_type, "%s", ct);
		size_t off = (size_t)(nl + 1 - payload);
		memmove(payload, payload + off, len - off + 1);
		out->body = payload;
		out->len = len - off;
		if (out->status >= 400)
			dv_error_fields(out);
		return 0;
	}
	out->body = payload;
	out->len = len;
	snprintf(out->content_type, sizeof out->content_type, "application/json");
	if (type == 0xFF) {
		dv_error_fields(out);
		if (!out->status)
			out->status = 400;
	} else {
		out->status = 200;
	}
	return 0;
}

static int dv_tcp_auth(dv_client *c)
{
	uint8_t h[HDR];
	size_t kl = strlen(c->key);
	put_hdr(h, 0x02, 0, (uint32_t)kl);
	if (dv_send_all(c, h, HDR) || dv_send_all(c, c->key, kl))
		return -1;
	uint8_t type;
	uint32_t id;
	char *p;
	size_t n;
	if (dv_read_frame(c, &type, &id, &p, &n))
		return -1;
	if (type == 0xFF) {
		/* the key is refused: every call answers with this refusal (as
		 * HTTP answers 401 to each), so callers see a status, not a broken
		 * transport */
		dv_fail(c, "authentication refused: %.200s", p);
		c->refusal = p;
		c->refusal_len = n;
		return 0;
	}
	if (type != 0x82) {
		dv_fail(c, "unexpected answer to AUTH (frame type 0x%02x)", type);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

/* The AUTH refusal as a call's reply. */
static int dv_refused(dv_client *c, struct dv_reply *out)
{
	memset(out, 0, sizeof *out);
	out->body = malloc(c->refusal_len + 1);
	if (!out->body)
		return dv_fail(c, "out of memory");
	memcpy(out->body, c->refusal, c->refusal_len + 1);
	out->len = c->refusal_len;
	snprintf(out->content_type, sizeof out->content_type, "application/json");
	dv_error_fields(out);
	if (!out->status)
		out->status = 401;
	return 0;
}

dv_client *dv_client_open(const char *host, int port, int transport, const char *api_key, int timeout_ms, char *err,
    size_t errlen)
{
	dv_client *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->transport = transport;
	snprintf(c->host, sizeof c->host, "%s", host && *host ? host : "127.0.0.1");
	c->port = port;
	c->key = api_key ? strdup(api_key) : NULL;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	c->next_id = 1;
	if (dv_connect(c) || (transport == DV_CLIENT_TCP && (!c->key ? dv_fail(c, "an API key is needed") : dv_tcp_auth(c)))) {
		snprintf(err, errlen, "%s", c->err);
		dv_client_close(c);
		return NULL;
	}
	return c;
}

void dv_client_close(dv_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->key);
	free(c->in);
	free(c->refusal);
	free(c);
}

void dv_reply_free(struct dv_reply *r)
{
	if (r) {
		free(r->body);
		memset(r, 0, sizeof *r);
	}
}

/* ---------------------------------------------------------------- TCP */

static int dv_tcp_send_call(dv_client *c, uint32_t id, const char *method, const char *path, const char *ctype,
    const void *body, size_t len)
{
	char line[1500];
	int n = snprintf(line, sizeof line, "%s %s%s%s\n", method, path, ctype ? " " : "", ctype ? ctype : "");
	if (n <= 0 || (size_t)n >= sizeof line)
		return dv_fail(c, "path too long");
	uint8_t h[HDR];
	put_hdr(h, 0x20, id, (uint32_t)((size_t)n + len));
	if (dv_send_all(c, h, HDR) || dv_send_all(c, line, (size_t)n) || (len && dv_send_all(c, body, len)))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- HTTP */

static int dv_http_call(dv_client *c, const char *method, const char *path, const char *ctype, const void *body,
    size_t len, struct dv_reply *out)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && dv_connect(c))
			return -1;
		char head[2048];
		int n = snprintf(head, sizeof head,
		    "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: libdejaview/" DEJAVIEW_CLIENT_VERSION "\r\n%s%s%s"
		    "%s%s%sContent-Length: %zu\r\n\r\n",
		    method, path, c->host, c->port, c->key ? "Authorization: Bearer " : "", c->key ? c->key : "",
		    c->key ? "\r\n" : "", ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", len);
		if (n <= 0 || (size_t)n >= sizeof head)
			return dv_fail(c, "request too long");
		if (dv_send_all(c, head, (size_t)n) || (len && dv_send_all(c, body, len))) {
			close(c->fd);
			c->fd = -1;
			continue;
		}
		/* status line and headers */
		char *he;
		int closed = 0;
		while (!(c->in_len && (he = memmem(c->in, c->in_len, "\r\n\r\n", 4)) != NULL)) {
			if (dv_fill(c)) {
				closed = 1;
				break;
			}
		}
		if (closed) {
			close(c->fd);
			c->fd = -1;
			if (attempt == 0 && c->in_len == 0)
				continue; /* a kept-alive connection the server had closed */
			return -1;
		}
		memset(out, 0, sizeof *out);
		size_t hl = (size_t)(he + 4 - (char *)c->in);
		char *h = malloc(hl + 1);
		memcpy(h, c->in, hl);
		h[hl] = 0;
		sscanf(h, "HTTP/1.%*d %d", &out->status);
		long cl = 0;
		int keep = 1;
		for (char *l = strstr(h, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
			if (!strncasecmp(l + 2, "Content-Length:", 15))
				cl = atol(l + 17);
			else if (!strncasecmp(l + 2, "Content-Type:", 13))
				sscanf(l + 15, " %63[^;\r\n]", out->content_type);
			else if (!strncasecmp(l + 2, "Connection: close", 17))
				keep = 0;
		}
		free(h);
		dv_consume(c, hl);
		while (c->in_len < (size_t)cl)
			if (dv_fill(c))
				return -1;
		out->body = malloc((size_t)cl + 1);
		memcpy(out->body, c->in, (size_t)cl);
		out->body[cl] = 0;
		out->len = (size_t)cl;
		dv_consume(c, (size_t)cl);
		if (out->status >= 400)
			dv_error_fields(out);
		if (!keep) {
			close(c->fd);
			c->fd = -1;
		}
		return 0;
	}
	return -1;
}

/* ---------------------------------------------------------------- calls */

int dv_client_call(dv_client *c, const char *method, const char *path, const char *ctype, const void *body, size_t len,
    struct dv_reply *out)
{
	memset(out, 0, sizeof *out);
	if (c->transport == DV_CLIENT_HTTP)
		return dv_http_call(c, method, path, ctype, body, len, out);
	if (c->refusal)
		return dv_refused(c, out);
	uint32_t id = c->next_id++;
	if (dv_tcp_send_call(c, id, method, path, ctype, body, len))
		return -1;
	for (;;) {
		uint8_t type;
		uint32_t rid;
		char *p;
		size_t n;
		if (dv_read_frame(c, &type, &rid, &p, &n))
			return -1;
		if (rid == id || (type == 0xFF && rid == 0))
			return dv_frame_reply(c, type, p, n, out);
		free(p); /* an answer to nothing we wait for */
	}
}

int dv_client_batch(dv_client *c, struct dv_call *calls, int n)
{
	int got = 0;
	for (int i = 0; i < n; i++) {
		memset(&calls[i].reply, 0, sizeof calls[i].reply);
		calls[i].rc = -1;
	}
	if (c->transport == DV_CLIENT_HTTP) {
		for (int i = 0; i < n; i++) {
			calls[i].rc = dv_client_call(c, calls[i].method, calls[i].path, calls[i].content_type, calls[i].body,
			    calls[i].len, &calls[i].reply);
			got += calls[i].rc == 0;
		}
		return got;
	}
	if (c->refusal) {
		for (int i = 0; i < n; i++)
			got += (calls[i].rc = dv_refused(c, &calls[i].reply)) == 0;
		return got;
	}
	uint32_t base = c->next_id;
	c->next_id += (uint32_t)n;
	/* send while reading: the server answers while we are still sending */
	int sent = 0;
	while (got < n) {
		struct pollfd p = {c->fd, POLLIN | (sent < n ? POLLOUT : 0), 0};
		if (poll(&p, 1, c->timeout_ms) <= 0) {
			dv_fail(c, "batch: no progress within %d ms (%d of %d answered)", c->timeout_ms, got, n);
			break;
		}
		if ((p.revents & POLLOUT) && sent < n) {
			struct dv_call *k = &calls[sent];
			if (dv_tcp_send_call(c, base + (uint32_t)sent, k->method, k->path, k->content_type, k->body, k->len))
				break;
			sent++;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (dv_fill(c))
				break;
			while (c->in_len >= HDR && c->in_len >= HDR + (size_t)be32(c->in + 12)) {
				uint8_t type;
				uint32_t id;
				char *pl;
				size_t len;
				if (dv_read_frame(c, &type, &id, &pl, &len))
					return got;
				uint32_t k = id - base;
				if (id >= base && k < (uint32_t)n && calls[k].rc != 0) {
					calls[k].rc = dv_frame_reply(c, type, pl, len, &calls[k].reply);
					got += calls[k].rc == 0;
				} else {
					free(pl);
				}
			}
		}
	}
	return got;
}

/* ---------------------------------------------------------------- shortcuts */

int dv_client_recognize(dv_client *c, const void *image, size_t len, const char *query, struct dv_reply *out)
{
	char path[1200];
	snprintf(path, sizeof path, "/v1/recognize%s%s", query && *query ? "?" : "", query ? query : "");
	return dv_client_call(c, "POST", path, "application/octet-stream", image, len, out);
}

int dv_client_detect(dv_client *c, const void *image, size_t len, struct dv_reply *out)
{
	return dv_client_call(c, "POST", "/v1/detect", "application/octet-stream", image, len, out);
}

int dv_client_enrol(dv_client *c, uint64_t person, const void *image, size_t len, struct dv_reply *out)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/persons/%llu/faces", (unsigned long long)person);
	return dv_client_call(c, "POST", path, "application/octet-stream", image, len, out);
}

static char *dv_b64(const void *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *b = p;
	char *o = malloc(n / 3 * 4 + 5), *w = o;
	if (!o)
		return NULL;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		*w++ = t[v >> 18];
		*w++ = t[(v >> 12) & 63];
		*w++ = t[(v >> 6) & 63];
		*w++ = t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0);
		*w++ = t[v >> 18];
		*w++ = t[(v >> 12) & 63];
		*w++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
		*w++ = '=';
	}
	*w = 0;
	return o;
}

int dv_client_verify(dv_client *c, const void *a, size_t la, const void *b, size_t lb, uint64_t person,
    struct dv_reply *out)
{
	char *ea = dv_b64(a, la), *eb = b ? dv_b64(b, lb) : NULL;
	size_t n = (ea ? strlen(ea) : 0) + (eb ? strlen(eb) : 0) + 128;
	char *body = malloc(n);
	if (!ea || (b && !eb) || !body) {
		free(ea);
		free(eb);
		free(body);
		return dv_fail(c, "out of memory");
	}
	if (b)
		snprintf(body, n, "{\"image_a\":\"%s\",\"image_b\":\"%s\"}", ea, eb);
	else
		snprintf(body, n, "{\"image\":\"%s\",\"person_id\":%llu}", ea, (unsigned long long)person);
	int r = dv_client_call(c, "POST", "/v1/verify", "application/json", body, strlen(body), out);
	free(ea);
	free(eb);
	free(body);
	return r;
}
