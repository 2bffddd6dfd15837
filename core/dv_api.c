/* dv_api.c — the route table of the HTTP API v1 (see dv_api.h): the loop
 * thread routes a request with it; a worker runs the route's handler. */
#include "dv_api.h"
#include "dv_ops.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Flags of a route. */
enum { DV_R_ADMIN = 1, /* needs the admin key, not a tenant's */
       DV_R_PLUGINS = 2, /* runs the image pipeline: needs the workers' plugins */
       DV_R_OPEN = 4 /* no key at all (sign-up, when enabled) */ };

/* The route table: method, path, operation, its name (metrics, logs), the
 * handler a worker runs (dv_ops.c calls it; dv_op_*.c), and flags. */
struct dv_route {
	int method;
	const char *pattern; /* "{id}" matches a positive decimal integer */
	int op;
	const char *name;
	dv_op_fn *run;
	int flags;
};

static const struct dv_route dv_routes[] = {
	/* images (dv_op_image.c, dv_op_faces.c: enrolment) */
	{DV_M_POST, "/v1/recognize", DV_API_RECOGNIZE, "recognize", dv_op_recognize, DV_R_PLUGINS},
	{DV_M_POST, "/v1/detect", DV_API_DETECT, "detect", dv_op_detect, DV_R_PLUGINS},
	{DV_M_POST, "/v1/verify", DV_API_VERIFY, "verify", dv_op_verify, DV_R_PLUGINS},
	{DV_M_POST, "/v1/persons/{id}/faces", DV_API_FACE_ADD, "face_add", dv_op_face_add, DV_R_PLUGINS},
	/* people and what is known of them (dv_op_persons.c) */
	{DV_M_POST, "/v1/persons", DV_API_PERSON_CREATE, "person_create", dv_op_person_create, 0},
	{DV_M_GET, "/v1/persons", DV_API_PERSON_LIST, "person_list", dv_op_person_list, 0},
	{DV_M_GET, "/v1/persons/{id}", DV_API_PERSON_GET, "person_get", dv_op_person_get, 0},
	{DV_M_PATCH, "/v1/persons/{id}", DV_API_PERSON_UPDATE, "person_update", dv_op_person_update, 0},
	{DV_M_DELETE, "/v1/persons/{id}", DV_API_PERSON_DELETE, "person_delete", dv_op_person_delete, 0},
	{DV_M_GET, "/v1/events", DV_API_EVENT_LIST, "event_list", dv_op_event_list, 0},
	{DV_M_POST, "/v1/events/{id}/outcome", DV_API_EVENT_OUTCOME, "event_outcome", dv_op_event_outcome, 0},
	{DV_M_GET, "/v1/state", DV_API_STATE_LIST, "state_list", dv_op_state_list, 0},
	/* faces (dv_op_faces.c) */
	{DV_M_GET, "/v1/persons/{id}/faces", DV_API_FACE_LIST, "face_list", dv_op_face_list, 0},
	{DV_M_DELETE, "/v1/faces/{id}", DV_API_FACE_DELETE, "face_delete", dv_op_face_delete, 0},
	{DV_M_GET, "/v1/faces/{id}/chip", DV_API_FACE_CHIP, "face_chip", dv_op_face_chip, 0},
	/* the tenant and its keys (dv_op_tenant.c, dv_opoint.c) */
	{DV_M_GET, "/v1/tenant", DV_API_TENANT_GET, "tenant_get", dv_op_tenant_get, 0},
	{DV_M_PATCH, "/v1/tenant", DV_API_TENANT_UPDATE, "tenant_update", dv_op_tenant_update, 0},
	{DV_M_GET, "/v1/tenant/operating_point", DV_API_OPERATING_POINT, "operating_point", dv_op_operating_point, 0},
	{DV_M_POST, "/v1/keys", DV_API_KEY_CREATE, "key_create", dv_op_key_create, 0},
	{DV_M_GET, "/v1/keys", DV_API_KEY_LIST, "key_list", dv_op_key_list, 0},
	{DV_M_GET, "/v1/key", DV_API_KEY_SELF, "key_self", dv_op_key_self, 0},
	{DV_M_DELETE, "/v1/keys/{id}", DV_API_KEY_REVOKE, "key_revoke", dv_op_key_revoke, 0},
	/* the tenant's stored Lua hooks and the audit log (dv_op_hooks.c) */
	{DV_M_GET, "/v1/hooks", DV_API_HOOK_LIST, "hook_list", dv_op_hook_list, 0},
	{DV_M_GET, "/v1/hooks/{name}", DV_API_HOOK_GET, "hook_get", dv_op_hook_get, 0},
	{DV_M_PUT, "/v1/hooks/{name}", DV_API_HOOK_PUT, "hook_put", dv_op_hook_put, 0},
	{DV_M_DELETE, "/v1/hooks/{name}", DV_API_HOOK_DELETE, "hook_delete", dv_op_hook_delete, 0},
	{DV_M_GET, "/v1/hooks/{name}/versions", DV_API_HOOK_VERSIONS, "hook_versions", dv_op_hook_versions, 0},
	{DV_M_GET, "/v1/hooks/{name}/versions/{id}", DV_API_HOOK_VERSION, "hook_version", dv_op_hook_version, 0},
	{DV_M_POST, "/v1/hooks/{name}/activate", DV_API_HOOK_ACTIVATE, "hook_activate", dv_op_hook_activate, 0},
	{DV_M_POST, "/v1/hooks/{name}/test", DV_API_HOOK_TEST, "hook_test", dv_op_hook_test, 0},
	{DV_M_POST, "/v1/hooks/{name}/install", DV_API_HOOK_INSTALL, "hook_install", dv_op_hook_install, 0},
	{DV_M_GET, "/v1/catalogue/hooks", DV_API_HOOK_CATALOGUE, "hook_catalogue", dv_op_hook_catalogue, 0},
	{DV_M_GET, "/v1/audit", DV_API_AUDIT_LIST, "audit_list", dv_op_audit_list, 0},
	/* a shop signs up (dv_op_signup.c) */
	{DV_M_POST, "/v1/signup", DV_API_SIGNUP, "signup", dv_op_signup, DV_R_OPEN},
	{DV_M_GET, "/v1/signup", DV_API_SIGNUP_INFO, "signup_info", dv_op_signup_info, DV_R_OPEN},
	/* background jobs (dv_op_jobs.c) */
	{DV_M_POST, "/v1/jobs", DV_API_JOB_SUBMIT, "job_submit", dv_op_job_submit, 0},
	{DV_M_GET, "/v1/jobs/{id}", DV_API_JOB_GET, "job_get", dv_op_job_get, 0},
	/* the admin API: the admin key (dv_op_tenant.c) */
	{DV_M_POST, "/v1/admin/tenants", DV_API_ADMIN_TENANT_CREATE, "admin_tenant_create",
	    dv_op_admin_tenant_create, DV_R_ADMIN},
	{DV_M_GET, "/v1/admin/tenants", DV_API_ADMIN_TENANT_LIST, "admin_tenant_list",
	    dv_op_admin_tenant_list, DV_R_ADMIN},
	{DV_M_POST, "/v1/admin/tenants/{id}/keys", DV_API_ADMIN_KEY_CREATE, "admin_key_create",
	    dv_op_key_create, DV_R_ADMIN},
};
#define DV_NROUTES (sizeof dv_routes / sizeof dv_routes[0])

