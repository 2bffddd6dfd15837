/* match_flat.c — exact nearest-neighbour matcher: each tenant's gallery in
 * memory, searched in full on every query, vectorised with runtime dispatch
 * (AVX-512 VNNI, AVX-512BW, AVX2, portable C).
 *
 * Exact, and fast at a million faces. A full float32 scan of 1M x 128 floats
 * reads 512 MB per query and computes 128M products in float. So each vector
 * x is also kept as int8 codes c with a scale s (x ~ s*c) and the norm
 * r = |x - s*c| of what the codes miss, and the query q is cut to 8 (or 7)
 * bits the same way (q = sq*qc + eq). The scan reads only the codes (128 MB)
 * and computes, in integers, qc . c for 16 vectors at a time: one vpdpbusd a
 * 4-dimension group with VNNI. From it, |q - s*c|^2 is known to within
 * 2 |eq| s|c|; by the triangle inequality |q - x| >= |q - s*c| - r, so a
 * vector can only be among the k nearest when that lower bound is below the
 * current k-th exact distance, and only then is its exact float32 distance
 * computed. The answer is the same as the full float scan's (a margin covers
 * float rounding); `mode: f32` does the plain scan, for comparison.
 *
 * The codes are stored in blocks of 16 vectors, a 4-dimension group of the
 * 16 after the other (what one vpdpbusd reads), and each block's per-vector
 * figures side by side (struct blkmeta), so that the bound of 16 vectors is
 * a few vector instructions.
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

#define BLK 16 /* vectors a block */

/* A block's per-vector figures: scale s, s^2|c|^2, s|c|, the residual
 * r = |x - s*c|, and the sum of the codes (the u8 query's offset). */
struct blkmeta {
	float s[BLK], cc[BLK], sn[BLK], r[BLK], cs[BLK];
};

/* A query, prepared once per search: its codes as unsigned bytes
 * (u = qc + off), and the constants of the bound
 *   |q - s*c|^2 >= a + (1 - eps)|sc|^2 - b s (dot - off*cs) - e s|c|
 * where dot = u . c (integers), a = |q|^2 (1 - eps) - eps, b = 2 sq, e = 2|eq|,
 * eps a relative margin for float rounding. */
struct qprep {
	const uint8_t *u;
	float a, ceps, b, e, off;
};

/* ---------------------------------------------------------------- kernels */

/* The mask of a block's vectors whose lower bound is within kth + r; the
 * caller clears the bits past the gallery's end. */
typedef unsigned (*blk_fn)(const struct qprep *q, const int8_t *blk, const struct blkmeta *m, float kth, int groups);
typedef float (*l2_fn)(const float *q, const float *x, int dim);

static unsigned bound_c(const struct qprep *q, const int32_t *dot, const struct blkmeta *m, float kth)
{
	unsigned mask = 0;
	for (int r = 0; r < BLK; r++) {
		float d = (float)dot[r] - q->off * m->cs[r];
		float lb = q->a + q->ceps * m->cc[r] - q->b * m->s[r] * d - q->e * m->sn[r];
		float lim = kth + m->r[r];
		mask |= (unsigned)(lb <= lim * lim) << r;
	}
	return mask;
}

static unsigned blk_c(const struct qprep *q, const int8_t *blk, const struct blkmeta *m, float kth, int groups)
{
	int32_t dot[BLK] = {0};
	for (int j = 0; j < groups; j++)
		for (int r = 0; r < BLK; r++)
			for (int t = 0; t < 4; t++)
				dot[r] += (int32_t)q->u[4 * j + t] * blk[64 * j + 4 * r + t];
	return bound_c(q, dot, m, kth);
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

static inline int32_t u4(const uint8_t *u)
{
	int32_t w;
	memcpy(&w, u, 4);
	return w;
}

/* AVX2: u8 x s8 pairs to s16 (vpmaddubsw: the query is cut to 7 bits so no
 * pair saturates), then to s32; 8 vectors a register */
__attribute__((target("avx2,fma"))) static unsigned blk_avx2(
    const struct qprep *q, const int8_t *blk, const struct blkmeta *m, float kth, int groups)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
	for (int j = 0; j < groups; j++) {
		__m256i w = _mm256_set1_epi32(u4(q->u + 4 * j));
		__m256i p0 = _mm256_maddubs_epi16(w, _mm256_loadu_si256((const __m256i *)(blk + 64 * j)));
		__m256i p1 = _mm256_maddubs_epi16(w, _mm256_loadu_si256((const __m256i *)(blk + 64 * j + 32)));
		a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
		a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(p1, ones));
	}
	int32_t dot[BLK];
	_mm256_storeu_si256((__m256i *)dot, a0);
	_mm256_storeu_si256((__m256i *)(dot + 8), a1);
	return bound_c(q, dot, m, kth);
}

