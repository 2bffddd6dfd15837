/* dv_align.c — the align stage's dlib face chip, run on worker threads.
 * The dlib ResNet was trained on chips cut by get_face_chip_details(shape,
 * 150, 0.25) + extract_image_chip; reproducing them (including dlib's
 * rounding of landmarks, the pyramid's integer arithmetic and its -1.25/-0.75
 * offsets, and truncation when sampling) is what lets the port approach
 * dlib's published accuracy. Each step below names the dlib step it follows. */
#include "dv_align.h"
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* dlib's mean face, points 17..67 (element k is landmark k + 17). */
static const double dv_mean_x[51] = {
	0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
	0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
	0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
	0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
	0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
	0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
	0.553364, 0.490127, 0.42689};
static const double dv_mean_y[51] = {
	0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
	0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
	0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
	0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
	0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
	0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
	0.784792, 0.824182, 0.831803, 0.824182};

int dv_align_template(int i, double *x, double *y)
{
	if (i < 17 || i > 67)
		return -1;
	*x = dv_mean_x[i - 17];
	*y = dv_mean_y[i - 17];
	return 0;
}

int dv_align_fit68(const float lm[68][2], double padding, int size, struct dv_align_fit *fit)
{
	double from[33][2], to[33][2];
	int n = 0;
	for (int i = 17; i < 68; i++) {
		/* ignore the eyebrows (17-26) and the lower lip (55-59, 65-67) */
		if (i <= 26 || (i >= 55 && i <= 59) || i >= 65)
			continue;
		from[n][0] = ((padding + dv_mean_x[i - 17]) / (2 * padding + 1)) * (double)size;
		from[n][1] = ((padding + dv_mean_y[i - 17]) / (2 * padding + 1)) * (double)size;
		to[n][0] = floor((double)lm[i][0] + 0.5);
		to[n][1] = floor((double)lm[i][1] + 0.5);
		n++;
	}
	double mfx = 0, mfy = 0, mtx = 0, mty = 0;
	for (int i = 0; i < n; i++) {
		mfx += from[i][0]; mfy += from[i][1];
		mtx += to[i][0]; mty += to[i][1];
	}
	mfx /= n; mfy /= n; mtx /= n; mty /= n;
	double sigma = 0, A = 0, B = 0;
	for (int i = 0; i < n; i++) {
		double ax = from[i][0] - mfx, ay = from[i][1] - mfy, bx = to[i][0] - mtx, by = to[i][1] - mty;
		sigma += ax * ax + ay * ay;
		A += ax * bx + ay * by;
		B += ax * by - ay * bx;
	}
	sigma /= n; A /= n; B /= n;
	if (!(sigma > 0) || (A == 0 && B == 0))
		return -1;
	fit->m00 = A / sigma; fit->m01 = -B / sigma;
	fit->m10 = B / sigma; fit->m11 = A / sigma;
	fit->tx = mtx - (fit->m00 * mfx + fit->m01 * mfy);
	fit->ty = mty - (fit->m10 * mfx + fit->m11 * mfy);
	fit->angle = atan2(fit->m10, fit->m00);
	fit->scale = hypot(fit->m00, fit->m10);
	return 0;
}

int dv_align_faceapi_box(const float lm[68][2], int width, int height, int box[4])
{
	/* eye centres (36-41, 42-47) and the mouth centre (48-67) */
	double le[2] = {0, 0}, re[2] = {0, 0}, mo[2] = {0, 0};
	for (int c = 0; c < 2; c++) {
		for (int k = 36; k < 42; k++)
			le[c] += lm[k][c] / 6.0;
		for (int k = 42; k < 48; k++)
			re[c] += lm[k][c] / 6.0;
		for (int k = 48; k < 68; k++)
			mo[c] += lm[k][c] / 20.0;
	}
	/* face-api's constants: relX 0.5, relY 0.43, relScale 0.45 */
	double dist = (hypot(mo[0] - le[0], mo[1] - le[1]) + hypot(mo[0] - re[0], mo[1] - re[1])) / 2;
	double size = floor(dist / 0.45);
	double rx = (le[0] + re[0] + mo[0]) / 3, ry = (le[1] + re[1] + mo[1]) / 3;
	double x = floor(fmax(0, rx - 0.5 * size)), y = floor(fmax(0, ry - 0.43 * size));
	double w = fmin(size, width + x), h = fmin(size, height + y);
	/* Box.clipAtImageBorders(...).floor() */
	w = fmin(w, width - x);
	h = fmin(h, height - y);
	box[0] = (int)x;
	box[1] = (int)y;
	box[2] = (int)floor(w);
	box[3] = (int)floor(h);
	return box[2] >= 1 && box[3] >= 1 ? 0 : -1;
}

struct drect { double l, t, r, b; };

