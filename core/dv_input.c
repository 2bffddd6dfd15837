/* dv_input.c — a request's inputs (see dv_input.h). */
#include "dv_input.h"
#include "dv_err.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include <errno.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

void dv_in_fini(struct dv_in *in)
{
	dv_form_fini(&in->form);
	if (in->have_q)
		evhttp_clear_headers(&in->q);
}

/* Query parameters: only those in allowed (NULL-terminated) are accepted. */
int dv_in_query(struct dv_job *j, struct dv_in *in, const char *const *allowed)
{
	TAILQ_INIT(&in->q);
	in->have_q = true;
	if (!j->req.query || !*j->req.query)
		return 0;
	if (evhttp_parse_query_str(j->req.query, &in->q) != 0) {
		dv_job_fail(j, DV_EBADREQUEST, "the query string is malformed");
		return -1;
	}
	for (struct evkeyval *e = in->q.tqh_first; e; e = e->next.tqe_next) {
		int found = 0;
		for (int i = 0; allowed && allowed[i]; i++)
			found |= !strcmp(allowed[i], e->key);
		if (!found) {
			char list[256] = "";
			for (int i = 0; allowed && allowed[i]; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
				    allowed[i]);
			dv_job_fail(j, DV_EBADREQUEST, "unknown query parameter '%.64s' (expected %s)", e->key,
			    list[0] ? list : "none");
			return -1;
		}
	}
	return 0;
}

/* A parameter from the query or, failing that, the body's fields. */
const char *dv_in_get(struct dv_in *in, const char *name)
{
	const char *v = in->have_q ? evhttp_find_header(&in->q, name) : NULL;
	return v ? v : dv_form_text(&in->form, name);
}

int dv_in_body(struct dv_job *j, struct dv_in *in, const char *const *image_keys)
{
	char err[256];
	int r = dv_form_parse(&in->form, j->req.ctype, j->req.body, j->req.body_len, image_keys, err, sizeof err);
	if (r) {
		dv_job_fail(j, r, "%s", err);
		return -1;
	}
	return 0;
}

/* JSON body only (CRUD operations). An empty body is an empty object. */
const struct dv_jv *dv_in_json(struct dv_job *j, struct dv_in *in)
{
	if (j->req.body_len == 0) {
		in->form.json = dv_jsonp_parse("{}", 2, NULL, 0);
		return in->form.json;
	}
	if (j->req.ctype && strncasecmp(j->req.ctype, "application/json", 16)) {
		dv_job_fail(j, DV_EMEDIATYPE, "send application/json");
		return NULL;
	}
	static const char *const none[] = {NULL};
	if (dv_in_body(j, in, none) != 0)
		return NULL;
	return in->form.json;
}

