/* dv_http1.c — HTTP/1.x request framing: see dv_http1.h. */
#include "dv_http1.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2: tchar */
static bool dv_tchar(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return true;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's characters: visible, space, tab, obs-text. */
static bool dv_vchar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* The end of the head: the byte after the empty line, or 0. Lines end in
 * CRLF or a bare LF. */
static size_t dv_head_end(const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static long dv_fail(const char **why, const char *msg, long status)
{
	if (why)
		*why = msg;
	return -status;
}

/* Does the comma-separated list v hold the token t (case-insensitive)? */
static bool dv_list_has(const char *v, const char *t)
{
	size_t tl = strlen(t);
	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *e = v;
		while (*e && *e != ',')
			e++;
		const char *f = e;
		while (f > v && (f[-1] == ' ' || f[-1] == '\t'))
			f--;
		if ((size_t)(f - v) == tl && !strncasecmp(v, t, tl))
			return true;
		v = e;
	}
	return false;
}

long dv_http1_parse(const char *buf, size_t len, size_t max_head, struct dv_http1_req *r, const char **why)
{
	memset(r, 0, sizeof *r);
	r->content_length = -1;
	size_t skip = 0;
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n') && skip < 64)
		skip++;
	const char *line_end = memchr(buf + skip, '\n', len - skip);
	if (!line_end && len - skip > DV_HTTP1_MAX_LINE)
		return dv_fail(why, "the request line is too long", 414);
	if (line_end && (size_t)(line_end - (buf + skip)) > DV_HTTP1_MAX_LINE)
		return dv_fail(why, "the request line is too long", 414);
	size_t end = dv_head_end(buf + skip, len - skip);
	if (!end) {
		if (len > max_head)
			return dv_fail(why, "the request head is too large", 431);
		return 0;
	}
	if (skip + end > max_head)
		return dv_fail(why, "the request head is too large", 431);
	if (memchr(buf + skip, 0, end))
		return dv_fail(why, "a NUL byte in the request head", 400);
	char *h = malloc(end + 1);
	if (!h)
		return dv_fail(why, "out of memory", 503);
	memcpy(h, buf + skip, end);
	h[end] = 0;
	r->head = h;

	/* the request line: method SP target SP version */
	char *p = h, *nl = strchr(p, '\n');
	*nl = 0;
	if (nl > p && nl[-1] == '\r')
		nl[-1] = 0;
	char *sp1 = strchr(p, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
		dv_http1_req_fini(r);
		return dv_fail(why, "the request line is not \"METHOD target HTTP/1.1\"", 400);
	}
	*sp1 = *sp2 = 0;
	r->method = p;
	r->target = sp1 + 1;
	const char *ver = sp2 + 1;
	if (!*r->method) {
		dv_http1_req_fini(r);
		return dv_fail(why, "the request line has no method", 400);
	}
	for (const char *c = r->method; *c; c++)
		if (!dv_tchar((unsigned char)*c)) {
			dv_http1_req_fini(r);
			return dv_fail(why, "the method is not a token", 400);
		}
	if (!*r->target) {
		dv_http1_req_fini(r);
		return dv_fail(why, "the request line has no target", 400);
	}
	for (const char *c = r->target; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			dv_http1_req_fini(r);
			return dv_fail(why, "the request target holds a character that must be percent-encoded", 400);
		}
	if (r->target[0] != '/' && strcmp(r->target, "*")) {
		dv_http1_req_fini(r);
		return dv_fail(why, "the request target must be a path starting with /", 400);
	}
	if (!strncmp(ver, "HTTP/", 5) && ver[5] >= '0' && ver[5] <= '9' && ver[6] == '.' && ver[7] >= '0' &&
	    ver[7] <= '9' && !ver[8]) {
		if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1')) {
			dv_http1_req_fini(r);
			return dv_fail(why, "only HTTP/1.0 and HTTP/1.1 are served", 505);
		}
		r->version = ver[7] == '1' ? 11 : 10;
	} else {
		dv_http1_req_fini(r);
		return dv_fail(why, "the request line does not end in HTTP/1.0 or HTTP/1.1", 400);
	}
	/* path and query: split at the first '?' */
	r->path = r->target;
	char *q = strchr((char *)r->target, '?');
	if (q) {
		*q = 0;
		r->query = q + 1;
	}

	/* header fields */
	p = nl + 1;
	const char *te = NULL, *conn = NULL, *expect = NULL;
	while (*p && *p != '\r' && *p != '\n') {
		nl = strchr(p, '\n');
		*nl = 0;
		if (nl > p && nl[-1] == '\r')
			nl[-1] = 0;
		if (*p == ' ' || *p == '\t') {
			dv_http1_req_fini(r);
			return dv_fail(why, "obsolete line folding in a header field", 400);
		}
		char *colon = strchr(p, ':');
		if (!colon || colon == p) {
			dv_http1_req_fini(r);
			return dv_fail(why, "a header line is not \"Name: value\"", 400);
		}
		for (char *c = p; c < colon; c++)
			if (!dv_tchar((unsigned char)*c)) {
				dv_http1_req_fini(r);
				return dv_fail(why, "a header field name is not a token (no space before the colon)", 400);
			}
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		char *ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = 0;
		for (char *c = v; *c; c++)
			if (!dv_vchar((unsigned char)*c)) {
				dv_http1_req_fini(r);
				return dv_fail(why, "a header field value holds a control character", 400);
			}
		if (r->n_fields == DV_HTTP1_MAX_FIELDS) {
			dv_http1_req_fini(r);
			return dv_fail(why, "too many header fields", 431);
		}
		r->f[r->n_fields].name = p;
		r->f[r->n_fields].value = v;
		r->n_fields++;
		if (!strcasecmp(p, "Content-Length")) {
			if (!*v) {
				dv_http1_req_fini(r);
				return dv_fail(why, "an empty Content-Length", 400);
			}
			long long n = 0;
			for (const char *c = v; *c; c++) {
				if (*c < '0' || *c > '9' || n > (1LL << 50)) {
					dv_http1_req_fini(r);
					return dv_fail(why, "Content-Length is not a number of bytes", 400);
				}
				n = n * 10 + (*c - '0');
			}
			if (r->content_length >= 0 && r->content_length != n) {
				dv_http1_req_fini(r);
				return dv_fail(why, "two different Content-Length values", 400);
			}
			r->content_length = n;
		} else if (!strcasecmp(p, "Transfer-Encoding")) {
			if (te) {
				dv_http1_req_fini(r);
				return dv_fail(why, "more than one Transfer-Encoding field", 400);
			}
			te = v;
		} else if (!strcasecmp(p, "Connection")) {
			conn = v;
		} else if (!strcasecmp(p, "Expect")) {
			expect = v;
		}
		p = nl + 1;
	}
	if (te) {
		if (r->version == 10) {
			dv_http1_req_fini(r);
			return dv_fail(why, "Transfer-Encoding in an HTTP/1.0 request", 400);
		}
		if (r->content_length >= 0) {
			dv_http1_req_fini(r);
			return dv_fail(why, "both Content-Length and Transfer-Encoding", 400);
		}
		if (strcasecmp(te, "chunked")) {
			dv_http1_req_fini(r);
			return dv_fail(why, "the only transfer coding served is chunked", 501);
		}
		r->chunked = true;
	}
	if (expect) {
		if (strcasecmp(expect, "100-continue")) {
			dv_http1_req_fini(r);
			return dv_fail(why, "the only expectation served is 100-continue", 417);
		}
		r->expect_continue = r->version == 11;
	}
	r->keep_alive = r->version == 11 ? !(conn && dv_list_has(conn, "close")) : (conn && dv_list_has(conn, "keep-alive"));
	return (long)(skip + end);
}

