/* dv_topnm — decodes an image with dejaview's own decoder and writes it as a
 * binary PPM, so that other programs (the face-api oracle) see exactly the
 * pixels dejaviewd sees; optionally made worse on the way, for the quality
 * tests: blurred (a box filter of radius R, three passes), shrunk (1/S) or
 * darkened (times F).
 *   usage: dv_topnm [-b R] [-s S] [-d F] IMAGE > OUT.ppm */
#include "../util.h"
#include "dv_image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one horizontal and one vertical box pass of radius r */
static void box_pass(uint8_t *p, int w, int h, int r)
{
	uint8_t *t = malloc((size_t)w * h * 3);
	for (int pass = 0; pass < 2; pass++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				for (int c = 0; c < 3; c++) {
					int s = 0, n = 0;
					for (int k = -r; k <= r; k++) {
						int xx = pass ? x : x + k, yy = pass ? y + k : y;
						if (xx < 0 || yy < 0 || xx >= w || yy >= h)
							continue;
						s += (pass ? t : p)[((size_t)yy * w + xx) * 3 + c];
						n++;
					}
					(pass ? p : t)[((size_t)y * w + x) * 3 + c] = (uint8_t)(s / n);
				}
	free(t);
}

int main(int argc, char **argv)
{
	int blur = 0, shrink = 1, a = 1;
	double dark = 1;
	while (a + 1 < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "-b"))
			blur = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "-s"))
			shrink = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "-d"))
			dark = atof(argv[a + 1]);
		a += 2;
	}
	if (argc - a != 1 || shrink < 1) {
		fprintf(stderr, "usage: dv_topnm [-b R] [-s S] [-d F] IMAGE > OUT.ppm\n");
		return 2;
	}
	size_t n;
	char *b = test_slurp(argv[a], &n), err[256];
	struct dv_img im;
	if (dv_image_decode((const uint8_t *)b, n, 1LL << 32, &im, err, sizeof err)) {
		fprintf(stderr, "dv_topnm: %s: %s\n", argv[a], err);
		return 1;
	}
	for (int k = 0; blur > 0 && k < 3; k++)
		box_pass(im.pixels, im.width, im.height, blur);
	if (shrink > 1) {
		int w = im.width / shrink, h = im.height / shrink;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				memcpy(im.pixels + ((size_t)y * w + x) * 3, im.pixels + ((size_t)y * shrink * im.width + x * shrink) * 3, 3);
		im.width = w;
		im.height = h;
	}
	for (size_t i = 0; dark != 1 && i < (size_t)im.width * im.height * 3; i++) {
		double v = im.pixels[i] * dark;
		im.pixels[i] = (uint8_t)(v > 255 ? 255 : v);
	}
	printf("P6\n%d %d\n255\n", im.width, im.height);
	fwrite(im.pixels, 1, (size_t)im.width * im.height * 3, stdout);
	dv_img_fini(&im);
	free(b);
	return 0;
}
