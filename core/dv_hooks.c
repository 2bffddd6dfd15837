/* dv_hooks.c — Lua hooks (see dv_hooks.h and docs/hooks.md).
 *
 * Every function that works on a Lua stack states its stack effect in the
 * Lua manual's notation, [-o, +p, x]: it pops o values, pushes p, and x says
 * what it may raise — "-" nothing, "m" only a memory error, "e" any error
 * (a raised error unwinds to the lua_pcall of dv_hooks_fire). The dv.*
 * functions are called from Lua: their arguments are the stack they get. */
#include "dv_hooks.h"
#include "dv_err.h"
#include "dv_hooklib.h"
#include "dv_jsonp.h"
#include "dv_log.h"
#include "dv_store.h"
#include <dejaview/plugin.h>
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---------------------------------------------------------------- sources */

struct dv_hookfile {
	char *path, *name; /* name: the file's base name without .lua, the state namespace */
	char *src;
	size_t len;
};

struct dv_hookset {
	char *tenant; /* NULL: every tenant */
	int *idx;
	int n;
};

struct dv_hooks_conf {
	struct dv_hookfile *files;
	int n_files;
	struct dv_hookset *sets;
	int n_sets;
	long long time_ms, instructions, memory;
	int cached; /* stored hooks a worker keeps loaded */
};

static char *dv_slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read %s", path);
		return NULL;
	}
	char *b = malloc(1 << 20);
	size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
	int big = b && n == (1 << 20) - 1 && fgetc(f) != EOF;
	fclose(f);
	if (!b || big) {
		free(b);
		snprintf(err, errlen, "%s is larger than 1 MiB", path);
		return NULL;
	}
	b[n] = 0;
	*len = n;
	return b;
}

void dv_hooks_conf_free(struct dv_hooks_conf *hc)
{
	if (!hc)
		return;
	for (int i = 0; i < hc->n_files; i++) {
		free(hc->files[i].path);
		free(hc->files[i].name);
		free(hc->files[i].src);
	}
	for (int i = 0; i < hc->n_sets; i++) {
		free(hc->sets[i].tenant);
		free(hc->sets[i].idx);
	}
	free(hc->files);
	free(hc->sets);
	free(hc);
}

int dv_hooks_conf_build(const struct dv_conf *c, struct dv_hooks_conf **out, struct dv_conf_errs *errs)
{
	*out = NULL;
	/* built even without files: the tenants' stored hooks need the limits */
	struct dv_hooks_conf *hc = calloc(1, sizeof *hc);
	if (!hc)
		return -1;
	hc->time_ms = c->hook_time_ms;
	hc->instructions = c->hook_instructions;
	hc->memory = c->hook_memory;
	hc->cached = c->hook_cached > 0 ? (int)c->hook_cached : 512;
	hc->sets = calloc((size_t)(c->n_hooksets ? c->n_hooksets : 1), sizeof *hc->sets);
	lua_State *L = luaL_newstate();
	int bad = 0;
	for (int s = 0; s < c->n_hooksets && hc->sets && L; s++) {
		const struct dv_conf_hookset *cs = &c->hooksets[s];
		struct dv_hookset *hs = &hc->sets[hc->n_sets++];
		hs->tenant = cs->tenant ? strdup(cs->tenant) : NULL;
		hs->idx = calloc((size_t)(cs->n ? cs->n : 1), sizeof *hs->idx);
		for (int k = 0; k < cs->n && hs->idx; k++) {
			int at = -1;
			for (int i = 0; i < hc->n_files; i++)
				if (!strcmp(hc->files[i].path, cs->files[k]))
					at = i;
			int failed_before = 0;
			for (int q = 0; q < s; q++)
				for (int r = 0; r < c->hooksets[q].n; r++)
					failed_before |= !strcmp(c->hooksets[q].files[r], cs->files[k]);
			if (at < 0 && failed_before) {
				bad++; /* already reported */
				continue;
			}
			if (at < 0) {
				char err[512];
				size_t len;
				char *src = dv_slurp(cs->files[k], &len, err, sizeof err);
				if (!src) {
					dv_conf_errs_add(errs, c->path, cs->line, cs->col, "hooks: %s", err);
					bad++;
					continue;
				}
				char chunk[4200];
				snprintf(chunk, sizeof chunk, "@%s", cs->files[k]);
				if (luaL_loadbufferx(L, src, len, chunk, "t") != 0) {
					/* "path:line: message" */
					dv_conf_errs_add(errs, c->path, cs->line, cs->col, "hooks: %s", lua_tostring(L, -1));
					lua_pop(L, 1);
					free(src);
					bad++;
					continue;
				}
				lua_pop(L, 1);
				struct dv_hookfile *v = realloc(hc->files, sizeof *v * (size_t)(hc->n_files + 1));
				if (!v) {
					free(src);
					bad++;
					continue;
				}
				hc->files = v;
				struct dv_hookfile *f = &hc->files[hc->n_files];
				f->path = strdup(cs->files[k]);
				const char *b = strrchr(f->path, '/');
				f->name = strdup(b ? b + 1 : f->path);
				char *dot = strrchr(f->name, '.');
				if (dot && !strcmp(dot, ".lua"))
					*dot = 0;
				f->src = src;
				f->len = len;
				at = hc->n_files++;
			}
			hs->idx[hs->n++] = at;
		}
	}
	if (L)
		lua_close(L);
	if (bad || !hc->sets) {
		dv_hooks_conf_free(hc);
		return -1;
	}
	*out = hc;
	return 0;
}

long long dv_hooks_conf_mtime(const struct dv_conf *c)
{
	long long m = 0;
	for (int s = 0; s < c->n_hooksets; s++)
		for (int k = 0; k < c->hooksets[s].n; k++) {
			struct stat st;
			if (stat(c->hooksets[s].files[k], &st) == 0) {
				long long t = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
				if (t > m)
					m = t;
			}
		}
	return m;
}

/* ---------------------------------------------------------------- the state */

/* A stored hook loaded into a worker's state: its sandbox, keyed by tenant,
 * name and the source's sha256; or the error its loading raised. */
