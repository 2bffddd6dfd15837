/* dv_sha256.h — SHA-256 (FIPS 180-4), written from the specification: API
 * key hashes in the core, model checksums in the Darknet plugins (which
 * compile this file in: plugins link no daemon symbols). */
#ifndef DV_SHA256_H
#define DV_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct dv_sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t bits;
};
void dv_sha256_init(struct dv_sha256 *s);
void dv_sha256_update(struct dv_sha256 *s, const uint8_t *p, size_t n);
void dv_sha256_final(struct dv_sha256 *s, uint8_t out[32]);
/* One call: the digest of n bytes. */
void dv_sha256(const void *p, size_t n, uint8_t out[32]);
/* SHA-256 of a file as 64 hex digits into hex[65]; 0 or -1. */
int dv_sha256_file(const char *path, char hex[65]);
#endif