void dv_http1_req_fini(struct dv_http1_req *r)
{
	free(r->head);
	memset(r, 0, sizeof *r);
	r->content_length = -1;
}

const char *dv_http1_field(const struct dv_http1_req *r, const char *name)
{
	for (int i = 0; i < r->n_fields; i++)
		if (!strcasecmp(r->f[i].name, name))
			return r->f[i].value;
	return NULL;
}

const char *dv_http1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* ------------------------------------------------------------ chunked */

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF, CH_TRAILER_LINE, CH_DONE };

#define DV_CHUNK_LINE_MAX 1024
#define DV_CHUNK_TRAILER_MAX 8192

static int dv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int dv_http1_chunked_feed(struct dv_http1_chunked *c, const char *in, size_t n, struct dv_buf *out, size_t max,
    size_t *used)
{
	size_t i = 0;
	int rc = DV_CHUNKED_MORE;
	while (i < n && rc == DV_CHUNKED_MORE) {
		char ch = in[i];
		switch (c->state) {
		case CH_SIZE: {
			int v = dv_hexval(ch);
			if (v >= 0) {
				if (c->left >> 56) {
					rc = DV_CHUNKED_ETOOLARGE;
					break;
				}
				c->left = c->left * 16 + (unsigned)v;
				c->digits = true;
				i++;
			} else if (c->digits && (ch == ';' || ch == ' ' || ch == '\t')) {
				c->state = CH_EXT;
				i++;
			} else if (c->digits && ch == '\r') {
				c->state = CH_SIZE_LF;
				i++;
			} else if (c->digits && ch == '\n') {
				c->state = CH_SIZE_LF;
			} else {
				rc = DV_CHUNKED_EBAD;
			}
			if (++c->line > DV_CHUNK_LINE_MAX)
				rc = DV_CHUNKED_EBAD;
			break;
		}
		case CH_EXT: /* chunk extensions are ignored */
			if (ch == '\r' || ch == '\n') {
				c->state = CH_SIZE_LF;
				if (ch == '\r')
					i++;
			} else if ((unsigned char)ch < 0x20 && ch != '\t') {
				rc = DV_CHUNKED_EBAD;
			} else {
				i++;
			}
			if (++c->line > DV_CHUNK_LINE_MAX)
				rc = DV_CHUNKED_EBAD;
			break;
		case CH_SIZE_LF:
			if (ch != '\n') {
				rc = DV_CHUNKED_EBAD;
				break;
			}
			i++;
			c->line = 0;
			c->digits = false;
			if (c->left == 0) {
				c->state = CH_TRAILER;
			} else if (out->len + c->left > max) {
				rc = DV_CHUNKED_ETOOLARGE;
			} else {
				c->state = CH_DATA;
			}
			break;
		case CH_DATA: {
			size_t take = n - i < c->left ? n - i : (size_t)c->left;
			dv_buf_add(out, in + i, take);
			if (out->failed) {
				rc = DV_CHUNKED_ETOOLARGE;
				break;
			}
			i += take;
			c->left -= take;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch == '\r') {
				c->state = CH_DATA_LF;
				i++;
			} else if (ch == '\n') {
				c->state = CH_DATA_LF;
			} else {
				rc = DV_CHUNKED_EBAD;
			}
			break;
		case CH_DATA_LF:
			if (ch != '\n') {
				rc = DV_CHUNKED_EBAD;
				break;
			}
			i++;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER: /* at the start of a trailer line: an empty one ends the body */
			if (ch == '\r') {
				c->state = CH_TRAILER_LF;
				i++;
			} else if (ch == '\n') {
				c->state = CH_TRAILER_LF;
			} else {
				c->state = CH_TRAILER_LINE;
			}
			break;
		case CH_TRAILER_LF:
			if (ch != '\n') {
				rc = DV_CHUNKED_EBAD;
				break;
			}
			i++;
			c->state = CH_DONE;
			rc = DV_CHUNKED_DONE;
			break;
		case CH_TRAILER_LINE: /* trailer fields are read and dropped */
			i++;
			if (++c->trailer > DV_CHUNK_TRAILER_MAX)
				rc = DV_CHUNKED_ETOOLARGE;
			else if (ch == '\n')
				c->state = CH_TRAILER;
			break;
		default:
			rc = DV_CHUNKED_DONE;
		}
	}
	*used = i;
	return rc;
}
