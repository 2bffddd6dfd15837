/* Unit tests for core/dv_image.c: PNM decoding and its limits. */
#include "../tap.h"
#include "dv_err.h"
#include "dv_image.h"
#include <stdlib.h>

int main(void)
{
	struct dv_img im;
	char err[256];
	const char p6[] = "P6\n# comment\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
	is_int(dv_image_decode((const uint8_t *)p6, sizeof p6 - 1, 100, &im, err, sizeof err), 0, "P6 decodes");
	ok(im.width == 2 && im.height == 1 && im.pixels[5] == 6, "P6 pixels");
	dv_img_fini(&im);
	const char p5[] = "P5 2 1 15 \x0f\x00";
	is_int(dv_image_decode((const uint8_t *)p5, sizeof p5 - 1, 100, &im, err, sizeof err), 0, "P5 with maxval 15 decodes");
	ok(im.pixels[0] == 255 && im.pixels[2] == 255 && im.pixels[3] == 0, "gray is scaled and expanded to RGB");
	dv_img_fini(&im);
	is_int(dv_image_decode((const uint8_t *)p6, sizeof p6 - 2, 100, &im, err, sizeof err), DV_EBADIMAGE, "truncated data");
	contains(err, "truncated", "truncation is named");
	is_int(dv_image_decode((const uint8_t *)p6, sizeof p6 - 1, 1, &im, err, sizeof err), DV_EIMAGETOOLARGE, "pixel limit");
	const char bomb[] = "P6 100000 100000 255 ";
	is_int(dv_image_decode((const uint8_t *)bomb, sizeof bomb - 1, 40000000, &im, err, sizeof err), DV_EIMAGETOOLARGE,
	    "a huge header is refused before allocating");
	is_int(dv_image_decode((const uint8_t *)"", 0, 100, &im, err, sizeof err), DV_EBADIMAGE, "zero bytes");
	is_int(dv_image_decode((const uint8_t *)"hello", 5, 100, &im, err, sizeof err), DV_EMEDIATYPE, "unknown format");
	is_int(dv_image_decode((const uint8_t *)"P6 0 5 255 ", 11, 100, &im, err, sizeof err), DV_EBADIMAGE, "zero width");
	is_int(dv_image_decode((const uint8_t *)"P6 1 1 65535 ab", 15, 100, &im, err, sizeof err), DV_EBADIMAGE, "16-bit refused");
	is_int(dv_image_decode((const uint8_t *)"P6 1 x 255 ", 11, 100, &im, err, sizeof err), DV_EBADIMAGE, "bad header");
	is_str(dv_image_sniff((const uint8_t *)"\xff\xd8\xff\xe0", 4), "jpeg", "JPEG sniffed");
	return tap_done();
}
