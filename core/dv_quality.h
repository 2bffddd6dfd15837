/* dv_quality.h — can this face be recognised at all? A quality figure in
 * [0, 1] with the reasons it is low, from what the pipeline already has: the
 * box and its 68 landmarks (the size between the eyes, the head turned away,
 * eyes closed) and the aligned chip (sharpness, exposure, eyes hidden, e.g.
 * by sunglasses). Enrolment below quality.min_enrol is refused
 * (422 low_quality, with the reasons); a face recognised below
 * quality.min_recognize is answered "uncertain", never with a name. Pure. */
#ifndef DV_QUALITY_H
#define DV_QUALITY_H
#include <dejaview/plugin.h>
#include <stdint.h>

enum dv_quality_reason {
	DV_Q_SMALL = 1 << 0,     /* too few pixels between the eyes (or in the box) */
	DV_Q_BLURRED = 1 << 1,   /* the chip has little fine detail */
	DV_Q_TURNED = 1 << 2,    /* the head is turned away (yaw or pitch from the landmarks) */
	DV_Q_DARK = 1 << 3,      /* under-exposed */
	DV_Q_BRIGHT = 1 << 4,    /* over-exposed */
	DV_Q_EYES = 1 << 5,      /* eyes closed or hidden */
	DV_Q_REASONS = 6
};

struct dv_quality {
	double score;           /* [0, 1]: the product of the parts */
	double size, sharpness, pose, exposure, eyes; /* each [0, 1] */
	double interocular;     /* pixels between the eye centres in the photo, 0 if unknown */
	double yaw;             /* -1 (turned fully to one side) .. 1, 0 facing the camera */
	double blur;            /* the chip's normalised Laplacian energy */
	unsigned reasons;       /* DV_Q_* whose part is under its own bar */
};

/* Assess face f (68 landmarks, or 5, or none) with its aligned RGB chip
 * (chip NULL when there is none). */
void dv_quality_assess(const struct dv_face *f, const uint8_t *chip, int cw, int ch, struct dv_quality *q);
/* "too_small", "blurred", "turned_away", "underexposed", "overexposed", "eyes_not_visible" */
const char *dv_quality_reason(unsigned bit);
#endif