struct dv_hookenv {
	uint64_t tenant;
	char name[72];
	char sha[65];
	int ref;            /* the sandbox in the registry, LUA_NOREF when it failed to load */
	char *err;          /* why it failed, or NULL */
	unsigned long long used;
};

struct dv_hooks {
	const struct dv_hooks_conf *hc;
	struct dv_hooklib *lib; /* the tenants' stored hooks, or NULL */
	lua_State *L;
	struct dv_hookenv *envs;
	int n_envs;
	unsigned long long uses;
	long long per_tick;  /* instructions between count-hook calls */
	/* a dry run (dv_hooks_test): what the hook wrote and logged, as JSON */
	struct dv_buf *t_writes, *t_log;
	size_t used, cap;
	int *env_ref;        /* per file: its sandbox in the registry */
	/* the budget's clock (milliseconds, monotonic); tests set their own */
	double (*clock_ms)(void *);
	void *clock_ud;
	/* the call in progress */
	double t0;
	long long ticks;     /* count-hook calls (1000 instructions each) */
	const char *tripped; /* why the call is being stopped */
	const struct dv_hook_req *rq;
	bool savepoint;             /* the running hook has taken its savepoint */
	const struct dv_hook_event *ev;
	const char *ns;
	int reply_ref;
	/* JSON to and from the store for dv.get/set/events; kept here, not on the
	 * C stack, so a Lua error raised mid-call cannot leak it */
	struct dv_buf scratch;
};

static void *dv_lua_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	struct dv_hooks *h = ud;
	if (nsize == 0) {
		free(p);
		h->used -= p ? osize : 0;
		return NULL;
	}
	size_t old = p ? osize : 0;
	if (nsize > old && h->used - old + nsize > h->cap)
		return NULL; /* Lua raises "not enough memory" */
	void *q = realloc(p, nsize);
	if (q)
		h->used = h->used - old + nsize;
	return q;
}

#define DV_TICK 1000

/* The count hook: [-0, +0, e] (raises when the budget is spent). */
static void dv_lua_count(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_getfield(L, LUA_REGISTRYINDEX, "dv_hooks");
	struct dv_hooks *h = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (!h)
		return;
	h->ticks++;
	if (!h->tripped) {
		double ms = h->clock_ms(h->clock_ud) - h->t0;
		if (h->ticks * h->per_tick > h->hc->instructions)
			h->tripped = "instruction limit";
		else if (ms > (double)h->hc->time_ms)
			h->tripped = "time budget";
		if (h->tripped)
			/* from now on every instruction fails: a pcall in the hook cannot hold it */
			lua_sethook(L, dv_lua_count, LUA_MASKCOUNT, 1);
	}
	if (h->tripped) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s exceeded (hooks.%s: %lld)", h->tripped,
		    h->tripped[0] == 'i' ? "instructions" : "time_ms",
		    h->tripped[0] == 'i' ? h->hc->instructions : h->hc->time_ms);
		lua_pushstring(L, msg);
		lua_error(L);
	}
}

/* The running hook's state. [-0, +0, e] (outside a hook: an error) */
static struct dv_hooks *dv_cur(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "dv_hooks");
	struct dv_hooks *h = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (!h || !h->rq)
		luaL_error(L, "dv.* is only available while a hook runs");
	return h;
}

/* ---------------------------------------------------------------- JSON <-> Lua */

/* A parsed JSON value as Lua (null as nil). [-0, +1, m] */
static void dv_push_jv(lua_State *L, const struct dv_jv *v)
{
	switch (v ? v->type : DV_JNULL) {
	case DV_JBOOL: lua_pushboolean(L, v->b); break;
	case DV_JNUM: lua_pushnumber(L, v->num); break;
	case DV_JSTR: lua_pushlstring(L, v->str, v->len); break;
	case DV_JARR:
		lua_createtable(L, v->n, 0);
		for (int i = 0; i < v->n; i++) {
			dv_push_jv(L, v->items[i]);
			lua_rawseti(L, -2, i + 1);
		}
		break;
	case DV_JOBJ:
		lua_createtable(L, 0, v->n);
		for (int i = 0; i < v->n; i++) {
			dv_push_jv(L, v->items[i]);
			lua_setfield(L, -2, v->keys[i]);
		}
		break;
	default: lua_pushnil(L);
	}
}

/* JSON text as Lua (NULL or invalid: nil). [-0, +1, m] */
static void dv_push_json(lua_State *L, const char *json)
{
	if (!json) {
		lua_pushnil(L);
		return;
	}
	struct dv_jv *v = dv_jsonp_parse(json, strlen(json), NULL, 0);
	dv_push_jv(L, v);
	dv_jv_free(v);
}

/* Encode the value at idx as JSON into b; 0, or -1 with the reason in *why
 * (the caller raises it). [-0, +0, m] */
static int dv_to_json(lua_State *L, int idx, struct dv_buf *b, int depth, const char **why)
{
	if (depth > 32) {
		*why = "nested more than 32 levels";
		return -1;
	}
	idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
	switch (lua_type(L, idx)) {
	case LUA_TNIL: dv_buf_puts(b, "null"); return 0;
	case LUA_TBOOLEAN: dv_buf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); return 0;
	case LUA_TNUMBER: {
		double d = lua_tonumber(L, idx);
		if (!isfinite(d))
			dv_buf_puts(b, "null");
		else if (d == floor(d) && fabs(d) < 1e15)
			dv_buf_printf(b, "%.0f", d);
		else
			dv_buf_printf(b, "%.17g", d);
		return 0;
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		dv_json_escape(b, s, n);
		return 0;
	}
	case LUA_TTABLE: {
		/* an array when its keys are exactly 1..n */
		size_t n = lua_objlen(L, idx), count = 0;
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			count++;
			lua_pop(L, 1);
		}
		if (count == n && n > 0) {
			dv_buf_puts(b, "[");
			for (size_t i = 1; i <= n; i++) {
				if (i > 1)
					dv_buf_puts(b, ",");
				lua_rawgeti(L, idx, (int)i);
				int r = dv_to_json(L, -1, b, depth + 1, why);
				lua_pop(L, 1);
				if (r)
					return r;
			}
			dv_buf_puts(b, "]");
			return 0;
		}
		dv_buf_puts(b, "{");
		int first = 1;
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			int kt = lua_type(L, -2);
			if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
				lua_pop(L, 2);
				*why = "table keys must be strings or numbers";
				return -1;
			}
			lua_pushvalue(L, -2); /* a copy: tolstring on a number key would confuse lua_next */
			size_t kn;
			const char *k = lua_tolstring(L, -1, &kn);
			if (!first)
				dv_buf_puts(b, ",");
			first = 0;
			dv_json_escape(b, k, kn);
			dv_buf_puts(b, ":");
			lua_pop(L, 1);
			int r = dv_to_json(L, -1, b, depth + 1, why);
			lua_pop(L, 1);
			if (r) {
				lua_pop(L, 1);
				return r;
			}
		}
		dv_buf_puts(b, "}");
		return 0;
	}
	default:
		*why = "functions, userdata and threads cannot be stored or returned";
		return -1;
	}
}

