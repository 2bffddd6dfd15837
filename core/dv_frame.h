/* dv_frame.h — the raw TCP framing: a 16-byte header, then the payload.
 *
 *   offset  size  field
 *   0       4     magic "DVF1" (0x44 0x56 0x46 0x31)
 *   4       1     version (1)
 *   5       1     type (below)
 *   6       2     flags (0)
 *   8       4     request id (echoed in the answer), big-endian
 *   12      4     payload length, big-endian
 *
 * docs/protocol.md specifies the protocol; this header is its codec. */
#ifndef DV_FRAME_H
#define DV_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define DV_FRAME_HDR 16
#define DV_FRAME_VERSION 1

enum dv_frame_type {
	DV_FT_PING = 0x01,      /* -> PONG, echoes the payload */
	DV_FT_AUTH = 0x02,      /* payload: an API key -> AUTH_OK (the tenant, JSON); needed before 0x10/0x11 */
	DV_FT_RECOGNIZE = 0x10, /* payload: image bytes -> RESULT (JSON) */
	DV_FT_DETECT = 0x11,    /* payload: image bytes -> RESULT (JSON) */
	DV_FT_CALL = 0x20,      /* payload: "METHOD /v1/path[?query] [content-type]\n" + body -> RESPONSE */
	DV_FT_PONG = 0x81,
	DV_FT_AUTH_OK = 0x82,
	DV_FT_RESULT = 0x90,
	DV_FT_RESPONSE = 0x91,  /* payload: "STATUS content-type\n" + body (any operation of the HTTP API) */
	DV_FT_ERROR = 0xFF,     /* payload: {"error":{"code","message"}} */
};

struct dv_frame_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t req_id;
	uint32_t len;
};

/* Results of dv_frame_parse besides 0 (a whole header was parsed). */
enum {
	DV_FRAME_MORE = 1,          /* need more bytes */
	DV_FRAME_EMAGIC = -1,       /* not a dejaview frame */
	DV_FRAME_EVERSION = -2,     /* unsupported version */
	DV_FRAME_ETOOLARGE = -3,    /* payload over the limit */
};

/* Parse a header from buf (len bytes available). Pure. On 0, *h is filled
 * and the whole frame is DV_FRAME_HDR + h->len bytes (which may not all be
 * available yet). max_payload bounds h->len. */
int dv_frame_parse(const uint8_t *buf, size_t len, uint32_t max_payload, struct dv_frame_hdr *h);
/* Write a header for a frame of the given type, id and payload length. */
void dv_frame_write(uint8_t out[DV_FRAME_HDR], uint8_t type, uint32_t req_id, uint32_t len);
/* Whether the type is a request a server accepts. */
int dv_frame_is_request(uint8_t type);

/* A CALL payload's first line. Pure; every field NUL-terminated. */
struct dv_frame_call {
	char method[8];
	char path[256];
	char query[1024];
	char ctype[128];
	size_t body_off;   /* where the body starts in the payload */
};
/* Parse a CALL payload's header line. Returns 0, or -1 with a reason in err
 * (no newline in the first 1,500 bytes, an unknown method, a path not under
 * /v1/, a field too long or with control characters). */
int dv_frame_call_parse(const uint8_t *p, size_t len, struct dv_frame_call *c, char *err, size_t errlen);
/* Write a CALL header line into out (cap bytes); returns its length or -1. */
int dv_frame_call_write(char *out, size_t cap, const char *method, const char *path, const char *ctype);
#endif