static struct drect dv_rect_down(struct drect r)
{
	/* dlib's point_down for pyramid_down<2>: p/2 - (1.25, 0.75) */
	return (struct drect){r.l / 2 - 1.25, r.t / 2 - 0.75, r.r / 2 - 1.25, r.b / 2 - 0.75};
}

static double dv_area(struct drect r)
{
	if (r.r < r.l || r.b < r.t)
		return 0;
	return (r.r - r.l + 1) * (r.b - r.t + 1);
}

uint8_t *dv_align_pyramid_down(const uint8_t *in, int w, int h, int stride, int *ow, int *oh)
{
	*ow = *oh = 0;
	if (h <= 8 || w <= 8)
		return NULL;
	int onr = (h - 3) / 2, onc = (w - 3) / 2;
	uint16_t *tmp = malloc(sizeof *tmp * (size_t)h * onc * 3);
	uint8_t *out = malloc((size_t)onr * onc * 3);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	/* the taps 1 4 6 4 1 across, then down */
	for (int r = 0; r < h; r++) {
		const uint8_t *p = in + (size_t)r * stride;
		uint16_t *t = tmp + (size_t)r * onc * 3;
		for (int j = 0; j < onc; j++)
			for (int c = 0; c < 3; c++) {
				const uint8_t *q = p + (size_t)j * 6 + c;
				t[j * 3 + c] = (uint16_t)(q[0] + 4u * q[3] + 6u * q[6] + 4u * q[9] + q[12]);
			}
	}
	/* the vertical pass: five rows of tmp, a whole row at a time (vectorised) */
	const size_t n = (size_t)onc * 3;
	for (int i = 0; i < onr; i++) {
		const uint16_t *r0 = tmp + (size_t)(2 * i) * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n, *r4 = r3 + n;
		uint8_t *o = out + (size_t)i * n;
		for (size_t x = 0; x < n; x++)
			o[x] = (uint8_t)((r0[x] + 4u * r1[x] + 6u * r2[x] + 4u * r3[x] + r4[x]) / 256);
	}
	free(tmp);
	*ow = onc;
	*oh = onr;
	return out;
}

/* The RGB pixel at (x, y) of an image by dlib's bilinear interpolation,
 * truncated to uint8 as dlib's static_cast; black where the 2x2 neighbourhood
 * leaves the image. */
/* Bilinear sample at (x, y), 0 outside [0, w-1) x [0, h-1) (dlib's rule:
 * both neighbours inside). x >= 0 there, so truncation is floor. */
static inline void dv_align_sample(const uint8_t *src, int w, int h, size_t stride, double x, double y, uint8_t o[3])
{
	if (!(x >= 0 && y >= 0 && x < w - 1 && y < h - 1)) {
		o[0] = o[1] = o[2] = 0;
		return;
	}
	long L = (long)x, T = (long)y;
	double fx = x - (double)L, fy = y - (double)T;
	const uint8_t *q = src + (size_t)T * stride + (size_t)L * 3;
	for (int c = 0; c < 3; c++) {
		double v = (1 - fy) * ((1 - fx) * q[c] + fx * q[3 + c]) + fy * ((1 - fx) * q[stride + c] + fx * q[stride + 3 + c]);
		o[c] = (uint8_t)v;
	}
}

