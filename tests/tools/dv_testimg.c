/* dv_testimg — writes a PPM with light squares ("faces" for the example
 * detector) to stdout. usage: dv_testimg W H [x,y,size[,r,g,b]]... */
#include "../testimg.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: dv_testimg W H [x,y,size[,r,g,b]]...\n");
		return 2;
	}
	int w = atoi(argv[1]), h = atoi(argv[2]), n = argc - 3;
	struct testsq *sq = calloc((size_t)n + 1, sizeof *sq);
	for (int i = 0; i < n; i++) {
		int r = 255, g = 255, b = 255;
		if (sscanf(argv[i + 3], "%d,%d,%d,%d,%d,%d", &sq[i].x, &sq[i].y, &sq[i].size, &r, &g, &b) < 3) {
			fprintf(stderr, "bad square '%s'\n", argv[i + 3]);
			return 2;
		}
		sq[i].r = (uint8_t)r;
		sq[i].g = (uint8_t)g;
		sq[i].b = (uint8_t)b;
	}
	size_t len;
	uint8_t *p = testimg_ppm(w, h, sq, n, &len);
	fwrite(p, 1, len, stdout);
	free(p);
	free(sq);
	return 0;
}
