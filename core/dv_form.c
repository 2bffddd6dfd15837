/* dv_form.c — request body forms (see dv_form.h). */
#include "dv_form.h"
#include "dv_err.h"
#include "dv_jsonp.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int dv_b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

uint8_t *dv_base64_decode(const char *s, size_t n, size_t *out_len)
{
	uint8_t *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = dv_b64val(c);
		if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6) {
		free(out);
		return NULL;
	}
	*out_len = o;
	return out;
}

static struct dv_field *dv_form_add(struct dv_form *f, const char *name, size_t nlen)
{
	if (f->n == DV_FORM_MAX_FIELDS)
		return NULL;
	struct dv_field *x = &f->f[f->n++];
	memset(x, 0, sizeof *x);
	if (nlen >= sizeof x->name)
		nlen = sizeof x->name - 1;
	memcpy(x->name, name, nlen);
	return x;
}

static int dv_is_image_key(const char *k, const char *const *keys)
{
	for (int i = 0; keys && keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return 1;
	return 0;
}

/* A parameter of a header value: boundary=... (quoted or not). */
static int dv_header_param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = v; (p = strchr(p, ';')) != NULL; p++) {
		const char *q = p + 1;
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, name, nl) || q[nl] != '=')
			continue;
		q += nl + 1;
		size_t n = 0;
		if (*q == '"') {
			q++;
			while (q[n] && q[n] != '"')
				n++;
		} else {
			while (q[n] && q[n] != ';' && q[n] != ' ')
				n++;
		}
		if (n == 0 || n >= outlen)
			return -1;
		memcpy(out, q, n);
		out[n] = 0;
		return 0;
	}
	return -1;
}

static const uint8_t *dv_memmem(const uint8_t *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 0 || hl < nl)
		return NULL;
	for (size_t i = 0; i + nl <= hl; i++)
		if (h[i] == (uint8_t)n[0] && !memcmp(h + i, n, nl))
			return h + i;
	return NULL;
}

static int dv_form_multipart(struct dv_form *f, const char *ctype, const uint8_t *b, size_t len, char *err,
    size_t errlen)
{
	char bnd[128], delim[140];
	if (dv_header_param(ctype, "boundary", bnd, sizeof bnd) != 0) {
		snprintf(err, errlen, "multipart/form-data without a usable boundary");
		return DV_EBADREQUEST;
	}
	int dl = snprintf(delim, sizeof delim, "--%s", bnd);
	const uint8_t *p = dv_memmem(b, len, delim, (size_t)dl), *end = b + len;
	if (!p) {
		snprintf(err, errlen, "multipart body without its boundary");
		return DV_EBADREQUEST;
	}
	for (;;) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0; /* closing delimiter */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else {
			snprintf(err, errlen, "malformed multipart delimiter line");
			return DV_EBADREQUEST;
		}
		const uint8_t *hend = dv_memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hend) {
			snprintf(err, errlen, "multipart part without the end of its headers");
			return DV_EBADREQUEST;
		}
		char hdrs[2048];
		size_t hl = (size_t)(hend - p) < sizeof hdrs - 1 ? (size_t)(hend - p) : sizeof hdrs - 1;
		memcpy(hdrs, p, hl);
		hdrs[hl] = 0;
		const uint8_t *data = hend + 4;
		char next[144];
		int nl = snprintf(next, sizeof next, "\r\n%s", delim);
		const uint8_t *q = dv_memmem(data, (size_t)(end - data), next, (size_t)nl);
		if (!q) {
			snprintf(err, errlen, "multipart part without a closing boundary (truncated body?)");
			return DV_EBADREQUEST;
		}
		char name[64] = "", fname[8];
		const char *cd = NULL;
		for (char *line = hdrs; line && *line;) {
			char *eol = strstr(line, "\r\n");
			if (eol)
				*eol = 0;
			if (!strncasecmp(line, "Content-Disposition:", 20))
				cd = line + 20;
			line = eol ? eol + 2 : NULL;
		}
		if (!cd || dv_header_param(cd, "name", name, sizeof name) != 0) {
			snprintf(err, errlen, "multipart part without a Content-Disposition name");
			return DV_EBADREQUEST;
		}
		struct dv_field *x = dv_form_add(f, name, strlen(name));
		if (!x) {
			snprintf(err, errlen, "more than %d fields", DV_FORM_MAX_FIELDS);
			return DV_EBADREQUEST;
		}
		x->data = data;
		x->len = (size_t)(q - data);
		x->is_file = dv_header_param(cd, "filename", fname, sizeof fname) == 0 || strstr(cd, "filename=") != NULL;
		p = q + 2;
	}
}

