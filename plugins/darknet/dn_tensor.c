/* dn_tensor.c — face-api's preprocessing (toBatchTensor + normalize), bit-exact
 * with tfjs-cpu's resizeBilinear and its per-channel normalisation. Pure; compiled into every Darknet plugin
 * and into the oracle check. */
#include "dn_common.h"
#if defined(__GNUC__) && !defined(__clang__)
/* the row loops below vectorise only under GCC's dynamic cost model (-O2
 * uses "very cheap"; make bench measures the resize). Vectorised IEEE
 * arithmetic, no contraction (-ffp-contract=off): the same bits. */
#pragma GCC optimize("vect-cost-model=dynamic")
#endif
#include <math.h>
#include <stdlib.h>


void dn_batch_tensor(const struct dv_image *im, int S, int center, const float mean[3], float div, float *out)
{
	int W = im->width, H = im->height, N = W > H ? W : H;
	/* padToSquare: round(diff * (center ? 0.5 : 1)) go bottom/right, the
	 * rest (with center) top/left; JS Math.round is floor(x + 0.5). */
	int ox = 0, oy = 0;
	if (center) {
		int diff = N - (W < H ? W : H);
		int after = (int)floor(diff * 0.5 + 0.5);
		if (W < H)
			ox = diff - after;
		else
			oy = diff - after;
	}
	dn_canvas_tensor(im, S, N, ox, oy, mean, div, out);
}

/* The byte offset of canvas column or row x in the image (x - o inside
 * 0..n-1, times step), or -1 outside. */
static inline long dn_off(int x, int o, int n, long step) { return x - o >= 0 && x - o < n ? (long)(x - o) * step : -1; }

/* One canvas row's horizontal interpolation at every output column, per
 * channel (planar): h[ch * S + col] = tl + (tr - tl) * fc, in double as
 * tfjs does. rb holds the canvas row per channel (3 x N doubles, zeros
 * outside the image, which stay zeros): p is the image row, or NULL for a
 * row outside the image. */
static void dn_hrow(const struct dv_image *im, const uint8_t *p, int S, int N, int ox, const int *c0, const int *c1,
    const double *fx, double *rb, double *h)
{
	const int chs = im->channels, ch3 = chs == 3;
	for (int ch = 0; ch < 3; ch++) {
		double *restrict o = h + (size_t)ch * S;
		if (!p) {
			for (int col = 0; col < S; col++)
				o[col] = 0.0;
			continue;
		}
		double *restrict row = rb + (size_t)ch * N;
		const uint8_t *q = p + (ch3 ? ch : 0);
		for (int x = 0; x < im->width; x++)
			row[ox + x] = q[(size_t)x * chs];
		for (int col = 0; col < S; col++) {
			double tl = row[c0[col]], tr = row[c1[col]];
			o[col] = tl + (tr - tl) * fx[col];
		}
	}
}

void dn_canvas_tensor(const struct dv_image *im, int S, int N, int ox, int oy, const float mean[3], float div, float *out)
{
	dn_canvas_tensor_rect(im, S, S, S, N, ox, oy, mean, div, out);
}

void dn_canvas_tensor_rect(const struct dv_image *im, int S, int Sw, int Sh, int N, int ox, int oy, const float mean[3],
    float div, float *out)
{
	if (N == S && ox >= 0 && oy >= 0 && ox + im->width <= N && oy + im->height <= N && Sw <= S && Sh <= S) {
		/* at scale 1 the interpolation is the pixel itself (every weight is
		 * 0): the canvas's bytes, normalised, with the same bits as below */
		const int chs = im->channels, ch3 = chs == 3;
		const size_t plane = (size_t)Sw * Sh;
		for (int ch = 0; ch < 3; ch++) {
			const float m = mean[ch];
			const float pad = (0.0f - m) / div;
			for (int r = 0; r < Sh; r++) {
				float *restrict o = out + (size_t)ch * plane + (size_t)r * Sw;
				long ro = dn_off(r, oy, im->height, im->stride);
				const uint8_t *p = ro >= 0 ? im->pixels + ro + (ch3 ? ch : 0) : NULL;
				for (int col = 0; col < Sw; col++) {
					int x = col - ox;
					o[col] = p && x >= 0 && x < im->width ? ((float)p[(size_t)x * chs] - m) / div : pad;
				}
			}
		}
		return;
	}
	/* N != S from here (a canvas that does not fit is NaN below) */
	double ratio = (double)N / (double)S;
	/* tfjs-cpu's resizeBilinear (align_corners = half_pixel_centers =
	 * false): v = top + (bot - top) * fr with top and bot the horizontal
	 * interpolations of the two source rows. Each source row's is computed
	 * once and kept while the next output rows use it: the same formulas in
	 * the same order, so the same bits. */
	int *x0 = malloc(sizeof *x0 * (size_t)Sw * 2);
	double *fx = malloc(sizeof *fx * (size_t)Sw), *hb = malloc(sizeof *hb * (size_t)Sw * 6),
	       *rb = calloc((size_t)N * 3, sizeof *rb);
	if (!x0 || !fx || !hb || !rb || ox < 0 || oy < 0 || ox + im->width > N || oy + im->height > N || Sw > S || Sh > S) {
		free(x0);
		free(fx);
		free(hb);
		free(rb);
		for (size_t i = 0; i < (size_t)3 * Sw * Sh; i++)
			out[i] = NAN; /* never silently: the caller's results are NaN */
		return;
	}
	int *x1 = x0 + Sw;
	for (int col = 0; col < Sw; col++) {
		double sc = ratio * col;
		int c0 = (int)floor(sc), c1 = (int)ceil(sc);
		if (c0 < 0) c0 = 0;
		if (c1 > N - 1) c1 = N - 1;
		fx[col] = sc - c0;
		x0[col] = c0;
		x1[col] = c1;
	}
	const size_t plane = (size_t)Sw * Sh;
	int have[2] = {-1, -1}; /* the canvas rows held in hb's two slots */
	for (int r = 0; r < Sh; r++) {
		double sr = ratio * r;
		int r0 = (int)floor(sr), r1 = (int)ceil(sr);
		if (r0 < 0) r0 = 0;
		if (r1 > N - 1) r1 = N - 1;
		double fr = sr - r0;
		const double *h[2];
		int rows[2] = {r0, r1}, used = -1;
		for (int k = 0; k < 2; k++) {
			int slot = have[0] == rows[k] ? 0 : have[1] == rows[k] ? 1 : -1;
			if (slot < 0) {
				/* not the slot holding the other row this output row needs */
				slot = k == 0 ? (have[0] == r1 ? 1 : 0) : 1 - used;
				long o = dn_off(rows[k], oy, im->height, im->stride);
				dn_hrow(im, o >= 0 ? im->pixels + o : NULL, Sw, N, ox, x0, x1, fx, rb, hb + (size_t)slot * 3 * Sw);
				have[slot] = rows[k];
			}
			used = slot;
			h[k] = hb + (size_t)slot * 3 * Sw;
		}
		for (int ch = 0; ch < 3; ch++) {
			const double *restrict t = h[0] + (size_t)ch * Sw, *restrict b = h[1] + (size_t)ch * Sw;
			float *restrict o = out + (size_t)ch * plane + (size_t)r * Sw;
			const float m = mean[ch];
			for (int col = 0; col < Sw; col++) {
				float v = (float)(t[col] + (b[col] - t[col]) * fr);
				o[col] = (v - m) / div;
			}
		}
	}
	free(x0);
	free(fx);
	free(hb);
	free(rb);
}
