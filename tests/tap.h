/* tap.h — minimal TAP producer for unit tests (automake's TAP driver reads
 * the output). Header-only; each test binary includes it once. */
#ifndef DV_TAP_H
#define DV_TAP_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define ok(c, ...) tap_ok(!!(c), __VA_ARGS__)
#define is_int(a, b, name) \
	do { long long _a = (a), _b = (b); if (!tap_ok(_a == _b, "%s", name)) printf("#   got %lld, want %lld\n", _a, _b); } while (0)
#define is_str(a, b, name) \
	do { const char *_a = (a), *_b = (b); int _c = _a && _b && !strcmp(_a, _b); \
	     if (!tap_ok(_c, "%s", name)) printf("#   got \"%s\"\n#  want \"%s\"\n", _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define contains(hay, needle, name) \
	do { const char *_h = (hay), *_n = (needle); int _c = _h && strstr(_h, _n); \
	     if (!tap_ok(_c, "%s", name)) printf("#   \"%s\"\n#   does not contain \"%s\"\n", _h ? _h : "(null)", _n); } while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
