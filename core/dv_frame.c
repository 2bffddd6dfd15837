/* dv_frame.c — TCP frame header codec. Pure functions over bytes, called by
 * the loop thread in dv_tcp.c; unit-tested and fuzzable. */
#include "dv_frame.h"
#include <stdio.h>
#include <string.h>

static const uint8_t dv_frame_magic[4] = {'D', 'V', 'F', '1'};

static uint32_t dv_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int dv_frame_parse(const uint8_t *buf, size_t len, uint32_t max_payload, struct dv_frame_hdr *h)
{
	/* Reject a wrong magic as soon as its first bytes arrive. */
	size_t m = len < 4 ? len : 4;
	if (memcmp(buf, dv_frame_magic, m) != 0)
		return DV_FRAME_EMAGIC;
	if (len < DV_FRAME_HDR)
		return DV_FRAME_MORE;
	h->version = buf[4];
	h->type = buf[5];
	h->flags = (uint16_t)(buf[6] << 8 | buf[7]);
	h->req_id = dv_be32(buf + 8);
	h->len = dv_be32(buf + 12);
	if (h->version != DV_FRAME_VERSION)
		return DV_FRAME_EVERSION;
	if (h->len > max_payload)
		return DV_FRAME_ETOOLARGE;
	return 0;
}

void dv_frame_write(uint8_t out[DV_FRAME_HDR], uint8_t type, uint32_t req_id, uint32_t len)
{
	memcpy(out, dv_frame_magic, 4);
	out[4] = DV_FRAME_VERSION;
	out[5] = type;
	out[6] = out[7] = 0;
	dv_put_be32(out + 8, req_id);
	dv_put_be32(out + 12, len);
}

int dv_frame_is_request(uint8_t type)
{
	return type == DV_FT_PING || type == DV_FT_AUTH || type == DV_FT_RECOGNIZE || type == DV_FT_DETECT ||
	       type == DV_FT_CALL;
}

/* Copy [b, e) into out (cap) if it fits and has no control characters. */
static int dv_field(const uint8_t *b, const uint8_t *e, char *out, size_t cap)
{
	if ((size_t)(e - b) >= cap)
		return -1;
	for (const uint8_t *q = b; q < e; q++)
		if (*q < 0x20 || *q == 0x7f)
			return -1;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = 0;
	return 0;
}

int dv_frame_call_parse(const uint8_t *p, size_t len, struct dv_frame_call *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	size_t lim = len < 1500 ? len : 1500;
	const uint8_t *nl = memchr(p, '\n', lim);
	if (!nl) {
		snprintf(err, errlen, "a CALL payload starts with one line: METHOD /v1/path[?query] [content-type]");
		return -1;
	}
	const uint8_t *e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	const uint8_t *a = p, *b = memchr(a, ' ', (size_t)(e - a));
	if (!b || dv_field(a, b, c->method, sizeof c->method) != 0) {
		snprintf(err, errlen, "CALL: a method (GET, POST, PUT, PATCH, DELETE) and a path are needed");
		return -1;
	}
	static const char *const ms[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	int okm = 0;
	for (int i = 0; ms[i]; i++)
		okm |= !strcmp(ms[i], c->method);
	if (!okm) {
		snprintf(err, errlen, "CALL: unknown method '%.8s'", c->method);
		return -1;
	}
	a = b + 1;
	b = memchr(a, ' ', (size_t)(e - a));
	const uint8_t *pe = b ? b : e, *qm = memchr(a, '?', (size_t)(pe - a));
	if (dv_field(a, qm ? qm : pe, c->path, sizeof c->path) != 0 || strncmp(c->path, "/v1/", 4) != 0) {
		snprintf(err, errlen, "CALL: the path must be under /v1/ (at most 255 bytes)");
		return -1;
	}
	if (qm && dv_field(qm + 1, pe, c->query, sizeof c->query) != 0) {
		snprintf(err, errlen, "CALL: the query is too long");
		return -1;
	}
	if (b && dv_field(b + 1, e, c->ctype, sizeof c->ctype) != 0) {
		snprintf(err, errlen, "CALL: the content type is too long");
		return -1;
	}
	c->body_off = (size_t)(nl + 1 - p);
	return 0;
}

int dv_frame_call_write(char *out, size_t cap, const char *method, const char *path, const char *ctype)
{
	int n = snprintf(out, cap, "%s %s%s%s\n", method, path, ctype && *ctype ? " " : "", ctype ? ctype : "");
	return n > 0 && (size_t)n < cap ? n : -1;
}