int dv_in_int(struct dv_job *j, struct dv_in *in, const char *name, long long lo, long long hi, long long def,
    long long *out)
{
	const char *v = dv_in_get(in, name);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be an integer from %lld to %lld", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* A true/false parameter (also 1/0, yes/no); absent = false. */
int dv_in_flag(struct dv_job *j, struct dv_in *in, const char *name, bool *out)
{
	const char *v = dv_in_get(in, name);
	*out = false;
	if (!v)
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	dv_job_fail(j, DV_EBADREQUEST, "%s must be true or false", name);
	return -1;
}

int dv_in_num(struct dv_job *j, struct dv_in *in, const char *name, double lo, double hi, double def,
    double *out)
{
	const char *v = dv_in_get(in, name);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !(x >= lo && x <= hi)) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be a number from %g to %g", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* A short text field (location, camera): printable, at most 200 bytes. */
int dv_in_label(struct dv_job *j, struct dv_in *in, const char *name, const char **out)
{
	*out = dv_in_get(in, name);
	if (*out && (strlen(*out) > 200 || !**out)) {
		dv_job_fail(j, DV_EBADREQUEST, "%s must be 1 to 200 characters", name);
		return -1;
	}
	return 0;
}

/* A string member: NULL when absent; fails the job when of another type
 * or longer than max. */
int dv_jstr(struct dv_job *j, const struct dv_jv *o, const char *k, size_t max, const char **out, bool *is_null)
{
	const struct dv_jv *v = dv_jv_get(o, k);
	*out = NULL;
	if (is_null)
		*is_null = v && v->type == DV_JNULL;
	if (!v || v->type == DV_JNULL)
		return 0;
	if (v->type != DV_JSTR || v->len == 0 || v->len > max || memchr(v->str, 0, v->len)) {
		dv_job_fail(j, DV_EINVALID, "%s must be a non-empty string of at most %zu bytes", k, max);
		return -1;
	}
	*out = v->str;
	return 0;
}

/* The box named by the client: "x,y,w,h" text or a JSON [x,y,w,h] / {x,y,w,h}. */
int dv_in_box(struct dv_job *j, struct dv_in *in, float box[4], bool *have)
{
	*have = false;
	const struct dv_jv *v = in->form.json ? dv_jv_get(in->form.json, "box") : NULL;
	if (v && v->type != DV_JNULL) {
		static const char *const k[] = {"x", "y", "w", "h"};
		for (int i = 0; i < 4; i++) {
			const struct dv_jv *x = v->type == DV_JARR && v->n == 4 ? v->items[i]
			                        : v->type == DV_JOBJ           ? dv_jv_get(v, k[i])
			                                                       : NULL;
			if (!x || x->type != DV_JNUM) {
				dv_job_fail(j, DV_EINVALID,
				    "box must be [x, y, w, h] or {\"x\",\"y\",\"w\",\"h\"} in pixels");
				return -1;
			}
			box[i] = (float)x->num;
		}
		*have = true;
		return 0;
	}
	const char *t = in->form.json ? NULL : dv_in_get(in, "box");
	if (t) {
		if (sscanf(t, "%f,%f,%f,%f", &box[0], &box[1], &box[2], &box[3]) != 4) {
			dv_job_fail(j, DV_EINVALID, "box must be x,y,w,h in pixels");
			return -1;
		}
		*have = true;
	}
	return 0;
}

/* The client's "fields" for the hooks: a JSON object (JSON body member, or a
 * multipart/query text holding JSON). */
int dv_in_fields(struct dv_job *j, struct dv_in *in, char **out)
{
	*out = NULL;
	const struct dv_jv *v = in->form.json ? dv_jv_get(in->form.json, "fields") : NULL;
	struct dv_jv *parsed = NULL;
	if (!v) {
		const char *t = dv_in_get(in, "fields");
		if (!t)
			return 0;
		char err[128];
		v = parsed = dv_jsonp_parse(t, strlen(t), err, sizeof err);
	}
	if (!v || v->type != DV_JOBJ) {
		dv_jv_free(parsed);
		dv_job_fail(j, DV_EINVALID, "fields must be a JSON object");
		return -1;
	}
	struct dv_buf b;
	dv_buf_init(&b);
	dv_json_value(&b, v);
	dv_jv_free(parsed);
	if (b.len > 16 * 1024) {
		dv_buf_fini(&b);
		dv_job_fail(j, DV_EINVALID, "fields are limited to 16 KiB of JSON");
		return -1;
	}
	*out = b.data;
	return 0;
}

/* A person's attributes or a tenant's settings: a JSON object of at most 64 KiB. */
int dv_check_attrs(struct dv_job *j, const struct dv_jv *a, struct dv_buf *out, const char *what)
{
	if (!a || a->type == DV_JNULL)
		return 0;
	if (a->type != DV_JOBJ) {
		dv_job_fail(j, DV_EINVALID, "%s must be a JSON object", what);
		return -1;
	}
	dv_json_value(out, a);
	if (out->len > 64 * 1024) {
		dv_job_fail(j, DV_EINVALID, "%s are limited to 64 KiB of JSON", what);
		return -1;
	}
	return 0;
}

