/* dv_log.c — logging for every thread: one line per event to stderr, with a
 * UTC timestamp, the level and the current request id of the calling thread.
 * Never log secrets, raw images, embeddings or landmarks. */
#include "dv_log.h"
#include "dv_assert.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

static atomic_int dv_log_level = DV_LOG_LVL_INFO;
static atomic_int dv_log_fd = -1;
static _Thread_local unsigned long long dv_log_req;
static const char *const dv_log_names[] = {"error", "warn", "info", "debug"};

void dv_log_set_level(int level) { atomic_store(&dv_log_level, level); }
int dv_log_get_level(void) { return atomic_load(&dv_log_level); }
void dv_log_set_request(unsigned long long id) { dv_log_req = id; }
unsigned long long dv_log_request(void) { return dv_log_req; }

int dv_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, dv_log_names[i]) == 0)
			return i;
	return -1;
}

void dv_vlog(int level, const char *prefix, const char *fmt, va_list ap)
{
	if (level > atomic_load(&dv_log_level))
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, dv_log_names[level < 0 ? 0 : level > 3 ? 3 : level]);
	if (prefix && n < (int)sizeof line)
		n += snprintf(line + n, sizeof line - n, "%s", prefix);
	if (n < (int)sizeof line)
		n += vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (dv_log_req && n < (int)sizeof line)
		n += snprintf(line + n, sizeof line - n, " req=%llu", dv_log_req);
	if (n >= (int)sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write per line keeps lines from different threads whole. The
	 * descriptor is a copy of stderr taken at start: a plugin that silences
	 * fd 2 while loading (Darknet's chatter) must not swallow our lines. */
	int fd = atomic_load(&dv_log_fd);
	if (fd >= 0) {
		ssize_t w = write(fd, line, (size_t)n);
		(void)w;
	} else {
		fwrite(line, 1, (size_t)n, stderr);
	}
}

void dv_log_init(void)
{
	int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		atomic_store(&dv_log_fd, fd);
}

void dv_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dv_vlog(level, NULL, fmt, ap);
	va_end(ap);
}

/* dv_assert.h: the last line logged before an abort */
_Noreturn void dv_assert_fail(const char *cond, const char *file, int line)
{
	dv_err("assertion failed, stopping cond=\"%s\" at=%s:%d", cond, file, line);
	abort();
}

void dv_check_magic(uint32_t got, uint32_t want, const char *file, int line)
{
	if (got != want) {
		dv_err("object magic check failed, memory is corrupt got=%#x want=%#x at=%s:%d", got, want, file, line);
		abort();
	}
}