/* ---------------------------------------------------------------- dv.* */

/* Argument i as a person id. [-0, +0, e] */
static uint64_t dv_arg_person(lua_State *L, int i)
{
	lua_Number n = luaL_checknumber(L, i);
	if (!(n >= 1 && n == floor(n) && n < 9.007199254740992e15))
		luaL_argerror(L, i, "a person id");
	return (uint64_t)n;
}

/* Argument i as a namespace, the hook's own by default. [-0, +0, e] */
static const char *dv_arg_ns(lua_State *L, int i, struct dv_hooks *h)
{
	const char *ns = luaL_optstring(L, i, h->ns);
	if (strlen(ns) > 100)
		luaL_argerror(L, i, "namespace longer than 100 bytes");
	return ns;
}

/* Argument i as a state key. [-0, +0, e] */
static const char *dv_arg_key(lua_State *L, int i)
{
	size_t n;
	const char *k = luaL_checklstring(L, i, &n);
	if (n == 0 || n > 200)
		luaL_argerror(L, i, "a key of 1 to 200 bytes");
	return k;
}

/* The store for a hook's statement, after the hook's savepoint: taken
 * before its first statement only (a hook that never touches the database
 * costs no round trip) and never released (COMMIT releases it; a failing
 * hook rolls back to the latest savepoint of that name, its own). NULL when
 * there is no database. */
static struct dv_store *dv_hook_store(struct dv_hooks *h)
{
	if (!h->rq->store)
		return NULL;
	if (!h->savepoint) {
		/* sent with the statement that follows, in the same round trip */
		dv_store_defer(h->rq->store, "SAVEPOINT dv_hook");
		h->savepoint = true;
	}
	return h->rq->store;
}

/* Raise the store's failure as a Lua error. [-0, +0, e] (does not return) */
static int dv_l_fail(lua_State *L, struct dv_hooks *h, int rc)
{
	if (!h->rq->store)
		return luaL_error(L, "database: none in this context");
	return luaL_error(L, "database: %s", rc == DV_ENOTFOUND ? "no such person in this tenant" : h->rq->store->err);
}

/* The store's JSON answer in h->scratch, decoded onto the Lua stack; nil
 * when nothing was found and that is not an error. [-0, +1, e] */
static int dv_l_json_result(lua_State *L, struct dv_hooks *h, int rc, bool notfound_nil)
{
	if (rc == DV_ENOTFOUND && notfound_nil) {
		lua_pushnil(L);
		return 1;
	}
	if (rc)
		return dv_l_fail(L, h, rc);
	dv_push_json(L, h->scratch.data);
	return 1;
}

/* A dry run's record of one state write: {"op","person","ns","key","value"[,"by"]}. */
static void dv_write_note(struct dv_hooks *h, const char *op, uint64_t p, const char *ns, const char *k,
    const char *value_json, const char *by)
{
	struct dv_buf *w = h->t_writes;
	dv_buf_printf(w, "%s{\"op\":\"%s\",\"person\":%llu,\"ns\":", w->len ? "," : "", op, (unsigned long long)p);
	dv_json_escape(w, ns, strlen(ns));
	dv_buf_puts(w, ",\"key\":");
	dv_json_escape(w, k, strlen(k));
	dv_buf_printf(w, ",\"value\":%s", value_json);
	if (by)
		dv_buf_printf(w, ",\"by\":%s", by);
	dv_buf_puts(w, "}");
}

/* dv.get(person, key [, ns]) -> value or nil. [-0, +1, e] */
static int dv_l_get(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	uint64_t p = dv_arg_person(L, 1);
	const char *k = dv_arg_key(L, 2), *ns = dv_arg_ns(L, 3, h);
	dv_buf_reset(&h->scratch);
	int rc = !dv_hook_store(h) ? DV_EDBUNAVAIL : dv_store_state_get(h->rq->store, h->rq->tenant, p, ns, k, &h->scratch);
	return dv_l_json_result(L, h, rc, true);
}

/* dv.set(person, key, value [, ns]). [-0, +0, e] */
static int dv_l_set(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	uint64_t p = dv_arg_person(L, 1);
	const char *k = dv_arg_key(L, 2), *ns = dv_arg_ns(L, 4, h);
	luaL_checkany(L, 3);
	struct dv_buf *b = &h->scratch;
	dv_buf_reset(b);
	const char *why = NULL;
	if (dv_to_json(L, 3, b, 0, &why) != 0 || b->len > 64 * 1024)
		return luaL_error(L, "dv.set: %s", why ? why : "the value is over 64 KiB of JSON");
	int rc = !dv_hook_store(h) ? DV_EDBUNAVAIL : dv_store_state_set(h->rq->store, h->rq->tenant, p, ns, k, b->data);
	if (rc)
		return dv_l_fail(L, h, rc);
	if (h->t_writes)
		dv_write_note(h, "set", p, ns, k, b->data, NULL);
	return 0;
}

