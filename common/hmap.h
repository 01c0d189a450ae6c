/* SPDX-License-Identifier: MIT */
/* An open-addressing hash map from byte-string keys to pointers. Used for
 * exchange and queue registries, direct-exchange bindings and route caches.
 * The map copies keys; values are borrowed pointers. */
#ifndef WR_HMAP_H
#define WR_HMAP_H

#include "common.h"

struct wr_hmap_slot {
    uint64_t hash; /* 0 = empty, 1 = tombstone */
    char *key;     /* owned copy, NUL-terminated (keys may hold NUL too) */
    uint32_t klen;
    void *value; /* borrowed */
};

struct wr_hmap {
    struct wr_hmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
    size_t used; /* count + tombstones */
};

void wr_hmap_init(struct wr_hmap *m);
/* Frees the slots and key copies; values are the caller's. */
void wr_hmap_cleanup(struct wr_hmap *m);
/* Returns the value for key, or NULL. */
void *wr_hmap_get(const struct wr_hmap *m, const void *key, size_t klen);
/* Inserts or replaces. Returns WR_OK or WR_ERR_NOMEM. If old is not NULL it
 * receives the replaced value (or NULL). */
int wr_hmap_put(struct wr_hmap *m, const void *key, size_t klen, void *value,
                void **old);
/* Removes key; returns its value or NULL. */
void *wr_hmap_del(struct wr_hmap *m, const void *key, size_t klen);
/* Iteration: start with *pos = 0; returns false at the end. Safe against
 * wr_hmap_del of the current entry (no rehash on delete). */
bool wr_hmap_next(const struct wr_hmap *m, size_t *pos, const char **key,
                  size_t *klen, void **value);

uint64_t wr_hash_bytes(const void *p, size_t n);

#endif
