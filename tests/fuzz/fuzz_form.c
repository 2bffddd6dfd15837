/* fuzz_form — libFuzzer target for request bodies (dv_form.c, make fuzz):
 * the first byte picks the Content-Type a client could send (none, raw
 * image, JSON, multipart with a boundary, a malformed multipart header), the
 * rest is the body. The fields found are read as the operations read them.
 * Any crash, hang, leak or sanitizer report is a bug; so is a field outside
 * its buffer. */
#include "dv_form.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ctypes[] = {NULL, "image/jpeg", "application/json", "application/json; charset=utf-8",
    "multipart/form-data; boundary=XyZ", "multipart/form-data; boundary=\"a b\"", "multipart/form-data",
    "multipart/form-data; boundary=", "application/octet-stream", "text/plain"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = ctypes[data[0] % (sizeof ctypes / sizeof ctypes[0])];
	static const char *const keys[] = {"image", "image_a", "image_b", NULL};
	struct dv_form f;
	char err[256];
	memset(&f, 0, sizeof f);
	if (dv_form_parse(&f, ct, data + 1, size - 1, keys, err, sizeof err) == 0) {
		for (int i = 0; i < f.n; i++) {
			const struct dv_field *x = &f.f[i];
			if (!x->owned && x->len && (x->data < data + 1 || x->data + x->len > data + size))
				__builtin_trap();
			volatile uint8_t sum = 0;
			for (size_t k = 0; k < x->len; k++)
				sum ^= x->data[k];
		}
		static const char *const names[] = {"image", "name", "person_id", "box", "fields", "location", "webhook", "op"};
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			const char *t = dv_form_text(&f, names[i]);
			if (t)
				(void)strlen(t);
			(void)dv_form_get(&f, names[i]);
		}
	}
	dv_form_fini(&f);
	return 0;
}
