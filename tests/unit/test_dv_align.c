/* Unit tests for core/dv_align.c on synthetic images: the similarity fit
 * recovers a known rotation and scale; a chip cut from landmarks at the
 * template's own positions reproduces the image exactly; a rotated, scaled
 * face comes back upright; large faces go through the pyramid; pyramid_down
 * keeps a flat image flat and has dlib's size. */
#include "../tap.h"
#include "dv_align.h"
#include <math.h>
#include <stdlib.h>

/* Landmarks = a known similarity applied to base points. */
static void place(float lm[68][2], double s, double a, double tx, double ty, const float base[68][2])
{
	for (int i = 0; i < 68; i++) {
		double x = base[i][0], y = base[i][1];
		lm[i][0] = (float)(s * (cos(a) * x - sin(a) * y) + tx);
		lm[i][1] = (float)(s * (sin(a) * x + cos(a) * y) + ty);
	}
}

int main(void)
{
	float lm[68][2];
	struct dv_align_fit f;

	/* 1. fit recovers rotation and scale */
	float canon[68][2];
	{
		/* template points in chip coordinates (padding 0.25, size 150) */
		static const double mx[51] = {
			0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
			0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
			0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
			0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
			0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
			0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
			0.553364, 0.490127, 0.42689};
		static const double my[51] = {
			0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
			0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
			0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
			0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
			0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
			0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
			0.784792, 0.824182, 0.831803, 0.824182};
		for (int i = 0; i < 68; i++) {
			/* chip pixels: ((0.25 + t) / 1.5) * 150 = 25 + 100 t (MODELS.md 8.1) */
			canon[i][0] = i >= 17 ? (float)(25 + 100 * mx[i - 17]) : 75;
			canon[i][1] = i >= 17 ? (float)(25 + 100 * my[i - 17]) : 75;
		}
	}
	place(lm, 4.0, 0.5, 300, 200, canon);
	ok(dv_align_fit68(lm, 0.25, 150, &f) == 0, "fit succeeds");
	ok(fabs(f.angle - 0.5) < 0.01, "rotation recovered (%.4f rad)", f.angle);
	ok(fabs(f.scale - 4.0) < 0.02, "scale recovered (%.4f)", f.scale);
	ok(fabs(f.tx - 300) < 2 && fabs(f.ty - 200) < 2, "translation recovered (%.2f, %.2f)", f.tx, f.ty);
	float flat[68][2] = {{0}};
	ok(dv_align_fit68(flat, 0.25, 150, &f) != 0, "degenerate landmarks are refused");

	/* 2. identity: landmarks at the template's own chip positions, in an
	 * image with a horizontal ramp: chip pixel (c, r) = image (c + 0.5,
	 * r + 0.5) truncated = c */
	int W = 200, H = 200;
	uint8_t *img = malloc((size_t)W * H * 3), *chip = malloc(150 * 150 * 3);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < 3; c++)
				img[((size_t)y * W + x) * 3 + c] = (uint8_t)(c == 0 ? x : c == 1 ? y : 7);
	dv_align_fit68(canon, 0.25, 150, &f);
	ok(fabs(f.scale - 1) < 0.01 && fabs(f.angle) < 0.01, "template landmarks fit at scale 1, angle 0 (%.4f, %.4f)", f.scale, f.angle);
	dv_align_chip(img, W, H, W * 3, &f, 150, chip);
	int bad = 0;
	for (int r = 10; r < 140; r++)
		for (int c = 10; c < 140; c++)
			if (abs(chip[((size_t)r * 150 + c) * 3] - c) > 1 || abs(chip[((size_t)r * 150 + c) * 3 + 1] - r) > 1)
				bad++;
	is_int(bad, 0, "the chip samples the image one to one");

	/* 3. a rotated, 3x larger copy of the ramp pattern comes back upright:
	 * render image(x, y) = chip-space ramp at the inverse similarity */
	int W2 = 900, H2 = 900;
	uint8_t *big = malloc((size_t)W2 * H2 * 3);
	double s = 3.0, a = 0.3, ox = 420, oy = 380;
	for (int y = 0; y < H2; y++)
		for (int x = 0; x < W2; x++) {
			double dx = (x - ox) / s, dy = (y - oy) / s;
			double u = cos(a) * dx + sin(a) * dy, v = -sin(a) * dx + cos(a) * dy; /* chip coords */
			uint8_t *p = big + ((size_t)y * W2 + x) * 3;
			p[0] = (uint8_t)fmin(255, fmax(0, u));
			p[1] = (uint8_t)fmin(255, fmax(0, v));
			p[2] = 7;
		}
	place(lm, s, a, ox, oy, canon);
	dv_align_fit68(lm, 0.25, 150, &f);
	dv_align_chip(big, W2, H2, W2 * 3, &f, 150, chip);
	double err = 0;
	for (int r = 20; r < 130; r++)
		for (int c = 20; c < 130; c++)
			err += fabs((double)chip[((size_t)r * 150 + c) * 3] - c) + fabs((double)chip[((size_t)r * 150 + c) * 3 + 1] - r);
	err /= 110.0 * 110 * 2;
	ok(err < 2.5, "a rotated face at 3x through the pyramid comes back upright (mean error %.2f levels)", err);

	/* 4. pyramid_down: flat stays flat, size is (n - 3) / 2, small is empty */
	uint8_t *flatimg = malloc(20 * 13 * 3);
	for (int i = 0; i < 20 * 13 * 3; i++)
		flatimg[i] = 200;
	int ow, oh;
	uint8_t *pd = dv_align_pyramid_down(flatimg, 20, 13, 60, &ow, &oh);
	ok(pd && ow == 8 && oh == 5, "pyramid_down size is (n - 3) / 2 (%dx%d)", ow, oh);
	int flatok = 1;
	for (int i = 0; pd && i < ow * oh * 3; i++)
		flatok &= pd[i] == 200;
	ok(flatok, "a flat image stays flat (weights sum to 256)");
	free(pd);
	ok(dv_align_pyramid_down(flatimg, 8, 13, 24, &ow, &oh) == NULL && ow == 0, "8 or fewer columns give an empty level");

	/* 5. a face off the image gives a black chip, not a crash */
	place(lm, 1.0, 0, -5000, -5000, canon);
	dv_align_fit68(lm, 0.25, 150, &f);
	ok(dv_align_chip(img, W, H, W * 3, &f, 150, chip) == 0 && chip[0] == 0 && chip[150 * 75 * 3] == 0, "off-image face: black chip");
	free(flatimg);
	free(big);
	free(img);
	free(chip);
	return tap_done();
}
