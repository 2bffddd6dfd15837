/* fuzz_json — libFuzzer target for the strict JSON parser (dv_jsonp.c, make
 * fuzz), which reads every JSON request body and model manifest. The tree is
 * walked whole and freed. Any crash, hang, leak or sanitizer report is a
 * bug. */
#include "dv_jsonp.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct dv_jv *v, int depth)
{
	if (!v)
		return 0;
	if (depth > 70)
		__builtin_trap(); /* the parser promises a depth of at most 64 */
	size_t n = 1;
	if (v->type == DV_JSTR && v->str) {
		volatile char c = 0;
		for (size_t i = 0; i <= v->len; i++)
			c ^= v->str[i]; /* len bytes and the NUL */
		if (v->str[v->len])
			__builtin_trap();
	}
	for (int i = 0; i < v->n; i++) {
		if (v->type == DV_JOBJ && v->keys && v->keys[i])
			(void)strlen(v->keys[i]);
		n += walk(v->items ? v->items[i] : NULL, depth + 1);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200];
	struct dv_jv *v = dv_jsonp_parse((const char *)data, size, err, sizeof err);
	if (v) {
		walk(v, 0);
		(void)dv_jv_get(v, "image");
		dv_jv_free(v);
	} else if (!memchr(err, 0, sizeof err)) {
		__builtin_trap();
	}
	return 0;
}
