/* dv_tojpeg — a photo scaled to fit W x H on a gray canvas, as a JPEG
 * (quality 90), for the benchmarks' fixed-size inputs. Decoded and encoded by
 * dejaview's own code. With GRAIN, a phone photo's stand-in: bilinear
 * scaling, sensor grain of about GRAIN levels, quality 92 (a large photo
 * scaled up without grain compresses, and so decodes, unrealistically fast).
 *   dv_tojpeg IMAGE OUT.jpg [W H [GRAIN]] */
#include "../util.h"
#include "dv_image.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: dv_tojpeg IMAGE OUT.jpg [W H [GRAIN]]\n");
		return 2;
	}
	int W = argc >= 5 ? atoi(argv[3]) : 640, H = argc >= 5 ? atoi(argv[4]) : 480;
	double grain = argc == 6 ? atof(argv[5]) : -1;
	unsigned seed = 1;
	if (W < 16 || H < 16 || W > 8192 || H > 8192)
		return 2;
	size_t n;
	char *b = test_slurp(argv[1], &n), err[256];
	struct dv_img im;
	if (!b || dv_image_decode((const uint8_t *)b, n, 1LL << 28, &im, err, sizeof err)) {
		fprintf(stderr, "dv_tojpeg: %s: %s\n", argv[1], b ? err : "cannot read");
		return 1;
	}
	double s = (double)W / im.width < (double)H / im.height ? (double)W / im.width : (double)H / im.height;
	int sw = (int)(im.width * s), sh = (int)(im.height * s), ox = (W - sw) / 2, oy = (H - sh) / 2;
	uint8_t *rgb = malloc((size_t)W * H * 3);
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			int ix = (int)((c - ox) / s), iy = (int)((r - oy) / s);
			int in = c >= ox && c < ox + sw && r >= oy && r < oy + sh && ix < im.width && iy < im.height;
			uint8_t *o = rgb + ((size_t)r * W + c) * 3;
			if (grain < 0) {
				for (int k = 0; k < 3; k++)
					o[k] = in ? im.pixels[((size_t)iy * im.width + ix) * 3 + k] : 128;
				continue;
			}
			double sx = (c - ox + 0.5) / s - 0.5, sy = (r - oy + 0.5) / s - 0.5;
			sx = sx < 0 ? 0 : sx > im.width - 1.001 ? im.width - 1.001 : sx;
			sy = sy < 0 ? 0 : sy > im.height - 1.001 ? im.height - 1.001 : sy;
			int x0 = (int)sx, y0 = (int)sy;
			double fx = sx - x0, fy = sy - y0;
			double g = ((double)rand_r(&seed) / RAND_MAX + (double)rand_r(&seed) / RAND_MAX - 1) * grain;
			for (int k = 0; k < 3; k++) {
				const uint8_t *p = im.pixels + ((size_t)y0 * im.width + x0) * 3 + k;
				size_t st = (size_t)im.width * 3;
				double v = in ? (1 - fy) * ((1 - fx) * p[0] + fx * p[3]) + fy * ((1 - fx) * p[st] + fx * p[st + 3]) : 128;
				v += g;
				o[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
			}
		}
	uint8_t *jpg;
	size_t jl;
	if (dv_image_encode_jpeg(rgb, W, H, grain < 0 ? 90 : 92, &jpg, &jl) != 0)
		return 1;
	FILE *f = fopen(argv[2], "wb");
	if (!f || fwrite(jpg, 1, jl, f) != jl)
		return 1;
	fclose(f);
	free(jpg);
	free(rgb);
	dv_img_fini(&im);
	free(b);
	return 0;
}