__attribute__((target("avx2,fma"))) static inline float hsum_avx2(__m256 a)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
	s = _mm_hadd_ps(s, s);
	s = _mm_hadd_ps(s, s);
	return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static float l2_avx2(const float *q, const float *x, int dim)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	int i = 0;
	for (; i + 16 <= dim; i += 16) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i));
		__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(x + i + 8));
		a0 = _mm256_fmadd_ps(d0, d0, a0);
		a1 = _mm256_fmadd_ps(d1, d1, a1);
	}
	float s = hsum_avx2(_mm256_add_ps(a0, a1));
	for (; i < dim; i++)
		s += (q[i] - x[i]) * (q[i] - x[i]);
	return s;
}

/* AVX-512: the bound of 16 vectors in one register */
__attribute__((target("avx512f"))) static inline unsigned bound_avx512(
    const struct qprep *q, __m512i dot, const struct blkmeta *m, float kth)
{
	__m512 d = _mm512_fnmadd_ps(_mm512_set1_ps(q->off), _mm512_loadu_ps(m->cs), _mm512_cvtepi32_ps(dot));
	__m512 lb = _mm512_fmadd_ps(_mm512_set1_ps(q->ceps), _mm512_loadu_ps(m->cc), _mm512_set1_ps(q->a));
	lb = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_set1_ps(q->b), _mm512_loadu_ps(m->s)), d, lb);
	lb = _mm512_fnmadd_ps(_mm512_set1_ps(q->e), _mm512_loadu_ps(m->sn), lb);
	__m512 lim = _mm512_add_ps(_mm512_set1_ps(kth), _mm512_loadu_ps(m->r));
	return _mm512_cmp_ps_mask(lb, _mm512_mul_ps(lim, lim), _CMP_LE_OQ);
}

/* AVX-512BW without VNNI: as AVX2, 16 vectors a register */
__attribute__((target("avx512f,avx512bw"))) static unsigned blk_avx512(
    const struct qprep *q, const int8_t *blk, const struct blkmeta *m, float kth, int groups)
{
	const __m512i ones = _mm512_set1_epi16(1);
	__m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
	int j = 0;
	for (; j + 2 <= groups; j += 2) {
		__m512i p0 = _mm512_maddubs_epi16(_mm512_set1_epi32(u4(q->u + 4 * j)), _mm512_loadu_si512(blk + 64 * j));
		__m512i p1 = _mm512_maddubs_epi16(_mm512_set1_epi32(u4(q->u + 4 * j + 4)), _mm512_loadu_si512(blk + 64 * j + 64));
		a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(p0, ones));
		a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(p1, ones));
	}
	if (j < groups)
		a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_set1_epi32(u4(q->u + 4 * j)),
		                                               _mm512_loadu_si512(blk + 64 * j)),
		                              ones));
	return bound_avx512(q, _mm512_add_epi32(a0, a1), m, kth);
}

/* AVX-512 VNNI: one vpdpbusd a group of 4 dimensions of 16 vectors; four
 * accumulators, so that the instruction's latency is covered */
