/* dv_api.c — the route table of the HTTP API v1 (see dv_api.h). */
#include "dv_api.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dv_route {
	int method;
	const char *pattern; /* "{id}" matches a positive decimal integer */
	int op;
	const char *name;
};

static const struct dv_route dv_routes[] = {
	{DV_M_POST, "/v1/recognize", DV_API_RECOGNIZE, "recognize"},
	{DV_M_POST, "/v1/detect", DV_API_DETECT, "detect"},
	{DV_M_POST, "/v1/verify", DV_API_VERIFY, "verify"},
	{DV_M_POST, "/v1/admin/tenants", DV_API_ADMIN_TENANT_CREATE, "admin_tenant_create"},
	{DV_M_GET, "/v1/admin/tenants", DV_API_ADMIN_TENANT_LIST, "admin_tenant_list"},
	{DV_M_POST, "/v1/admin/tenants/{id}/keys", DV_API_ADMIN_KEY_CREATE, "admin_key_create"},
	{DV_M_GET, "/v1/tenant", DV_API_TENANT_GET, "tenant_get"},
	{DV_M_PATCH, "/v1/tenant", DV_API_TENANT_UPDATE, "tenant_update"},
	{DV_M_GET, "/v1/tenant/operating_point", DV_API_OPERATING_POINT, "operating_point"},
	{DV_M_POST, "/v1/keys", DV_API_KEY_CREATE, "key_create"},
	{DV_M_GET, "/v1/keys", DV_API_KEY_LIST, "key_list"},
	{DV_M_DELETE, "/v1/keys/{id}", DV_API_KEY_REVOKE, "key_revoke"},
	{DV_M_POST, "/v1/persons", DV_API_PERSON_CREATE, "person_create"},
	{DV_M_GET, "/v1/persons", DV_API_PERSON_LIST, "person_list"},
	{DV_M_GET, "/v1/persons/{id}", DV_API_PERSON_GET, "person_get"},
	{DV_M_PATCH, "/v1/persons/{id}", DV_API_PERSON_UPDATE, "person_update"},
	{DV_M_DELETE, "/v1/persons/{id}", DV_API_PERSON_DELETE, "person_delete"},
	{DV_M_POST, "/v1/persons/{id}/faces", DV_API_FACE_ADD, "face_add"},
	{DV_M_GET, "/v1/persons/{id}/faces", DV_API_FACE_LIST, "face_list"},
	{DV_M_DELETE, "/v1/faces/{id}", DV_API_FACE_DELETE, "face_delete"},
	{DV_M_GET, "/v1/faces/{id}/chip", DV_API_FACE_CHIP, "face_chip"},
	{DV_M_GET, "/v1/events", DV_API_EVENT_LIST, "event_list"},
	{DV_M_POST, "/v1/jobs", DV_API_JOB_SUBMIT, "job_submit"},
	{DV_M_GET, "/v1/jobs/{id}", DV_API_JOB_GET, "job_get"},
	{DV_M_GET, "/v1/state", DV_API_STATE_LIST, "state_list"},
};
#define DV_NROUTES (sizeof dv_routes / sizeof dv_routes[0])

static int dv_match(const char *pat, const char *path, uint64_t *id)
{
	while (*pat) {
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

int dv_api_route(int method, const char *path, uint64_t *id, int *allow)
{
	*allow = 0;
	*id = 0;
	for (size_t i = 0; i < DV_NROUTES; i++) {
		uint64_t v = 0;
		if (!dv_match(dv_routes[i].pattern, path, &v))
			continue;
		*allow |= dv_routes[i].method | (dv_routes[i].method == DV_M_GET ? DV_M_HEAD : 0);
		if (dv_routes[i].method == method || (method == DV_M_HEAD && dv_routes[i].method == DV_M_GET)) {
			*id = v;
			return dv_routes[i].op;
		}
	}
	return *allow ? -1 : 0;
}

const char *dv_api_name(int op)
{
	for (size_t i = 0; i < DV_NROUTES; i++)
		if (dv_routes[i].op == op)
			return dv_routes[i].name;
	return "none";
}

int dv_api_is_admin(int op)
{
	return op == DV_API_ADMIN_TENANT_CREATE || op == DV_API_ADMIN_TENANT_LIST || op == DV_API_ADMIN_KEY_CREATE;
}

int dv_api_op_by_name(const char *name)
{
	static const struct { const char *n; int op; } ops[] = {
	    {"recognize", DV_API_RECOGNIZE}, {"detect", DV_API_DETECT}, {"verify", DV_API_VERIFY}, {"enrol", DV_API_FACE_ADD},
	    {"enroll", DV_API_FACE_ADD}};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(ops[i].n, name))
			return ops[i].op;
	return 0;
}

int dv_api_needs_plugins(int op)
{
	return op == DV_API_NONE || op == DV_API_RECOGNIZE || op == DV_API_DETECT || op == DV_API_VERIFY ||
	       op == DV_API_FACE_ADD;
}
