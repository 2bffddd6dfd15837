/* dv_keys.c — API key generation, parsing and hashing (see dv_keys.h). */
#include "dv_keys.h"
#include "dv_sha256.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static const char dv_hex[] = "0123456789abcdef";

int dv_key_new(char *key)
{
	uint8_t r[(DV_KEY_PREFIX_LEN + DV_KEY_SECRET_LEN) / 2];
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	memcpy(key, "dvk_", 4);
	for (size_t i = 0; i < sizeof r; i++) {
		key[4 + 2 * i] = dv_hex[r[i] >> 4];
		key[4 + 2 * i + 1] = dv_hex[r[i] & 15];
	}
	key[DV_KEY_LEN] = 0;
	return 0;
}

int dv_key_parse(const char *key, char prefix[DV_KEY_PREFIX_LEN + 1], uint8_t hash[32])
{
	if (!key || strlen(key) != DV_KEY_LEN || (memcmp(key, "dvk_", 4) != 0 && memcmp(key, "dvp_", 4) != 0))
		return -1;
	for (int i = 4; i < DV_KEY_LEN; i++)
		if (!strchr(dv_hex, key[i]) || !key[i])
			return -1;
	memcpy(prefix, key + 4, DV_KEY_PREFIX_LEN);
	prefix[DV_KEY_PREFIX_LEN] = 0;
	dv_sha256(key + 4 + DV_KEY_PREFIX_LEN, DV_KEY_SECRET_LEN, hash);
	return 0;
}

bool dv_key_is_publishable(const char *key) { return key && !strncmp(key, "dvp_", 4); }

void dv_key_hash_hex(const char *key, char hex[65])
{
	uint8_t d[32];
	dv_sha256(key, strlen(key), d);
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = dv_hex[d[i] >> 4];
		hex[2 * i + 1] = dv_hex[d[i] & 15];
	}
	hex[64] = 0;
}

bool dv_key_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

const char *dv_key_from_header(const char *authorization, const char *x_api_key)
{
	if (authorization) {
		while (*authorization == ' ')
			authorization++;
		if (!strncasecmp(authorization, "Bearer ", 7)) {
			authorization += 7;
			while (*authorization == ' ')
				authorization++;
			return authorization;
		}
	}
	return x_api_key;
}
