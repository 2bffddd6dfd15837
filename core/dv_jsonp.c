/* dv_jsonp.c — JSON parser for untrusted input (request bodies) and model
 * manifests: recursive descent with a depth limit, strict RFC 8259 syntax,
 * \u escapes (with surrogate pairs) decoded to UTF-8. Any thread. */
#include "dv_jsonp.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dv_jp {
	const char *s;
	size_t n, i;
	char *err;
	size_t errlen;
	bool failed;
};

static void *dv_jp_fail(struct dv_jp *p, const char *what)
{
	if (!p->failed)
		snprintf(p->err, p->errlen, "at byte %zu: %s", p->i, what);
	p->failed = true;
	return NULL;
}

static void dv_jp_ws(struct dv_jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

void dv_jv_free(struct dv_jv *v)
{
	if (!v)
		return;
	for (int k = 0; k < v->n; k++) {
		dv_jv_free(v->items[k]);
		if (v->keys)
			free(v->keys[k]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static int dv_hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static char *dv_jp_string(struct dv_jp *p, size_t *outlen)
{
	p->i++; /* opening quote */
	size_t cap = 16, len = 0;
	char *o = malloc(cap);
	if (!o)
		return dv_jp_fail(p, "out of memory");
	for (;;) {
		if (p->i >= p->n) {
			free(o);
			return dv_jp_fail(p, "unterminated string");
		}
		unsigned char c = (unsigned char)p->s[p->i++];
		char enc[4];
		int el = 1;
		if (c == '"')
			break;
		if (c < 0x20) {
			free(o);
			return dv_jp_fail(p, "control character in string");
		}
		enc[0] = (char)c;
		if (c == '\\') {
			if (p->i >= p->n) {
				free(o);
				return dv_jp_fail(p, "unterminated escape");
			}
			char e = p->s[p->i++];
			switch (e) {
			case '"': case '\\': case '/': enc[0] = e; break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u': {
				unsigned cp;
				if (p->i + 4 > p->n || dv_hex4(p->s + p->i, &cp)) {
					free(o);
					return dv_jp_fail(p, "bad \\u escape");
				}
				p->i += 4;
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					unsigned lo;
					if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
					    dv_hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
						free(o);
						return dv_jp_fail(p, "unpaired surrogate");
					}
					p->i += 6;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
					free(o);
					return dv_jp_fail(p, "unpaired surrogate");
				}
				if (cp < 0x80) { enc[0] = (char)cp; el = 1; }
				else if (cp < 0x800) { enc[0] = (char)(0xC0 | cp >> 6); enc[1] = (char)(0x80 | (cp & 63)); el = 2; }
				else if (cp < 0x10000) { enc[0] = (char)(0xE0 | cp >> 12); enc[1] = (char)(0x80 | ((cp >> 6) & 63)); enc[2] = (char)(0x80 | (cp & 63)); el = 3; }
				else { enc[0] = (char)(0xF0 | cp >> 18); enc[1] = (char)(0x80 | ((cp >> 12) & 63)); enc[2] = (char)(0x80 | ((cp >> 6) & 63)); enc[3] = (char)(0x80 | (cp & 63)); el = 4; }
				break;
			}
			default:
				free(o);
				return dv_jp_fail(p, "bad escape");
			}
		}
		if (len + 5 > cap) {
			cap *= 2;
			char *t = realloc(o, cap);
			if (!t) {
				free(o);
				return dv_jp_fail(p, "out of memory");
			}
			o = t;
		}
		memcpy(o + len, enc, (size_t)el);
		len += (size_t)el;
	}
	o[len] = 0;
	*outlen = len;
	return o;
}

static struct dv_jv *dv_jp_value(struct dv_jp *p, int depth);

/* Length of the run of decimal digits at i. */
static size_t dv_jp_digits(const struct dv_jp *p, size_t i)
{
	size_t n = 0;
	while (i + n < p->n && p->s[i + n] >= '0' && p->s[i + n] <= '9')
		n++;
	return n;
}

static int dv_jp_push(struct dv_jv *v, struct dv_jv *item, char *key)
{
	struct dv_jv **it = realloc(v->items, sizeof *it * (size_t)(v->n + 1));
	if (!it)
		return -1;
	v->items = it;
	if (v->type == DV_JOBJ) {
		char **k = realloc(v->keys, sizeof *k * (size_t)(v->n + 1));
		if (!k)
			return -1;
		v->keys = k;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
	return 0;
}

static struct dv_jv *dv_jp_container(struct dv_jp *p, int depth, int type)
{
	struct dv_jv *v = calloc(1, sizeof *v);
	if (!v)
		return dv_jp_fail(p, "out of memory");
	v->type = type;
	char close = type == DV_JARR ? ']' : '}';
	p->i++;
	dv_jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t kl;
		dv_jp_ws(p);
		if (type == DV_JOBJ) {
			if (p->i >= p->n || p->s[p->i] != '"') {
				dv_jv_free(v);
				return dv_jp_fail(p, "expected a string key");
			}
			key = dv_jp_string(p, &kl);
			if (!key) {
				dv_jv_free(v);
				return NULL;
			}
			dv_jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':') {
				free(key);
				dv_jv_free(v);
				return dv_jp_fail(p, "expected ':'");
			}
			p->i++;
		}
		struct dv_jv *item = dv_jp_value(p, depth + 1);
		if (!item || dv_jp_push(v, item, key) != 0) {
			free(key);
			dv_jv_free(item);
			dv_jv_free(v);
			return dv_jp_fail(p, "out of memory");
		}
		dv_jp_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			return v;
		}
		dv_jv_free(v);
		return dv_jp_fail(p, type == DV_JARR ? "expected ',' or ']'" : "expected ',' or '}'");
	}
}

