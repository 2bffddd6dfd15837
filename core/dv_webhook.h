/* dv_webhook.h — the async jobs' completion call: one HTTP/1.1 POST of a JSON
 * body to an http:// URL, blocking, with a bounded time (worker thread). */
#ifndef DV_WEBHOOK_H
#define DV_WEBHOOK_H
#include <stddef.h>

/* Whether url is an http://host[:port][/path] URL we can call (pure). */
int dv_webhook_url_ok(const char *url, char *err, size_t errlen);
/* POST body; returns the HTTP status, or 0 when no answer came within
 * timeout_ms (connect, send and read together). */
int dv_webhook_post(const char *url, const char *body, size_t len, int timeout_ms);
#endif
