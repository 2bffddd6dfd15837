/* dv_image.c — the decode stage's format layer, run on worker threads: turns
 * untrusted bytes into an RGB8 image, checking the dimensions against the
 * pixel limit before any pixel memory is allocated. Pure functions (no I/O),
 * unit-tested and fuzzable. The one decoder of the project:
 *   JPEG  libjpeg-turbo (Debian libjpeg62-turbo 2.1.5), default settings:
 *         islow IDCT, fancy upsampling; gray and CMYK/YCCK (Adobe inverted or
 *         not) become RGB; EXIF orientation (APP1) is applied.
 *   PNG   libpng 1.6 simplified API, 8-bit RGB; alpha is composited on white;
 *         16-bit is reduced; palettes and gray are expanded.
 *   PNM   binary P5 (gray) and P6 (RGB), maxval <= 255.
 * A truncated JPEG (libjpeg's "premature end of data") is an error, not a
 * gray-filled image. */
#include "dv_image.h"
#include "dv_err.h"
#include <stdio.h> /* before jpeglib.h, which needs FILE */
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
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

/* ---------------------------------------------------------------- EXIF */

static unsigned dv_rd16(const uint8_t *p, bool le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t dv_rd32(const uint8_t *p, bool le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
	          : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dv_exif_orientation(const uint8_t *d, size_t n)
{
	/* "Exif\0\0", then a TIFF header: II*\0 or MM\0*, offset of IFD0 */
	if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0)
		return 1;
	const uint8_t *t = d + 6;
	size_t tn = n - 6;
	bool le;
	if (!memcmp(t, "II*\0", 4))
		le = true;
	else if (!memcmp(t, "MM\0*", 4))
		le = false;
	else
		return 1;
	uint32_t ifd = dv_rd32(t + 4, le);
	if (ifd > tn - 2 || ifd < 8)
		return 1;
	unsigned count = dv_rd16(t + ifd, le);
	for (unsigned i = 0; i < count; i++) {
		size_t e = ifd + 2 + (size_t)i * 12;
		if (e + 12 > tn)
			return 1;
		if (dv_rd16(t + e, le) == 0x0112) {   /* Orientation, SHORT */
			unsigned v = dv_rd16(t + e + 8, le);
			return v >= 1 && v <= 8 ? (int)v : 1;
		}
	}
	return 1;
}

/* Apply an EXIF orientation (2..8) to img, in a new buffer. */
static int dv_orient(struct dv_img *img, int o)
{
	if (o <= 1 || o > 8)
		return 0;
	int w = img->width, h = img->height;
	bool swap = o >= 5;
	int nw = swap ? h : w, nh = swap ? w : h;
	uint8_t *px = malloc((size_t)nw * nh * 3);
	if (!px)
		return DV_ENOMEM;
	for (int y = 0; y < nh; y++)
		for (int x = 0; x < nw; x++) {
			int sx, sy; /* source pixel shown at (x, y) */
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;          /* mirror horizontal */
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;  /* rotate 180 */
			case 4: sx = x; sy = h - 1 - y; break;          /* mirror vertical */
			case 5: sx = y; sy = x; break;                  /* transpose */
			case 6: sx = y; sy = h - 1 - x; break;          /* rotate 90 clockwise */
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;  /* transverse */
			default: sx = w - 1 - y; sy = x; break;         /* 8: rotate 270 clockwise */
			}
			memcpy(px + ((size_t)y * nw + x) * 3, img->pixels + ((size_t)sy * w + sx) * 3, 3);
		}
	free(img->pixels);
	img->pixels = px;
	img->width = nw;
	img->height = nh;
	return 0;
}

/* ---------------------------------------------------------------- JPEG */

struct dv_jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
	bool truncated;
};

static void dv_jpeg_error_exit(j_common_ptr c)
{
	longjmp(((struct dv_jerr *)c->err)->jb, 1);
}

static void dv_jpeg_message(j_common_ptr c, int level)
{
	struct dv_jerr *e = (struct dv_jerr *)c->err;
	/* Warnings (level -1) are not printed; a premature end is remembered:
	 * libjpeg would otherwise hand back a gray-filled image. */
	if (level == -1) {
		e->mgr.num_warnings++;
		if (e->mgr.msg_code == JWRN_JPEG_EOF)
			e->truncated = true;
	}
}

