/* dv_record.h — what the record and hooks stages (dv_record.c, run through
 * dv_work.h) share with the operations that run hooks outside a pipeline
 * (enrolment's on_enrolled): the tenant's brief and one request's hook run. */
#ifndef DV_RECORD_H
#define DV_RECORD_H
#include "dv_buf.h"
#include <stdbool.h>
#include <stdint.h>

struct dv_store;
struct dv_hooks;
struct dv_visit;
struct dv_hook_event;

/* A tenant's name (its hooks.tenants entry may name it) and settings. */
struct dv_tenant_brief {
	char name[256];       /* "" when it has none */
	char *settings_json;  /* its settings object, or NULL */
	double target_fpir;   /* settings.target_fpir when valid (0 < t <= 1), else -1 */
	int auto_update_max;  /* settings.auto_update: a person's faces it may add up to (0: off) */
};
/* 0, or the store's error (st->err says why). */
int dv_tenant_brief_get(struct dv_store *st, uint64_t tenant, struct dv_tenant_brief *out);
void dv_tenant_brief_fini(struct dv_tenant_brief *b);

/* One request's hooks: whether the tenant has any, how many ran, the errors. */
struct dv_hookrun {
	struct dv_hooks *hooks;        /* this worker's, or NULL */
	struct dv_store *store;        /* in the request's transaction while hooks fire */
	uint64_t tenant;
	const struct dv_tenant_brief *brief;
	const struct dv_visit *visit;  /* or NULL */
	unsigned long long request_id;
	struct dv_tenant_hooks *th;    /* the tenant's stored hooks, as of dv_hookrun_acquire */
	int ran;
	struct dv_buf errs;            /* JSON error objects, comma-separated */
};
/* Take the tenant's stored hooks for this request (the version it runs to
 * its end, whatever changes meanwhile): 0, or the store's error. Then
 * dv_hookrun_maybe says whether the tenant can have hooks at all (if not,
 * its brief need not be read) and dv_hookrun_on whether it has. */
int dv_hookrun_acquire(struct dv_hookrun *h);
bool dv_hookrun_maybe(const struct dv_hookrun *h);
/* Does a set of hooks apply to the tenant? */
bool dv_hookrun_on(const struct dv_hookrun *h);
/* Fire the hooks for one event; what they return goes into out (a JSON object). */
void dv_hookrun_fire(struct dv_hookrun *h, const struct dv_hook_event *ev, struct dv_buf *out);
/* "hooks":{"ran":N,"errors":[...]} members' content, written as key name */
void dv_hookrun_json(const struct dv_hookrun *h, struct dv_json *j, const char *key);
void dv_hookrun_fini(struct dv_hookrun *h);

#endif
