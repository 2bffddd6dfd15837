/* test_dn_tensor — plugins/darknet/dn_tensor.c (face-api's toBatchTensor)
 * against a per-pixel statement of tfjs-cpu's resizeBilinear, written here
 * as plainly as possible: every output float must be the same bits, for
 * random photo sizes, RGB and gray, padToSquare with and without centring,
 * canvases with offsets, and upscaling as well as downscaling. */
#include "dn_common.h"
#include "../tap.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* pixel (x, y) of the canvas: the photo at (ox, oy), zeros around it */
static double px(const struct dv_image *im, int x, int y, int c, int ox, int oy)
{
	x -= ox;
	y -= oy;
	if (x < 0 || y < 0 || x >= im->width || y >= im->height)
		return 0.0;
	const uint8_t *p = im->pixels + (size_t)y * im->stride + (size_t)x * im->channels;
	return im->channels == 3 ? p[c] : p[0];
}

static void ref_canvas(const struct dv_image *im, int S, int N, int ox, int oy, const float mean[3], float div, float *out)
{
	double ratio = (double)N / (double)S;
	for (int r = 0; r < S; r++)
		for (int col = 0; col < S; col++)
			for (int ch = 0; ch < 3; ch++) {
				double sr = ratio * r, sc = ratio * col;
				int r0 = (int)floor(sr), r1 = (int)ceil(sr), c0 = (int)floor(sc), c1 = (int)ceil(sc);
				if (r1 > N - 1) r1 = N - 1;
				if (c1 > N - 1) c1 = N - 1;
				double fr = sr - r0, fc = sc - c0;
				float v;
				if (N == S) {
					v = (float)px(im, col, r, ch, ox, oy);
				} else {
					double tl = px(im, c0, r0, ch, ox, oy), tr = px(im, c1, r0, ch, ox, oy);
					double bl = px(im, c0, r1, ch, ox, oy), br = px(im, c1, r1, ch, ox, oy);
					double top = tl + (tr - tl) * fc, bot = bl + (br - bl) * fc;
					v = (float)(top + (bot - top) * fr);
				}
				out[(size_t)ch * S * S + (size_t)r * S + col] = (v - mean[ch]) / div;
			}
}

/* a W x H image of C channels of random bytes (the caller frees pixels) */
static struct dv_image rand_image(int W, int H, int C)
{
	uint8_t *p = malloc((size_t)W * H * C);
	for (size_t i = 0; i < (size_t)W * H * C; i++)
		p[i] = (uint8_t)rand();
	return (struct dv_image){.pixels = p, .width = W, .height = H, .stride = W * C, .channels = C};
}

int main(void)
{
	srand(7);
	const float mean[3] = {122.782f, 117.001f, 104.298f};
	int same = 0, cases = 0;
	for (int t = 0; t < 120; t++) {
		int W = 1 + rand() % 400, H = 1 + rand() % 400, C = t % 3 ? 3 : 1;
		struct dv_image im = rand_image(W, H, C);
		int mx = W > H ? W : H;
		int S = t % 5 == 0 ? mx : 16 + rand() % 320; /* also N == S: a plain copy */
		float *a = malloc(sizeof *a * 3 * (size_t)S * S), *b = malloc(sizeof *b * 3 * (size_t)S * S);
		if (t % 2) {
			/* every tenth: a canvas of the input's own size (N == S, scale 1), the photo at an offset */
			int N = t % 10 == 5 ? S : mx + rand() % (mx + 1), ox = rand() % (N - W + 1), oy = rand() % (N - H + 1);
			dn_canvas_tensor(&im, S, N, ox, oy, mean, 255.0f, a);
			ref_canvas(&im, S, N, ox, oy, mean, 255.0f, b);
		} else {
			int center = t % 4 == 0, ox = 0, oy = 0;
			if (center) { /* padToSquare's split: round(diff / 2) after */
				int diff = mx - (W < H ? W : H), after = (int)floor(diff * 0.5 + 0.5);
				if (W < H)
					ox = diff - after;
				else
					oy = diff - after;
			}
			dn_batch_tensor(&im, S, center, mean, 255.0f, a);
			ref_canvas(&im, S, mx, ox, oy, mean, 255.0f, b);
		}
		cases++;
		if (!memcmp(a, b, sizeof *a * 3 * (size_t)S * S))
			same++;
		else
			printf("# differs: %dx%dx%d to %d (case %d)\n", W, H, C, S, t);
		free(a);
		free(b);
		free((void *)im.pixels);
	}
	is_int(same, cases, "every output float equals tfjs's per-pixel formula, bit for bit");
	/* the top-left Sw x Sh of the tensor alone (the detector's input_fit)
	 * is the square's, value for value */
	int rsame = 0, rcases = 0;
	for (int t = 0; t < 60; t++) {
		int W = 1 + rand() % 300, H = 1 + rand() % 300, C = t % 3 ? 3 : 1;
		struct dv_image im = rand_image(W, H, C);
		int mx = W > H ? W : H, S = t % 5 == 0 ? mx : 16 + rand() % 320;
		int Sw = t % 2 ? S : 1 + rand() % S, Sh = t % 2 ? 1 + rand() % S : S;
		float *a = malloc(sizeof *a * 3 * (size_t)S * S), *b = malloc(sizeof *b * 3 * (size_t)Sw * Sh);
		dn_canvas_tensor(&im, S, mx, 0, 0, mean, 255.0f, a);
		dn_canvas_tensor_rect(&im, S, Sw, Sh, mx, 0, 0, mean, 255.0f, b);
		int eq = 1;
		for (int c = 0; c < 3 && eq; c++)
			for (int y = 0; y < Sh && eq; y++)
				eq = !memcmp(a + ((size_t)c * S + y) * S, b + ((size_t)c * Sh + y) * Sw, sizeof *a * Sw);
		rcases++;
		rsame += eq;
		if (!eq)
			printf("# rect differs: %dx%d to %d, %dx%d (case %d)\n", W, H, S, Sw, Sh, t);
		free(a);
		free(b);
		free((void *)im.pixels);
	}
	is_int(rsame, rcases, "the tensor's top-left Sw x Sh alone is the square's, bit for bit");
	/* and the test can tell: one changed input pixel changes the output */
	uint8_t q[12 * 10 * 3] = {0};
	struct dv_image im = {q, 12, 10, 36, 3};
	float a[3 * 8 * 8], b[3 * 8 * 8];
	dn_batch_tensor(&im, 8, 0, mean, 255.0f, a);
	q[5 * 36 + 4 * 3 + 1] = 200;
	ref_canvas(&im, 8, 12, 0, 0, mean, 255.0f, b);
	ok(memcmp(a, b, sizeof a) != 0, "a changed pixel shows in the comparison");
	return tap_done();
}