int dv_align_chip(const uint8_t *img, int W, int H, int stride, const struct dv_align_fit *f, int size, uint8_t *chip)
{
	/* chip_details: centre = tform(size/2, size/2), rect of side size*scale - 1 */
	double half = size / 2.0;
	double cx = f->m00 * half + f->m01 * half + f->tx, cy = f->m10 * half + f->m11 * half + f->ty;
	double wd = size * f->scale - 1;
	struct drect rect = {cx - wd / 2, cy - wd / 2, cx + wd / 2, cy + wd / 2};
	double a = f->angle, ca = cos(a), sa = sin(a);

	/* pyramid depth and the crop holding the rotated rectangle (grown) */
	int depth = 0;
	double grow = 2;
	struct drect r = dv_rect_down(rect);
	while (dv_area(r) > (double)size * size) {
		r = dv_rect_down(r);
		depth++;
		grow = grow * 2 + 2;
	}
	double rcx = (rect.l + rect.r) / 2, rcy = (rect.t + rect.b) / 2;
	double xs[4] = {rect.l, rect.r, rect.l, rect.r}, ys[4] = {rect.t, rect.t, rect.b, rect.b};
	struct drect rot = {INFINITY, INFINITY, -INFINITY, -INFINITY};
	for (int k = 0; k < 4; k++) {
		double x = rcx + ca * (xs[k] - rcx) - sa * (ys[k] - rcy), y = rcy + sa * (xs[k] - rcx) + ca * (ys[k] - rcy);
		rot.l = fmin(rot.l, x); rot.r = fmax(rot.r, x);
		rot.t = fmin(rot.t, y); rot.b = fmax(rot.b, y);
	}
	struct drect g = {fmax(rot.l - grow, 0), fmax(rot.t - grow, 0), fmin(rot.r + grow, W - 1), fmin(rot.b + grow, H - 1)};
	if (g.r < g.l || g.b < g.t) {
		memset(chip, 0, (size_t)size * size * 3); /* the face is off the image */
		return 0;
	}
	long bl = lround(g.l), bt = lround(g.t), br = lround(g.r), bb = lround(g.b);
	int sw = (int)(br - bl + 1), sh = (int)(bb - bt + 1);
	const uint8_t *sub = img + (size_t)bt * stride + (size_t)bl * 3;

	/* pick the level: the largest whose rect still holds size*size pixels */
	struct drect R = {rect.l - bl, rect.t - bt, rect.r - bl, rect.b - bt};
	int level = -1;
	while (dv_area(dv_rect_down(R)) > (double)size * size) {
		level++;
		R = dv_rect_down(R);
	}
	const uint8_t *src = sub;
	int srcw = sw, srch = sh, srcstride = stride;
	uint8_t *lv = NULL;
	for (int l = 0; l <= level && l < depth; l++) {
		int nw, nh;
		uint8_t *next = dv_align_pyramid_down(src, srcw, srch, srcstride, &nw, &nh);
		free(lv);
		lv = next;
		if (!lv) {
			srcw = srch = 0;
			break;
		}
		src = lv;
		srcw = nw;
		srch = nh;
		srcstride = nw * 3;
	}
	/* chip pixel (c, r) -> P0 + c (P1 - P0)/(size-1) + r (P2 - P0)/(size-1) */
	double C0 = (R.l + R.r) / 2, C1 = (R.t + R.b) / 2;
	double p0x = C0 + ca * (R.l - C0) - sa * (R.t - C1), p0y = C1 + sa * (R.l - C0) + ca * (R.t - C1);
	double p1x = C0 + ca * (R.r - C0) - sa * (R.t - C1), p1y = C1 + sa * (R.r - C0) + ca * (R.t - C1);
	double p2x = C0 + ca * (R.l - C0) - sa * (R.b - C1), p2y = C1 + sa * (R.l - C0) + ca * (R.b - C1);
	double dxc = (p1x - p0x) / (size - 1), dyc = (p1y - p0y) / (size - 1);
	double dxr = (p2x - p0x) / (size - 1), dyr = (p2y - p0y) / (size - 1);
	/* x = (p0x + cc dxc) + rr dxr, the column's part computed once: the
	 * same operations in the same order as per pixel, so the same bits */
	double *colx = malloc(sizeof *colx * 2 * (size_t)size);
	if (!colx) {
		free(lv);
		return -1;
	}
	double *coly = colx + size;
	for (int cc = 0; cc < size; cc++) {
		colx[cc] = p0x + cc * dxc;
		coly[cc] = p0y + cc * dyc;
	}
	for (int rr = 0; rr < size; rr++) {
		double rx = rr * dxr, ry = rr * dyr;
		uint8_t *o = chip + (size_t)rr * size * 3;
		for (int cc = 0; cc < size; cc++)
			dv_align_sample(src, srcw, srch, (size_t)srcstride, colx[cc] + rx, coly[cc] + ry, o + (size_t)cc * 3);
	}
	free(colx);
	free(lv);
	return 0;
}

/* A number in [0, 1) from the state (xorshift64*). */
static double dv_jitter_u(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

void dv_align_jitter(const uint8_t *chip, int size, uint64_t *rng, uint8_t *out)
{
	/* the crop: turned up to 3 degrees, 0-3% larger than the chip (the face
	 * a little smaller), moved up to 2% of its side, mirrored half the time */
	double ang = (dv_jitter_u(rng) * 2 - 1) * 3.0 * 3.14159265358979323846 / 180;
	double grow = 1 / (0.97 + 0.03 * dv_jitter_u(rng));
	double mx = (dv_jitter_u(rng) * 2 - 1) * 0.02 * size, my = (dv_jitter_u(rng) * 2 - 1) * 0.02 * size;
	bool mirror = dv_jitter_u(rng) >= 0.5;
	double c = (size - 1) / 2.0, ca = cos(ang) * grow, sa = sin(ang) * grow;
	for (int r = 0; r < size; r++)
		for (int k = 0; k < size; k++) {
			double u = (mirror ? size - 1 - k : k) - c, v = r - c;
			double x = c + mx + ca * u - sa * v, y = c + my + sa * u + ca * v;
			dv_align_sample(chip, size, size, (size_t)size * 3, x, y, out + ((size_t)r * size + k) * 3);
		}
}
