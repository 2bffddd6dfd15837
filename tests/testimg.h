/* testimg.h — builds binary PPM images with filled squares, for tests. */
#ifndef DV_TESTIMG_H
#define DV_TESTIMG_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct testsq {
	int x, y, size;
	uint8_t r, g, b;
};

/* Returns a malloc'd PPM of w x h, dark background, with the squares. */
static uint8_t *testimg_ppm(int w, int h, const struct testsq *sq, int n, size_t *len)
{
	char hdr[64];
	int hl = snprintf(hdr, sizeof hdr, "P6\n%d %d\n255\n", w, h);
	size_t total = (size_t)hl + (size_t)w * h * 3;
	uint8_t *p = malloc(total);
	if (!p)
		return NULL;
	memcpy(p, hdr, (size_t)hl);
	uint8_t *px = p + hl;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		px[i * 3] = 20;
		px[i * 3 + 1] = 20;
		px[i * 3 + 2] = 30;
	}
	for (int k = 0; k < n; k++)
		for (int y = sq[k].y; y < sq[k].y + sq[k].size && y < h; y++)
			for (int x = sq[k].x; x < sq[k].x + sq[k].size && x < w; x++) {
				uint8_t *q = px + ((size_t)y * w + x) * 3;
				q[0] = sq[k].r;
				q[1] = sq[k].g;
				q[2] = sq[k].b;
			}
	*len = total;
	return p;
}
#endif
