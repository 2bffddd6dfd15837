/* dv_keyuse.h — keys at the edge (issue 17), shared by all threads: each
 * key's request rate (a token bucket per key and server: rate_per_minute
 * tokens, refilled continuously), its requests counted by result for
 * /metrics, and the browsers' origins of every publishable key, which the
 * loop thread answers CORS preflights for (refreshed by the gallery's LISTEN
 * thread when keys change: channel dv_keys). */
#ifndef DV_KEYUSE_H
#define DV_KEYUSE_H
#include "dv_buf.h"
#include <stdbool.h>
#include <stdint.h>

enum dv_keyuse_result { DV_KU_OK, DV_KU_FORBIDDEN, DV_KU_RATE_LIMITED, DV_KU_COUNT };

struct dv_keyuse;
struct dv_keyuse *dv_keyuse_new(void);
void dv_keyuse_free(struct dv_keyuse *ku);
/* Take one request from key's bucket: true, or false with the seconds until
 * the next token in *retry_after. */
bool dv_keyuse_take(struct dv_keyuse *ku, uint64_t key, int per_minute, double now_s, double *retry_after);
void dv_keyuse_count(struct dv_keyuse *ku, uint64_t key, int result);
/* dv_key_requests_total{key,result} lines for /metrics. */
void dv_keyuse_metrics(struct dv_keyuse *ku, struct dv_buf *out);
/* The origins of publishable keys: replaced as a whole (one per line). */
void dv_keyuse_set_origins(struct dv_keyuse *ku, const char *lines);
bool dv_keyuse_origin_known(struct dv_keyuse *ku, const char *origin);
/* Is origin one of the lines of list? */
bool dv_origin_in(const char *list, const char *origin);
#endif