/* dv.incr(person, key [, by [, ns]]) -> the new number. [-0, +1, e] */
static int dv_l_incr(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	uint64_t p = dv_arg_person(L, 1);
	const char *k = dv_arg_key(L, 2);
	double d = luaL_optnumber(L, 3, 1);
	const char *ns = dv_arg_ns(L, 4, h);
	double v = 0;
	int rc = !dv_hook_store(h) ? DV_EDBUNAVAIL : dv_store_state_incr(h->rq->store, h->rq->tenant, p, ns, k, d, &v);
	if (rc)
		return dv_l_fail(L, h, rc);
	if (h->t_writes) {
		char vb[40], db[40];
		snprintf(vb, sizeof vb, "%.17g", v);
		snprintf(db, sizeof db, "%.17g", d);
		dv_write_note(h, "incr", p, ns, k, vb, db);
	}
	lua_pushnumber(L, v);
	return 1;
}

/* The {since = seconds, kind = "..."} options of dv.visits and dv.events;
 * returns the kind to filter on, NULL for "any". The string stays alive in
 * the options table, which is on the stack for the whole call. [-0, +0, e] */
static const char *dv_arg_since_kind(lua_State *L, int idx, double *since, const char *kind)
{
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "since");
		*since = luaL_optnumber(L, -1, 0);
		lua_getfield(L, idx, "kind");
		kind = luaL_optstring(L, -1, kind);
		lua_pop(L, 2);
	}
	return strcmp(kind, "any") ? kind : NULL;
}

/* dv.visits(person [, {since = seconds, kind = "recognized"}]) -> a count. [-0, +1, e] */
static int dv_l_visits(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	uint64_t p = dv_arg_person(L, 1);
	double since = 0;
	const char *kind = dv_arg_since_kind(L, 2, &since, "recognized");
	long long n = 0;
	int rc = !dv_hook_store(h) ? DV_EDBUNAVAIL : dv_store_event_count(h->rq->store, h->rq->tenant, p, kind, since, &n);
	if (rc)
		return dv_l_fail(L, h, rc);
	lua_pushnumber(L, (lua_Number)n);
	return 1;
}

/* dv.events(person [, {since = seconds, kind = "recognized", limit = 10}]) -> a list. [-0, +1, e] */
static int dv_l_events(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	uint64_t p = dv_arg_person(L, 1);
	double since = 0, limit = 10;
	const char *kind = dv_arg_since_kind(L, 2, &since, "any");
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "limit");
		limit = luaL_optnumber(L, -1, 10);
		lua_pop(L, 1);
	}
	if (!(limit >= 1 && limit <= 1000))
		luaL_argerror(L, 2, "limit from 1 to 1000");
	dv_buf_reset(&h->scratch);
	int rc = !dv_hook_store(h) ? DV_EDBUNAVAIL
	                       : dv_store_person_events(h->rq->store, h->rq->tenant, p, kind, since, (int)limit, &h->scratch);
	return dv_l_json_result(L, h, rc, false);
}

/* dv.reply(key, value): a member of this hook's reply. [-0, +0, e] */
static int dv_l_reply(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	luaL_checkstring(L, 1);
	luaL_checkany(L, 2);
	lua_rawgeti(L, LUA_REGISTRYINDEX, h->reply_ref);
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_settable(L, -3);
	return 0;
}

/* dv.log(...): one log line (never biometric data). [-0, +1, e] */
static int dv_l_log(lua_State *L)
{
	struct dv_hooks *h = dv_cur(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		lua_getglobal(L, "tostring");
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushstring(L, luaL_typename(L, i));
		} else {
			lua_pushvalue(L, i);
			lua_call(L, 1, 1);
		}
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	if (h->t_log) {
		if (h->t_log->len < 64 * 1024) {
			const char *m = lua_tostring(L, -1);
			if (h->t_log->len)
				dv_buf_puts(h->t_log, ",");
			dv_json_escape(h->t_log, m, strlen(m) > 2000 ? 2000 : strlen(m));
		}
		return 0;
	}
	dv_info("hook %s: %.500s", h->ns, lua_tostring(L, -1));
	return 0;
}

/* dv.now() -> seconds since 1970 (UTC). [-0, +1, -] */
static int dv_l_now(lua_State *L)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	lua_pushnumber(L, (lua_Number)t.tv_sec + t.tv_nsec / 1e9);
	return 1;
}

/* dv.date(format [, time]) -> text: strftime in UTC, %-conversions only. [-0, +1, e] */
static int dv_l_date(lua_State *L)
{
	const char *fmt = luaL_optstring(L, 1, "%Y-%m-%dT%H:%M:%SZ");
	time_t t = (time_t)luaL_optnumber(L, 2, (lua_Number)time(NULL));
	if (strlen(fmt) > 100)
		luaL_argerror(L, 1, "a format of at most 100 bytes");
	struct tm tm;
	gmtime_r(&t, &tm);
	char out[256];
	size_t n = strftime(out, sizeof out, fmt, &tm);
	lua_pushlstring(L, out, n);
	return 1;
}

static const luaL_Reg dv_api[] = {
	{"get", dv_l_get}, {"set", dv_l_set}, {"incr", dv_l_incr}, {"visits", dv_l_visits}, {"events", dv_l_events},
	{"reply", dv_l_reply},
	{"log", dv_l_log}, {"now", dv_l_now}, {"date", dv_l_date}, {NULL, NULL},
};

/* ---------------------------------------------------------------- sandboxes */

/* A shallow copy of library `lib` without the names in `drop`. [-0, +1, m] */
static void dv_copy_lib(lua_State *L, const char *lib, const char *const *drop)
{
	lua_newtable(L);
	lua_getglobal(L, lib);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		int skip = 0;
		for (int i = 0; drop && drop[i]; i++)
			skip |= lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), drop[i]);
		if (skip) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_settable(L, -5);
	}
	lua_pop(L, 1);
}

/* A hook file's sandbox: the safe base functions, copies of string, table
 * and math, and dv. [-0, +1, m] */
