/* SPDX-License-Identifier: MIT */
/* Open-addressing hash map with linear probing and tombstones. */
#include "hmap.h"

#include <string.h>

#define EMPTY 0
#define TOMB 1

uint64_t
wr_hash_bytes(const void *p, size_t n)
{
    /* FNV-1a, then a final mix; never returns EMPTY or TOMB. */
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h < 2 ? h + 2 : h;
}

void
wr_hmap_init(struct wr_hmap *m)
{
    memset(m, 0, sizeof(*m));
}

void
wr_hmap_cleanup(struct wr_hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash > TOMB)
            wr_free(m->slots[i].key);
    wr_free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct wr_hmap_slot *
find(const struct wr_hmap *m, const void *key, size_t klen, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct wr_hmap_slot *s = &m->slots[i];
        if (s->hash == EMPTY)
            return NULL;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

void *
wr_hmap_get(const struct wr_hmap *m, const void *key, size_t klen)
{
    struct wr_hmap_slot *s = find(m, key, klen, wr_hash_bytes(key, klen));

    return s ? s->value : NULL;
}

static int
grow(struct wr_hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct wr_hmap_slot *ns, *old = m->slots;

    if (m->count * 4 < m->cap) /* mostly tombstones: rehash in place size */
        ncap = m->cap;
    ns = wr_calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return WR_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (old[i].hash <= TOMB)
            continue;
        size_t j = old[i].hash & (ncap - 1);
        while (ns[j].hash != EMPTY)
            j = (j + 1) & (ncap - 1);
        ns[j] = old[i];
    }
    wr_free(old);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    return WR_OK;
}

int
wr_hmap_put(struct wr_hmap *m, const void *key, size_t klen, void *value,
            void **old)
{
    uint64_t h = wr_hash_bytes(key, klen);
    struct wr_hmap_slot *s = find(m, key, klen, h);

    if (old)
        *old = NULL;
    if (s) {
        if (old)
            *old = s->value;
        s->value = value;
        return WR_OK;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc != WR_OK)
            return rc;
    }
    char *k = wr_strndup(key, klen);
    if (k == NULL)
        return WR_ERR_NOMEM;
    size_t i = h & (m->cap - 1);
    while (m->slots[i].hash > TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].hash == EMPTY)
        m->used++;
    m->slots[i] = (struct wr_hmap_slot){h, k, (uint32_t)klen, value};
    m->count++;
    return WR_OK;
}

void *
wr_hmap_del(struct wr_hmap *m, const void *key, size_t klen)
{
    struct wr_hmap_slot *s = find(m, key, klen, wr_hash_bytes(key, klen));
    void *v;

    if (s == NULL)
        return NULL;
    v = s->value;
    wr_free(s->key);
    s->key = NULL;
    s->value = NULL;
    s->hash = TOMB;
    m->count--;
    return v;
}

bool
wr_hmap_next(const struct wr_hmap *m, size_t *pos, const char **key,
             size_t *klen, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        struct wr_hmap_slot *s = &m->slots[*pos];
        if (s->hash <= TOMB)
            continue;
        if (key)
            *key = s->key;
        if (klen)
            *klen = s->klen;
        if (value)
            *value = s->value;
        (*pos)++;
        return true;
    }
    return false;
}