__attribute__((target("avx512f,avx512vnni"))) static unsigned blk_vnni(
    const struct qprep *q, const int8_t *blk, const struct blkmeta *m, float kth, int groups)
{
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
	int j = 0;
	for (; j + 4 <= groups; j += 4) {
		a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32(u4(q->u + 4 * j)), _mm512_loadu_si512(blk + 64 * j));
		a1 = _mm512_dpbusd_epi32(a1, _mm512_set1_epi32(u4(q->u + 4 * j + 4)), _mm512_loadu_si512(blk + 64 * j + 64));
		a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32(u4(q->u + 4 * j + 8)), _mm512_loadu_si512(blk + 64 * j + 128));
		a3 = _mm512_dpbusd_epi32(a3, _mm512_set1_epi32(u4(q->u + 4 * j + 12)), _mm512_loadu_si512(blk + 64 * j + 192));
	}
	for (; j < groups; j++)
		a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32(u4(q->u + 4 * j)), _mm512_loadu_si512(blk + 64 * j));
	return bound_avx512(q, _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), m, kth);
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
	for (; i + 16 <= dim; i += 16) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i));
		a0 = _mm512_fmadd_ps(d0, d0, a0);
	}
	float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
	for (; i < dim; i++)
		s += (q[i] - x[i]) * (q[i] - x[i]);
	return s;
}

