/* Unit tests for core/dv_image.c, JPEG and PNG: inputs are synthesised here
 * with libjpeg and libpng — gray, Adobe CMYK, EXIF orientations, alpha,
 * truncation, and decompression bombs whose headers claim huge sizes. */
#include "../tap.h"
#include "dv_err.h"
#include "dv_image.h"
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <zlib.h>

/* Encode w x h pixels of `comps` components in color space cs. An optional
 * APP1 payload is written first. Returns a malloc'd JPEG. */
static uint8_t *jpeg_make(int w, int h, int comps, J_COLOR_SPACE cs, const uint8_t *px, const uint8_t *app1,
    size_t app1len, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *buf = NULL;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = comps;
	c.in_color_space = cs;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 100, TRUE);
	jpeg_start_compress(&c, TRUE);
	if (app1)
		jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned)app1len);
	while (c.next_scanline < c.image_height) {
		JSAMPROW r = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return buf;
}

/* EXIF APP1 with one IFD0 entry: Orientation = o (big-endian TIFF). */
static size_t exif_make(uint8_t *b, int o)
{
	static const uint8_t t[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
	    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	memcpy(b, t, sizeof t);
	b[6 + 8 + 2 + 8 + 1] = (uint8_t)o; /* value, big-endian short */
	return sizeof t;
}

static int near(int a, int b, int tol) { return abs(a - b) <= tol; }

int main(void)
{
	struct dv_img im;
	char err[256];
	unsigned long len;

	/* an RGB JPEG with four coloured quadrants, 16x8 */
	uint8_t rgb[16 * 8 * 3];
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 16; x++) {
			uint8_t *p = rgb + (y * 16 + x) * 3;
			p[0] = x < 8 ? 250 : 10;
			p[1] = y < 4 ? 250 : 10;
			p[2] = 128;
		}
	uint8_t *j = jpeg_make(16, 8, 3, JCS_RGB, rgb, NULL, 0, &len);
	is_int(dv_image_decode(j, len, 1000, &im, err, sizeof err), 0, "RGB JPEG decodes");
	ok(im.width == 16 && im.height == 8 && !strcmp(im.format, "jpeg") && im.orientation == 1, "size, format, no orientation");
	ok(near(im.pixels[0], 250, 8) && near(im.pixels[1], 250, 8), "top-left colour kept");
	dv_img_fini(&im);

	/* truncated: every cut between the header and the end is an error */
	int bad = 0;
	for (unsigned long cut = len / 3; cut < len - 2; cut += 7)
		if (dv_image_decode(j, cut, 1000, &im, err, sizeof err) != DV_EBADIMAGE) {
			bad++;
			dv_img_fini(&im);
		}
	is_int(bad, 0, "truncated JPEGs are bad_image, never a gray-filled picture");
	is_int(dv_image_decode(j, len - 10, 1000, &im, err, sizeof err), DV_EBADIMAGE, "a JPEG missing its last bytes");
	contains(err, "truncated", "named truncated");
	is_int(dv_image_decode(j, 20, 1000, &im, err, sizeof err), DV_EBADIMAGE, "a JPEG cut inside its header");
	/* the pixel limit is checked from the header, before decoding */
	is_int(dv_image_decode(j, len, 100, &im, err, sizeof err), DV_EIMAGETOOLARGE, "pixel limit from the header");
	/* a bomb: patch the frame header to claim 60000 x 60000 */
	uint8_t *bomb = malloc(len);
	memcpy(bomb, j, len);
	int patched = 0;
	for (unsigned long i = 2; i + 9 < len; i++)
		if (bomb[i] == 0xFF && (bomb[i + 1] == 0xC0 || bomb[i + 1] == 0xC1 || bomb[i + 1] == 0xC2)) {
			bomb[i + 5] = 0xEA; bomb[i + 6] = 0x60; /* height 60000 */
			bomb[i + 7] = 0xEA; bomb[i + 8] = 0x60; /* width 60000 */
			patched = 1;
			break;
		}
	ok(patched, "found the SOF marker to patch");
	is_int(dv_image_decode(bomb, len, 40000000, &im, err, sizeof err), DV_EIMAGETOOLARGE,
	    "a JPEG claiming 60000x60000 is refused before any allocation");
	contains(err, "60000x60000", "the message gives the claimed size");
	free(bomb);
	uint8_t garbage[64] = {0xFF, 0xD8, 0xFF, 0xE0};
	for (int i = 4; i < 64; i++)
		garbage[i] = (uint8_t)(i * 37);
	is_int(dv_image_decode(garbage, sizeof garbage, 1000, &im, err, sizeof err), DV_EBADIMAGE, "garbage after SOI");
	free(j);

	/* EXIF orientation: 6 = rotate 90 clockwise, 3 = 180, 8 = 270 */
	uint8_t app1[64];
	size_t al = exif_make(app1, 6);
	is_int(dv_exif_orientation(app1, al), 6, "EXIF orientation parsed");
	is_int(dv_exif_orientation(app1, 10), 1, "a short EXIF block is ignored");
	j = jpeg_make(16, 8, 3, JCS_RGB, rgb, app1, al, &len);
	is_int(dv_image_decode(j, len, 1000, &im, err, sizeof err), 0, "JPEG with orientation 6 decodes");
	ok(im.width == 8 && im.height == 16 && im.orientation == 6, "width and height swap");
	/* rotated clockwise: the source's bottom-left (red low, green low) is now top-left */
	ok(near(im.pixels[0], 250, 8) && near(im.pixels[1], 10, 8), "the source bottom-left is now top-left");
	dv_img_fini(&im);
	free(j);
	al = exif_make(app1, 3);
	j = jpeg_make(16, 8, 3, JCS_RGB, rgb, app1, al, &len);
	dv_image_decode(j, len, 1000, &im, err, sizeof err);
	ok(im.width == 16 && im.height == 8 && near(im.pixels[0], 10, 8) && near(im.pixels[1], 10, 8),
	    "orientation 3 turns the image upside down");
	dv_img_fini(&im);
	free(j);

	/* large photos: a scaled decode, and regions of it decoded again, for
	 * every EXIF orientation; a region's pixels are the scaled image's */
	{
		enum { W = 203, H = 139 };
		uint8_t *pic = malloc((size_t)W * H * 3);
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				pic[(y * W + x) * 3] = (uint8_t)(x * 255 / W);
				pic[(y * W + x) * 3 + 1] = (uint8_t)(y * 255 / H);
				pic[(y * W + x) * 3 + 2] = (uint8_t)(128 + 60 * ((x / 16 + y / 16) % 2));
			}
		for (int o = 1; o <= 8; o++) {
			al = exif_make(app1, o);
			j = jpeg_make(W, H, 3, JCS_RGB, pic, app1, al, &len);
			struct dv_img sc, rg;
			int r = dv_image_decode_scaled(j, len, 1000000, 60, &sc, err, sizeof err);
			int ow = o >= 5 ? H : W, oh = o >= 5 ? W : H;
			ok(r == 0 && sc.denom == 2 && sc.full_width == ow && sc.full_height == oh &&
			       sc.width == (ow + 1) / 2 && sc.height == (oh + 1) / 2,
			    "orientation %d: decoded at 1/2 (longer side >= 60), the photo's size kept", o);
			int rect[4] = {13, 21, 30, 17}, at[2] = {-1, -1};
			r = dv_image_decode_region(j, len, 1000000, 2, rect, &rg, at, err, sizeof err);
			ok(r == 0 && at[0] <= rect[0] && at[1] <= rect[1] && at[0] + rg.width >= rect[0] + rect[2] &&
			       at[1] + rg.height >= rect[1] + rect[3],
			    "orientation %d: the region holds the rectangle asked for (at %d,%d, %dx%d)", o, at[0], at[1],
			    rg.width, rg.height);
			int off = 0;
			for (int y = rect[1]; r == 0 && y < rect[1] + rect[3]; y++)
				for (int x = rect[0]; x < rect[0] + rect[2]; x++)
					for (int c = 0; c < 3; c++)
						off += !near(rg.pixels[((size_t)(y - at[1]) * rg.width + (x - at[0])) * 3 + c],
						    sc.pixels[((size_t)y * sc.width + x) * 3 + c], 3);
			ok(off == 0, "orientation %d: the region's pixels are the scaled image's (%d differ)", o, off);
			dv_img_fini(&sc);
			dv_img_fini(&rg);
			free(j);
		}
		j = jpeg_make(W, H, 3, JCS_RGB, pic, NULL, 0, &len);
		is_int(dv_image_decode_scaled(j, len, 1000000, 20, &im, err, sizeof err), 0, "min_side 20");
		ok(im.denom == 8 && im.width == (W + 7) / 8, "the smallest scale that keeps 20 pixels: 1/8 (%d)", im.denom);
		dv_img_fini(&im);
		is_int(dv_image_decode_scaled(j, len, 1000000, 0, &im, err, sizeof err), 0, "min_side 0");
		ok(im.denom == 1 && im.width == W, "min_side 0 decodes at full size");
		dv_img_fini(&im);
		is_int(dv_image_decode_scaled(j, len, 1000000, 150, &im, err, sizeof err), 0, "min_side 150");
		ok(im.denom == 1 && im.width == W, "no scale keeps 150 of 203 pixels but full size");
		dv_img_fini(&im);
		int far[4] = {500, 500, 10, 10}, at[2];
		is_int(dv_image_decode_region(j, len, 1000000, 2, far, &im, at, err, sizeof err), DV_EBADREQUEST,
		    "a region outside the photo is refused");
		int part[4] = {0, 0, 10, 10};
		is_int(dv_image_decode_region(j, len - 200, 1000000, 1, part, &im, at, err, sizeof err), 0,
		    "a region above where a truncated JPEG ends decodes");
		dv_img_fini(&im);
		int low[4] = {0, H - 10, 10, 10};
		is_int(dv_image_decode_region(j, len - 200, 1000000, 1, low, &im, at, err, sizeof err), DV_EBADIMAGE,
		    "a region past where a truncated JPEG ends is bad_image");
		free(j);
		free(pic);
	}

	/* gray JPEG becomes RGB */
	uint8_t gray[8 * 8];
	memset(gray, 200, sizeof gray);
	j = jpeg_make(8, 8, 1, JCS_GRAYSCALE, gray, NULL, 0, &len);
	is_int(dv_image_decode(j, len, 1000, &im, err, sizeof err), 0, "gray JPEG decodes");
	ok(near(im.pixels[0], 200, 2) && im.pixels[0] == im.pixels[1] && im.pixels[1] == im.pixels[2], "gray expanded to RGB");
	dv_img_fini(&im);
	free(j);

	/* CMYK JPEG as Photoshop writes it (Adobe marker, inverted inks):
	 * stored 255-C.. ; pure cyan C=255,M=0,Y=0,K=0 -> RGB (0,255,255) */
	uint8_t cmyk[8 * 8 * 4];
	for (int i = 0; i < 64; i++) {
		cmyk[i * 4] = 255 - 255;
		cmyk[i * 4 + 1] = 255 - 0;
		cmyk[i * 4 + 2] = 255 - 0;
		cmyk[i * 4 + 3] = 255 - 0;
	}
	j = jpeg_make(8, 8, 4, JCS_CMYK, cmyk, NULL, 0, &len);
	is_int(dv_image_decode(j, len, 1000, &im, err, sizeof err), 0, "CMYK JPEG decodes");
	ok(near(im.pixels[0], 0, 6) && near(im.pixels[1], 255, 6) && near(im.pixels[2], 255, 6), "cyan ink comes out cyan");
	dv_img_fini(&im);
	free(j);

	/* PNG with alpha: transparent pixels are composited on white */
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	pi.width = 4;
	pi.height = 2;
	pi.format = PNG_FORMAT_RGBA;
	uint8_t rgba[4 * 2 * 4];
	for (int i = 0; i < 8; i++) {
		rgba[i * 4] = 10; rgba[i * 4 + 1] = 20; rgba[i * 4 + 2] = 30;
		rgba[i * 4 + 3] = i < 4 ? 255 : 0;
	}
	png_alloc_size_t plen = 0;
	png_image_write_to_memory(&pi, NULL, &plen, 0, rgba, 0, NULL);
	uint8_t *png = malloc(plen);
	ok(png_image_write_to_memory(&pi, png, &plen, 0, rgba, 0, NULL), "PNG written");
	is_int(dv_image_decode(png, plen, 1000, &im, err, sizeof err), 0, "PNG decodes");
	ok(im.width == 4 && im.height == 2 && !strcmp(im.format, "png"), "PNG size and format");
	ok(im.pixels[0] == 10 && im.pixels[1] == 20 && im.pixels[2] == 30, "opaque pixel kept");
	ok(im.pixels[4 * 3] == 255 && im.pixels[4 * 3 + 1] == 255, "transparent pixel on white");
	dv_img_fini(&im);
	is_int(dv_image_decode(png, plen - 20, 1000, &im, err, sizeof err), DV_EBADIMAGE, "a truncated PNG is bad_image");
	/* a PNG bomb: IHDR claims 100000 x 100000 (CRC fixed up) */
	uint8_t *pb = malloc(plen);
	memcpy(pb, png, plen);
	const uint8_t big[8] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0};
	memcpy(pb + 16, big, 8);
	uint32_t crc = (uint32_t)crc32(0, pb + 12, 17);
	pb[29] = (uint8_t)(crc >> 24); pb[30] = (uint8_t)(crc >> 16); pb[31] = (uint8_t)(crc >> 8); pb[32] = (uint8_t)crc;
	is_int(dv_image_decode(pb, plen, 40000000, &im, err, sizeof err), DV_EIMAGETOOLARGE,
	    "a PNG claiming 100000x100000 is refused before any allocation");
	free(pb);
	free(png);
	return tap_done();
}
