/* dv_hooks.h — operators' business logic in Lua (LuaJIT, interpreter only),
 * run on the worker threads. A configuration generation reads and compiles
 * the hook files (a syntax error refuses the generation, with file:line);
 * each worker makes its own Lua state from them. Every hook file gets its own
 * sandbox: no io, os, ffi, require, load of bytecode or debug; an instruction
 * count, a wall-clock budget and a memory cap stop a call that runs away, and
 * the worker carries on. A hook's database writes run in a savepoint of the
 * request's transaction: they commit with its event, or not at all.
 * docs/hooks.md is the operators' reference. */
#ifndef DV_HOOKS_H
#define DV_HOOKS_H
#include "dv_buf.h"
#include "dv_conf.h"
#include <stdbool.h>
#include <stdint.h>

struct dv_store;
struct dv_face;
struct dv_hooklib;
struct dv_tenant_hooks;

/* The compiled-checked sources of a generation (read-only, shared). */
struct dv_hooks_conf;
int dv_hooks_conf_build(const struct dv_conf *c, struct dv_hooks_conf **out, struct dv_conf_errs *errs);
void dv_hooks_conf_free(struct dv_hooks_conf *hc);
/* Latest modification time of the hook files (for hooks.watch). */
long long dv_hooks_conf_mtime(const struct dv_conf *c);

/* A worker's Lua state with every hook file loaded in its sandbox; the
 * tenants' stored hooks (lib, or NULL) are loaded into it on first use, each
 * in its own sandbox, keyed by tenant, name and source (hooks.cached of them,
 * least recently used dropped first). */
struct dv_hooks;
struct dv_hooks *dv_hooks_new(const struct dv_hooks_conf *hc, struct dv_hooklib *lib, char *err, size_t errlen);
void dv_hooks_free(struct dv_hooks *h);
/* The clock the time budget (hooks.time_ms) is measured on, in milliseconds:
 * CLOCK_MONOTONIC unless set. It is read once when a call starts and at every
 * count-hook tick (each 1,000 Lua instructions), so a test can drive the
 * budget with a clock of its own instead of this machine's speed. NULL
 * restores the monotonic clock. */
void dv_hooks_set_clock(struct dv_hooks *h, double (*clock_ms)(void *ud), void *ud);

/* What the hooks see of the request. */
struct dv_hook_req {
	struct dv_store *store;     /* in a transaction */
	uint64_t tenant;
	const char *tenant_name;
	const char *location, *camera;
	const char *fields_json;    /* the client's "fields" object, or NULL */
	const char *settings_json;  /* the tenant's settings object, or NULL */
	unsigned long long request_id;
	const struct dv_tenant_hooks *hooks; /* the tenant's stored hooks for this request, or NULL */
};

/* One event: recognized (person set), unknown, or enrolled. */
struct dv_hook_event {
	const char *kind;
	uint64_t person;            /* 0 for unknown */
	const char *person_json;    /* {"id","name","external_id","attributes"} or NULL */
	double distance, similarity; /* < 0: none */
	uint64_t face;
	const struct dv_face *box;
	int face_index;
};

/* The tenant's stored hooks as this request will run them (a reference:
 * dv_tenant_hooks_unref), loaded with st when not known; NULL when there is
 * no database or on failure (*rc). */
struct dv_tenant_hooks *dv_hooks_acquire(struct dv_hooks *h, struct dv_store *st, uint64_t tenant, int *rc);
/* Could the tenant have hooks (stored ones, or any hook files configured)?
 * False spares reading the tenant's name. */
bool dv_hooks_maybe(const struct dv_hooks *h, const struct dv_tenant_hooks *th);
/* Whether this tenant has hooks at all (then the caller opens a transaction). */
bool dv_hooks_for(const struct dv_hooks *h, uint64_t tenant, const char *tenant_name, const struct dv_tenant_hooks *th);
/* Run the tenant's hooks for one event. Each hook's returned table (and its
 * dv.reply fields) becomes a member of the JSON object appended to out
 * ({"loyalty":{...},...}); failures are appended to errs as JSON objects
 * {"hook","event","error"} (comma-separated). Returns the number of hooks run. */
int dv_hooks_fire(struct dv_hooks *h, const struct dv_hook_req *rq, const struct dv_hook_event *ev, struct dv_buf *out,
    struct dv_buf *errs);
/* A change to the tenant's stored hooks was committed here (sequence seq):
 * this server's copy is stale from now on. */
void dv_hooks_changed(struct dv_hooks *h, uint64_t tenant, long long seq);
/* The configuration's hook files that apply to a tenant, as a JSON array of
 * {"name","file"} (run order). */
void dv_hooks_conf_files(const struct dv_hooks_conf *hc, uint64_t tenant, const char *tenant_name,
    struct dv_buf *out);

/* Compile a stored hook's source in a fresh sandbox and run its load-time
 * code under the limits: 0 with the on_* functions it defines (a PostgreSQL
 * array literal and a JSON array), or DV_EINVALIDHOOK with the line (0 when
 * unknown) and message. */
int dv_hooks_check(const struct dv_hooks_conf *hc, const char *name, const char *src, size_t len,
    struct dv_buf *fns_pg, struct dv_buf *fns_json, int *line, char *msg, size_t msglen);
/* A dry run of a hook's source for one event in a fresh sandbox: its state
 * writes go to rq->store (the caller rolls its transaction back) and are
 * reported, its dv.log lines are returned instead of logged, and every
 * instruction is counted. out gets {"ok","event","ran","output" | "error":
 * {"line","message"},"writes","log","instructions","time_ms"}. */
int dv_hooks_test(const struct dv_hooks_conf *hc, const char *name, const char *src, size_t len,
    const struct dv_hook_req *rq, const struct dv_hook_event *ev, struct dv_buf *out);
#endif
