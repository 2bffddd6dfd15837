/* dv_http1.h — HTTP/1.0 and 1.1 request framing (RFC 9112), pure: the
 * request line and header fields of one request, and the chunked transfer
 * coding of its body. No I/O and no allocation beyond the head's own copy,
 * so it is unit-tested and fuzzed on its own (tests/unit/test_dv_http1.c,
 * tests/fuzz/fuzz_http1.c). dv_http.c drives it from the event loop.
 *
 * Strict where leniency is a known smuggling or desync risk: a space before
 * a field's colon, obsolete line folding, both Content-Length and
 * Transfer-Encoding, differing Content-Length values, a transfer coding other
 * than chunked, or control characters are refused with 400 (501 for an
 * unknown coding, 505 for another HTTP version). */
#ifndef DV_HTTP1_H
#define DV_HTTP1_H
#include "dv_buf.h"
#include <stdbool.h>
#include <stddef.h>

#define DV_HTTP1_MAX_FIELDS 100
#define DV_HTTP1_MAX_LINE 8192 /* the request line; longer is 414 */

struct dv_http1_field {
	const char *name, *value; /* NUL-terminated, in the head's copy; value trimmed */
};

struct dv_http1_req {
	char *head;              /* malloc'd copy of the head; every pointer below is into it */
	const char *method;      /* e.g. "POST" */
	const char *target;      /* the request target's path, e.g. "/v1/recognize" (== path) */
	const char *path;        /* the target up to '?', as sent (not percent-decoded) */
	const char *query;       /* after '?', or NULL */
	int version;             /* 10 or 11 */
	struct dv_http1_field f[DV_HTTP1_MAX_FIELDS];
	int n_fields;
	long long content_length; /* -1 when absent */
	bool chunked;            /* Transfer-Encoding: chunked */
	bool keep_alive;         /* from the version and Connection */
	bool expect_continue;    /* Expect: 100-continue */
};

/* Parse one request head at the start of buf[0..len). Returns the head's
 * length in bytes (the body starts there) once complete, 0 if more bytes are
 * needed, or minus the HTTP status to answer: -400 malformed, -414 request
 * line too long, -431 head over max_head bytes (or too many fields), -417 an
 * expectation other than 100-continue, -501 a transfer coding other than
 * chunked, -505 an HTTP version other than 1.0 and 1.1. *why (may be NULL)
 * then says what was wrong, in words a client developer can act on. Empty
 * lines before the request line are skipped (RFC 9112 2.2). On success r
 * owns a copy of the head: free it with dv_http1_req_fini(). */
long dv_http1_parse(const char *buf, size_t len, size_t max_head, struct dv_http1_req *r, const char **why);
void dv_http1_req_fini(struct dv_http1_req *r);
/* A field's value (the first of that name, case-insensitive), or NULL. */
const char *dv_http1_field(const struct dv_http1_req *r, const char *name);
/* The reason phrase of a status code ("Not Found"), or "Status". */
const char *dv_http1_reason(int status);

/* The chunked transfer coding, decoded as bytes arrive. */
struct dv_http1_chunked {
	int state;
	unsigned long long left;   /* bytes left in the current chunk */
	size_t line;               /* bytes of the current size or trailer line */
	size_t trailer;            /* bytes of trailer fields so far */
	bool digits;               /* the size line has a digit */
};
enum { DV_CHUNKED_MORE = 0, DV_CHUNKED_DONE = 1, DV_CHUNKED_EBAD = -1, DV_CHUNKED_ETOOLARGE = -2 };
/* Feed in[0..n): decoded data is appended to out, which may not grow past
 * max bytes (ETOOLARGE). *used is set to the bytes consumed (at DONE, what
 * follows belongs to the next request). Returns MORE, DONE or an error. */
int dv_http1_chunked_feed(struct dv_http1_chunked *c, const char *in, size_t n, struct dv_buf *out, size_t max,
    size_t *used);
#endif
