/* dv_tojpeg — a photo scaled to fit W x H on a gray canvas, as a JPEG
 * (quality 90), for the benchmarks' fixed-size inputs. Decoded and encoded by
 * dejaview's own code.
 *   dv_tojpeg IMAGE OUT.jpg [W H] */
#include "../util.h"
#include "dv_image.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: dv_tojpeg IMAGE OUT.jpg [W H]\n");
		return 2;
	}
	int W = argc == 5 ? atoi(argv[3]) : 640, H = argc == 5 ? atoi(argv[4]) : 480;
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
			for (int k = 0; k < 3; k++)
				rgb[((size_t)r * W + c) * 3 + k] = in ? im.pixels[((size_t)iy * im.width + ix) * 3 + k] : 128;
		}
	uint8_t *jpg;
	size_t jl;
	if (dv_image_encode_jpeg(rgb, W, H, 90, &jpg, &jl) != 0)
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
