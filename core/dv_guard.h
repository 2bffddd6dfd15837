/* dv_guard.h — how many connections each client address holds, so that one
 * client cannot take every connection slot (limits.connections_per_address).
 * An IPv4 address counts on its own; an IPv6 address by its /64 prefix, which
 * one client usually controls whole. Loop thread only. */
#ifndef DV_GUARD_H
#define DV_GUARD_H
#include "dv_u64map.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

struct dv_guard {
	struct dv_u64map held; /* address key -> open connections */
};

/* The address's key, and its text for logs into buf. */
uint64_t dv_guard_key(const struct sockaddr *sa, char *buf, size_t len);
/* Count one more connection for key, unless it already holds cap (then
 * nothing is counted and false is returned). */
bool dv_guard_admit(struct dv_guard *g, uint64_t key, long cap);
void dv_guard_release(struct dv_guard *g, uint64_t key);
/* Connections key holds now. */
long dv_guard_held(const struct dv_guard *g, uint64_t key);
void dv_guard_fini(struct dv_guard *g);
#endif
