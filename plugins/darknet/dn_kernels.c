/* dn_kernels.c — our own vectorised kernels, where they beat the library
 * (MODELS.md 5.4; chosen in dn_onednn.c, named in the start-up log).
 *
 * dn_c0p: a 3-channel 3x3 'valid' convolution to 16 channels followed by a
 * 2x2/2 max pool — the detector's first two layers — in one pass. oneDNN runs
 * them as two primitives with a 16-channel full-size tensor between them
 * (23 MB at 608x608), which the pool then reads back from memory: measured,
 * the pool cost almost as much as the convolution. Here each pooled pixel's
 * four convolution outputs live in registers only: the input is read as
 * Darknet holds it (planar), the output written channels last (nhwc, the
 * same bytes as oneDNN's nChw16c)
 * for the next layer. Leaky and relu commute with max (they are monotonic),
 * so the activation is applied once, after the pool. Sums are in (ci, ky,
 * kx) order, one fused multiply-add each. AVX-512 only; elsewhere oneDNN's
 * two primitives run. */
#include "dn_kernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DN_HAVE_X86 1
#endif

struct dn_c0p {
	int h, w;       /* input */
	int ph, pw;     /* pooled output */
	int act;        /* 0 linear, 1 relu, 2 leaky (0.1) */
	float wt[27 * 16]; /* [(ci * 3 + ky) * 3 + kx][o] */
	float bias[16];
};

struct dn_c0p *dn_c0p_make(const float *weights, const float *bias, int h, int w, int act)
{
#ifdef DN_HAVE_X86
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || h < 4 || w < 4 || (h - 2) % 2 || (w - 2) % 2)
		return NULL;
	struct dn_c0p *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->h = h;
	k->w = w;
	k->ph = (h - 2) / 2;
	k->pw = (w - 2) / 2;
	k->act = act;
	/* Darknet's weights: [o][ci][ky][kx] */
	for (int o = 0; o < 16; o++)
		for (int t = 0; t < 27; t++)
			k->wt[t * 16 + o] = weights[o * 27 + t];
	memcpy(k->bias, bias, sizeof k->bias);
	return k;
#else
	(void)weights, (void)bias, (void)h, (void)w, (void)act;
	return NULL;
#endif
}

void dn_c0p_free(struct dn_c0p *k) { free(k); }

#ifdef DN_HAVE_X86
__attribute__((target("avx512f"))) static inline __m512 dn_c0p_act(const struct dn_c0p *k, __m512 m)
{
	if (k->act == 1)
		return _mm512_max_ps(m, _mm512_setzero_ps());
	if (k->act == 2)
		return _mm512_max_ps(m, _mm512_mul_ps(m, _mm512_set1_ps(0.1f)));
	return m;
}

/* NP pooled pixels from (py, px): 4 * NP accumulators, one weight vector
 * loaded per tap, each input value broadcast into its multiply-add. */
#define DN_C0P_BLOCK(NP)                                                                                            \
	__attribute__((target("avx512f"))) static void dn_c0p_block##NP(const struct dn_c0p *k, const float *in,    \
	    float *out, int py, int px)                                                                                 \
	{                                                                                                           \
		const size_t plane = (size_t)k->h * k->w;                                                            \
		__m512 acc[NP][4];                                                                                  \
		const __m512 b = _mm512_loadu_ps(k->bias);                                                         \
		_Pragma("GCC unroll 4") for (int p = 0; p < NP; p++)                                               \
			acc[p][0] = acc[p][1] = acc[p][2] = acc[p][3] = b;                                         \
		_Pragma("GCC unroll 3") for (int ci = 0; ci < 3; ci++)                                             \
			_Pragma("GCC unroll 3") for (int ky = 0; ky < 3; ky++) {                                   \
				const float *r0 = in + ci * plane + (size_t)(2 * py + ky) * k->w + 2 * px;         \
				const float *r1 = r0 + k->w;                                                       \
				_Pragma("GCC unroll 3") for (int kx = 0; kx < 3; kx++) {                           \
					const __m512 wv = _mm512_loadu_ps(k->wt + ((ci * 3 + ky) * 3 + kx) * 16);  \
					_Pragma("GCC unroll 4") for (int p = 0; p < NP; p++) {                     \
						acc[p][0] = _mm512_fmadd_ps(_mm512_set1_ps(r0[2 * p + kx]), wv, acc[p][0]);     \
						acc[p][1] = _mm512_fmadd_ps(_mm512_set1_ps(r0[2 * p + kx + 1]), wv, acc[p][1]); \
						acc[p][2] = _mm512_fmadd_ps(_mm512_set1_ps(r1[2 * p + kx]), wv, acc[p][2]);     \
						acc[p][3] = _mm512_fmadd_ps(_mm512_set1_ps(r1[2 * p + kx + 1]), wv, acc[p][3]); \
					}                                                                          \
				}                                                                                  \
			}                                                                                          \
		_Pragma("GCC unroll 4") for (int p = 0; p < NP; p++) {                                             \
			__m512 m = _mm512_max_ps(_mm512_max_ps(acc[p][0], acc[p][1]), _mm512_max_ps(acc[p][2], acc[p][3])); \
			_mm512_storeu_ps(out + ((size_t)py * k->pw + px + p) * 16, dn_c0p_act(k, m));              \
		}                                                                                                  \
	}
DN_C0P_BLOCK(4)
DN_C0P_BLOCK(1)

void dn_c0p_run(const struct dn_c0p *k, const float *in, float *out)
{
	for (int py = 0; py < k->ph; py++) {
		int px = 0;
		for (; px + 4 <= k->pw; px += 4)
			dn_c0p_block4(k, in, out, py, px);
		for (; px < k->pw; px++)
			dn_c0p_block1(k, in, out, py, px);
	}
}
#else
void dn_c0p_run(const struct dn_c0p *k, const float *in, float *out)
{
	(void)k, (void)in, (void)out;
}
#endif