static void dv_make_env(lua_State *L)
{
	static const char *const base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
	    "tostring", "type", "unpack", "xpcall", "rawequal", "rawget", "rawset", "setmetatable", NULL};
	static const char *const no_dump[] = {"dump", NULL};
	lua_newtable(L);
	for (int i = 0; base[i]; i++) {
		lua_getglobal(L, base[i]);
		lua_setfield(L, -2, base[i]);
	}
	/* getmetatable without the string library's metatable (locked below) */
	lua_getglobal(L, "getmetatable");
	lua_setfield(L, -2, "getmetatable");
	dv_copy_lib(L, "string", no_dump);
	lua_setfield(L, -2, "string");
	dv_copy_lib(L, "table", NULL);
	lua_setfield(L, -2, "table");
	dv_copy_lib(L, "math", NULL);
	lua_setfield(L, -2, "math");
	lua_newtable(L);
	luaL_register(L, NULL, dv_api);
	lua_setfield(L, -2, "dv");
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
}

void dv_hooks_free(struct dv_hooks *h)
{
	if (!h)
		return;
	if (h->L)
		lua_close(h->L);
	for (int i = 0; i < h->n_envs; i++)
		free(h->envs[i].err);
	free(h->envs);
	dv_buf_fini(&h->scratch);
	free(h->env_ref);
	free(h);
}

