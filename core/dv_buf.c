/* dv_buf.c — growable buffers and the JSON writer used to build replies
 * (worker threads) and metrics (loop thread). Allocation failure is sticky:
 * callers check b->failed once at the end. */
#include "dv_buf.h"
#include "dv_jsonp.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dv_buf_init(struct dv_buf *b) { memset(b, 0, sizeof *b); }
void dv_buf_fini(struct dv_buf *b) { free(b->data); memset(b, 0, sizeof *b); }
void dv_buf_reset(struct dv_buf *b) { b->len = 0; b->failed = false; if (b->data) b->data[0] = 0; }

char *dv_buf_steal(struct dv_buf *b, size_t *len)
{
	char *d = b->data;
	if (len)
		*len = b->len;
	memset(b, 0, sizeof *b);
	return d;
}

int dv_buf_reserve(struct dv_buf *b, size_t extra)
{
	if (b->failed)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->failed = true;
		return -1;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

void dv_buf_add(struct dv_buf *b, const void *p, size_t n)
{
	if (dv_buf_reserve(b, n) != 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void dv_buf_puts(struct dv_buf *b, const char *s) { dv_buf_add(b, s, strlen(s)); }

void dv_buf_printf(struct dv_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || dv_buf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void dv_buf_hex(struct dv_buf *b, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	if (dv_buf_reserve(b, 2 * n) != 0)
		return;
	const uint8_t *u = p;
	char *w = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		*w++ = hx[u[i] >> 4];
		*w++ = hx[u[i] & 15];
	}
	b->len += 2 * n;
	b->data[b->len] = 0;
}

static int dv_hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int dv_hex_decode(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[i]; i += 2) {
		int hi = dv_hex_digit(h[i]), lo = h[i + 1] ? dv_hex_digit(h[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void dv_json_escape(struct dv_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	dv_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': dv_buf_add(b, "\\\"", 2); break;
		case '\\': dv_buf_add(b, "\\\\", 2); break;
		case '\n': dv_buf_add(b, "\\n", 2); break;
		case '\r': dv_buf_add(b, "\\r", 2); break;
		case '\t': dv_buf_add(b, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				dv_buf_add(b, e, 6);
			} else {
				dv_buf_add(b, &s[i], 1);
			}
		}
	}
	dv_buf_add(b, "\"", 1);
}

void dv_json_init(struct dv_json *j, struct dv_buf *b)
{
	memset(j, 0, sizeof *j);
	j->b = b;
}

static void dv_json_sep(struct dv_json *j)
{
	if (j->need_comma[j->depth])
		dv_buf_add(j->b, ",", 1);
	j->need_comma[j->depth] = true;
}

static void dv_json_open(struct dv_json *j, char c)
{
	dv_json_sep(j);
	dv_buf_add(j->b, &c, 1);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void dv_json_close(struct dv_json *j, char c)
{
	dv_buf_add(j->b, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

void dv_json_obj_open(struct dv_json *j) { dv_json_open(j, '{'); }
void dv_json_obj_close(struct dv_json *j) { dv_json_close(j, '}'); }
void dv_json_arr_open(struct dv_json *j) { dv_json_open(j, '['); }
void dv_json_arr_close(struct dv_json *j) { dv_json_close(j, ']'); }

void dv_json_key(struct dv_json *j, const char *k)
{
	dv_json_sep(j);
	dv_json_escape(j->b, k, strlen(k));
	dv_buf_add(j->b, ":", 1);
	/* The value that follows must not add a comma; writing it sets the
	 * flag again so that the next key does. */
	j->need_comma[j->depth] = false;
}

void dv_json_str(struct dv_json *j, const char *s)
{
	if (!s) {
		dv_json_null(j);
		return;
	}
	dv_json_sep(j);
	dv_json_escape(j->b, s, strlen(s));
}

void dv_json_strn(struct dv_json *j, const char *s, size_t n)
{
	dv_json_sep(j);
	dv_json_escape(j->b, s, n);
}

void dv_json_int(struct dv_json *j, long long v) { dv_json_sep(j); dv_buf_printf(j->b, "%lld", v); }
void dv_json_uint(struct dv_json *j, unsigned long long v) { dv_json_sep(j); dv_buf_printf(j->b, "%llu", v); }

void dv_json_num(struct dv_json *j, double v)
{
	dv_json_sep(j);
	if (!isfinite(v))
		dv_buf_puts(j->b, "null");
	else
		dv_buf_printf(j->b, "%.9g", v);
}

void dv_json_float(struct dv_json *j, float v)
{
	dv_json_sep(j);
	if (!isfinite(v))
		dv_buf_puts(j->b, "null");
	else
		dv_buf_printf(j->b, "%.7g", (double)v);
}

void dv_json_bool(struct dv_json *j, bool v) { dv_json_sep(j); dv_buf_puts(j->b, v ? "true" : "false"); }
void dv_json_null(struct dv_json *j) { dv_json_sep(j); dv_buf_puts(j->b, "null"); }
void dv_json_raw(struct dv_json *j, const char *json) { dv_json_sep(j); dv_buf_puts(j->b, json); }

/* Re-serialise a parsed JSON value (client JSON passed on to PostgreSQL or to the hooks). */
void dv_json_value(struct dv_buf *b, const struct dv_jv *v)
{
	switch (v->type) {
	case DV_JNULL: dv_buf_puts(b, "null"); break;
	case DV_JBOOL: dv_buf_puts(b, v->b ? "true" : "false"); break;
	case DV_JNUM: dv_buf_printf(b, "%.17g", v->num); break;
	case DV_JSTR: dv_json_escape(b, v->str, v->len); break;
	case DV_JARR:
		dv_buf_puts(b, "[");
		for (int i = 0; i < v->n; i++) {
			if (i)
				dv_buf_puts(b, ",");
			dv_json_value(b, v->items[i]);
		}
		dv_buf_puts(b, "]");
		break;
	case DV_JOBJ:
		dv_buf_puts(b, "{");
		for (int i = 0; i < v->n; i++) {
			if (i)
				dv_buf_puts(b, ",");
			dv_json_escape(b, v->keys[i], strlen(v->keys[i]));
			dv_buf_puts(b, ":");
			dv_json_value(b, v->items[i]);
		}
		dv_buf_puts(b, "}");
		break;
	}
}

void dv_strv_free(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void *dv_memdup(const void *src, size_t len)
{
	void *p = malloc(len ? len : 1);
	if (p && len)
		memcpy(p, src, len);
	return p;
}