static int has_vnni(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni"); }
static int has_avx512(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int has_c(void) { return 1; }

/* The kernels, best first; qmax: the query's code range (127: 8 bits; 63:
 * 7 bits, where pairs of products go through int16 and must not saturate) */
static const struct mf_isa {
	const char *name;
	int (*has)(void);
	blk_fn blk;
	l2_fn l2;
	int qmax;
} mf_isas[] = {
    {"avx512_vnni", has_vnni, blk_vnni, l2_avx512, 127},
    {"avx512", has_avx512, blk_avx512, l2_avx512, 63},
    {"avx2", has_avx2, blk_avx2, l2_avx2, 63},
    {"c", has_c, blk_c, l2_c, 127},
};

/* ---------------------------------------------------------------- gallery */

struct gal {
	uint64_t tenant;
	int n, cap;            /* cap: a multiple of BLK */
	uint64_t *ids;
	float *vecs;           /* n x dim, float32 */
	int8_t *codes;         /* cap/BLK blocks of BLK x dimp codes */
	struct blkmeta *meta;  /* cap/BLK */
	struct dv_u64map idx;  /* id -> row */
};

struct mf {
	const struct dv_host *host;
	pthread_rwlock_t lock;
	struct dv_u64map tenants;  /* tenant -> index into gals */
	struct gal **gals;
	int n_gals;
	int dim, dimp;       /* fixed by the first add; dimp: dim rounded up to 4 */
	int64_t total;
	int f32;             /* mode: f32 */
	const struct mf_isa *isa;
};

static const struct dv_param mf_params[] = {
	{"simd", DV_PARAM_STRING, 0, 0, "auto", "auto (the best the CPU has), avx512_vnni, avx512 (AVX-512BW), avx2 or c"},
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
	size_t n_isa = sizeof mf_isas / sizeof *mf_isas;
	for (size_t i = 0; i < n_isa && !m->isa; i++)
		if (!strcmp(simd, "auto") ? mf_isas[i].has() : !strcmp(simd, mf_isas[i].name))
			m->isa = &mf_isas[i];
	if (!m->isa || !m->isa->has()) {
		h->error(h, "simd \"%s\" is not available on this CPU (auto, avx512_vnni, avx512, avx2 or c)", simd);
		free(m);
		return DV_PLUGIN_EINVAL;
	}
	pthread_rwlock_init(&m->lock, NULL);
	h->log(h, DV_LOG_INFO, "match_flat kernels=%s mode=%s", m->isa->name, mode);
	*out = m;
	return DV_PLUGIN_OK;
}

static void gal_free(struct gal *g)
{
	free(g->ids);
	free(g->vecs);
	free(g->codes);
	free(g->meta);
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

static int gal_reserve(struct gal *g, int dim, int dimp)
{
	if (g->n < g->cap)
		return 0;
	int cap = g->cap ? (g->cap + g->cap / 2 + BLK - 1) / BLK * BLK : 64;
	size_t ob = (size_t)g->cap / BLK, nb = (size_t)cap / BLK;
	uint64_t *ids = realloc(g->ids, sizeof *ids * (size_t)cap);
	if (ids)
		g->ids = ids;
	float *vecs = realloc(g->vecs, sizeof *vecs * (size_t)cap * dim);
	if (vecs)
		g->vecs = vecs;
	int8_t *codes = realloc(g->codes, nb * BLK * (size_t)dimp);
	if (codes) {
		g->codes = codes;
		memset(codes + ob * BLK * (size_t)dimp, 0, (nb - ob) * BLK * (size_t)dimp);
	}
	struct blkmeta *meta = realloc(g->meta, sizeof *meta * nb);
	if (meta) {
		g->meta = meta;
		memset(meta + ob, 0, sizeof *meta * (nb - ob));
	}
	if (!ids || !vecs || !codes || !meta)
		return -1;
	g->cap = cap;
	return 0;
}

/* Row i's 4 codes of group j. */
static inline int8_t *gal_code(const struct gal *g, int dimp, int i, int j)
{
	return g->codes + (size_t)(i / BLK) * BLK * dimp + 64 * (size_t)j + 4 * (i % BLK);
}

/* Quantise row i from its float vector. */
static void gal_quantise(struct gal *g, int i, int dim, int dimp)
{
	const float *x = g->vecs + (size_t)i * dim;
	float mx = 0;
	for (int k = 0; k < dim; k++)
		mx = fmaxf(mx, fabsf(x[k]));
	float s = mx > 0 ? mx / 127.0f : 1.0f;
	double cc = 0, rr = 0, cs = 0;
	for (int k = 0; k < dimp; k++) {
		float v = 0;
		if (k < dim) {
			v = nearbyintf(x[k] / s);
			v = fminf(127.0f, fmaxf(-127.0f, v));
			double e = (double)x[k] - (double)s * v;
			rr += e * e;
		}
		gal_code(g, dimp, i, k / 4)[k % 4] = (int8_t)v;
		cc += (double)v * v;
		cs += v;
	}
	struct blkmeta *b = &g->meta[i / BLK];
	int r = i % BLK;
	b->s[r] = s;
	b->cc[r] = (float)((double)s * s * cc);
	b->sn[r] = (float)((double)s * sqrt(cc));
	b->r[r] = (float)sqrt(rr);
	b->cs[r] = (float)cs;
}

/* Row i's codes and figures become row j's (or zeros, from == NULL). */
static void gal_move_code(struct gal *g, int dimp, int to, int from)
{
	for (int j = 0; j < dimp / 4; j++) {
		if (from >= 0)
			memcpy(gal_code(g, dimp, to, j), gal_code(g, dimp, from, j), 4);
		else
			memset(gal_code(g, dimp, to, j), 0, 4);
	}
	struct blkmeta *t = &g->meta[to / BLK];
	const struct blkmeta *f = from >= 0 ? &g->meta[from / BLK] : NULL;
	int a = to % BLK, b = from % BLK;
	t->s[a] = f ? f->s[b] : 0;
	t->cc[a] = f ? f->cc[b] : 0;
	t->sn[a] = f ? f->sn[b] : 0;
	t->r[a] = f ? f->r[b] : 0;
	t->cs[a] = f ? f->cs[b] : 0;
}

static void gal_remove_row(struct mf *m, struct gal *g, int i)
{
	int dim = m->dim, last = g->n - 1;
	dv_u64map_del(&g->idx, g->ids[i]);
	if (i != last) {
		g->ids[i] = g->ids[last];
		memcpy(g->vecs + (size_t)i * dim, g->vecs + (size_t)last * dim, sizeof(float) * (size_t)dim);
		gal_move_code(g, m->dimp, i, last);
		dv_u64map_put(&g->idx, g->ids[i], (uint64_t)i);
	}
	/* the freed slot holds the erased vector (i == last) or a copy of the
	 * moved one: zero it, so an erased face leaves nothing in memory */
	memset(g->vecs + (size_t)last * dim, 0, sizeof(float) * (size_t)dim);
	gal_move_code(g, m->dimp, last, -1);
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
		m->dimp = (dim + 3) / 4 * 4;
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
		if (gal_reserve(g, dim, m->dimp) != 0 || dv_u64map_put(&g->idx, id, (uint64_t)g->n) != 0) {
			rc = DV_PLUGIN_ENOMEM;
			goto out;
		}
		i = g->n++;
		g->ids[i] = id;
		m->total++;
	}
	memcpy(g->vecs + (size_t)i * dim, vec, sizeof(float) * (size_t)dim);
	gal_quantise(g, i, dim, m->dimp);
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

/* The int8-bound scan: the k nearest of q, as squared distances. */
static int mf_scan(const struct mf *m, const struct gal *g, const float *q, int k, struct dv_match *out)
{
	int dim = m->dim, dimp = m->dimp, qmax = m->isa->qmax;
	uint8_t ubuf[512], *u = dimp <= (int)sizeof ubuf ? ubuf : malloc((size_t)dimp);
	if (!u)
		return -1;
	float mx = 0;
	double qq = 0, ee = 0;
	for (int i = 0; i < dim; i++) {
		mx = fmaxf(mx, fabsf(q[i]));
		qq += (double)q[i] * q[i];
	}
	float sq = mx > 0 ? mx / (float)qmax : 1.0f;
	for (int i = 0; i < dimp; i++) {
		float c = 0;
		if (i < dim) {
			c = fminf((float)qmax, fmaxf((float)-qmax, nearbyintf(q[i] / sq)));
			double e = (double)q[i] - (double)sq * c;
			ee += e * e;
		}
		u[i] = (uint8_t)(c + (float)qmax + 1);
	}
	/* dq2 = |q - s*c|^2 is known to within 2|eq| s|c| and float rounding of
	 * three terms of size |q|^2, |x|^2 and 1, far below 1e-4 of them */
	const float eps = 1e-4f;
	struct qprep qp = {u, (float)(qq * (1 - eps)) - eps, 1 - eps, 2 * sq, 2 * (float)sqrt(ee), (float)(qmax + 1)};
	int nblk = (g->n + BLK - 1) / BLK, groups = dimp / 4, n = 0;
	float kth = INFINITY; /* k-th best exact distance (not squared) */
	for (int b = 0; b < nblk; b++) {
		unsigned mask = m->isa->blk(&qp, g->codes + (size_t)b * BLK * dimp, &g->meta[b], kth, groups);
		if (b == nblk - 1 && g->n % BLK)
			mask &= (1u << (g->n % BLK)) - 1;
		while (mask) {
			int i = b * BLK + __builtin_ctz(mask);
			mask &= mask - 1;
			topk_push(out, &n, k, m->isa->l2(q, g->vecs + (size_t)i * dim, dim), g->ids[i]);
			if (n == k)
				kth = sqrtf(out[k - 1].distance);
		}
	}
	if (u != ubuf)
		free(u);
	return n;
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
			topk_push(out, &n, k, m->isa->l2(q, g->vecs + (size_t)i * dim, dim), g->ids[i]);
	} else if ((n = mf_scan(m, g, q, k, out)) < 0) {
		pthread_rwlock_unlock(&m->lock);
		return DV_PLUGIN_ENOMEM;
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
		/* per row: id, float vector, int8 codes, 5 floats; the id index */
		b += (int64_t)sizeof *g + (int64_t)g->cap * (8 + (int64_t)m->dim * 4 + m->dimp + 20) + (int64_t)g->idx.cap * 16;
	}
	pthread_rwlock_unlock(&m->lock);
	return b;
}

static const struct dv_plugin mf_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_MATCHER,
	.flags = DV_PLUGIN_SHARED,
	.name = "match_flat",
	.version = "1.1",
	.description = "exact nearest neighbours over each tenant's gallery in memory (AVX-512 VNNI/AVX-512BW/AVX2/C, int8 bound + float32 check)",
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
