/* dv_image.c — the decode stage's format layer, run on worker threads: turns
 * untrusted bytes into an RGB8 image, checking dimensions against the pixel
 * limit before allocating. Pure functions, unit-tested and fuzzable.
 * Formats: binary PNM (P5 gray, P6 RGB, maxval <= 255). */
#include "dv_image.h"
#include "dv_err.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dv_image_sniff(const uint8_t *d, size_t n)
{
	if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6'))
		return "pnm";
	if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return "jpeg";
	if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return "png";
	return "unknown";
}

/* Read one PNM header integer, skipping whitespace and # comments. */
static int dv_pnm_int(const uint8_t *d, size_t n, size_t *pos, long long *out)
{
	size_t p = *pos;
	for (;;) {
		while (p < n && (d[p] == ' ' || d[p] == '\t' || d[p] == '\n' || d[p] == '\r'))
			p++;
		if (p < n && d[p] == '#') {
			while (p < n && d[p] != '\n')
				p++;
			continue;
		}
		break;
	}
	if (p >= n || d[p] < '0' || d[p] > '9')
		return -1;
	long long v = 0;
	while (p < n && d[p] >= '0' && d[p] <= '9') {
		v = v * 10 + (d[p] - '0');
		if (v > 1000000000)
			return -1;
		p++;
	}
	*pos = p;
	*out = v;
	return 0;
}

static int dv_decode_pnm(const uint8_t *d, size_t n, long long max_pixels, struct dv_img *out, char *err,
    size_t errlen)
{
	int channels = d[1] == '6' ? 3 : 1;
	size_t pos = 2;
	long long w, h, maxval;
	if (dv_pnm_int(d, n, &pos, &w) || dv_pnm_int(d, n, &pos, &h) || dv_pnm_int(d, n, &pos, &maxval)) {
		snprintf(err, errlen, "PNM header is malformed");
		return DV_EBADIMAGE;
	}
	if (pos >= n || !(d[pos] == ' ' || d[pos] == '\n' || d[pos] == '\r' || d[pos] == '\t')) {
		snprintf(err, errlen, "PNM header is malformed");
		return DV_EBADIMAGE;
	}
	pos++;
	if (w <= 0 || h <= 0) {
		snprintf(err, errlen, "image has zero width or height");
		return DV_EBADIMAGE;
	}
	if (maxval <= 0 || maxval > 255) {
		snprintf(err, errlen, "only 8-bit PNM is supported (maxval %lld)", maxval);
		return DV_EBADIMAGE;
	}
	if (w * h > max_pixels) {
		snprintf(err, errlen, "image is %lldx%lld = %lld pixels, over the limit of %lld", w, h, w * h, max_pixels);
		return DV_EIMAGETOOLARGE;
	}
	size_t need = (size_t)(w * h * channels);
	if (n - pos < need) {
		snprintf(err, errlen, "image data is truncated (%zu of %zu bytes)", n - pos, need);
		return DV_EBADIMAGE;
	}
	uint8_t *px = malloc((size_t)(w * h * 3));
	if (!px) {
		snprintf(err, errlen, "out of memory");
		return DV_ENOMEM;
	}
	const uint8_t *s = d + pos;
	if (channels == 3 && maxval == 255) {
		memcpy(px, s, need);
	} else {
		for (size_t i = 0; i < (size_t)(w * h); i++)
			for (int c = 0; c < 3; c++) {
				unsigned v = s[channels == 3 ? i * 3 + c : i];
				px[i * 3 + c] = (uint8_t)(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
			}
	}
	out->pixels = px;
	out->width = (int)w;
	out->height = (int)h;
	return 0;
}

int dv_image_decode(const uint8_t *data, size_t len, long long max_pixels, struct dv_img *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len == 0) {
		snprintf(err, errlen, "the image is empty (zero bytes)");
		return DV_EBADIMAGE;
	}
	const char *fmt = dv_image_sniff(data, len);
	if (!strcmp(fmt, "pnm"))
		return dv_decode_pnm(data, len, max_pixels, out, err, errlen);
	if (!strcmp(fmt, "jpeg") || !strcmp(fmt, "png")) {
		snprintf(err, errlen, "%s images are not decoded by this build yet; send binary PNM (P5/P6)", fmt);
		return DV_EMEDIATYPE;
	}
	snprintf(err, errlen, "unrecognised image format; send binary PNM (P5/P6)");
	return DV_EMEDIATYPE;
}

void dv_img_fini(struct dv_img *img)
{
	free(img->pixels);
	memset(img, 0, sizeof *img);
}
