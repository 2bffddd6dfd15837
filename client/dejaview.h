/* dejaview.h — libdejaview, the C client of dejaview.
 *
 * Speaks the raw TCP protocol (docs/protocol.md: one AUTH frame per
 * connection, then CALL frames carrying any operation of the HTTP API,
 * pipelined and matched by request id) or, with DV_CLIENT_HTTP, HTTP/1.1
 * with keep-alive. Replies are returned as the server sent them (status,
 * content type, body: JSON for every operation but a face chip).
 *
 * Thread safety: a dv_client is one connection and must be used by one
 * thread at a time (calls are not locked). Any number of clients may be used
 * from different threads at once; the library has no global state.
 *
 * Errors: functions returning int give 0 when a reply arrived (whatever its
 * status: look at reply.status and reply.code) and -1 when the transport
 * failed (connect, timeout, closed connection, malformed frame);
 * dv_client_error() says why. */
#ifndef DEJAVIEW_H
#define DEJAVIEW_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEJAVIEW_CLIENT_VERSION "1.0"

typedef struct dv_client dv_client;

enum dv_client_transport { DV_CLIENT_TCP = 0, DV_CLIENT_HTTP = 1 };

struct dv_reply {
	int status;              /* HTTP status (also over TCP) */
	char content_type[64];
	char *body;              /* NUL-terminated (the NUL not counted in len) */
	size_t len;
	char code[48];           /* the error code ("no_face", ...) when status >= 400 */
};

/* Connect (and, over TCP, authenticate). api_key may be NULL for HTTP calls
 * that need none. timeout_ms bounds every later call too. NULL when the
 * server cannot be reached, with the reason in err. A key the server refuses
 * is not a failure of the connection: over TCP as over HTTP, every call then
 * returns 0 with reply.status 401 and reply.code "unauthorized". */
dv_client *dv_client_open(const char *host, int port, int transport, const char *api_key, int timeout_ms, char *err,
    size_t errlen);
void dv_client_close(dv_client *c);
const char *dv_client_error(const dv_client *c);

/* Any operation: method "GET"/"POST"/"PATCH"/"DELETE", a path under /v1/
 * with its query, the body's content type (NULL when there is no body). */
int dv_client_call(dv_client *c, const char *method, const char *path, const char *content_type, const void *body,
    size_t len, struct dv_reply *out);

/* Shortcuts. query may be NULL ("top_k=3&location=lobby"). */
int dv_client_recognize(dv_client *c, const void *image, size_t len, const char *query, struct dv_reply *out);
int dv_client_detect(dv_client *c, const void *image, size_t len, struct dv_reply *out);
/* Two photos; or (b NULL) one photo against a person. */
int dv_client_verify(dv_client *c, const void *a, size_t la, const void *b, size_t lb, uint64_t person,
    struct dv_reply *out);
int dv_client_enrol(dv_client *c, uint64_t person, const void *image, size_t len, struct dv_reply *out);

/* Pipelined batch: every call is sent before the answers are read (over
 * TCP; over HTTP they run one after another). Each call's reply and rc are
 * filled in. Returns the number of calls that got a reply. */
struct dv_call {
	const char *method, *path, *content_type;
	const void *body;
	size_t len;
	struct dv_reply reply; /* out */
	int rc;                /* out: 0 or -1 */
};
int dv_client_batch(dv_client *c, struct dv_call *calls, int n);

void dv_reply_free(struct dv_reply *r);

#ifdef __cplusplus
}
#endif
#endif
