/* util.h — small helpers shared by the test programs (header-only). */
#ifndef DV_TEST_UTIL_H
#define DV_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The test programs' reproducible random numbers: xorshift64 (13, 7, 17)
 * on the caller's state, which it advances; the new state. */
static inline unsigned long long test_xorshift(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
/* Uniform in [0, 1), 53 bits of the state. */
static inline double test_urand(unsigned long long *s) { return (double)(test_xorshift(s) >> 11) / 9007199254740992.0; }

/* The whole file, NUL-terminated, or exit(2) with the reason. */
static inline char *test_slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f) {
		perror(p);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc(*n + 1);
	if (!b || fread(b, 1, *n, f) != *n) {
		perror(p);
		exit(2);
	}
	b[*n] = 0;
	fclose(f);
	return b;
}

/* Monotonic milliseconds, for the benchmarks' timings. */
static inline double test_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* qsort order for doubles (percentiles of timings). */
static inline int test_cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The CPU's name, from /proc/cpuinfo (the benchmarks name it). */
static inline void test_cpu_name(char *out, size_t len)
{
	snprintf(out, len, "unknown CPU");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			c += 2;
			c[strcspn(c, "\n")] = 0;
			snprintf(out, len, "%s", c);
			break;
		}
	}
	if (f)
		fclose(f);
}
#endif
