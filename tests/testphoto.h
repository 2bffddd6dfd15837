/* testphoto.h — a decoded photo scaled by s and centred on a W x H gray
 * canvas, for the inputs of the benchmarks and evaluations (dv_tojpeg,
 * make eval-scale, make eval-detect). Nearest-neighbour when grain < 0;
 * otherwise bilinear with sensor grain of about `grain` levels (seeded by
 * *seed): a large photo scaled up without grain compresses, and so decodes,
 * unrealistically fast. Header-only; the caller links core/dv_image.c. */
#ifndef DV_TEST_PHOTO_H
#define DV_TEST_PHOTO_H
#include "dv_image.h"
#include <stdint.h>
#include <stdlib.h>

/* The RGB canvas (malloc'd; NULL without memory); the photo's top-left on it
 * goes to *ox, *oy when they are not NULL. */
static inline uint8_t *test_photo_place(const struct dv_img *im, int W, int H, double s, double grain, unsigned *seed,
    int *ox_out, int *oy_out)
{
	int sw = (int)(im->width * s), sh = (int)(im->height * s), ox = (W - sw) / 2, oy = (H - sh) / 2;
	if (ox_out)
		*ox_out = ox;
	if (oy_out)
		*oy_out = oy;
	uint8_t *rgb = malloc((size_t)W * H * 3);
	if (!rgb)
		return NULL;
	size_t st = (size_t)im->width * 3;
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			int ix = (int)((c - ox) / s), iy = (int)((r - oy) / s);
			int in = c >= ox && c < ox + sw && r >= oy && r < oy + sh && ix < im->width && iy < im->height;
			uint8_t *o = rgb + ((size_t)r * W + c) * 3;
			if (grain < 0) {
				for (int k = 0; k < 3; k++)
					o[k] = in ? im->pixels[(size_t)iy * st + (size_t)ix * 3 + k] : 128;
				continue;
			}
			double sx = (c - ox + 0.5) / s - 0.5, sy = (r - oy + 0.5) / s - 0.5;
			sx = sx < 0 ? 0 : sx > im->width - 1.001 ? im->width - 1.001 : sx;
			sy = sy < 0 ? 0 : sy > im->height - 1.001 ? im->height - 1.001 : sy;
			int x0 = (int)sx, y0 = (int)sy;
			double fx = sx - x0, fy = sy - y0;
			double g = ((double)rand_r(seed) / RAND_MAX + (double)rand_r(seed) / RAND_MAX - 1) * grain;
			for (int k = 0; k < 3; k++) {
				const uint8_t *p = im->pixels + (size_t)y0 * st + (size_t)x0 * 3 + k;
				double v = in ? (1 - fy) * ((1 - fx) * p[0] + fx * p[3]) + fy * ((1 - fx) * p[st] + fx * p[st + 3]) : 128;
				v += g;
				o[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
			}
		}
	return rgb;
}
#endif
