/* fuzz_image — libFuzzer target for image decoding (dv_image.c: JPEG, PNG,
 * PNM, EXIF orientation; make fuzz) under a pixel limit, as a request body
 * is decoded. A decoded image's pixels are read whole. Any crash, hang,
 * leak or sanitizer report is a bug; so is an image over the limit. */
#include "dv_image.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dv_img img;
	char err[256];
	memset(&img, 0, sizeof img);
	const long long max = 2000000;
	if (dv_image_decode(data, size, max, &img, err, sizeof err) == 0) {
		if (img.width <= 0 || img.height <= 0 || (long long)img.width * img.height > max || !img.pixels)
			__builtin_trap();
		volatile uint8_t sum = 0;
		size_t n = (size_t)img.width * (size_t)img.height * 3;
		for (size_t i = 0; i < n; i += 61)
			sum ^= img.pixels[i];
		sum ^= img.pixels[n - 1];
	}
	dv_img_fini(&img);
	(void)dv_exif_orientation(data, size);
	return 0;
}
