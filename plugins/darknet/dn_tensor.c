/* dn_tensor.c — face-api's preprocessing (toBatchTensor + normalize), bit-exact
 * with tfjs-cpu (MODELS.md section 2). Pure; compiled into every Darknet plugin
 * and into the oracle check. */
#include "dn_common.h"
#include <math.h>


/* Pixel (x, y) channel c of the padded square, 0 outside the image. */
static inline double dn_px(const struct dv_image *im, int x, int y, int c, int ox, int oy)
{
	x -= ox;
	y -= oy;
	if (x < 0 || y < 0 || x >= im->width || y >= im->height)
		return 0.0;
	const uint8_t *p = im->pixels + (size_t)y * im->stride + (size_t)x * im->channels;
	return im->channels == 3 ? p[c] : p[0];
}

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

void dn_canvas_tensor(const struct dv_image *im, int S, int N, int ox, int oy, const float mean[3], float div, float *out)
{
	double ratio = (double)N / (double)S;
	for (int r = 0; r < S; r++) {
		double sr = ratio * r;
		int r0 = (int)floor(sr), r1 = (int)ceil(sr);
		if (r0 < 0) r0 = 0;
		if (r1 > N - 1) r1 = N - 1;
		double fr = sr - r0;
		for (int col = 0; col < S; col++) {
			double sc = ratio * col;
			int c0 = (int)floor(sc), c1 = (int)ceil(sc);
			if (c0 < 0) c0 = 0;
			if (c1 > N - 1) c1 = N - 1;
			double fc = sc - c0;
			for (int ch = 0; ch < 3; ch++) {
				float v;
				if (N == S) {
					v = (float)dn_px(im, col, r, ch, ox, oy);
				} else {
					double tl = dn_px(im, c0, r0, ch, ox, oy), tr = dn_px(im, c1, r0, ch, ox, oy);
					double bl = dn_px(im, c0, r1, ch, ox, oy), br = dn_px(im, c1, r1, ch, ox, oy);
					double top = tl + (tr - tl) * fc, bot = bl + (br - bl) * fc;
					v = (float)(top + (bot - top) * fr);
				}
				out[(size_t)ch * S * S + (size_t)r * S + col] = (v - mean[ch]) / div;
			}
		}
	}
}
