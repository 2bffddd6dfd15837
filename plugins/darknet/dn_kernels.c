/* dn_kernels.c — our own vectorised kernels, where they beat the library
 * (chosen layer by layer in dn_onednn.c, named in the start-up log).
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
 * two primitives run.
 *
 * dn_c1p: the same idea one step further: a 1x1 convolution (cin -> cout,
 * multiples of 16 and 32) followed by a 2x2/2 max pool, channels last in and
 * out (the layout oneDNN picks for the detector's layers). Each pooled
 * pixel's four convolution outputs are computed in registers, up to 64
 * output channels at a time, and only the pooled one is written; a pool
 * window running past the right or bottom edge takes the edge pixel again,
 * as Darknet's pool skips what lies outside. */
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

struct dn_c1p {
	int batch, h, w, cin, cout, ph, pw, act;
	float *wt;   /* [ci][o] */
	float *bias; /* [o] */
};

struct dn_c1p *dn_c1p_make(const float *weights, const float *bias, int batch, int h, int w, int cin, int cout, int act)
{
#ifdef DN_HAVE_X86
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || cin < 1 || cout < 32 || cout % 32 || h < 1 || w < 1)
		return NULL;
	struct dn_c1p *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->wt = malloc(sizeof *k->wt * (size_t)cin * cout);
	k->bias = malloc(sizeof *k->bias * (size_t)cout);
	if (!k->wt || !k->bias) {
		dn_c1p_free(k);
		return NULL;
	}
	k->batch = batch;
	k->h = h;
	k->w = w;
	k->cin = cin;
	k->cout = cout;
	k->ph = (h + 1) / 2;
	k->pw = (w + 1) / 2;
	k->act = act;
	/* Darknet's weights: [o][ci] */
	for (int o = 0; o < cout; o++)
		for (int c = 0; c < cin; c++)
			k->wt[(size_t)c * cout + o] = weights[(size_t)o * cin + c];
	memcpy(k->bias, bias, sizeof *k->bias * (size_t)cout);
	return k;
#else
	(void)weights, (void)bias, (void)batch, (void)h, (void)w, (void)cin, (void)cout, (void)act;
	return NULL;
#endif
}

void dn_c1p_free(struct dn_c1p *k)
{
	if (!k)
		return;
	free(k->wt);
	free(k->bias);
	free(k);
}

#ifdef DN_HAVE_X86
/* act: 0 linear, 1 relu, 2 leaky (0.1) */
__attribute__((target("avx512f"))) static inline __m512 dn_act(int act, __m512 m)
{
	if (act == 1)
		return _mm512_max_ps(m, _mm512_setzero_ps());
	if (act == 2)
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
			_mm512_storeu_ps(out + ((size_t)py * k->pw + px + p) * 16, dn_act(k->act, m));              \
		}                                                                                                  \
	}
DN_C0P_BLOCK(4)
DN_C0P_BLOCK(1)

/* NV x 16 output channels from oc of the pooled pixel whose four inputs are
 * p[0..3] (channels last) */
#define DN_C1P_CHUNK(NV)                                                                                            \
	__attribute__((target("avx512f"))) static void dn_c1p_chunk##NV(const struct dn_c1p *k, const float *const *p, \
	    int oc, float *out)                                                                                         \
	{                                                                                                           \
		__m512 acc[4][NV];                                                                                  \
		_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) {                                              \
			__m512 b = _mm512_loadu_ps(k->bias + oc + 16 * j);                                          \
			acc[0][j] = acc[1][j] = acc[2][j] = acc[3][j] = b;                                          \
		}                                                                                                   \
		for (int ci = 0; ci < k->cin; ci++) {                                                               \
			__m512 wv[NV];                                                                              \
			_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++)                                        \
				wv[j] = _mm512_loadu_ps(k->wt + (size_t)ci * k->cout + oc + 16 * j);                \
			_Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {                                       \
				const __m512 s = _mm512_set1_ps(p[q][ci]);                                          \
				_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++)                                \
					acc[q][j] = _mm512_fmadd_ps(s, wv[j], acc[q][j]);                           \
			}                                                                                           \
		}                                                                                                   \
		_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) {                                              \
			__m512 m = _mm512_max_ps(_mm512_max_ps(acc[0][j], acc[1][j]), _mm512_max_ps(acc[2][j], acc[3][j])); \
			_mm512_storeu_ps(out + oc + 16 * j, dn_act(k->act, m));                                     \
		}                                                                                                   \
	}
DN_C1P_CHUNK(4)
DN_C1P_CHUNK(2)

void dn_c1p_run(const struct dn_c1p *k, const float *in, float *out)
{
	const size_t rowc = (size_t)k->w * k->cin;
	for (int b = 0; b < k->batch; b++) {
		const float *img = in + (size_t)b * k->h * rowc;
		float *o = out + (size_t)b * k->ph * k->pw * k->cout;
		for (int py = 0; py < k->ph; py++) {
			int y0 = 2 * py, y1 = y0 + 1 < k->h ? y0 + 1 : y0;
			for (int px = 0; px < k->pw; px++) {
				int x0 = 2 * px, x1 = x0 + 1 < k->w ? x0 + 1 : x0;
				const float *p[4] = {img + y0 * rowc + (size_t)x0 * k->cin, img + y0 * rowc + (size_t)x1 * k->cin,
				    img + y1 * rowc + (size_t)x0 * k->cin, img + y1 * rowc + (size_t)x1 * k->cin};
				float *dst = o + ((size_t)py * k->pw + px) * k->cout;
				int oc = 0;
				for (; oc + 64 <= k->cout; oc += 64)
					dn_c1p_chunk4(k, p, oc, dst);
				for (; oc < k->cout; oc += 32)
					dn_c1p_chunk2(k, p, oc, dst);
			}
		}
	}
}

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

void dn_c1p_run(const struct dn_c1p *k, const float *in, float *out)
{
	(void)k, (void)in, (void)out;
}
#endif
