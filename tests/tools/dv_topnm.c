/* dv_topnm — decodes an image with dejaview's own decoder and writes it as a
 * binary PPM, so that other programs (the face-api oracle) see exactly the
 * pixels dejaviewd sees. usage: dv_topnm IMAGE > OUT.ppm */
#include "../util.h"
#include "dv_image.h"
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dv_topnm IMAGE > OUT.ppm\n");
		return 2;
	}
	size_t n;
	char *b = test_slurp(argv[1], &n), err[256];
	struct dv_img im;
	if (dv_image_decode((const uint8_t *)b, n, 1LL << 32, &im, err, sizeof err)) {
		fprintf(stderr, "dv_topnm: %s: %s\n", argv[1], err);
		return 1;
	}
	printf("P6\n%d %d\n255\n", im.width, im.height);
	fwrite(im.pixels, 1, (size_t)im.width * im.height * 3, stdout);
	dv_img_fini(&im);
	free(b);
	return 0;
}
