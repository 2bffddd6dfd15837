/* dv_image.h — decoding request bodies into RGB8 images. */
#ifndef DV_IMAGE_H
#define DV_IMAGE_H
#include <stddef.h>
#include <stdint.h>

/* An owned, interleaved RGB8 image (stride == width * 3). */
struct dv_img {
	uint8_t *pixels;
	int width, height;        /* after the EXIF orientation is applied */
	const char *format;       /* "jpeg", "png", "pnm" (static string) */
	int orientation;          /* EXIF orientation found (1 = none) */
	/* a JPEG decoded at a reduced scale (dv_image_decode_scaled): the photo's
	 * own size (oriented) and the scale, 1/denom (1, 2, 4 or 8); a pixel
	 * edge at x here is at x * denom in the photo */
	int full_width, full_height;
	int denom;
};

/* Decode data into out (caller frees with dv_img_fini). Pure: no I/O.
 * Returns 0, DV_EMEDIATYPE (unknown format), DV_EBADIMAGE (corrupt or
 * truncated, reason in err) or DV_EIMAGETOOLARGE (over max_pixels). */
int dv_image_decode(const uint8_t *data, size_t len, long long max_pixels, struct dv_img *out,
    char *err, size_t errlen);
/* The same, a JPEG at the smallest of libjpeg's DCT scales (1/8, 1/4, 1/2)
 * whose longer side is still min_side pixels or more (0: full size); the
 * entropy decoding is the same, the transforms and the memory a fraction.
 * Other formats come at full size. */
int dv_image_decode_scaled(const uint8_t *data, size_t len, long long max_pixels, int min_side, struct dv_img *out,
    char *err, size_t errlen);
/* One region of a JPEG, at 1/denom: rect = {x, y, w, h} in the oriented
 * image at that scale, clipped to it and widened to whole JPEG blocks; the
 * region's top-left (at that scale) goes to at. Rows below it are not
 * decoded, those above only entropy-decoded. DV_EBADREQUEST for a region
 * outside the image or a format other than JPEG. */
int dv_image_decode_region(const uint8_t *data, size_t len, long long max_pixels, int denom, const int rect[4],
    struct dv_img *out, int at[2], char *err, size_t errlen);
void dv_img_fini(struct dv_img *img);
/* The EXIF orientation (1..8) in an APP1 payload starting "Exif\0\0", or 1.
 * Pure; bounds-checked against n. */
int dv_exif_orientation(const uint8_t *d, size_t n);
/* Encode an RGB8 image as JPEG (quality 1..100) into a new buffer (*out,
 * caller frees). Used for the stored face chips. 0 or -1. */
int dv_image_encode_jpeg(const uint8_t *rgb, int width, int height, int quality, uint8_t **out, size_t *len);
/* Name of the detected format ("pnm", "jpeg", "png", "unknown"). */
const char *dv_image_sniff(const uint8_t *data, size_t len);
#endif
