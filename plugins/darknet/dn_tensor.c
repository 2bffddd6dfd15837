/* dn_tensor.c — face-api's preprocessing (toBatchTensor + normalize), bit-exact
 * with tfjs-cpu (MODELS.md section 2). Pure; compiled into every Darknet plugin
 * and into the oracle check. */
#include "dn_common.h"
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

void dn_canvas_tensor(const struct dv_image *im, int S, int N, int ox, int oy, const float mean[3], float div, float *out)
{
	double ratio = (double)N / (double)S;
	/* the columns' source pixels and weights, once per call (the formulas,
	 * and so the bits, are those of tfjs-cpu's resizeBilinear) */
	long *x0 = malloc(sizeof *x0 * (size_t)S * 2);
	double *fx = malloc(sizeof *fx * (size_t)S);
	if (!x0 || !fx) {
		free(x0);
		free(fx);
		for (size_t i = 0; i < (size_t)3 * S * S; i++)
			out[i] = NAN; /* never silently: the caller's results are NaN */
		return;
	}
	long *x1 = x0 + S;
	const int chs = im->channels, ch3 = im->channels == 3;
	for (int col = 0; col < S; col++) {
		double sc = ratio * col;
		int c0 = (int)floor(sc), c1 = (int)ceil(sc);
		if (c0 < 0) c0 = 0;
		if (c1 > N - 1) c1 = N - 1;
		fx[col] = sc - c0;
		x0[col] = dn_off(N == S ? col : c0, ox, im->width, chs);
		x1[col] = dn_off(c1, ox, im->width, chs);
	}
	const size_t plane = (size_t)S * S;
	for (int r = 0; r < S; r++) {
		double sr = ratio * r;
		int r0 = (int)floor(sr), r1 = (int)ceil(sr);
		if (r0 < 0) r0 = 0;
		if (r1 > N - 1) r1 = N - 1;
		double fr = sr - r0;
		long o0 = dn_off(N == S ? r : r0, oy, im->height, im->stride), o1 = dn_off(r1, oy, im->height, im->stride);
		const uint8_t *p0 = o0 >= 0 ? im->pixels + o0 : NULL, *p1 = o1 >= 0 ? im->pixels + o1 : NULL;
		float *o = out + (size_t)r * S;
		for (int col = 0; col < S; col++) {
			long a = x0[col], b = x1[col];
			for (int ch = 0; ch < 3; ch++) {
				int k = ch3 ? ch : 0;
				float v;
				if (N == S) {
					v = (float)(p0 && a >= 0 ? (double)p0[a + k] : 0.0);
				} else {
					double tl = p0 && a >= 0 ? p0[a + k] : 0.0, tr = p0 && b >= 0 ? p0[b + k] : 0.0;
					double bl = p1 && a >= 0 ? p1[a + k] : 0.0, br = p1 && b >= 0 ? p1[b + k] : 0.0;
					double top = tl + (tr - tl) * fx[col], bot = bl + (br - bl) * fx[col];
					v = (float)(top + (bot - top) * fr);
				}
				o[(size_t)ch * plane + col] = (v - mean[ch]) / div;
			}
		}
	}
	free(x0);
	free(fx);
}
