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

/* The compiled-checked sources of a generation (read-only, shared). */
struct dv_hooks_conf;
int dv_hooks_conf_build(const struct dv_conf *c, struct dv_hooks_conf **out, struct dv_conf_errs *errs);
void dv_hooks_conf_free(struct dv_hooks_conf *hc);
/* Latest modification time of the hook files (for hooks.watch). */
long long dv_hooks_conf_mtime(const struct dv_conf *c);

/* A worker's Lua state with every hook file loaded in its sandbox. */
struct dv_hooks;
struct dv_hooks *dv_hooks_new(const struct dv_hooks_conf *hc, char *err, size_t errlen);
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

/* Whether this tenant has hooks at all (then the caller opens a transaction). */
bool dv_hooks_for(const struct dv_hooks *h, uint64_t tenant, const char *tenant_name);
/* Run the tenant's hooks for one event. Each hook's returned table (and its
 * dv.reply fields) becomes a member of the JSON object appended to out
 * ({"loyalty":{...},...}); failures are appended to errs as JSON objects
 * {"hook","event","error"} (comma-separated). Returns the number of hooks run. */
int dv_hooks_fire(struct dv_hooks *h, const struct dv_hook_req *rq, const struct dv_hook_event *ev, struct dv_buf *out,
    struct dv_buf *errs);
#endif