static double dv_hooks_monotonic_ms(void *ud)
{
	(void)ud;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void dv_hooks_set_clock(struct dv_hooks *h, double (*clock_ms)(void *ud), void *ud)
{
	h->clock_ms = clock_ms ? clock_ms : dv_hooks_monotonic_ms;
	h->clock_ud = clock_ms ? ud : NULL;
}

static void dv_call_begin(struct dv_hooks *h)
{
	h->t0 = h->clock_ms(h->clock_ud);
	h->ticks = 0;
	h->tripped = NULL;
	lua_sethook(h->L, dv_lua_count, LUA_MASKCOUNT, (int)h->per_tick);
}

static void dv_call_end(struct dv_hooks *h)
{
	lua_sethook(h->L, NULL, 0, 0);
}

/* A Lua state with the sandbox's machinery and no hook loaded yet. */
static struct dv_hooks *dv_hooks_state(const struct dv_hooks_conf *hc, char *err, size_t errlen)
{
	struct dv_hooks *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->hc = hc;
	h->cap = (size_t)hc->memory;
	h->per_tick = DV_TICK;
	h->clock_ms = dv_hooks_monotonic_ms;
	h->L = lua_newstate(dv_lua_alloc, h);
	if (!h->L)
		h->L = luaL_newstate(); /* a LuaJIT without custom allocators: the count hook still guards */
	h->env_ref = calloc((size_t)(hc->n_files ? hc->n_files : 1), sizeof *h->env_ref);
	if (!h->L || !h->env_ref) {
		snprintf(err, errlen, "cannot create a Lua state");
		dv_hooks_free(h);
		return NULL;
	}
	lua_State *L = h->L;
	luaL_openlibs(L);
	/* the interpreter only: compiled traces would not count instructions
	 * (after openlibs: opening the jit library turns the JIT on) */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
	lua_pushlightuserdata(L, h);
	lua_setfield(L, LUA_REGISTRYINDEX, "dv_hooks");
	/* strings index a copy of the library without dump, and their
	 * metatable cannot be fetched or changed from a sandbox */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	static const char *const no_dump[] = {"dump", NULL};
	dv_copy_lib(L, "string", no_dump);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
	return h;
}

/* Load one hook's source into a new sandbox and run its top level once,
 * under the call limits: 0 with the sandbox's registry reference in *ref, or
 * -1 with the message ("chunk:line: message") in err. chunk is the name
 * errors carry: "@path" for a file, "=name" for a stored hook. [-0, +0, -] */
static int dv_hooks_load(struct dv_hooks *h, const char *chunk, const char *ns, const char *src, size_t len, int *ref,
    char *err, size_t errlen)
{
	lua_State *L = h->L;
	if (luaL_loadbufferx(L, src, len, chunk, "t") != 0) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	dv_make_env(L);
	lua_pushvalue(L, -1);
	*ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setfenv(L, -2);
	struct dv_hook_req none = {0};
	h->rq = &none;
	h->ns = ns;
	dv_call_begin(h);
	int r = lua_pcall(L, 0, 0, 0);
	dv_call_end(h);
	h->rq = NULL;
	if (r != 0) {
		const char *m = lua_tostring(L, -1);
		snprintf(err, errlen, "%s", h->tripped ? "load-time code: " : "");
		snprintf(err + strlen(err), errlen - strlen(err), "%s", m ? m : "error");
		lua_pop(L, 1);
		luaL_unref(L, LUA_REGISTRYINDEX, *ref);
		*ref = LUA_NOREF;
		return -1;
	}
	return 0;
}

struct dv_hooks *dv_hooks_new(const struct dv_hooks_conf *hc, struct dv_hooklib *lib, char *err, size_t errlen)
{
	if (!hc)
		return NULL;
	struct dv_hooks *h = dv_hooks_state(hc, err, errlen);
	if (!h)
		return NULL;
	h->lib = lib;
	for (int i = 0; i < hc->n_files; i++) {
		const struct dv_hookfile *f = &hc->files[i];
		char chunk[4200];
		snprintf(chunk, sizeof chunk, "@%s", f->path);
		if (dv_hooks_load(h, chunk, f->name, f->src, f->len, &h->env_ref[i], err, errlen) != 0) {
			dv_hooks_free(h);
			return NULL;
		}
	}
	lua_gc(h->L, LUA_GCCOLLECT, 0);
	return h;
}

static const struct dv_hookset *dv_set_for(const struct dv_hooks_conf *hc, uint64_t tenant, const char *name)
{
	const struct dv_hookset *def = NULL;
	char id[24];
	snprintf(id, sizeof id, "%llu", (unsigned long long)tenant);
	for (int i = 0; i < hc->n_sets; i++) {
		const struct dv_hookset *s = &hc->sets[i];
		if (!s->tenant)
			def = s;
		else if (!strcmp(s->tenant, id) || (name && !strcmp(s->tenant, name)))
			return s;
	}
	return def;
}

bool dv_hooks_maybe(const struct dv_hooks *h, const struct dv_tenant_hooks *th)
{
	return h && ((th && th->n > 0) || h->hc->n_sets > 0);
}

bool dv_hooks_for(const struct dv_hooks *h, uint64_t tenant, const char *tenant_name, const struct dv_tenant_hooks *th)
{
	if (!h)
		return false;
	if (th && th->n > 0)
		return true;
	const struct dv_hookset *s = dv_set_for(h->hc, tenant, tenant_name);
	return s && s->n > 0;
}

struct dv_tenant_hooks *dv_hooks_acquire(struct dv_hooks *h, struct dv_store *st, uint64_t tenant, int *rc)
{
	*rc = 0;
	if (!h || !h->lib || !st || !st->conninfo || !st->conninfo[0])
		return NULL;
	return dv_hooklib_acquire(h->lib, st, tenant, rc);
}

void dv_hooks_changed(struct dv_hooks *h, uint64_t tenant, long long seq)
{
	if (h && h->lib)
		dv_hooklib_changed(h->lib, tenant, seq, false);
}

void dv_hooks_conf_files(const struct dv_hooks_conf *hc, uint64_t tenant, const char *tenant_name,
    struct dv_buf *out)
{
	const struct dv_hookset *s = hc ? dv_set_for(hc, tenant, tenant_name) : NULL;
	dv_buf_puts(out, "[");
	for (int i = 0; s && i < s->n; i++) {
		const struct dv_hookfile *f = &hc->files[s->idx[i]];
		dv_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		dv_json_escape(out, f->name, strlen(f->name));
		dv_buf_puts(out, ",\"file\":");
		const char *b = strrchr(f->path, '/');
		b = b ? b + 1 : f->path;
		dv_json_escape(out, b, strlen(b));
		dv_buf_puts(out, "}");
	}
	dv_buf_puts(out, "]");
}

/* The sandbox of stored hook hv of tenant in this worker's state, loaded on
 * first use: its registry reference, or LUA_NOREF with *why set. */
static int dv_hooks_env(struct dv_hooks *h, uint64_t tenant, const struct dv_hookver *hv, const char **why)
{
	struct dv_hookenv *e = NULL;
	for (int i = 0; i < h->n_envs && !e; i++)
		if (h->envs[i].tenant == tenant && !strcmp(h->envs[i].name, hv->name))
			e = &h->envs[i];
	if (e && strcmp(e->sha, hv->sha)) {
		/* another version: drop the old sandbox */
		luaL_unref(h->L, LUA_REGISTRYINDEX, e->ref);
		free(e->err);
		e->err = NULL;
		e->sha[0] = 0;
	}
	if (!e) {
		if (h->n_envs >= h->hc->cached) {
			/* full: the least recently used goes */
			int lru = 0;
			for (int i = 1; i < h->n_envs; i++)
				if (h->envs[i].used < h->envs[lru].used)
					lru = i;
			e = &h->envs[lru];
			luaL_unref(h->L, LUA_REGISTRYINDEX, e->ref);
			free(e->err);
			memset(e, 0, sizeof *e);
			lua_gc(h->L, LUA_GCCOLLECT, 0);
		} else {
			struct dv_hookenv *v = realloc(h->envs, sizeof *v * (size_t)(h->n_envs + 1));
			if (!v) {
				*why = "not enough memory to load the hook";
				return LUA_NOREF;
			}
			h->envs = v;
			e = &h->envs[h->n_envs++];
			memset(e, 0, sizeof *e);
		}
		e->tenant = tenant;
		snprintf(e->name, sizeof e->name, "%s", hv->name);
	}
	e->used = ++h->uses;
	if (!e->sha[0]) {
		snprintf(e->sha, sizeof e->sha, "%s", hv->sha);
		char chunk[80], err[600];
		snprintf(chunk, sizeof chunk, "=%s", hv->name);
		e->ref = LUA_NOREF;
		if (dv_hooks_load(h, chunk, hv->name, hv->src, hv->len, &e->ref, err, sizeof err) != 0)
			e->err = strdup(err);
	}
	*why = e->err ? e->err : "the hook could not be loaded";
	return e->ref;
}

/* The event table a hook receives. [-0, +1, m] */
static void dv_push_event(lua_State *L, const struct dv_hook_req *rq, const struct dv_hook_event *ev)
{
	lua_newtable(L);
	lua_pushstring(L, ev->kind);
	lua_setfield(L, -2, "kind");
	dv_push_json(L, ev->person_json);
	lua_setfield(L, -2, "person");
	if (ev->distance >= 0) {
		lua_pushnumber(L, ev->distance);
		lua_setfield(L, -2, "distance");
		lua_pushnumber(L, ev->similarity);
		lua_setfield(L, -2, "similarity");
	}
	if (ev->face) {
		lua_pushnumber(L, (lua_Number)ev->face);
		lua_setfield(L, -2, "face_id");
	}
	if (ev->box) {
		lua_newtable(L);
		lua_pushnumber(L, ev->box->x);
		lua_setfield(L, -2, "x");
		lua_pushnumber(L, ev->box->y);
		lua_setfield(L, -2, "y");
		lua_pushnumber(L, ev->box->w);
		lua_setfield(L, -2, "w");
		lua_pushnumber(L, ev->box->h);
		lua_setfield(L, -2, "h");
		lua_pushnumber(L, ev->box->score);
		lua_setfield(L, -2, "score");
		lua_pushnumber(L, ev->face_index + 1);
		lua_setfield(L, -2, "index");
		lua_setfield(L, -2, "face");
	}
	lua_newtable(L);
	lua_pushnumber(L, (lua_Number)rq->tenant);
	lua_setfield(L, -2, "tenant");
	if (rq->tenant_name) {
		lua_pushstring(L, rq->tenant_name);
		lua_setfield(L, -2, "tenant_name");
	}
	if (rq->location) {
		lua_pushstring(L, rq->location);
		lua_setfield(L, -2, "location");
	}
	if (rq->camera) {
		lua_pushstring(L, rq->camera);
		lua_setfield(L, -2, "camera");
	}
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	lua_pushnumber(L, (lua_Number)t.tv_sec + t.tv_nsec / 1e9);
	lua_setfield(L, -2, "time");
	lua_pushnumber(L, (lua_Number)rq->request_id);
	lua_setfield(L, -2, "id");
	if (rq->fields_json)
		dv_push_json(L, rq->fields_json);
	else
		lua_newtable(L);
	lua_setfield(L, -2, "fields");
	if (rq->settings_json)
		dv_push_json(L, rq->settings_json);
	else
		lua_newtable(L);
	lua_setfield(L, -2, "settings");
	lua_setfield(L, -2, "request");
}

static void dv_err_entry(struct dv_buf *errs, const char *hook, const char *event, const char *msg)
{
	if (errs->len)
		dv_buf_puts(errs, ",");
	dv_buf_puts(errs, "{\"hook\":");
	dv_json_escape(errs, hook, strlen(hook));
	dv_buf_puts(errs, ",\"event\":");
	dv_json_escape(errs, event, strlen(event));
	dv_buf_puts(errs, ",\"error\":");
	dv_json_escape(errs, msg, strlen(msg));
	dv_buf_puts(errs, "}");
}

/* Run one hook's on_<kind> (its sandbox at registry ref): 1 when it has
 * one (its reply member into out, or its failure into errs), else 0. */
static int dv_fire_one(struct dv_hooks *h, const struct dv_hook_req *rq, const struct dv_hook_event *ev, int ref,
    const char *name, const char *fn, struct dv_buf *out, int *members, struct dv_buf *errs)
{
	lua_State *L = h->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_getfield(L, -1, fn);
	if (!lua_isfunction(L, -1)) {
		lua_pop(L, 2);
		return 0;
	}
	lua_remove(L, -2);
	/* the hook's writes: all of them or none (dv_hook_store) */
	h->savepoint = false;
	lua_newtable(L);
	h->reply_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	dv_push_event(L, rq, ev);
	h->rq = rq;
	h->ev = ev;
	h->ns = name;
	dv_call_begin(h);
	int r = lua_pcall(L, 1, 1, 0);
	dv_call_end(h);
	struct dv_buf one;
	dv_buf_init(&one);
	const char *why = NULL;
	if (r == 0) {
		/* the returned table, with dv.reply's fields over it */
		lua_rawgeti(L, LUA_REGISTRYINDEX, h->reply_ref);
		if (lua_istable(L, -2)) {
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_settable(L, -5);
			}
			lua_pop(L, 1);
		} else if (!lua_isnil(L, -2)) {
			lua_pop(L, 1);
			r = -1;
			why = "a hook returns a table (or nothing)";
		} else {
			lua_remove(L, -2);
		}
		if (r == 0 && dv_to_json(L, -1, &one, 0, &why) != 0)
			r = -1;
		lua_pop(L, 1);
	}
	h->rq = NULL;
	h->ev = NULL;
	luaL_unref(L, LUA_REGISTRYINDEX, h->reply_ref);
	if (r != 0) {
		const char *msg = why ? why : lua_tostring(L, -1);
		if (!why && h->used >= h->cap - 4096 && msg && strstr(msg, "memory"))
			msg = "not enough memory (hooks.memory)";
		/* "path:line: message" keeps only the file's base name */
		const char *slash = msg ? strrchr(msg, '/') : NULL;
		const char *colon = msg ? strchr(msg, ':') : NULL;
		if (slash && colon && slash < colon)
			msg = slash + 1;
		dv_err_entry(errs, name, ev->kind, msg ? msg : "error");
		if (!h->t_log)
			dv_warn("hook failed hook=%s event=%s reason=\"%.300s\"", name, ev->kind, msg ? msg : "error");
		if (!why)
			lua_pop(L, 1);
		if (rq->store && h->savepoint)
			dv_store_exec_sql(rq->store, "ROLLBACK TO SAVEPOINT dv_hook");
		lua_gc(L, LUA_GCCOLLECT, 0);
	} else if (one.len > 2) {
		if ((*members)++)
			dv_buf_puts(out, ",");
		dv_json_escape(out, name, strlen(name));
		dv_buf_puts(out, ":");
		dv_buf_add(out, one.data, one.len);
	}
	dv_buf_fini(&one);
	return 1;
}