/* The stored (pre-orientation) rectangle of an oriented one, for an image
 * stored W x H, in continuous coordinates (edges). */
static void dv_rect_stored(int o, int W, int H, const int r[4], int s[4])
{
	double xs[2] = {r[0], r[0] + r[2]}, ys[2] = {r[1], r[1] + r[3]};
	double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			double x = xs[i], y = ys[j], sx, sy;
			switch (o) {
			case 2: sx = W - x; sy = y; break;
			case 3: sx = W - x; sy = H - y; break;
			case 4: sx = x; sy = H - y; break;
			case 5: sx = y; sy = x; break;
			case 6: sx = y; sy = H - x; break;
			case 7: sx = W - y; sy = H - x; break;
			case 8: sx = W - y; sy = x; break;
			default: sx = x; sy = y; break;
			}
			x0 = sx < x0 ? sx : x0; x1 = sx > x1 ? sx : x1;
			y0 = sy < y0 ? sy : y0; y1 = sy > y1 ? sy : y1;
		}
	s[0] = (int)x0; s[1] = (int)y0; s[2] = (int)(x1 - x0); s[3] = (int)(y1 - y0);
}

/* The oriented position of a stored rectangle's top-left: the same mapping
 * run backwards — the inverse orientation (6 and 8 swap, the others undo
 * themselves) on an image of the oriented size. */
static void dv_rect_oriented(int o, int W, int H, const int s[4], int *x, int *y)
{
	int r[4], inv = o == 6 ? 8 : o == 8 ? 6 : o;
	if (o >= 5)
		dv_rect_stored(inv, H, W, s, r);
	else
		dv_rect_stored(inv, W, H, s, r);
	*x = r[0];
	*y = r[1];
}

/* The scale a JPEG of longer side `side` is decoded at: the smallest of
 * 1/8, 1/4, 1/2 whose longer side is still min_side or more (1 = full). */
static int dv_jpeg_denom(long long w, long long h, int min_side)
{
	long long side = w > h ? w : h;
	if (min_side <= 0)
		return 1;
	for (int k = 8; k > 1; k /= 2)
		if ((side + k - 1) / k >= min_side)
			return k;
	return 1;
}

/* Decode a JPEG at 1/denom (0: chosen by min_side); with crop (x, y, w, h in
 * the oriented image at that scale) only that region, its top-left written
 * to crop_at. The pixels come back in stored orientation; the caller orients. */
