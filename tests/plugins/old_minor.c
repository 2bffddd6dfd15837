/* A matcher built as a plugin of ABI 3.0 is: its descriptor ends after
 * matcher_count (3.1 appended matcher_memory), and the bytes that follow it
 * in memory are 0xff, so a host that read past the declared size would find
 * a wild matcher_memory pointer there. A host of minor >= 0 must load it,
 * see matcher_memory as NULL, and run it. It matches by brute force over at
 * most 64 vectors of up to 64 dimensions (one instance for all workers,
 * behind a mutex). */
#include <dejaview/plugin.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct om {
	pthread_mutex_t mu;
	uint64_t ids[64], tenants[64];
	float vecs[64][64];
	int n, dim;
};

static int om_create(const struct dv_host *h, void **out)
{
	(void)h;
	struct om *m = calloc(1, sizeof(struct om));
	if (!m)
		return DV_PLUGIN_ENOMEM;
	pthread_mutex_init(&m->mu, NULL);
	*out = m;
	return DV_PLUGIN_OK;
}
static void om_destroy(void *p)
{
	struct om *m = p;
	pthread_mutex_destroy(&m->mu);
	free(m);
}
static int om_remove_locked(struct om *m, uint64_t tenant, uint64_t id)
{
	for (int i = 0; i < m->n; i++)
		if (m->ids[i] == id && m->tenants[i] == tenant) {
			m->ids[i] = m->ids[m->n - 1];
			m->tenants[i] = m->tenants[m->n - 1];
			memcpy(m->vecs[i], m->vecs[m->n - 1], sizeof m->vecs[i]);
			memset(m->vecs[m->n - 1], 0, sizeof m->vecs[0]);
			m->n--;
			break;
		}
	return DV_PLUGIN_OK;
}
static int om_add(void *p, uint64_t tenant, uint64_t id, const float *v, int dim)
{
	struct om *m = p;
	if (dim > 64)
		return DV_PLUGIN_EINVAL;
	pthread_mutex_lock(&m->mu);
	om_remove_locked(m, tenant, id);
	int rc = DV_PLUGIN_EINVAL;
	if (m->n < 64) {
		m->dim = dim;
		m->ids[m->n] = id;
		m->tenants[m->n] = tenant;
		memcpy(m->vecs[m->n++], v, sizeof(float) * (size_t)dim);
		rc = DV_PLUGIN_OK;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}
static int om_remove(void *p, uint64_t tenant, uint64_t id)
{
	struct om *m = p;
	pthread_mutex_lock(&m->mu);
	om_remove_locked(m, tenant, id);
	pthread_mutex_unlock(&m->mu);
	return DV_PLUGIN_OK;
}
static int om_search(void *p, uint64_t tenant, const float *q, int dim, int k, struct dv_match *out, int *n_out)
{
	struct om *m = p;
	int best = -1;
	float bd = INFINITY;
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < m->n; i++) {
		if (m->tenants[i] != tenant)
			continue;
		float d = 0;
		for (int j = 0; j < dim; j++)
			d += (q[j] - m->vecs[i][j]) * (q[j] - m->vecs[i][j]);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	*n_out = 0;
	if (best >= 0 && k > 0) {
		out[0].id = m->ids[best];
		out[0].distance = sqrtf(bd);
		*n_out = 1;
	}
	pthread_mutex_unlock(&m->mu);
	return DV_PLUGIN_OK;
}
static int64_t om_count(void *p)
{
	struct om *m = p;
	pthread_mutex_lock(&m->mu);
	int64_t n = m->n;
	pthread_mutex_unlock(&m->mu);
	return n;
}

static union {
	struct dv_plugin d;
	unsigned char b[sizeof(struct dv_plugin) + 64];
} om_desc;

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void)
{
	static int built;
	if (!built) {
		const struct dv_plugin full = {.magic = DV_PLUGIN_MAGIC, .abi_major = 3, .abi_minor = 0,
		    .size = (uint32_t)DV_PLUGIN_SIZE_3_0, .kind = DV_PLUGIN_MATCHER, .flags = DV_PLUGIN_SHARED, .name = "old_minor",
		    .version = "3.0-built", .description = "a matcher built against plugin ABI 3.0", .create = om_create,
		    .destroy = om_destroy, .matcher_add = om_add, .matcher_remove = om_remove, .matcher_search = om_search,
		    .matcher_count = om_count};
		memset(om_desc.b, 0xff, sizeof om_desc.b);
		memcpy(om_desc.b, &full, DV_PLUGIN_SIZE_3_0);
		built = 1;
	}
	return &om_desc.d;
}
