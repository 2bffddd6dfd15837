/* dv_api.h — the HTTP API's routes (pure): method + path -> operation, path
 * id and handler. The loop thread routes with it (dv_http.c); workers run
 * the handlers (dv_ops.c). */
#ifndef DV_API_H
#define DV_API_H
#include <stdint.h>

enum dv_api_op {
	DV_API_NONE = 0,
	DV_API_RECOGNIZE,
	DV_API_DETECT,
	DV_API_VERIFY,
	DV_API_ADMIN_TENANT_CREATE,
	DV_API_ADMIN_TENANT_LIST,
	DV_API_ADMIN_KEY_CREATE,   /* a key for tenant {id} */
	DV_API_TENANT_GET,         /* the caller's tenant */
	DV_API_TENANT_UPDATE,
	DV_API_KEY_CREATE,
	DV_API_KEY_LIST,
	DV_API_KEY_REVOKE,
	DV_API_PERSON_CREATE,
	DV_API_PERSON_LIST,
	DV_API_PERSON_GET,
	DV_API_PERSON_UPDATE,
	DV_API_PERSON_DELETE,
	DV_API_FACE_ADD,
	DV_API_FACE_LIST,
	DV_API_FACE_DELETE,
	DV_API_FACE_CHIP,
	DV_API_EVENT_LIST,
	DV_API_JOB_SUBMIT,
	DV_API_JOB_GET,
	DV_API_STATE_LIST,         /* the hooks' state: GET /v1/state?namespace=&key=&person_id= */
	DV_API_OPERATING_POINT,    /* GET /v1/tenant/operating_point */
	DV_API_HOOK_LIST,          /* the tenant's stored hooks (dv_op_hooks.c) */
	DV_API_HOOK_GET,
	DV_API_HOOK_PUT,
	DV_API_HOOK_DELETE,
	DV_API_HOOK_VERSIONS,
	DV_API_HOOK_VERSION,
	DV_API_HOOK_ACTIVATE,
	DV_API_HOOK_TEST,
	DV_API_HOOK_INSTALL,
	DV_API_HOOK_CATALOGUE,
	DV_API_AUDIT_LIST,
	DV_API_SIGNUP,             /* POST /v1/signup: no key (signup.enabled) */
	DV_API_SIGNUP_INFO,        /* GET /v1/signup: is it on, is an invitation needed */
	DV_API_EVENT_OUTCOME,      /* POST /v1/events/{id}/outcome: confirmed as a person, or rejected */
	DV_API_KEY_SELF,           /* GET /v1/key: the calling key's own scopes (any key) */
	DV_API_COUNT
};

enum { DV_M_GET = 1, DV_M_POST = 2, DV_M_PATCH = 4, DV_M_DELETE = 8, DV_M_PUT = 16, DV_M_HEAD = 32 };

/* What a key may do (issue 17). A key made before scopes has them all. */
enum dv_scope {
	DV_SC_RECOGNIZE = 1 << 0,
	DV_SC_DETECT = 1 << 1,
	DV_SC_VERIFY = 1 << 2,
	DV_SC_ENROL = 1 << 3,          /* a new person and its face (POST /v1/persons, .../faces) */
	DV_SC_PERSONS_READ = 1 << 4,
	DV_SC_PERSONS_WRITE = 1 << 5,
	DV_SC_EVENTS_READ = 1 << 6,
	DV_SC_HOOKS = 1 << 7,
	DV_SC_KEYS = 1 << 8,           /* keys, the tenant's settings, the audit log */
	DV_SC_JOBS = 1 << 9,
	DV_SC_ALL = (1 << 10) - 1
};
/* The scopes a browser may hold: a key with only these and a list of origins is publishable. */
#define DV_SC_BROWSER (DV_SC_RECOGNIZE | DV_SC_DETECT | DV_SC_VERIFY | DV_SC_ENROL)
/* "persons:read" -> its bit, 0 when unknown; and back. */
uint32_t dv_scope_bit(const char *name);
const char *dv_scope_name(uint32_t bit);
/* The scopes that allow the operation (any one suffices); 0: any key. */
uint32_t dv_api_scopes(int op);

/* The longest {name} of a path, with its NUL. */
#define DV_API_NAME_MAX 72
/* Route a request. Returns the operation (> 0) with the path's {id} in *id
 * and its {name} in name ("" when none); 0 when no route has this path
 * (404); -1 when the path exists but not with this method (405; *allow gets
 * the methods it has, DV_M_* bits). */
int dv_api_route(int method, const char *path, uint64_t *id, char name[DV_API_NAME_MAX], int *allow);
const char *dv_api_name(int op);
/* The handler a worker runs for the operation (dv_ops.h), or NULL. */
struct dv_job;
struct dv_ops_ctx;
typedef void dv_op_fn(struct dv_job *j, struct dv_ops_ctx *oc);
dv_op_fn *dv_api_handler(int op);
/* Admin operations need the configured admin key, not a tenant key. */
int dv_api_is_admin(int op);
/* Operations that take no key (sign-up). */
int dv_api_is_open(int op);
/* The operation of an async job's "op" (recognize, detect, verify, enrol), or 0. */
int dv_api_op_by_name(const char *name);
/* Operations that run the image pipeline. */
int dv_api_needs_plugins(int op);
#endif
