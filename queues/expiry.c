/* SPDX-License-Identifier: MIT */
/* The expiry index: a binary min-heap of message deadlines over a pool of
 * nodes addressed by id, so that rings can point at their node and the
 * heap top leads to the entry that expires next (queues_internal.h). */
#include "queues_internal.h"

#include <string.h>

#define XINDEX_MIN_CAP 16
#define XINDEX_SHRINK_CAP 1024 /* give memory back below this when empty */

void
wr_xindex_init(struct wr_xindex *x)
{
    memset(x, 0, sizeof(*x));
}

void
wr_xindex_cleanup(struct wr_xindex *x)
{
    wr_free(x->nodes);
    wr_free(x->heap);
    wr_xindex_init(x);
}

static bool
earlier(const struct wr_xindex *x, uint32_t a, uint32_t b)
{
    return wr_xindex_node(x, a)->at < wr_xindex_node(x, b)->at;
}

static void
place(struct wr_xindex *x, uint32_t slot, uint32_t id)
{
    x->heap[slot] = id;
    wr_xindex_node(x, id)->slot = slot;
}

static void
sift_up(struct wr_xindex *x, uint32_t slot)
{
    uint32_t id = x->heap[slot];

    while (slot > 0) {
        uint32_t parent = (slot - 1) / 2;
        if (!earlier(x, id, x->heap[parent]))
            break;
        place(x, slot, x->heap[parent]);
        slot = parent;
    }
    place(x, slot, id);
}

static void
sift_down(struct wr_xindex *x, uint32_t slot)
{
    uint32_t id = x->heap[slot];

    for (;;) {
        uint32_t c = 2 * slot + 1;
        if (c >= x->hlen)
            break;
        if (c + 1 < x->hlen && earlier(x, x->heap[c + 1], x->heap[c]))
            c++;
        if (!earlier(x, x->heap[c], id))
            break;
        place(x, slot, x->heap[c]);
        slot = c;
    }
    place(x, slot, id);
}

/* Doubles the pool and the heap together (the heap never holds more ids
 * than the pool has nodes). */
static int
grow(struct wr_xindex *x)
{
    uint32_t ncap = x->ncap ? x->ncap * 2 : XINDEX_MIN_CAP;
    struct wr_xnode *nodes;
    uint32_t *heap;

    if (x->ncap > UINT32_MAX / 4)
        return WR_ERR_NOMEM;
    nodes = wr_realloc(x->nodes, (size_t)ncap * sizeof(*nodes));
    if (nodes == NULL)
        return WR_ERR_NOMEM;
    x->nodes = nodes;
    heap = wr_realloc(x->heap, (size_t)ncap * sizeof(*heap));
    if (heap == NULL)
        return WR_ERR_NOMEM; /* the bigger pool is harmless */
    x->heap = heap;
    x->ncap = x->hcap = ncap;
    return WR_OK;
}

int
wr_xindex_add(struct wr_xindex *x, int64_t at, uint32_t level, uint64_t pos,
              uint32_t *id)
{
    struct wr_xnode *n;
    uint32_t nid;

    if (x->free != 0) {
        nid = x->free;
        x->free = wr_xindex_node(x, nid)->slot;
    } else {
        if (x->nused == x->ncap || x->hlen == x->hcap) {
            int rc = grow(x);
            if (rc != WR_OK)
                return rc;
        }
        nid = ++x->nused;
    }
    n = wr_xindex_node(x, nid);
    n->at = at;
    n->pos = pos;
    n->level = level;
    x->heap[x->hlen] = nid;
    n->slot = x->hlen++;
    sift_up(x, n->slot);
    *id = nid;
    return WR_OK;
}

void
wr_xindex_del(struct wr_xindex *x, uint32_t id)
{
    struct wr_xnode *n = wr_xindex_node(x, id);
    uint32_t slot = n->slot, last;

    wr_assert(slot < x->hlen && x->heap[slot] == id);
    last = x->heap[--x->hlen];
    if (slot < x->hlen) {
        place(x, slot, last);
        if (slot > 0 && earlier(x, last, x->heap[(slot - 1) / 2]))
            sift_up(x, slot);
        else
            sift_down(x, slot);
    }
    n->slot = x->free;
    x->free = id;
    /* Nothing left: forget the free list and maybe the memory. */
    if (x->hlen == 0) {
        x->free = 0;
        x->nused = 0;
        if (x->ncap > XINDEX_SHRINK_CAP)
            wr_xindex_cleanup(x);
    }
}
