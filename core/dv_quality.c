/* dv_quality.c — face quality: see dv_quality.h. Each part is a soft ramp
 * from 0 (unusable) to 1 (fine), with its bar at the ramp's middle; the bars
 * were set on labelled photos (make eval-openset prints how the parts are
 * spread there and what refusing below each bar does to recall and false
 * alarms), where nearly every photo passes. */
#include "dv_quality.h"
#include <math.h>
#include <stddef.h>

const char *dv_quality_reason(unsigned bit)
{
	switch (bit) {
	case DV_Q_SMALL: return "too_small";
	case DV_Q_BLURRED: return "blurred";
	case DV_Q_TURNED: return "turned_away";
	case DV_Q_DARK: return "underexposed";
	case DV_Q_BRIGHT: return "overexposed";
	case DV_Q_EYES: return "eyes_not_visible";
	default: return "unknown";
	}
}

static double dv_ramp(double v, double lo, double hi)
{
	return v <= lo ? 0 : v >= hi ? 1 : (v - lo) / (hi - lo);
}

static void dv_mean_pt(const struct dv_face *f, int a, int b, double *x, double *y)
{
	*x = *y = 0;
	for (int i = a; i <= b; i++) {
		*x += f->landmarks[i][0];
		*y += f->landmarks[i][1];
	}
	*x /= (b - a + 1);
	*y /= (b - a + 1);
}

static double dv_pdist(const struct dv_face *f, int a, int b)
{
	double dx = f->landmarks[a][0] - f->landmarks[b][0], dy = f->landmarks[a][1] - f->landmarks[b][1];
	return sqrt(dx * dx + dy * dy);
}

/* Eye aspect ratio of the six points from p: open ~0.3, closed < 0.15. */
static double dv_ear(const struct dv_face *f, int p)
{
	double w = dv_pdist(f, p, p + 3);
	return w > 0 ? (dv_pdist(f, p + 1, p + 5) + dv_pdist(f, p + 2, p + 4)) / (2 * w) : 0;
}

void dv_quality_assess(const struct dv_face *f, const uint8_t *chip, int cw, int ch, struct dv_quality *q)
{
	*q = (struct dv_quality){.size = 1, .sharpness = 1, .pose = 1, .exposure = 1, .eyes = 1};
	/* size: pixels between the eye centres (68 points), else a share of the box */
	if (f->n_landmarks == 68) {
		double lx, ly, rx, ry;
		dv_mean_pt(f, 36, 41, &lx, &ly);
		dv_mean_pt(f, 42, 47, &rx, &ry);
		q->interocular = sqrt((lx - rx) * (lx - rx) + (ly - ry) * (ly - ry));
		/* yaw: where the nose tip sits between the two sides of the jaw line */
		double l = fabs(f->landmarks[30][0] - f->landmarks[0][0]), r = fabs(f->landmarks[16][0] - f->landmarks[30][0]);
		q->yaw = l + r > 0 ? (l - r) / (l + r) : 0;
		q->pose = dv_ramp(-fabs(q->yaw), -0.75, -0.45);
		double ear = fmax(dv_ear(f, 36), dv_ear(f, 42));
		q->eyes = dv_ramp(ear, 0.08, 0.16);
	} else {
		q->interocular = 0.4 * fmin(f->w, f->h);
	}
	q->size = dv_ramp(q->interocular, 12, 28);
	if (chip && cw > 8 && ch > 8) {
		/* the central part of the chip: the face, little background */
		int x0 = cw / 4, x1 = cw - cw / 4, y0 = ch / 4, y1 = ch - ch / 5;
		double sum = 0, sum2 = 0, lap2 = 0;
		long n = 0, clipped = 0;
		for (int y = y0; y < y1; y++)
			for (int x = x0; x < x1; x++) {
				const uint8_t *p = chip + ((size_t)y * cw + x) * 3;
				double v = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
				sum += v;
				sum2 += v * v;
				clipped += v < 8 || v > 247;
				/* 4-neighbour Laplacian of the luminance */
				const uint8_t *u = p - (size_t)cw * 3, *d = p + (size_t)cw * 3, *le = p - 3, *ri = p + 3;
				double lu = 0.299 * u[0] + 0.587 * u[1] + 0.114 * u[2], ld = 0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2];
				double ll = 0.299 * le[0] + 0.587 * le[1] + 0.114 * le[2], lr = 0.299 * ri[0] + 0.587 * ri[1] + 0.114 * ri[2];
				double lap = lu + ld + ll + lr - 4 * v;
				lap2 += lap * lap;
				n++;
			}
		double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
		/* fine detail relative to the face's own contrast: a blurred face has
		 * its edges but loses the detail between them */
		q->blur = var > 1 ? (lap2 / (double)n) / var : 0;
		q->sharpness = dv_ramp(q->blur, 0.005, 0.03);
		double dark = dv_ramp(mean, 25, 55), bright = dv_ramp(-mean, -235, -205);
		double clip = dv_ramp(-(double)clipped / (double)n, -0.5, -0.25);
		q->exposure = fmin(fmin(dark, bright), clip);
		if (dark < 0.5 || (clip < 0.5 && mean < 128))
			q->reasons |= DV_Q_DARK;
		if (bright < 0.5 || (clip < 0.5 && mean >= 128))
			q->reasons |= DV_Q_BRIGHT;
	}
	q->score = q->size * q->sharpness * q->pose * q->exposure * q->eyes;
	if (q->size < 0.5)
		q->reasons |= DV_Q_SMALL;
	if (q->sharpness < 0.5)
		q->reasons |= DV_Q_BLURRED;
	if (q->pose < 0.5)
		q->reasons |= DV_Q_TURNED;
	if (q->eyes < 0.5)
		q->reasons |= DV_Q_EYES;
}
