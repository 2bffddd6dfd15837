/* dv_hooklib.c — the tenants' stored hooks, shared by the workers (see
 * dv_hooklib.h). One mutex guards two maps: tenant -> snapshot, and tenant
 * -> the newest sequence announced. Loading happens outside the lock. */
#include "dv_hooklib.h"
#include "dv_assert.h"
#include "dv_store.h"
#include "dv_u64map.h"
#include <pthread.h>
#include <stdlib.h>

struct dv_hooklib {
	pthread_mutex_t mu;
	struct dv_u64map snaps;   /* tenant -> struct dv_tenant_hooks * (one reference) */
	struct dv_u64map floor;   /* tenant -> newest announced seq */
	unsigned long long loads, changes, notified;
};

struct dv_hooklib *dv_hooklib_new(void)
{
	struct dv_hooklib *lib = calloc(1, sizeof *lib);
	if (lib)
		pthread_mutex_init(&lib->mu, NULL);
	return lib;
}

struct dv_tenant_hooks *dv_tenant_hooks_ref(struct dv_tenant_hooks *th)
{
	if (th)
		atomic_fetch_add(&th->refs, 1);
	return th;
}

void dv_tenant_hooks_unref(struct dv_tenant_hooks *th)
{
	if (!th)
		return;
	int was = atomic_fetch_sub(&th->refs, 1);
	DV_ASSERT(was >= 1);
	if (was != 1)
		return;
	for (int i = 0; i < th->n; i++) {
		free(th->h[i].name);
		free(th->h[i].src);
	}
	free(th->h);
	free(th);
}

static void dv_hooklib_drop_all(struct dv_hooklib *lib)
{
	for (size_t i = 0; i < lib->snaps.cap; i++)
		if (lib->snaps.keys && lib->snaps.keys[i])
			dv_tenant_hooks_unref((struct dv_tenant_hooks *)(uintptr_t)lib->snaps.vals[i]);
	dv_u64map_free(&lib->snaps);
}

void dv_hooklib_free(struct dv_hooklib *lib)
{
	if (!lib)
		return;
	dv_hooklib_drop_all(lib);
	dv_u64map_free(&lib->floor);
	pthread_mutex_destroy(&lib->mu);
	free(lib);
}

/* The current snapshot of tenant, referenced, or NULL. Under lib->mu. */
static struct dv_tenant_hooks *dv_hooklib_find(struct dv_hooklib *lib, uint64_t tenant)
{
	uint64_t *v = dv_u64map_find(&lib->snaps, tenant);
	if (!v)
		return NULL;
	struct dv_tenant_hooks *th = (struct dv_tenant_hooks *)(uintptr_t)*v;
	uint64_t *fl = dv_u64map_find(&lib->floor, tenant);
	if (fl && (long long)*fl > th->seq)
		return NULL; /* older than a change announced since */
	atomic_fetch_add(&th->refs, 1);
	return th;
}

struct dv_tenant_hooks *dv_hooklib_acquire(struct dv_hooklib *lib, struct dv_store *st, uint64_t tenant, int *rc)
{
	*rc = 0;
	pthread_mutex_lock(&lib->mu);
	struct dv_tenant_hooks *th = dv_hooklib_find(lib, tenant);
	pthread_mutex_unlock(&lib->mu);
	if (th)
		return th;
	th = calloc(1, sizeof *th);
	if (!th) {
		*rc = -1;
		return NULL;
	}
	atomic_init(&th->refs, 1);
	th->tenant = tenant;
	*rc = dv_store_hooks_active(st, tenant, &th->seq, &th->h, &th->n);
	if (*rc) {
		dv_tenant_hooks_unref(th);
		return NULL;
	}
	pthread_mutex_lock(&lib->mu);
	lib->loads++;
	uint64_t *fl = dv_u64map_find(&lib->floor, tenant);
	uint64_t *cur = dv_u64map_find(&lib->snaps, tenant);
	struct dv_tenant_hooks *old = cur ? (struct dv_tenant_hooks *)(uintptr_t)*cur : NULL;
	/* publish unless something newer is known; serve it either way (it was
	 * current when read, and this request began before any newer change) */
	if ((!fl || (long long)*fl <= th->seq) && (!old || old->seq <= th->seq) &&
	    dv_u64map_put(&lib->snaps, tenant, (uint64_t)(uintptr_t)th) == 0) {
		atomic_fetch_add(&th->refs, 1);
		dv_tenant_hooks_unref(old);
	}
	pthread_mutex_unlock(&lib->mu);
	return th;
}

void dv_hooklib_changed(struct dv_hooklib *lib, uint64_t tenant, long long seq, bool announced)
{
	pthread_mutex_lock(&lib->mu);
	lib->changes++;
	lib->notified += announced;
	uint64_t *fl = dv_u64map_find(&lib->floor, tenant);
	if (!fl || (long long)*fl < seq)
		dv_u64map_put(&lib->floor, tenant, (uint64_t)seq);
	pthread_mutex_unlock(&lib->mu);
}

void dv_hooklib_forget_all(struct dv_hooklib *lib)
{
	pthread_mutex_lock(&lib->mu);
	dv_hooklib_drop_all(lib);
	pthread_mutex_unlock(&lib->mu);
}

void dv_hooklib_stats(struct dv_hooklib *lib, unsigned long long *loads, unsigned long long *changes,
    unsigned long long *notified, int *tenants)
{
	pthread_mutex_lock(&lib->mu);
	*notified = lib->notified;
	*loads = lib->loads;
	*changes = lib->changes;
	*tenants = (int)lib->snaps.n;
	pthread_mutex_unlock(&lib->mu);
}