/* Is name one of the stored hooks (which then replaces the file of that name)? */
static bool dv_stored(const struct dv_tenant_hooks *th, const char *name)
{
	for (int i = 0; th && i < th->n; i++)
		if (!strcmp(th->h[i].name, name))
			return true;
	return false;
}

int dv_hooks_fire(struct dv_hooks *h, const struct dv_hook_req *rq, const struct dv_hook_event *ev, struct dv_buf *out,
    struct dv_buf *errs)
{
	if (!h)
		return 0;
	const struct dv_hookset *s = dv_set_for(h->hc, rq->tenant, rq->tenant_name);
	const struct dv_tenant_hooks *th = rq->hooks;
	if (!s && (!th || th->n == 0))
		return 0;
	char fn[64];
	snprintf(fn, sizeof fn, "on_%s", ev->kind);
	int ran = 0, members = 0;
	dv_buf_puts(out, "{");
	/* the configuration's files first (a stored hook of the same name replaces
	 * its file), then the tenant's stored hooks in their order */
	for (int i = 0; s && i < s->n; i++) {
		const struct dv_hookfile *f = &h->hc->files[s->idx[i]];
		if (!dv_stored(th, f->name))
			ran += dv_fire_one(h, rq, ev, h->env_ref[s->idx[i]], f->name, fn, out, &members, errs);
	}
	for (int i = 0; th && i < th->n; i++) {
		const char *why = NULL;
		int ref = dv_hooks_env(h, rq->tenant, &th->h[i], &why);
		if (ref == LUA_NOREF) {
			ran++;
			dv_err_entry(errs, th->h[i].name, ev->kind, why);
			continue;
		}
		ran += dv_fire_one(h, rq, ev, ref, th->h[i].name, fn, out, &members, errs);
	}
	dv_buf_puts(out, "}");
	lua_settop(h->L, 0);
	return ran;
}

/* ---------------------------------------------------------------- checks and dry runs */

/* The on_* functions a sandbox defines, as a PostgreSQL array literal and
 * as a JSON array. [-0, +0, m] */
