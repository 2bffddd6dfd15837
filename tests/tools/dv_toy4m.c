/* dv_toy4m — a photo as a Y4M video for Chromium's fake camera
 * (--use-file-for-fake-video-capture): decoded by dejaview's own decoder,
 * scaled to fit 640x480 on a gray background, converted to I420 (BT.601),
 * written as N identical frames at 15 fps.
 *   dv_toy4m IMAGE OUT.y4m [FRAMES] */
#include "../util.h"
#include "dv_image.h"
#include <stdio.h>
#include <stdlib.h>

#define W 640
#define H 480

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: dv_toy4m IMAGE OUT.y4m [FRAMES]\n");
		return 2;
	}
	int frames = argc > 3 ? atoi(argv[3]) : 10;
	size_t n;
	char *b = test_slurp(argv[1], &n), err[256];
	struct dv_img im;
	if (!b || dv_image_decode((const uint8_t *)b, n, 1LL << 28, &im, err, sizeof err)) {
		fprintf(stderr, "dv_toy4m: %s: %s\n", argv[1], b ? err : "cannot read");
		return 1;
	}
	double s = (double)W / im.width < (double)H / im.height ? (double)W / im.width : (double)H / im.height;
	int sw = (int)(im.width * s), sh = (int)(im.height * s), ox = (W - sw) / 2, oy = (H - sh) / 2;
	static uint8_t rgb[H][W][3], y[H][W], u[H / 2][W / 2], v[H / 2][W / 2];
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			int ix = (int)((c - ox) / s), iy = (int)((r - oy) / s);
			for (int k = 0; k < 3; k++)
				rgb[r][c][k] = c >= ox && c < ox + sw && r >= oy && r < oy + sh && ix < im.width && iy < im.height
				                   ? im.pixels[((size_t)iy * im.width + ix) * 3 + k]
				                   : 128;
		}
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			double R = rgb[r][c][0], G = rgb[r][c][1], B = rgb[r][c][2];
			y[r][c] = (uint8_t)(0.299 * R + 0.587 * G + 0.114 * B);
		}
	for (int r = 0; r < H / 2; r++)
		for (int c = 0; c < W / 2; c++) {
			double R = 0, G = 0, B = 0;
			for (int dy = 0; dy < 2; dy++)
				for (int dx = 0; dx < 2; dx++) {
					R += rgb[2 * r + dy][2 * c + dx][0] / 4.0;
					G += rgb[2 * r + dy][2 * c + dx][1] / 4.0;
					B += rgb[2 * r + dy][2 * c + dx][2] / 4.0;
				}
			double U = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B, V = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B;
			u[r][c] = (uint8_t)(U < 0 ? 0 : U > 255 ? 255 : U);
			v[r][c] = (uint8_t)(V < 0 ? 0 : V > 255 ? 255 : V);
		}
	FILE *f = fopen(argv[2], "wb");
	if (!f)
		return 1;
	fprintf(f, "YUV4MPEG2 W%d H%d F15:1 Ip A1:1 C420jpeg\n", W, H);
	for (int i = 0; i < frames; i++) {
		fprintf(f, "FRAME\n");
		fwrite(y, 1, sizeof y, f);
		fwrite(u, 1, sizeof u, f);
		fwrite(v, 1, sizeof v, f);
	}
	fclose(f);
	dv_img_fini(&im);
	free(b);
	return 0;
}
