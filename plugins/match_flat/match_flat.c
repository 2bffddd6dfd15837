/* match_flat.c — exact nearest-neighbour matcher: each tenant's gallery in
 * memory, searched in full on every query, vectorised with runtime dispatch
 * (AVX-512, AVX2, portable C).
 *
 * Exact, and fast at a million faces. A full float32 scan of 1M x 128 floats
 * reads 512 MB per query: memory bandwidth bounds it, whatever the CPU.
 * So each vector x is also kept as int8 codes c with a scale s (x ~ s*c) and
 * the norm r = |x - s*c| of what the codes miss. The scan reads only the
 * codes (128 MB) and computes dq = |q - s*c|; by the triangle inequality
 * |q - x| >= dq - r, so a vector can only be among the k nearest when
 * dq - r is below the current k-th exact distance, and only then is its
 * exact float32 distance computed. The answer is the same as the full float
 * scan's (a margin covers float rounding); `mode: f32` does the plain scan,
 * for comparison.
 *
 * DV_PLUGIN_SHARED: one instance serves every worker; searches share a read
 * lock, add/remove take the write lock. */
#include <dejaview/plugin.h>
#include "dv_u64map.h"
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- kernels */

/* q . c for int8 codes, and |q - x|^2 for float rows; dim is a multiple of
 * 16 for the vector versions (checked at the first add). */
typedef float (*dot8_fn)(const float *q, const int8_t *c, int dim);
typedef float (*l2_fn)(const float *q, const float *x, int dim);

static float dot8_c(const float *q, const int8_t *c, int dim)
{
	float s = 0;
	for (int i = 0; i < dim; i++)
		s += q[i] * (float)c[i];
	return s;
}

static float l2_c(const float *q, const float *x, int dim)
{
	float s = 0;
	for (int i = 0; i < dim; i++) {
		float d = q[i] - x[i];
		s += d * d;
	}
	return s;
}

__attribute__((target("avx2,fma"))) static inline float hsum_avx2(__m256 a)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
	s = _mm_hadd_ps(s, s);
	s = _mm_hadd_ps(s, s);
	return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static float dot8_avx2(const float *q, const int8_t *c, int dim)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	for (int i = 0; i < dim; i += 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(c + i));
		__m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
		__m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), lo, a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), hi, a1);
	}
	return hsum_avx2(_mm256_add_ps(a0, a1));
}

__attribute__((target("avx2,fma"))) static float l2_avx2(const float *q, const float *x, int dim)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	for (int i = 0; i < dim; i += 16) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i));
		__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(x + i + 8));
		a0 = _mm256_fmadd_ps(d0, d0, a0);
		a1 = _mm256_fmadd_ps(d1, d1, a1);
	}
	return hsum_avx2(_mm256_add_ps(a0, a1));
}

__attribute__((target("avx512f"))) static float dot8_avx512(const float *q, const int8_t *c, int dim)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
	int i = 0;
	for (; i + 32 <= dim; i += 32) {
		__m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(c + i))));
		__m512 c1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(c + i + 16))));
		a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), c0, a0);
		a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), c1, a1);
	}
	for (; i < dim; i += 16) {
		__m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(c + i))));
		a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), c0, a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