static void dv_env_functions(lua_State *L, int ref, struct dv_buf *pg, struct dv_buf *json)
{
	static const char *const kinds[] = {"on_recognized", "on_unknown", "on_uncertain", "on_enrolled", NULL};
	dv_buf_puts(pg, "{");
	dv_buf_puts(json, "[");
	int n = 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	for (int i = 0; kinds[i]; i++) {
		lua_getfield(L, -1, kinds[i]);
		if (lua_isfunction(L, -1)) {
			dv_buf_printf(pg, "%s%s", n ? "," : "", kinds[i]);
			dv_buf_printf(json, "%s\"%s\"", n ? "," : "", kinds[i]);
			n++;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	dv_buf_puts(pg, "}");
	dv_buf_puts(json, "]");
}

/* "=name:12: message" or "name:12: message" -> 12 and "message" */
static int dv_err_line(const char *msg, const char *name, const char **rest)
{
	*rest = msg;
	size_t nl = strlen(name);
	const char *p = msg;
	if (!strncmp(p, "load-time code: ", 16))
		p += 16;
	if (!strncmp(p, name, nl) && p[nl] == ':') {
		char *end;
		long line = strtol(p + nl + 1, &end, 10);
		if (end > p + nl + 1 && *end == ':') {
			*rest = end[1] == ' ' ? end + 2 : end + 1;
			return (int)line;
		}
	}
	return 0;
}

int dv_hooks_check(const struct dv_hooks_conf *hc, const char *name, const char *src, size_t len,
    struct dv_buf *fns_pg, struct dv_buf *fns_json, int *line, char *msg, size_t msglen)
{
	char err[600];
	*line = 0;
	struct dv_hooks *h = dv_hooks_state(hc, err, sizeof err);
	if (!h) {
		snprintf(msg, msglen, "%s", err);
		return DV_ENOMEM;
	}
	char chunk[80];
	snprintf(chunk, sizeof chunk, "=%s", name);
	int ref, rc = 0;
	if (dv_hooks_load(h, chunk, name, src, len, &ref, err, sizeof err) != 0) {
		const char *rest;
		*line = dv_err_line(err, name, &rest);
		snprintf(msg, msglen, "%s%s", !strncmp(err, "load-time code: ", 16) ? "load-time code: " : "", rest);
		rc = DV_EINVALIDHOOK;
	} else {
		dv_env_functions(h->L, ref, fns_pg, fns_json);
	}
	dv_hooks_free(h);
	return rc;
}

int dv_hooks_test(const struct dv_hooks_conf *hc, const char *name, const char *src, size_t len,
    const struct dv_hook_req *rq, const struct dv_hook_event *ev, struct dv_buf *out)
{
	char err[600];
	struct dv_hooks *h = dv_hooks_state(hc, err, sizeof err);
	if (!h)
		return DV_ENOMEM;
	struct dv_buf writes, logs, reply, errs;
	dv_buf_init(&writes);
	dv_buf_init(&logs);
	dv_buf_init(&reply);
	dv_buf_init(&errs);
	h->t_writes = &writes;
	h->t_log = &logs;
	h->per_tick = 1; /* every instruction counted: the figure is exact */
	char chunk[80];
	snprintf(chunk, sizeof chunk, "=%s", name);
	int ref;
	double t0 = dv_hooks_monotonic_ms(NULL);
	bool loaded = dv_hooks_load(h, chunk, name, src, len, &ref, err, sizeof err) == 0;
	long long instr = h->ticks;
	int members = 0, ran = 0;
	char fn[64];
	snprintf(fn, sizeof fn, "on_%s", ev->kind);
	if (loaded) {
		dv_buf_puts(&reply, "{");
		ran = dv_fire_one(h, rq, ev, ref, name, fn, &reply, &members, &errs);
		dv_buf_puts(&reply, "}");
		instr += h->ticks;
	}
	double ms = dv_hooks_monotonic_ms(NULL) - t0;
	/* {"ok","event","ran","output","error":{"line","message"},"writes","log","instructions","time_ms"} */
	const char *emsg = !loaded ? err : NULL;
	struct dv_jv *ev_err = NULL;
	if (loaded && errs.len) {
		dv_buf_puts(&errs, "");
		ev_err = dv_jsonp_parse(errs.data, errs.len, NULL, 0);
		const struct dv_jv *m = ev_err ? dv_jv_get(ev_err, "error") : NULL;
		emsg = m && m->type == DV_JSTR ? m->str : "error";
	}
	dv_buf_printf(out, "{\"ok\":%s,\"event\":\"%s\",\"ran\":%s", emsg ? "false" : "true", ev->kind,
	    loaded && ran ? "true" : "false");
	if (!emsg && loaded && ran) {
		dv_buf_puts(out, ",\"output\":");
		/* {"name":{...}} -> the hook's own object */
		struct dv_jv *o = dv_jsonp_parse(reply.data, reply.len, NULL, 0);
		const struct dv_jv *mine = o ? dv_jv_get(o, name) : NULL;
		if (mine)
			dv_json_value(out, mine);
		else
			dv_buf_puts(out, "{}");
		dv_jv_free(o);
	}
	if (emsg) {
		const char *rest;
		int line = dv_err_line(emsg, name, &rest);
		dv_buf_puts(out, ",\"error\":{\"line\":");
		if (line)
			dv_buf_printf(out, "%d", line);
		else
			dv_buf_puts(out, "null");
		dv_buf_puts(out, ",\"message\":");
		dv_json_escape(out, rest, strlen(rest));
		dv_buf_puts(out, "}");
	}
	dv_jv_free(ev_err);
	dv_buf_printf(out, ",\"writes\":[%s],\"log\":[%s],\"instructions\":%lld,\"time_ms\":%.3f}",
	    writes.data ? writes.data : "", logs.data ? logs.data : "", instr, ms);
	dv_buf_fini(&writes);
	dv_buf_fini(&logs);
	dv_buf_fini(&reply);
	dv_buf_fini(&errs);
	dv_hooks_free(h);
	return out->failed ? DV_ENOMEM : 0;
}