static int dv_decode_jpeg(const uint8_t *d, size_t n, long long max_pixels, int min_side, int scale, const int *crop,
    int *crop_at, struct dv_img *out, int *orientation, char *err, size_t errlen)
{
	struct jpeg_decompress_struct ci;
	struct dv_jerr je;
	uint8_t *volatile px = NULL;
	JSAMPLE *volatile row = NULL;
	int volatile rc = DV_EBADIMAGE;
	int volatile denom = scale;
	memset(&ci, 0, sizeof ci);
	ci.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = dv_jpeg_error_exit;
	je.mgr.emit_message = dv_jpeg_message;
	je.truncated = false;
	if (setjmp(je.jb)) {
		char msg[JMSG_LENGTH_MAX];
		je.mgr.format_message((j_common_ptr)&ci, msg);
		if (rc != DV_ENOMEM && rc != DV_EIMAGETOOLARGE)
			snprintf(err, errlen, "the JPEG cannot be decoded: %s", msg);
		goto out;
	}
	jpeg_create_decompress(&ci);
	/* bound libjpeg's own working memory too */
	ci.mem->max_memory_to_use = 512L * 1024 * 1024;
	jpeg_mem_src(&ci, d, (unsigned long)n);
	jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&ci, TRUE);
	long long fw = ci.image_width, fh = ci.image_height;
	if (fw <= 0 || fh <= 0) {
		snprintf(err, errlen, "the JPEG has zero width or height");
		goto out;
	}
	if (fw * fh > max_pixels) {
		snprintf(err, errlen, "image is %lldx%lld = %lld pixels, over the limit of %lld", fw, fh, fw * fh,
		    max_pixels);
		rc = DV_EIMAGETOOLARGE;
		goto out;
	}
	for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1)
			*orientation = dv_exif_orientation(m->data, m->data_length);
	bool cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
	ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	if (denom <= 0)
		denom = dv_jpeg_denom(fw, fh, min_side);
	ci.scale_num = 1;
	ci.scale_denom = (unsigned)denom;
	jpeg_start_decompress(&ci);
	bool swap = *orientation >= 5;
	out->full_width = (int)(swap ? fh : fw);
	out->full_height = (int)(swap ? fw : fh);
	out->denom = denom;
	long long w = ci.output_width, h = ci.output_height;
	unsigned y0 = 0, y1 = ci.output_height;
	if (crop) {
		/* the region, in stored coordinates at this scale, clipped */
		int s[4];
		dv_rect_stored(*orientation, (int)w, (int)h, crop, s);
		long long sx0 = s[0] < 0 ? 0 : s[0], sy0 = s[1] < 0 ? 0 : s[1];
		long long sx1 = s[0] + s[2] > w ? w : s[0] + s[2], sy1 = s[1] + s[3] > h ? h : s[1] + s[3];
		if (sx1 <= sx0 || sy1 <= sy0) {
			snprintf(err, errlen, "the region is outside the image");
			rc = DV_EBADREQUEST;
			goto out;
		}
		JDIMENSION xo = (JDIMENSION)sx0, cw = (JDIMENSION)(sx1 - sx0);
		jpeg_crop_scanline(&ci, &xo, &cw); /* widened to whole blocks */
		y0 = (unsigned)sy0;
		y1 = (unsigned)sy1;
		if (y0 > 0)
			jpeg_skip_scanlines(&ci, y0);
		int got[4] = {(int)xo, (int)y0, (int)cw, (int)(y1 - y0)};
		dv_rect_oriented(*orientation, (int)w, (int)h, got, &crop_at[0], &crop_at[1]);
		w = cw;
		h = y1 - y0;
	}
	int oc = ci.output_components;
	px = malloc((size_t)w * h * 3);
	row = malloc((size_t)ci.output_width * oc);
	if (!px || !row) {
		snprintf(err, errlen, "out of memory");
		rc = DV_ENOMEM;
		goto out;
	}
	while (ci.output_scanline < y1) {
		JSAMPROW rp = row;
		unsigned y = ci.output_scanline - y0;
		if (jpeg_read_scanlines(&ci, &rp, 1) != 1)
			break;
		uint8_t *dst = px + (size_t)y * w * 3;
		if (!cmyk) {
			memcpy(dst, row, (size_t)w * 3);
			continue;
		}
		/* Adobe (Photoshop) CMYK JPEGs store the inks inverted. */
		for (long long x = 0; x < w; x++) {
			unsigned c = row[x * 4], m = row[x * 4 + 1], yy = row[x * 4 + 2], k = row[x * 4 + 3];
			if (!ci.saw_Adobe_marker) {
				c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k;
			}
			dst[x * 3] = (uint8_t)((c * k + 127) / 255);
			dst[x * 3 + 1] = (uint8_t)((m * k + 127) / 255);
			dst[x * 3 + 2] = (uint8_t)((yy * k + 127) / 255);
		}
	}
	if (je.truncated || ci.output_scanline < y1) {
		snprintf(err, errlen, "the JPEG is truncated (premature end of data)");
		goto out;
	}
	if (crop)
		jpeg_abort_decompress(&ci); /* the rows below the region are not needed */
	else
		jpeg_finish_decompress(&ci);
	if (je.truncated) {
		snprintf(err, errlen, "the JPEG is truncated (premature end of data)");
		goto out;
	}
	out->pixels = px;
	out->width = (int)w;
	out->height = (int)h;
	px = NULL;
	rc = 0;
out:
	jpeg_destroy_decompress(&ci);
	free(row);
	free(px);
	return rc;
}

/* ---------------------------------------------------------------- PNG */

