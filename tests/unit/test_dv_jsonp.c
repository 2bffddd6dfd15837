/* Unit tests for core/dv_jsonp.c. */
#include "../tap.h"
#include "dv_jsonp.h"
#include <math.h>
#include <stdlib.h>

static struct dv_jv *P(const char *s, char *err)
{
	return dv_jsonp_parse(s, strlen(s), err, 128);
}

int main(void)
{
	char err[128];
	struct dv_jv *v = P(" {\"a\": [1, -2.5e2, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}} ", err);
	ok(v && v->type == DV_JOBJ && v->n == 2, "object parses");
	const struct dv_jv *a = dv_jv_get(v, "a");
	ok(a && a->type == DV_JARR && a->n == 5, "array member");
	ok(a && a->items[1]->num == -250, "number with exponent");
	ok(a && a->items[2]->type == DV_JBOOL && a->items[2]->b, "true");
	ok(a && a->items[3]->type == DV_JNULL, "null");
	is_str(a ? a->items[4]->str : NULL, "x\xc3\xa9\xf0\x9f\x98\x80\n", "escapes and surrogate pairs to UTF-8");
	ok(dv_jv_get(v, "b") && dv_jv_get(v, "b")->n == 0, "empty object");
	ok(!dv_jv_get(v, "c"), "missing key");
	dv_jv_free(v);
	static const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"a", "[1] 2", "tru", "\"\\ud800\"", "{1:2}", "-", "\"\x01\""};
	int refused = 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct dv_jv *b = P(bad[i], err);
		if (!b)
			refused++;
		else
			printf("# accepted: %s\n", bad[i]);
		dv_jv_free(b);
	}
	is_int(refused, (long long)(sizeof bad / sizeof *bad), "malformed JSON is refused");
	/* a number longer than any fixed buffer keeps its value */
	char longnum[200] = "0.";
	memset(longnum + 2, '0', 150);
	strcpy(longnum + 152, "125e2");
	v = P(longnum, err);
	ok(v && v->type == DV_JNUM && fabs(v->num / 1.25e-149 - 1) < 1e-9, "a 157-character number parses whole (the old 63-byte copy read 0)");
	dv_jv_free(v);
	v = P("[-0, 1.5e-3, 12]", err);
	ok(v && v->n == 3 && v->items[1]->num == 1.5e-3 && v->items[2]->num == 12, "numbers with sign, fraction, exponent");
	dv_jv_free(v);
	v = P("[1, 2", err);
	contains(err, "at byte 5", "errors give the position");
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	v = dv_jsonp_parse(deep, 200, err, sizeof err);
	ok(!v, "nesting is limited");
	contains(err, "deeper than 64", "and says so");
	return tap_done();
}
