/* dv_input.h — a request's inputs, read on the worker by the operations
 * (dv_op_*.c): the query string (only the parameters an operation names),
 * the body (raw image, multipart or JSON: dv_form.h), and typed, bounded
 * values from either; each failure fails the job with a clear error. */
#ifndef DV_INPUT_H
#define DV_INPUT_H
#include "dv_buf.h"
#include "dv_form.h"
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stddef.h>

struct dv_job;
struct dv_jv;

struct dv_in {
	struct dv_form form;
	struct evkeyvalq q;
	bool have_q;
};

void dv_in_fini(struct dv_in *in);

/* Query parameters: only those in allowed (NULL-terminated) are accepted. */
int dv_in_query(struct dv_job *j, struct dv_in *in, const char *const *allowed);

/* A parameter from the query or, failing that, the body's fields. */
const char *dv_in_get(struct dv_in *in, const char *name);

int dv_in_body(struct dv_job *j, struct dv_in *in, const char *const *image_keys);

/* JSON body only (CRUD operations). An empty body is an empty object. */
const struct dv_jv *dv_in_json(struct dv_job *j, struct dv_in *in);

int dv_in_int(struct dv_job *j, struct dv_in *in, const char *name, long long lo, long long hi, long long def,
    long long *out);

/* A true/false parameter (also 1/0, yes/no); absent = false. */
int dv_in_flag(struct dv_job *j, struct dv_in *in, const char *name, bool *out);

int dv_in_num(struct dv_job *j, struct dv_in *in, const char *name, double lo, double hi, double def,
    double *out);

/* A short text field (location, camera): printable, at most 200 bytes. */
int dv_in_label(struct dv_job *j, struct dv_in *in, const char *name, const char **out);

/* A string member: NULL when absent; fails the job when of another type
 * or longer than max. */
int dv_jstr(struct dv_job *j, const struct dv_jv *o, const char *k, size_t max, const char **out, bool *is_null);

/* The box named by the client: "x,y,w,h" text or a JSON [x,y,w,h] / {x,y,w,h}. */
int dv_in_box(struct dv_job *j, struct dv_in *in, float box[4], bool *have);

/* The client's "fields" for the hooks: a JSON object (JSON body member, or a
 * multipart/query text holding JSON). */
int dv_in_fields(struct dv_job *j, struct dv_in *in, char **out);

/* A person's attributes or a tenant's settings: a JSON object of at most 64 KiB. */
int dv_check_attrs(struct dv_job *j, const struct dv_jv *a, struct dv_buf *out, const char *what);

#endif
