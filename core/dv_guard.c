/* dv_guard.c — per-address connection counts: see dv_guard.h. */
#include "dv_guard.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

uint64_t dv_guard_key(const struct sockaddr *sa, char *buf, size_t len)
{
	if (buf && len)
		buf[0] = 0;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		if (buf)
			inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)len);
		return (1ULL << 63) | ntohl(a->sin_addr.s_addr);
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = a->sin6_addr.s6_addr;
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (!memcmp(b, v4mapped, 12)) {
			if (buf)
				inet_ntop(AF_INET, b + 12, buf, (socklen_t)len);
			return (1ULL << 63) | ((uint64_t)b[12] << 24 | (uint64_t)b[13] << 16 | (uint64_t)b[14] << 8 | b[15]);
		}
		if (buf)
			inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)len);
		uint64_t k = 0;
		for (int i = 0; i < 8; i++)
			k = k << 8 | b[i];
		return k & ~(1ULL << 63); /* never an IPv4 key (8000::/1 is unallocated) */
	}
	if (buf && len)
		snprintf(buf, len, "local");
	return 2; /* Unix sockets and the like: one key */
}

bool dv_guard_admit(struct dv_guard *g, uint64_t key, long cap)
{
	uint64_t *n = dv_u64map_find(&g->held, key);
	long held = n ? (long)*n : 0;
	if (held >= cap)
		return false;
	if (n)
		(*n)++;
	else if (dv_u64map_put(&g->held, key, 1) != 0)
		return false; /* out of memory: refuse rather than count wrong */
	return true;
}

void dv_guard_release(struct dv_guard *g, uint64_t key)
{
	uint64_t *n = dv_u64map_find(&g->held, key);
	if (!n)
		return;
	if (*n <= 1)
		dv_u64map_del(&g->held, key);
	else
		(*n)--;
}

long dv_guard_held(const struct dv_guard *g, uint64_t key)
{
	uint64_t *n = dv_u64map_find(&g->held, key);
	return n ? (long)*n : 0;
}

void dv_guard_fini(struct dv_guard *g) { dv_u64map_free(&g->held); }
