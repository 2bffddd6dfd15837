/* match_example.c — template matcher plugin: exact nearest neighbours by
 * brute force over each tenant's vectors. It is DV_PLUGIN_SHARED, so one
 * instance serves every worker: searches share a read lock, add/remove take
 * the write lock. Copy this file to start a real matcher. */
#include <dejaview/plugin.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gal {
	uint64_t tenant;
	uint64_t *ids;
	float *vecs;
	int n, cap;
};

struct mat {
	const struct dv_host *host;
	pthread_rwlock_t lock;
	struct gal *gals;
	int n_gals;
	int dim;
	int64_t total;
};

static int mat_create(const struct dv_host *h, void **out)
{
	struct mat *m = calloc(1, sizeof *m);
	if (!m)
		return DV_PLUGIN_ENOMEM;
	m->host = h;
	pthread_rwlock_init(&m->lock, NULL);
	*out = m;
	return DV_PLUGIN_OK;
}

static void mat_destroy(void *p)
{
	struct mat *m = p;
	for (int i = 0; i < m->n_gals; i++) {
		free(m->gals[i].ids);
		free(m->gals[i].vecs);
	}
	free(m->gals);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

static struct gal *mat_gal(struct mat *m, uint64_t tenant, int create)
{
	for (int i = 0; i < m->n_gals; i++)
		if (m->gals[i].tenant == tenant)
			return &m->gals[i];
	if (!create)
		return NULL;
	struct gal *g = realloc(m->gals, sizeof *g * (size_t)(m->n_gals + 1));
	if (!g)
		return NULL;
	m->gals = g;
	g = &m->gals[m->n_gals++];
	memset(g, 0, sizeof *g);
	g->tenant = tenant;
	return g;
}

static int mat_remove_locked(struct mat *m, uint64_t tenant, uint64_t id)
{
	struct gal *g = mat_gal(m, tenant, 0);
	if (!g)
		return 0;
	for (int i = 0; i < g->n; i++)
		if (g->ids[i] == id) {
			g->n--;
			g->ids[i] = g->ids[g->n];
			memcpy(g->vecs + (size_t)i * m->dim, g->vecs + (size_t)g->n * m->dim, sizeof(float) * (size_t)m->dim);
			m->total--;
			return 1;
		}
	return 0;
}

static int mat_add(void *p, uint64_t tenant, uint64_t id, const float *vec, int dim)
{
	struct mat *m = p;
	int rc = DV_PLUGIN_OK;
	pthread_rwlock_wrlock(&m->lock);
	if (m->dim == 0)
		m->dim = dim;
	if (dim != m->dim) {
		m->host->error(m->host, "vector of dimension %d added to a gallery of dimension %d", dim, m->dim);
		rc = DV_PLUGIN_EINVAL;
		goto out;
	}
	mat_remove_locked(m, tenant, id);
	struct gal *g = mat_gal(m, tenant, 1);
	if (!g) {
		rc = DV_PLUGIN_ENOMEM;
		goto out;
	}
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 64;
		uint64_t *ids = realloc(g->ids, sizeof *ids * (size_t)cap);
		if (ids)
			g->ids = ids;
		float *v = realloc(g->vecs, sizeof *v * (size_t)cap * (size_t)dim);
		if (v)
			g->vecs = v;
		if (!ids || !v) {
			rc = DV_PLUGIN_ENOMEM;
			goto out;
		}
		g->cap = cap;
	}
	g->ids[g->n] = id;
	memcpy(g->vecs + (size_t)g->n * dim, vec, sizeof(float) * (size_t)dim);
	g->n++;
	m->total++;
out:
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mat_remove(void *p, uint64_t tenant, uint64_t id)
{
	struct mat *m = p;
	pthread_rwlock_wrlock(&m->lock);
	mat_remove_locked(m, tenant, id);
	pthread_rwlock_unlock(&m->lock);
	return DV_PLUGIN_OK;
}

static int mat_search(void *p, uint64_t tenant, const float *q, int dim, int k, struct dv_match *out, int *n_out)
{
	struct mat *m = p;
	*n_out = 0;
	pthread_rwlock_rdlock(&m->lock);
	struct gal *g = mat_gal(m, tenant, 0);
	if (g && dim != m->dim) {
		pthread_rwlock_unlock(&m->lock);
		m->host->error(m->host, "query of dimension %d against a gallery of dimension %d", dim, m->dim);
		return DV_PLUGIN_EINVAL;
	}
	int n = 0;
	for (int i = 0; g && i < g->n; i++) {
		const float *v = g->vecs + (size_t)i * dim;
		double s = 0;
		for (int d = 0; d < dim; d++) {
			double t = (double)v[d] - q[d];
			s += t * t;
		}
		float dist = (float)sqrt(s);
		/* insertion into the sorted top-k */
		int pos = n < k ? n : k;
		while (pos > 0 && out[pos - 1].distance > dist)
			pos--;
		if (pos >= k)
			continue;
		int last = n < k ? n : k - 1;
		memmove(&out[pos + 1], &out[pos], sizeof *out * (size_t)(last - pos));
		out[pos].id = g->ids[i];
		out[pos].distance = dist;
		if (n < k)
			n++;
	}
	pthread_rwlock_unlock(&m->lock);
	*n_out = n;
	return DV_PLUGIN_OK;
}

static int64_t mat_count(void *p)
{
	struct mat *m = p;
	pthread_rwlock_rdlock(&m->lock);
	int64_t n = m->total;
	pthread_rwlock_unlock(&m->lock);
	return n;
}

static const struct dv_plugin mat_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_MATCHER,
	.flags = DV_PLUGIN_SHARED,
	.name = "match_example",
	.version = "1.0",
	.description = "exact brute-force nearest neighbours per tenant (template)",
	.params = NULL,
	.create = mat_create,
	.destroy = mat_destroy,
	.matcher_add = mat_add,
	.matcher_remove = mat_remove,
	.matcher_search = mat_search,
	.matcher_count = mat_count,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &mat_plugin; }
