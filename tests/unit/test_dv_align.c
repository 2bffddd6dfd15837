/* Unit tests for core/dv_align.c on synthetic images: the similarity fit
 * recovers a known rotation and scale; a chip cut from landmarks at the
 * template's own positions reproduces the image exactly; a rotated, scaled
 * face comes back upright; large faces go through the pyramid; pyramid_down
 * keeps a flat image flat and has dlib's size. */
#include "../tap.h"
#include "dv_align.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
		for (int i = 0; i < 68; i++) {
			/* chip pixels: ((0.25 + t) / 1.5) * 150 = 25 + 100 t (MODELS.md 8.1) */
			double tx = 0.5, ty = 0.5;
			dv_align_template(i, &tx, &ty);
			canon[i][0] = (float)(25 + 100 * tx);
			canon[i][1] = (float)(25 + 100 * ty);
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
	/* dlib's pyramid_down<2> stated per output pixel: the 1 4 6 4 1 taps
	 * across and down from (2i, 2j), summed in integers, divided by 256 */
	{
		static const unsigned wk[5] = {1, 4, 6, 4, 1};
		int rw = 77, rh = 53, rs = rw * 3 + 5, diff = 0;
		uint8_t *rimg = malloc((size_t)rs * rh);
		srand(11);
		for (int i = 0; i < rs * rh; i++)
			rimg[i] = (uint8_t)rand();
		uint8_t *rp = dv_align_pyramid_down(rimg, rw, rh, rs, &ow, &oh);
		for (int i = 0; rp && i < oh; i++)
			for (int j = 0; j < ow; j++)
				for (int c = 0; c < 3; c++) {
					unsigned sum = 0;
					for (int k = 0; k < 5; k++) {
						unsigned row = 0;
						for (int l = 0; l < 5; l++)
							row += wk[l] * rimg[(size_t)(2 * i + k) * rs + (size_t)(2 * j + l) * 3 + c];
						sum += wk[k] * row;
					}
					diff += rp[((size_t)i * ow + j) * 3 + c] != sum / 256;
				}
		ok(rp && ow == 37 && oh == 25 && diff == 0, "pyramid_down of a random image equals the per-pixel statement (%d differ)", diff);
		free(rp);
		free(rimg);
	}

	/* 5. a face off the image gives a black chip, not a crash */
	place(lm, 1.0, 0, -5000, -5000, canon);
	dv_align_fit68(lm, 0.25, 150, &f);
	ok(dv_align_chip(img, W, H, W * 3, &f, 150, chip) == 0 && chip[0] == 0 && chip[150 * 75 * 3] == 0, "off-image face: black chip");

	/* 6. jittered copies of a chip (enrol.jitter): small, reproducible, varied */
	enum { S = 150 };
	uint8_t *src = malloc(S * S * 3), *j1 = malloc(S * S * 3), *j2 = malloc(S * S * 3);
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++) {
			uint8_t *p = src + ((size_t)y * S + x) * 3;
			p[0] = (uint8_t)(x * 255 / (S - 1)); /* a ramp left to right */
			p[1] = (uint8_t)(y * 255 / (S - 1)); /* and top to bottom */
			p[2] = 128;
		}
	uint64_t r1 = 42, r2 = 42;
	dv_align_jitter(src, S, &r1, j1);
	dv_align_jitter(src, S, &r2, j2);
	ok(memcmp(j1, j2, S * S * 3) == 0 && r1 == r2, "the same state gives the same copy");
	dv_align_jitter(src, S, &r1, j2);
	ok(memcmp(j1, j2, S * S * 3) != 0, "the next copy differs");
	int mirrored = 0, moved = 0, near = 1, black_edge = 0;
	uint64_t r = 7;
	for (int t = 0; t < 64; t++) {
		dv_align_jitter(src, S, &r, j1);
		const uint8_t *c = j1 + ((size_t)(S / 2) * S + S / 2) * 3, *o = src + ((size_t)(S / 2) * S + S / 2) * 3;
		/* the centre moves by at most 2% of the side plus what 3 degrees and 3% turn there */
		near &= abs((int)c[1] - (int)o[1]) <= 12 && c[2] == 128;
		int mirror = j1[((size_t)(S / 2) * S + 10) * 3] > j1[((size_t)(S / 2) * S + S - 11) * 3];
		mirrored += mirror;
		moved += memcmp(j1, src, S * S * 3) != 0;
		black_edge += j1[0] == 0 && j1[1] == 0 && j1[2] == 0;
	}
	ok(near, "the face stays where it was (the centre within a few pixels)");
	ok(mirrored > 16 && mirrored < 48, "about half the copies are mirrored (%d of 64)", mirrored);
	ok(moved == 64, "every copy is moved");
	ok(black_edge > 0, "outside the chip is black, as dlib's crop (%d of 64 copies with a black corner)", black_edge);
	free(src);
	free(j1);
	free(j2);
	free(flatimg);
	free(big);
	free(img);
	free(chip);
	return tap_done();
}
