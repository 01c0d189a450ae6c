/* SPDX-License-Identifier: MIT */
/* The pool of unacked entries of a ring-based queue: records addressed by
 * handle (index + 1) and recycled through a free list, so that handing an
 * entry out and settling it are O(1), with no hashing and no allocation
 * per message (the pool grows by doubling, up to the most entries ever
 * unacked at once, and is given back when it empties). */
#include "queues_internal.h"

#define UPOOL_MIN_CAP 16
#define UPOOL_SHRINK_CAP 1024 /* give memory back above this when empty */

int
wr_upool_grow(struct wr_upool *p)
{
    struct wr_unacked_entry *v;
    uint32_t ncap;

    if (p->cap > UINT32_MAX / 4)
        return WR_ERR_NOMEM;
    ncap = p->cap ? p->cap * 2 : UPOOL_MIN_CAP;
    v = wr_realloc(p->v, (size_t)ncap * sizeof(*v));
    if (v == NULL)
        return WR_ERR_NOMEM;
    p->v = v;
    p->cap = ncap;
    return WR_OK;
}

void
wr_upool_emptied(struct wr_upool *p)
{
    p->free = p->used = 0;
    if (p->cap > UPOOL_SHRINK_CAP) {
        wr_free(p->v);
        p->v = NULL;
        p->cap = 0;
    }
}

void
wr_upool_cleanup(struct wr_upool *p)
{
    for (uint32_t i = 0; i < p->used; i++)
        if (p->v[i].msg != NULL)
            wr_msg_unref(&p->v[i].msg);
    wr_free(p->v);
    p->v = NULL;
    p->cap = p->used = p->free = p->live = 0;
}
