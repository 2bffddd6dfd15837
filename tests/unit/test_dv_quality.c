/* Unit tests for core/dv_quality.c on synthetic faces: a frontal face with
 * open eyes and a detailed, well-lit chip passes; each defect alone — eyes
 * close together (a small face), the nose turned to one side, closed eyes, a
 * flat (blurred) chip, a dark or a burnt chip — fails with its own reason. */
#include "../tap.h"
#include "dv_quality.h"
#include <stdlib.h>

/* A frontal 68-point face about s pixels between the eyes. */
static void face(struct dv_face *f, double s)
{
	*f = (struct dv_face){.x = 0, .y = 0, .w = (float)(2.2 * s), .h = (float)(2.4 * s), .score = 1, .n_landmarks = 68};
	for (int i = 0; i <= 16; i++) { /* jaw: left side x=0, right x=2s */
		f->landmarks[i][0] = (float)(2 * s * i / 16.0);
		f->landmarks[i][1] = (float)(1.0 * s + 0.8 * s * (1 - (i - 8) * (i - 8) / 64.0));
	}
	for (int i = 27; i <= 35; i++) { /* nose in the middle */
		f->landmarks[i][0] = (float)s;
		f->landmarks[i][1] = (float)(0.8 * s + 0.05 * s * (i - 27));
	}
	/* eyes: six points each, open (height a third of the width) */
	static const double ex[6] = {0, 0.33, 0.66, 1, 0.66, 0.33}, ey[6] = {0, -0.17, -0.17, 0, 0.17, 0.17};
	for (int k = 0; k < 6; k++) {
		f->landmarks[36 + k][0] = (float)(0.3 * s + 0.4 * s * ex[k]);
		f->landmarks[36 + k][1] = (float)(0.7 * s + 0.4 * s * ey[k]);
		f->landmarks[42 + k][0] = (float)(1.3 * s + 0.4 * s * ex[k]);
		f->landmarks[42 + k][1] = (float)(0.7 * s + 0.4 * s * ey[k]);
	}
}

/* A 150x150 chip: a random texture around `mean`, contrast `amp` */
static uint8_t *chip(int mean, int amp, int smooth)
{
	uint8_t *c = malloc(150 * 150 * 3);
	srand(7);
	for (int i = 0; i < 150 * 150; i++) {
		int y = i / 150, x = i % 150;
		int v = smooth ? mean + amp * (x - 75) / 75 : mean + (rand() % (2 * amp + 1)) - amp;
		(void)y;
		v = v < 0 ? 0 : v > 255 ? 255 : v;
		c[3 * i] = c[3 * i + 1] = c[3 * i + 2] = (uint8_t)v;
	}
	return c;
}

static void expect(const struct dv_face *f, const uint8_t *c, unsigned reasons, const char *name)
{
	struct dv_quality q;
	dv_quality_assess(f, c, 150, 150, &q);
	if (!tap_ok(q.reasons == reasons, "%s", name))
		printf("#   reasons 0x%x, want 0x%x (score %.2f size %.2f sharp %.2f pose %.2f exp %.2f eyes %.2f yaw %.2f blur %.3f)\n",
		    q.reasons, reasons, q.score, q.size, q.sharpness, q.pose, q.exposure, q.eyes, q.yaw, q.blur);
	if (!reasons)
		ok(q.score > 0.9, "  and scores high (%.2f)", q.score);
	else
		ok(q.score < 0.5, "  and scores low (%.2f)", q.score);
}

int main(void)
{
	struct dv_face f;
	uint8_t *good = chip(120, 60, 0), *flat = chip(120, 60, 1), *dark = chip(12, 10, 0), *burnt = chip(250, 4, 0);
	face(&f, 60);
	expect(&f, good, 0, "a frontal face, 60 px between the eyes, a detailed chip: fine");
	face(&f, 8);
	expect(&f, good, DV_Q_SMALL, "8 px between the eyes: too_small");
	face(&f, 60);
	for (int i = 27; i <= 35; i++)
		f.landmarks[i][0] = 10; /* the nose at the left edge of the jaw: a profile */
	expect(&f, good, DV_Q_TURNED, "the nose at the side of the face: turned_away");
	face(&f, 60);
	for (int k = 0; k < 6; k++) {
		f.landmarks[36 + k][1] = f.landmarks[36][1];
		f.landmarks[42 + k][1] = f.landmarks[42][1];
	}
	expect(&f, good, DV_Q_EYES, "both eyes flat: eyes_not_visible");
	face(&f, 60);
	expect(&f, flat, DV_Q_BLURRED, "a chip without fine detail: blurred");
	expect(&f, dark, DV_Q_DARK, "a dark chip: underexposed");
	expect(&f, burnt, DV_Q_BRIGHT, "a burnt-out chip: overexposed");
	face(&f, 60);
	struct dv_quality q;
	dv_quality_assess(&f, NULL, 0, 0, &q);
	ok(q.reasons == 0 && q.score > 0.9, "without a chip, the landmarks alone judge");
	is_str(dv_quality_reason(DV_Q_EYES), "eyes_not_visible", "reasons have stable names");
	free(good);
	free(flat);
	free(dark);
	free(burnt);
	return tap_done();
}