static struct dv_jv *dv_jp_value(struct dv_jp *p, int depth)
{
	if (depth > 64)
		return dv_jp_fail(p, "nesting deeper than 64");
	dv_jp_ws(p);
	if (p->i >= p->n)
		return dv_jp_fail(p, "unexpected end of input");
	char c = p->s[p->i];
	if (c == '{')
		return dv_jp_container(p, depth, DV_JOBJ);
	if (c == '[')
		return dv_jp_container(p, depth, DV_JARR);
	struct dv_jv *v = calloc(1, sizeof *v);
	if (!v)
		return dv_jp_fail(p, "out of memory");
	if (c == '"') {
		v->type = DV_JSTR;
		v->str = dv_jp_string(p, &v->len);
		if (!v->str) {
			free(v);
			return NULL;
		}
		return v;
	}
	static const struct { const char *w; int type; bool b; } lits[] = {
		{"true", DV_JBOOL, true}, {"false", DV_JBOOL, false}, {"null", DV_JNULL, false}};
	for (int k = 0; k < 3; k++) {
		size_t l = strlen(lits[k].w);
		if (p->n - p->i >= l && !memcmp(p->s + p->i, lits[k].w, l)) {
			p->i += l;
			v->type = lits[k].type;
			v->b = lits[k].b;
			return v;
		}
	}
	/* number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	size_t st = p->i, i = p->i;
	if (i < p->n && p->s[i] == '-')
		i++;
	size_t d = i < p->n && p->s[i] == '0' ? 1 : dv_jp_digits(p, i);
	const char *bad = d ? NULL : "unexpected character";
	i += d;
	if (!bad && i < p->n && p->s[i] == '.') {
		d = dv_jp_digits(p, ++i);
		bad = d ? NULL : "bad number";
		i += d;
	}
	if (!bad && i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		d = dv_jp_digits(p, i);
		bad = d ? NULL : "bad number";
		i += d;
	}
	if (bad) {
		free(v);
		return dv_jp_fail(p, bad);
	}
	/* the text is not NUL-terminated: strtod reads a copy */
	char buf[64], *num = i - st < sizeof buf ? buf : malloc(i - st + 1);
	if (!num) {
		free(v);
		return dv_jp_fail(p, "out of memory");
	}
	memcpy(num, p->s + st, i - st);
	num[i - st] = 0;
	v->type = DV_JNUM;
	v->num = strtod(num, NULL);
	if (num != buf)
		free(num);
	p->i = i;
	return v;
}

struct dv_jv *dv_jsonp_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct dv_jp p = {.s = text, .n = len, .err = err, .errlen = errlen};
	struct dv_jv *v = dv_jp_value(&p, 0);
	if (!v)
		return NULL;
	dv_jp_ws(&p);
	if (p.i != p.n) {
		dv_jv_free(v);
		dv_jp_fail(&p, "trailing characters after the value");
		return NULL;
	}
	return v;
}

const struct dv_jv *dv_jv_get(const struct dv_jv *o, const char *key)
{
	if (!o || o->type != DV_JOBJ)
		return NULL;
	for (int k = 0; k < o->n; k++)
		if (!strcmp(o->keys[k], key))
			return o->items[k];
	return NULL;
}
