/* dv_keys.h — API keys: "dvk_" (secret) or "dvp_" (publishable) + 12 hex digits of public prefix (finds the
 * row) + 40 hex digits of secret (160 random bits). Only the SHA-256 of the
 * secret is stored; keys are compared in constant time. Admin keys have the
 * same form and are configured by the SHA-256 of the whole key. (pure but
 * for the random source) */
#ifndef DV_KEYS_H
#define DV_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DV_KEY_PREFIX_LEN 12
#define DV_KEY_SECRET_LEN 40
#define DV_KEY_LEN (4 + DV_KEY_PREFIX_LEN + DV_KEY_SECRET_LEN)

/* A new random key into key[DV_KEY_LEN + 1]; 0 or -1 (no randomness). */
int dv_key_new(char *key);
/* Split a presented key. Returns 0 and fills prefix[13] and the secret's
 * hash, or -1 when the text is not a well-formed key. */
int dv_key_parse(const char *key, char prefix[DV_KEY_PREFIX_LEN + 1], uint8_t hash[32]);
/* A publishable key's text ("dvp_"): browser-safe scopes and origins only. */
bool dv_key_is_publishable(const char *key);
/* Hex SHA-256 of the whole key (the admin key's configured form). */
void dv_key_hash_hex(const char *key, char hex[65]);
/* Constant-time equality of n bytes. */
bool dv_key_equal(const void *a, const void *b, size_t n);
/* The key from an Authorization: Bearer or X-API-Key header value. */
const char *dv_key_from_header(const char *authorization, const char *x_api_key);
#endif
