/* dv_keyuse.c — keys at the edge (see dv_keyuse.h). One mutex: every call is
 * a few map lookups. */
#include "dv_keyuse.h"
#include "dv_u64map.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dv_keyslot {
	double tokens, t_last;
	unsigned long long n[DV_KU_COUNT];
};

struct dv_keyuse {
	pthread_mutex_t mu;
	struct dv_u64map at;       /* key id -> index in slots */
	struct dv_keyslot *slots;
	uint64_t *ids;
	size_t n, cap;
	char *origins;             /* "\n"-separated, or NULL */
};

struct dv_keyuse *dv_keyuse_new(void)
{
	struct dv_keyuse *ku = calloc(1, sizeof *ku);
	if (ku)
		pthread_mutex_init(&ku->mu, NULL);
	return ku;
}

void dv_keyuse_free(struct dv_keyuse *ku)
{
	if (!ku)
		return;
	dv_u64map_free(&ku->at);
	free(ku->slots);
	free(ku->ids);
	free(ku->origins);
	pthread_mutex_destroy(&ku->mu);
	free(ku);
}

/* key's slot, made on first use (NULL when out of memory). Under mu. */
static struct dv_keyslot *dv_keyuse_slot(struct dv_keyuse *ku, uint64_t key)
{
	uint64_t *i = dv_u64map_find(&ku->at, key);
	if (i)
		return &ku->slots[*i];
	if (ku->n == ku->cap) {
		size_t cap = ku->cap ? ku->cap * 2 : 16;
		struct dv_keyslot *s = realloc(ku->slots, cap * sizeof *s);
		if (s)
			ku->slots = s;
		uint64_t *ids = s ? realloc(ku->ids, cap * sizeof *ids) : NULL;
		if (!s || !ids)
			return NULL;
		ku->ids = ids;
		ku->cap = cap;
	}
	if (dv_u64map_put(&ku->at, key, ku->n) != 0)
		return NULL;
	struct dv_keyslot *s = &ku->slots[ku->n];
	memset(s, 0, sizeof *s);
	s->tokens = -1; /* full on first use */
	ku->ids[ku->n++] = key;
	return s;
}

bool dv_keyuse_take(struct dv_keyuse *ku, uint64_t key, int per_minute, double now_s, double *retry_after)
{
	*retry_after = 0;
	if (!ku || per_minute <= 0)
		return true;
	pthread_mutex_lock(&ku->mu);
	struct dv_keyslot *s = dv_keyuse_slot(ku, key);
	bool ok = true;
	if (s) {
		double cap = per_minute, rate = per_minute / 60.0;
		if (s->tokens < 0)
			s->tokens = cap;
		else
			s->tokens = s->tokens + (now_s - s->t_last) * rate > cap ? cap : s->tokens + (now_s - s->t_last) * rate;
		s->t_last = now_s;
		if (s->tokens >= 1) {
			s->tokens -= 1;
		} else {
			ok = false;
			*retry_after = (1 - s->tokens) / rate;
		}
	}
	pthread_mutex_unlock(&ku->mu);
	return ok;
}

void dv_keyuse_count(struct dv_keyuse *ku, uint64_t key, int result)
{
	if (!ku || result < 0 || result >= DV_KU_COUNT)
		return;
	pthread_mutex_lock(&ku->mu);
	struct dv_keyslot *s = dv_keyuse_slot(ku, key);
	if (s)
		s->n[result]++;
	pthread_mutex_unlock(&ku->mu);
}

void dv_keyuse_metrics(struct dv_keyuse *ku, struct dv_buf *out)
{
	static const char *const names[DV_KU_COUNT] = {"ok", "forbidden", "rate_limited"};
	dv_buf_puts(out, "# HELP dv_key_requests_total Requests by API key (id) and what the key's scopes, origins and rate "
	                 "let through.\n# TYPE dv_key_requests_total counter\n");
	pthread_mutex_lock(&ku->mu);
	for (size_t i = 0; i < ku->n; i++)
		for (int r = 0; r < DV_KU_COUNT; r++)
			if (ku->slots[i].n[r])
				dv_buf_printf(out, "dv_key_requests_total{key=\"%llu\",result=\"%s\"} %llu\n",
				    (unsigned long long)ku->ids[i], names[r], ku->slots[i].n[r]);
	pthread_mutex_unlock(&ku->mu);
}

void dv_keyuse_set_origins(struct dv_keyuse *ku, const char *lines)
{
	char *copy = lines && *lines ? strdup(lines) : NULL;
	pthread_mutex_lock(&ku->mu);
	free(ku->origins);
	ku->origins = copy;
	pthread_mutex_unlock(&ku->mu);
}

bool dv_origin_in(const char *list, const char *origin)
{
	size_t n = origin ? strlen(origin) : 0;
	if (!list || !n)
		return false;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !memcmp(p, origin, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

bool dv_keyuse_origin_known(struct dv_keyuse *ku, const char *origin)
{
	pthread_mutex_lock(&ku->mu);
	bool k = dv_origin_in(ku->origins, origin);
	pthread_mutex_unlock(&ku->mu);
	return k;
}