static int dv_match(const char *pat, const char *path, uint64_t *id, char *name)
{
	while (*pat) {
		if (!strncmp(pat, "{name}", 6)) {
			/* letters, digits, _ . - (the handler says which names are valid) */
			size_t n = strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
			if (n == 0 || n >= DV_API_NAME_MAX)
				return 0;
			memcpy(name, path, n);
			name[n] = 0;
			path += n;
			pat += 6;
			continue;
		}
		if (!strncmp(pat, "{id}", 4)) {
			if (*path < '1' || *path > '9')
				return 0;
			char *end;
			errno = 0;
			unsigned long long v = strtoull(path, &end, 10);
			if (errno || end - path > 19)
				return 0;
			*id = v;
			path = end;
			pat += 4;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	/* one trailing slash is tolerated */
	return *path == 0 || (path[0] == '/' && path[1] == 0);
}

int dv_api_route(int method, const char *path, uint64_t *id, char name[DV_API_NAME_MAX], int *allow)
{
	*allow = 0;
	*id = 0;
	name[0] = 0;
	for (size_t i = 0; i < DV_NROUTES; i++) {
		uint64_t v = 0;
		char nm[DV_API_NAME_MAX] = "";
		if (!dv_match(dv_routes[i].pattern, path, &v, nm))
			continue;
		*allow |= dv_routes[i].method | (dv_routes[i].method == DV_M_GET ? DV_M_HEAD : 0);
		if (dv_routes[i].method == method || (method == DV_M_HEAD && dv_routes[i].method == DV_M_GET)) {
			*id = v;
			memcpy(name, nm, sizeof nm);
			return dv_routes[i].op;
		}
	}
	return *allow ? -1 : 0;
}

static const struct dv_route *dv_route_of(int op)
{
	for (size_t i = 0; i < DV_NROUTES; i++)
		if (dv_routes[i].op == op)
			return &dv_routes[i];
	return NULL;
}

const char *dv_api_name(int op)
{
	const struct dv_route *r = dv_route_of(op);
	return r ? r->name : "none";
}

dv_op_fn *dv_api_handler(int op)
{
	const struct dv_route *r = dv_route_of(op);
	return r ? r->run : NULL;
}

int dv_api_is_admin(int op)
{
	const struct dv_route *r = dv_route_of(op);
	return r && (r->flags & DV_R_ADMIN);
}

int dv_api_is_open(int op)
{
	const struct dv_route *r = dv_route_of(op);
	return r && (r->flags & DV_R_OPEN);
}

int dv_api_op_by_name(const char *name)
{
	static const struct { const char *n; int op; } ops[] = {
	    {"recognize", DV_API_RECOGNIZE}, {"detect", DV_API_DETECT}, {"verify", DV_API_VERIFY}, {"enrol",
	    DV_API_FACE_ADD},
	    {"enroll", DV_API_FACE_ADD}};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(ops[i].n, name))
			return ops[i].op;
	return 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} dv_scope_names[] = {{"recognize", DV_SC_RECOGNIZE}, {"detect", DV_SC_DETECT}, {"verify", DV_SC_VERIFY},
    {"enrol", DV_SC_ENROL}, {"persons:read", DV_SC_PERSONS_READ}, {"persons:write", DV_SC_PERSONS_WRITE},
    {"events:read", DV_SC_EVENTS_READ}, {"hooks", DV_SC_HOOKS}, {"keys", DV_SC_KEYS}, {"jobs", DV_SC_JOBS}};

uint32_t dv_scope_bit(const char *name)
{
	for (size_t i = 0; i < sizeof dv_scope_names / sizeof dv_scope_names[0]; i++)
		if (!strcmp(dv_scope_names[i].name, name))
			return dv_scope_names[i].bit;
	return !strcmp(name, "enroll") ? DV_SC_ENROL : 0;
}

const char *dv_scope_name(uint32_t bit)
{
	for (size_t i = 0; i < sizeof dv_scope_names / sizeof dv_scope_names[0]; i++)
		if (dv_scope_names[i].bit == bit)
			return dv_scope_names[i].name;
	return "?";
}

uint32_t dv_api_scopes(int op)
{
	switch (op) {
	case DV_API_RECOGNIZE: return DV_SC_RECOGNIZE;
	case DV_API_DETECT: return DV_SC_DETECT;
	case DV_API_VERIFY: return DV_SC_VERIFY;
	case DV_API_FACE_ADD: return DV_SC_ENROL | DV_SC_PERSONS_WRITE;
	case DV_API_EVENT_OUTCOME: return DV_SC_ENROL | DV_SC_PERSONS_WRITE;
	case DV_API_PERSON_CREATE: return DV_SC_ENROL | DV_SC_PERSONS_WRITE;
	case DV_API_PERSON_LIST:
	case DV_API_PERSON_GET:
	case DV_API_FACE_LIST:
	case DV_API_FACE_CHIP:
	case DV_API_OPERATING_POINT: return DV_SC_PERSONS_READ;
	case DV_API_PERSON_UPDATE:
	case DV_API_PERSON_DELETE:
	case DV_API_FACE_DELETE: return DV_SC_PERSONS_WRITE;
	case DV_API_EVENT_LIST:
	case DV_API_STATE_LIST: return DV_SC_EVENTS_READ;
	case DV_API_HOOK_LIST:
	case DV_API_HOOK_GET:
	case DV_API_HOOK_PUT:
	case DV_API_HOOK_DELETE:
	case DV_API_HOOK_VERSIONS:
	case DV_API_HOOK_VERSION:
	case DV_API_HOOK_ACTIVATE:
	case DV_API_HOOK_TEST:
	case DV_API_HOOK_INSTALL:
	case DV_API_HOOK_CATALOGUE: return DV_SC_HOOKS;
	case DV_API_TENANT_UPDATE:
	case DV_API_KEY_CREATE:
	case DV_API_KEY_LIST:
	case DV_API_KEY_REVOKE:
	case DV_API_AUDIT_LIST: return DV_SC_KEYS;
	case DV_API_JOB_SUBMIT:
	case DV_API_JOB_GET: return DV_SC_JOBS;
	default: return 0; /* GET /v1/tenant (signing in), the admin API (its own key) */
	}
}

int dv_api_needs_plugins(int op)
{
	const struct dv_route *r = dv_route_of(op);
	return op == DV_API_NONE || (r && (r->flags & DV_R_PLUGINS));
}
