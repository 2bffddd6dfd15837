/* dv_log.h — one log line per event: a sentence, then key=value pairs. */
#ifndef DV_LOG_H
#define DV_LOG_H
#include <stdarg.h>
#include <stdbool.h>

enum { DV_LOG_LVL_ERROR = 0, DV_LOG_LVL_WARN, DV_LOG_LVL_INFO, DV_LOG_LVL_DEBUG };

/* Set the threshold; messages above it are dropped. Thread-safe. */
/* Log to a private copy of stderr from now on (call first thing in main). */
void dv_log_init(void);
void dv_log_set_level(int level);
int dv_log_get_level(void);
/* Parse "error|warn|info|debug"; returns the level or -1. */
int dv_log_level_parse(const char *s);
/* Set the request id appended to lines logged from this thread (0 = none). */
void dv_log_set_request(unsigned long long id);
/* This thread's request id (0 = none). */
unsigned long long dv_log_request(void);

void dv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dv_vlog(int level, const char *prefix, const char *fmt, va_list ap);

#define dv_err(...) dv_log(DV_LOG_LVL_ERROR, __VA_ARGS__)
#define dv_warn(...) dv_log(DV_LOG_LVL_WARN, __VA_ARGS__)
#define dv_info(...) dv_log(DV_LOG_LVL_INFO, __VA_ARGS__)
#define dv_debug(...) dv_log(DV_LOG_LVL_DEBUG, __VA_ARGS__)
#endif