__attribute__((target("avx512f"))) static float l2_avx512(const float *q, const float *x, int dim)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
	int i = 0;
	for (; i + 32 <= dim; i += 32) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i));
		__m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(x + i + 16));
		a0 = _mm512_fmadd_ps(d0, d0, a0);
		a1 = _mm512_fmadd_ps(d1, d1, a1);
	}
	for (; i < dim; i += 16) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i));
		a0 = _mm512_fmadd_ps(d0, d0, a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* ---------------------------------------------------------------- gallery */

struct gal {
	uint64_t tenant;
	int n, cap;
	uint64_t *ids;
	float *vecs;      /* n x dim, float32 */
	int8_t *codes;    /* n x dim */
	float *qs;        /* per vector: scale s, s^2 |c|^2, residual r */
	struct dv_u64map idx;   /* id -> row */
};

struct mf {
	const struct dv_host *host;
	pthread_rwlock_t lock;
	struct dv_u64map tenants;  /* tenant -> index into gals */
	struct gal **gals;
	int n_gals;
	int dim;             /* fixed by the first add */
	int64_t total;
	int f32;             /* mode: f32 */
	const char *isa;
	dot8_fn dot8;
	l2_fn l2;
};

static const struct dv_param mf_params[] = {
	{"simd", DV_PARAM_STRING, 0, 0, "auto", "auto (the best the CPU has), avx512, avx2 or c"},
	{"mode", DV_PARAM_STRING, 0, 0, "int8_bound", "int8_bound: scan int8 codes, exact float32 distance where the bound allows (default); f32: scan every float32 vector"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static int mf_create(const struct dv_host *h, void **out)
{
	struct mf *m = calloc(1, sizeof *m);
	if (!m)
		return DV_PLUGIN_ENOMEM;
	m->host = h;
	const char *simd, *mode;
	h->param_string(h, "simd", &simd);
	h->param_string(h, "mode", &mode);
	if (strcmp(mode, "int8_bound") && strcmp(mode, "f32")) {
		h->error(h, "mode must be int8_bound or f32, not \"%s\"", mode);
		free(m);
		return DV_PLUGIN_EINVAL;
	}
	m->f32 = !strcmp(mode, "f32");
	__builtin_cpu_init();
	int has512 = __builtin_cpu_supports("avx512f"), has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (!strcmp(simd, "auto"))
		simd = has512 ? "avx512" : has2 ? "avx2" : "c";
	if (!strcmp(simd, "avx512") && has512) {
		m->dot8 = dot8_avx512;
		m->l2 = l2_avx512;
	} else if (!strcmp(simd, "avx2") && has2) {
		m->dot8 = dot8_avx2;
		m->l2 = l2_avx2;
	} else if (!strcmp(simd, "c")) {
		m->dot8 = dot8_c;
		m->l2 = l2_c;
	} else {
		h->error(h, "simd \"%s\" is not available on this CPU (auto, avx512, avx2 or c)", simd);
		free(m);
		return DV_PLUGIN_EINVAL;
	}
	m->isa = simd;
	pthread_rwlock_init(&m->lock, NULL);
	h->log(h, DV_LOG_INFO, "match_flat kernels=%s mode=%s", simd, mode);
	*out = m;
	return DV_PLUGIN_OK;
}

static void gal_free(struct gal *g)
{
	free(g->ids);
	free(g->vecs);
	free(g->codes);
	free(g->qs);
	dv_u64map_free(&g->idx);
	free(g);
}

static void mf_destroy(void *p)
{
	struct mf *m = p;
	for (int i = 0; i < m->n_gals; i++)
		gal_free(m->gals[i]);
	free(m->gals);
	dv_u64map_free(&m->tenants);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

static struct gal *mf_gal(struct mf *m, uint64_t tenant, int create)
{
	uint64_t *i = dv_u64map_find(&m->tenants, tenant);
	if (i)
		return m->gals[*i];
	if (!create)
		return NULL;
	struct gal **v = realloc(m->gals, sizeof *v * (size_t)(m->n_gals + 1));
	if (!v)
		return NULL;
	m->gals = v;
	struct gal *g = calloc(1, sizeof *g);
	if (!g || dv_u64map_put(&m->tenants, tenant, (uint64_t)m->n_gals) != 0) {
		free(g);
		return NULL;
	}
	g->tenant = tenant;
	m->gals[m->n_gals++] = g;
	return g;
}

static int gal_reserve(struct gal *g, int dim)
{
	if (g->n < g->cap)
		return 0;
	int cap = g->cap ? g->cap + g->cap / 2 : 64;
	uint64_t *ids = realloc(g->ids, sizeof *ids * (size_t)cap);
	if (ids)
		g->ids = ids;
	float *vecs = realloc(g->vecs, sizeof *vecs * (size_t)cap * dim);
	if (vecs)
		g->vecs = vecs;
	int8_t *codes = realloc(g->codes, (size_t)cap * dim);
	if (codes)
		g->codes = codes;
	float *qs = realloc(g->qs, sizeof *qs * 3 * (size_t)cap);
	if (qs)
		g->qs = qs;
	if (!ids || !vecs || !codes || !qs)
		return -1;
	g->cap = cap;
	return 0;
}

/* Quantise row i from its float vector. */
static void gal_quantise(struct gal *g, int i, int dim)
{
	const float *x = g->vecs + (size_t)i * dim;
	float mx = 0;
	for (int k = 0; k < dim; k++)
		mx = fmaxf(mx, fabsf(x[k]));
	float s = mx > 0 ? mx / 127.0f : 1.0f;
	int8_t *c = g->codes + (size_t)i * dim;
	double cc = 0, rr = 0;
	for (int k = 0; k < dim; k++) {
		float v = nearbyintf(x[k] / s);
		v = fminf(127.0f, fmaxf(-127.0f, v));
		c[k] = (int8_t)v;
		cc += (double)v * v;
		double e = (double)x[k] - (double)s * v;
		rr += e * e;
	}
	g->qs[3 * i] = s;
	g->qs[3 * i + 1] = (float)((double)s * s * cc);
	g->qs[3 * i + 2] = (float)sqrt(rr);
}

static void gal_remove_row(struct mf *m, struct gal *g, int i)
{
	int dim = m->dim, last = g->n - 1;
	dv_u64map_del(&g->idx, g->ids[i]);
	if (i != last) {
		g->ids[i] = g->ids[last];
		memcpy(g->vecs + (size_t)i * dim, g->vecs + (size_t)last * dim, sizeof(float) * (size_t)dim);
		memcpy(g->codes + (size_t)i * dim, g->codes + (size_t)last * dim, (size_t)dim);
		memcpy(g->qs + 3 * (size_t)i, g->qs + 3 * (size_t)last, sizeof(float) * 3);
		dv_u64map_put(&g->idx, g->ids[i], (uint64_t)i);
	}
	/* the freed slot holds the erased vector (i == last) or a copy of the
	 * moved one: zero it, so an erased face leaves nothing in memory */
	memset(g->vecs + (size_t)last * dim, 0, sizeof(float) * (size_t)dim);
	memset(g->codes + (size_t)last * dim, 0, (size_t)dim);
	memset(g->qs + 3 * (size_t)last, 0, sizeof(float) * 3);
	g->ids[last] = 0;
	g->n--;
	m->total--;
}

static int mf_add(void *p, uint64_t tenant, uint64_t id, const float *vec, int dim)
{
	struct mf *m = p;
	if (dim <= 0)
		return DV_PLUGIN_EINVAL;
	pthread_rwlock_wrlock(&m->lock);
	int rc = DV_PLUGIN_OK;
	if (!m->dim) {
		m->dim = dim;
		if (dim % 16 && m->dot8 != dot8_c) {
			m->host->log(m->host, DV_LOG_INFO, "match_flat: dim %d is not a multiple of 16, using the C kernels", dim);
			m->dot8 = dot8_c;
			m->l2 = l2_c;
			m->isa = "c";
		}
	}
	if (dim != m->dim) {
		m->host->error(m->host, "vector of %d floats in a gallery of %d", dim, m->dim);
		rc = DV_PLUGIN_EINVAL;
		goto out;
	}
	struct gal *g = mf_gal(m, tenant, 1);
	if (!g) {
		rc = DV_PLUGIN_ENOMEM;
		goto out;
	}
	uint64_t *at = dv_u64map_find(&g->idx, id);
	int i;
	if (at) {
		i = (int)*at; /* replace */
	} else {
		if (gal_reserve(g, dim) != 0 || dv_u64map_put(&g->idx, id, (uint64_t)g->n) != 0) {
			rc = DV_PLUGIN_ENOMEM;
			goto out;
		}
		i = g->n++;
		g->ids[i] = id;
		m->total++;
	}
	memcpy(g->vecs + (size_t)i * dim, vec, sizeof(float) * (size_t)dim);
	gal_quantise(g, i, dim);
out:
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mf_remove(void *p, uint64_t tenant, uint64_t id)
{
	struct mf *m = p;
	pthread_rwlock_wrlock(&m->lock);
	struct gal *g = mf_gal(m, tenant, 0);
	uint64_t *at = g ? dv_u64map_find(&g->idx, id) : NULL;
	if (at)
		gal_remove_row(m, g, (int)*at);
	pthread_rwlock_unlock(&m->lock);
	return DV_PLUGIN_OK;
}

/* Insert (d, id) into the sorted top-k list of n entries. */
static void topk_push(struct dv_match *out, int *n, int k, float d, uint64_t id)
{
	if (*n == k && d >= out[k - 1].distance)
		return;
	int i = *n < k ? (*n)++ : k - 1;
	while (i > 0 && out[i - 1].distance > d) {
		out[i] = out[i - 1];
		i--;
	}
	out[i].distance = d;
	out[i].id = id;
}

static int mf_search(void *p, uint64_t tenant, const float *q, int dim, int k, struct dv_match *out, int *n_out)
{
	struct mf *m = p;
	*n_out = 0;
	if (k <= 0)
		return DV_PLUGIN_OK;
	pthread_rwlock_rdlock(&m->lock);
	struct gal *g = mf_gal(m, tenant, 0);
	if (!g || g->n == 0) {
		pthread_rwlock_unlock(&m->lock);
		return DV_PLUGIN_OK;
	}
	if (dim != m->dim) {
		pthread_rwlock_unlock(&m->lock);
		m->host->error(m->host, "query of %d floats in a gallery of %d", dim, m->dim);
		return DV_PLUGIN_EINVAL;
	}
	/* the list holds squared distances until the end */
	int n = 0;
	if (m->f32) {
		for (int i = 0; i < g->n; i++)
			topk_push(out, &n, k, m->l2(q, g->vecs + (size_t)i * dim, dim), g->ids[i]);
	} else {
		float qq = 0;
		for (int i = 0; i < dim; i++)
			qq += q[i] * q[i];
		float kth = INFINITY; /* k-th best exact distance (not squared) */
		for (int i = 0; i < g->n; i++) {
			const float *qs = g->qs + 3 * (size_t)i;
			float dq2 = qq - 2 * qs[0] * m->dot8(q, g->codes + (size_t)i * dim, dim) + qs[1];
			/* Skip when |q - x| >= dq - r > kth for sure, compared squared:
			 * dq2 is exact to within float rounding of three terms of size
			 * |q|^2 and |x|^2 and a 128-term sum, far below 1e-4 of them. */
			float lim = kth + qs[2];
			if (dq2 - 1e-4f * (qq + qs[1] + 1) > lim * lim)
				continue;
			float e = m->l2(q, g->vecs + (size_t)i * dim, dim);
			topk_push(out, &n, k, e, g->ids[i]);
			if (n == k)
				kth = sqrtf(out[k - 1].distance);
		}
	}
	for (int i = 0; i < n; i++)
		out[i].distance = sqrtf(out[i].distance);
	*n_out = n;
	pthread_rwlock_unlock(&m->lock);
	return DV_PLUGIN_OK;
}

static int64_t mf_count(void *p)
{
	struct mf *m = p;
	pthread_rwlock_rdlock(&m->lock);
	int64_t n = m->total;
	pthread_rwlock_unlock(&m->lock);
	return n;
}

static int64_t mf_memory(void *p)
{
	struct mf *m = p;
	pthread_rwlock_rdlock(&m->lock);
	int64_t b = (int64_t)sizeof *m + (int64_t)m->tenants.cap * 16 + (int64_t)m->n_gals * (int64_t)sizeof(struct gal *);
	for (int i = 0; i < m->n_gals; i++) {
		const struct gal *g = m->gals[i];
		/* per row: id, float vector, int8 codes, 3 floats; the id index */
		b += (int64_t)sizeof *g + (int64_t)g->cap * (8 + (int64_t)m->dim * 5 + 12) + (int64_t)g->idx.cap * 16;
	}
	pthread_rwlock_unlock(&m->lock);
	return b;
}

static const struct dv_plugin mf_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_MATCHER,
	.flags = DV_PLUGIN_SHARED,
	.name = "match_flat",
	.version = "1.0",
	.description = "exact nearest neighbours over each tenant's gallery in memory (AVX-512/AVX2/C, int8 bound + float32 check)",
	.params = mf_params,
	.create = mf_create,
	.destroy = mf_destroy,
	.matcher_add = mf_add,
	.matcher_remove = mf_remove,
	.matcher_search = mf_search,
	.matcher_count = mf_count,
	.matcher_memory = mf_memory,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &mf_plugin; }
