/* dv_u64map.h — an open-addressing hash map from uint64 to uint64, header
 * only (the core's gallery bookkeeping and the match_flat plugin use it).
 * Not thread-safe: callers lock. */
#ifndef DV_U64MAP_H
#define DV_U64MAP_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dv_u64map {
	uint64_t *keys;   /* 0 = empty (ids and tenants are >= 1; 0 is mapped to a tag) */
	uint64_t *vals;
	size_t cap, n;
};

static inline uint64_t dv_u64map_key_(uint64_t k) { return k ? k : 0xfffffffffffffffeULL; }
static inline size_t dv_u64map_hash_(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static inline int dv_u64map_grow_(struct dv_u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *k = calloc(cap, sizeof *k), *v = calloc(cap, sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t j = dv_u64map_hash_(m->keys[i]) & (cap - 1);
			while (k[j])
				j = (j + 1) & (cap - 1);
			k[j] = m->keys[i];
			v[j] = m->vals[i];
		}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return 0;
}

static inline uint64_t *dv_u64map_find(const struct dv_u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	key = dv_u64map_key_(key);
	for (size_t j = dv_u64map_hash_(key) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		if (!m->keys[j])
			return NULL;
		if (m->keys[j] == key)
			return &m->vals[j];
	}
}

static inline int dv_u64map_put(struct dv_u64map *m, uint64_t key, uint64_t val)
{
	uint64_t *v = dv_u64map_find(m, key);
	if (v) {
		*v = val;
		return 0;
	}
	if ((m->n + 1) * 4 > m->cap * 3 && dv_u64map_grow_(m) != 0)
		return -1;
	key = dv_u64map_key_(key);
	size_t j = dv_u64map_hash_(key) & (m->cap - 1);
	while (m->keys[j])
		j = (j + 1) & (m->cap - 1);
	m->keys[j] = key;
	m->vals[j] = val;
	m->n++;
	return 0;
}

static inline void dv_u64map_del(struct dv_u64map *m, uint64_t key)
{
	if (!m->cap)
		return;
	key = dv_u64map_key_(key);
	size_t j = dv_u64map_hash_(key) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j])
		return;
	m->keys[j] = 0;
	m->n--;
	/* backward-shift deletion keeps probe chains intact */
	for (size_t i = (j + 1) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		size_t h = dv_u64map_hash_(m->keys[i]) & (m->cap - 1);
		if ((i > j && (h <= j || h > i)) || (i < j && h <= j && h > i)) {
			m->keys[j] = m->keys[i];
			m->vals[j] = m->vals[i];
			m->keys[i] = 0;
			j = i;
		}
	}
}

static inline void dv_u64map_free(struct dv_u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

#endif
