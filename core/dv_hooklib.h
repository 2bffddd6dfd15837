/* dv_hooklib.h — the tenants' stored hooks as this server knows them: for
 * each tenant that has been served, an immutable snapshot of its active hook
 * versions in run order (name, version, sha256, source), shared by all
 * workers. A request takes a reference to its tenant's snapshot when its
 * record stage begins and runs that snapshot to the end, whatever changes
 * meanwhile.
 *
 * Snapshots are loaded on first use from PostgreSQL (dv_store_hooks_active)
 * and replaced when a change is announced on the channel dv_hooks (the
 * gallery's LISTEN connection, dv_gallery.c) or made by this server. Each
 * carries the tenant's hooks_seq: a snapshot older than the newest sequence
 * announced for its tenant is never served or published, so a load that
 * raced a change cannot bring back the old version. */
#ifndef DV_HOOKLIB_H
#define DV_HOOKLIB_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dv_store;

struct dv_hookver {
	char *name;
	int version;
	char sha[65];
	char *src;
	size_t len;
};

struct dv_tenant_hooks {
	atomic_int refs;
	uint64_t tenant;
	long long seq;         /* dv_tenants.hooks_seq when read */
	int n;
	struct dv_hookver *h;  /* in run order */
};

struct dv_hooklib;
struct dv_hooklib *dv_hooklib_new(void);
void dv_hooklib_free(struct dv_hooklib *lib);

/* The tenant's snapshot (a reference: dv_tenant_hooks_unref), loaded with st
 * when this server has none that is current. NULL with *rc set when the
 * database cannot be read. */
struct dv_tenant_hooks *dv_hooklib_acquire(struct dv_hooklib *lib, struct dv_store *st, uint64_t tenant, int *rc);
void dv_tenant_hooks_unref(struct dv_tenant_hooks *th);
/* Another reference to th (NULL stays NULL). */
struct dv_tenant_hooks *dv_tenant_hooks_ref(struct dv_tenant_hooks *th);
/* A change to the tenant's hooks, sequence seq, was committed (announced:
 * learnt through NOTIFY, else made here): drop older copies (the next
 * request loads the new one). Any thread. */
void dv_hooklib_changed(struct dv_hooklib *lib, uint64_t tenant, long long seq, bool announced);
/* Forget every snapshot (the LISTEN connection was lost: changes may have
 * been missed). */
void dv_hooklib_forget_all(struct dv_hooklib *lib);
/* Counters for /metrics. */
void dv_hooklib_stats(struct dv_hooklib *lib, unsigned long long *loads, unsigned long long *changes,
    unsigned long long *notified, int *tenants);
#endif
