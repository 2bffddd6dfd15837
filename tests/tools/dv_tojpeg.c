/* dv_tojpeg — a photo scaled to fit W x H on a gray canvas, as a JPEG
 * (quality 90), for the benchmarks' fixed-size inputs. Decoded and encoded by
 * dejaview's own code. With GRAIN, a phone photo's stand-in: bilinear
 * scaling, sensor grain of about GRAIN levels, quality 92 (a large photo
 * scaled up without grain compresses, and so decodes, unrealistically fast).
 *   dv_tojpeg IMAGE OUT.jpg [W H [GRAIN]] */
#include "../testphoto.h"
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
	uint8_t *rgb = test_photo_place(&im, W, H, s, grain, &seed, NULL, NULL);
	if (!rgb)
		return 1;
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