static int dv_decode_png(const uint8_t *d, size_t n, long long max_pixels, struct dv_img *out, char *err,
    size_t errlen)
{
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&im, d, n)) {
		snprintf(err, errlen, "the PNG cannot be decoded: %s", im.message);
		png_image_free(&im);
		return DV_EBADIMAGE;
	}
	long long w = im.width, h = im.height;
	if (w * h > max_pixels) {
		snprintf(err, errlen, "image is %lldx%lld = %lld pixels, over the limit of %lld", w, h, w * h, max_pixels);
		png_image_free(&im);
		return DV_EIMAGETOOLARGE;
	}
	im.format = PNG_FORMAT_RGB;
	uint8_t *px = malloc((size_t)w * h * 3);
	if (!px) {
		png_image_free(&im);
		snprintf(err, errlen, "out of memory");
		return DV_ENOMEM;
	}
	png_color white = {255, 255, 255};
	if (!png_image_finish_read(&im, &white, px, (png_int_32)(w * 3), NULL)) {
		snprintf(err, errlen, "the PNG cannot be decoded: %s", im.message);
		png_image_free(&im);
		free(px);
		return DV_EBADIMAGE;
	}
	png_image_free(&im);
	out->pixels = px;
	out->width = (int)w;
	out->height = (int)h;
	return 0;
}

int dv_image_decode_scaled(const uint8_t *data, size_t len, long long max_pixels, int min_side, struct dv_img *out,
    char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len == 0) {
		snprintf(err, errlen, "the image is empty (zero bytes)");
		return DV_EBADIMAGE;
	}
	const char *fmt = dv_image_sniff(data, len);
	out->format = fmt;
	out->orientation = 1;
	out->denom = 1;
	int r;
	if (!strcmp(fmt, "jpeg")) {
		r = dv_decode_jpeg(data, len, max_pixels, min_side, 0, NULL, NULL, out, &out->orientation, err, errlen);
		if (r == 0 && out->orientation > 1 && (r = dv_orient(out, out->orientation)) != 0) {
			snprintf(err, errlen, "out of memory");
			dv_img_fini(out);
		}
		return r;
	}
	if (!strcmp(fmt, "png"))
		r = dv_decode_png(data, len, max_pixels, out, err, errlen);
	else if (!strcmp(fmt, "pnm"))
		r = dv_decode_pnm(data, len, max_pixels, out, err, errlen);
	else {
		snprintf(err, errlen, "unrecognised image format: send JPEG, PNG or binary PNM");
		return DV_EMEDIATYPE;
	}
	if (r == 0) {
		out->full_width = out->width;
		out->full_height = out->height;
	}
	return r;
}

int dv_image_decode(const uint8_t *data, size_t len, long long max_pixels, struct dv_img *out, char *err,
    size_t errlen)
{
	return dv_image_decode_scaled(data, len, max_pixels, 0, out, err, errlen);
}

int dv_image_decode_region(const uint8_t *data, size_t len, long long max_pixels, int denom, const int rect[4],
    struct dv_img *out, int at[2], char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (strcmp(dv_image_sniff(data, len), "jpeg") != 0 || !(denom == 1 || denom == 2 || denom == 4 || denom == 8)) {
		snprintf(err, errlen, "regions are decoded from JPEG only, at 1/1, 1/2, 1/4 or 1/8");
		return DV_EBADREQUEST;
	}
	out->format = "jpeg";
	out->orientation = 1;
	int r = dv_decode_jpeg(data, len, max_pixels, 0, denom, rect, at, out, &out->orientation, err, errlen);
	if (r == 0 && out->orientation > 1 && (r = dv_orient(out, out->orientation)) != 0) {
		snprintf(err, errlen, "out of memory");
		dv_img_fini(out);
	}
	return r;
}

void dv_img_fini(struct dv_img *img)
{
	free(img->pixels);
	img->pixels = NULL;
	img->width = img->height = 0;
}

/* ---------------------------------------------------------------- encoding */

struct dv_jenc_err {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
};

static void dv_jenc_fail(j_common_ptr c)
{
	longjmp(((struct dv_jenc_err *)c->err)->jb, 1);
}

int dv_image_encode_jpeg(const uint8_t *rgb, int width, int height, int quality, uint8_t **out, size_t *len)
{
	struct jpeg_compress_struct c;
	struct dv_jenc_err e;
	unsigned char *buf = NULL;
	unsigned long n = 0;
	c.err = jpeg_std_error(&e.mgr);
	e.mgr.error_exit = dv_jenc_fail;
	if (setjmp(e.jb)) {
		jpeg_destroy_compress(&c);
		free(buf);
		return -1;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &n);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * width * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*out = buf;
	*len = n;
	return 0;
}