static int dv_form_json(struct dv_form *f, const uint8_t *b, size_t len, const char *const *image_keys, char *err,
    size_t errlen)
{
	char jerr[160];
	f->json = dv_jsonp_parse((const char *)b, len, jerr, sizeof jerr);
	if (!f->json) {
		snprintf(err, errlen, "the JSON body does not parse: %s", jerr);
		return DV_EBADREQUEST;
	}
	if (f->json->type != DV_JOBJ) {
		snprintf(err, errlen, "the JSON body must be an object");
		return DV_EBADREQUEST;
	}
	for (int i = 0; i < f->json->n; i++) {
		const char *k = f->json->keys[i];
		const struct dv_jv *v = f->json->items[i];
		if (!dv_is_image_key(k, image_keys))
			continue;
		if (v->type != DV_JSTR) {
			snprintf(err, errlen, "%.40s must be a base64 string", k);
			return DV_EBADREQUEST;
		}
		const char *s = v->str;
		size_t n = v->len;
		if (n > 5 && !strncmp(s, "data:", 5)) {
			const char *c = memchr(s, ',', n);
			if (!c) {
				snprintf(err, errlen, "%.40s: a data: URL without a comma", k);
				return DV_EBADREQUEST;
			}
			n -= (size_t)(c + 1 - s);
			s = c + 1;
		}
		struct dv_field *x = dv_form_add(f, k, strlen(k));
		if (!x) {
			snprintf(err, errlen, "more than %d fields", DV_FORM_MAX_FIELDS);
			return DV_EBADREQUEST;
		}
		x->owned = dv_base64_decode(s, n, &x->len);
		if (!x->owned) {
			snprintf(err, errlen, "%.40s is not valid base64", k);
			return DV_EBADREQUEST;
		}
		x->data = x->owned;
		x->is_file = 1;
	}
	return 0;
}

int dv_form_parse(struct dv_form *f, const char *ctype, const uint8_t *body, size_t len,
    const char *const *image_keys, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	if (ctype && !strncasecmp(ctype, "multipart/form-data", 19))
		return dv_form_multipart(f, ctype, body, len, err, errlen);
	if (ctype && !strncasecmp(ctype, "application/json", 16))
		return dv_form_json(f, body, len, image_keys, err, errlen);
	if (ctype && *ctype && strncasecmp(ctype, "image/", 6) && strncasecmp(ctype, "application/octet-stream", 24) &&
	    strncasecmp(ctype, "application/x-www-form-urlencoded", 33)) {
		snprintf(err, errlen, "Content-Type '%.64s' is not accepted: send image bytes, multipart/form-data or JSON", ctype);
		return DV_EMEDIATYPE;
	}
	/* a raw image body is the first image field */
	struct dv_field *x = dv_form_add(f, image_keys && image_keys[0] ? image_keys[0] : "image",
	    strlen(image_keys && image_keys[0] ? image_keys[0] : "image"));
	x->data = body;
	x->len = len;
	x->is_file = 1;
	return 0;
}

void dv_form_fini(struct dv_form *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->f[i].owned);
	dv_jv_free(f->json);
	memset(f, 0, sizeof *f);
}

const struct dv_field *dv_form_get(const struct dv_form *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->f[i].name, name))
			return &f->f[i];
	return NULL;
}

const char *dv_form_text(struct dv_form *f, const char *name)
{
	if (f->json) {
		const struct dv_jv *v = dv_jv_get(f->json, name);
		if (!v || v->type == DV_JNULL)
			return NULL;
		if (v->type == DV_JSTR)
			return v->str;
		if (v->type == DV_JNUM) {
			/* keep the text in a field so that it lives as long as the form */
			struct dv_field *x = dv_form_add(f, name, strlen(name));
			if (!x)
				return NULL;
			char tmp[64];
			snprintf(tmp, sizeof tmp, "%.17g", v->num);
			x->owned = (uint8_t *)strdup(tmp);
			x->data = x->owned;
			x->len = strlen(tmp);
			return (const char *)x->owned;
		}
		return NULL;
	}
	struct dv_field *x = (struct dv_field *)dv_form_get(f, name);
	if (!x || x->is_file)
		return NULL;
	if (!x->owned) {
		x->owned = malloc(x->len + 1);
		if (!x->owned)
			return NULL;
		memcpy(x->owned, x->data, x->len);
		x->owned[x->len] = 0;
		x->data = x->owned;
	}
	return memchr(x->owned, 0, x->len) ? NULL : (const char *)x->owned;
}
