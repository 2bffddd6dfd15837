/* dv_align.h — dlib's face chip: get_face_chip_details + extract_image_chip
 * from 68 landmarks, as dlib computes them (dv_align.c). Pure. */
#ifndef DV_ALIGN_H
#define DV_ALIGN_H
#include <stdint.h>

/* The similarity chip -> image fitted on the 33 used points. */
struct dv_align_fit {
	double m00, m01, m10, m11, tx, ty; /* image = M * chip + t */
	double angle, scale;
};

/* dlib's mean face (unit square) for landmark i in 17..67; 0, or -1. */
int dv_align_template(int i, double *x, double *y);

/* Fit the template (padding, size) to the 68 landmarks (rounded with
 * floor(x + 0.5) as dlib does). Returns 0, or -1 if degenerate. */
int dv_align_fit68(const float lm[68][2], double padding, int size, struct dv_align_fit *fit);

/* face-api's crop for its descriptors, FaceLandmarks68.align() with
 * useDlibAlignment: a square from the eye and mouth centres, then clipped to
 * the width x height image and floored as extractFaces does. Writes
 * x, y, w, h into box; returns 0, or -1 if nothing of it is in the image. */
int dv_align_faceapi_box(const float lm[68][2], int width, int height, int box[4]);

/* Cut the size x size RGB chip out of img (RGB8, width x height, stride
 * bytes per row) with dlib's sampling: pyramid_down<2> levels for large
 * faces, bilinear interpolation truncated to uint8, black outside.
 * Returns 0 or -1 (out of memory). */
int dv_align_chip(const uint8_t *img, int width, int height, int stride, const struct dv_align_fit *fit, int size,
    uint8_t *chip);

/* A jittered copy of a size x size RGB chip, as dlib jitters a chip for its
 * averaged descriptors: the chip turned by up to 3 degrees, zoomed out by up
 * to 3%, moved by up to 2% of its side and mirrored half the time; bilinear,
 * black outside. rng is the caller's state: the same state gives the same
 * copies (enrolment and its tests are reproducible). */
void dv_align_jitter(const uint8_t *chip, int size, uint64_t *rng, uint8_t *out);

/* dlib's pyramid_down<2> on an RGB8 image: out is (h-3)/2 x (w-3)/2, or
 * empty when h or w <= 8. Returns a malloc'd image and its size. */
uint8_t *dv_align_pyramid_down(const uint8_t *in, int w, int h, int stride, int *ow, int *oh);
#endif
