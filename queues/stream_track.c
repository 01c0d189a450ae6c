/* SPDX-License-Identifier: MIT */
/* Server-side offset tracking for stream consumers
 * (x-stream-automatic-offset-tracking; QUEUES.md "Offset tracking"): a
 * tracked consumer's deliveries not yet settled, in offset order, so that
 * what is stored for its tag on an ack is the first offset it has not
 * acked. A track outlives its consumer until its last delivery is
 * settled (acks may follow a basic.cancel). */
#include "queues_internal.h"

#include <string.h>

#define SETTLED (UINT64_C(1) << 63) /* offsets stay below 2^63 */

struct wr_strack {
    struct wr_consumer *c; /* NULL once its consumer is gone */
    uint64_t pos;          /* its consumer's position when it went */
    uint64_t stop;   /* lowest offset settled without an ack (UINT64_MAX) */
    uint64_t stored; /* the last offset stored for the tag */
    bool written;    /* one was */
    uint64_t *ring;  /* unsettled deliveries, ascending; SETTLED marks */
    uint32_t head, n, cap; /* cap: a power of two */
    uint8_t len;
    uint8_t tag[255];
};

static uint64_t *
at(struct wr_strack *t, uint32_t i)
{
    return &t->ring[(t->head + i) & (t->cap - 1)];
}

struct wr_strack *
wr_strack_new(struct wr_stracks *set, struct wr_consumer *c,
              struct wr_bytes tag, uint64_t start, uint32_t *handle)
{
    struct wr_strack *t;
    uint32_t slot = 0;

    wr_assert(tag.len >= 1 && tag.len <= 255);
    while (slot < set->n && set->v[slot] != NULL)
        slot++;
    if (slot == set->n) {
        if (set->n == set->cap) {
            uint32_t cap = set->cap ? set->cap * 2 : 4;
            struct wr_strack **v = wr_realloc(set->v, cap * sizeof *v);
            if (v == NULL)
                return NULL;
            set->v = v;
            set->cap = cap;
        }
        set->v[set->n++] = NULL;
    }
    t = wr_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->c = c;
    t->stop = UINT64_MAX;
    t->stored = start;
    t->len = (uint8_t)tag.len;
    memcpy(t->tag, tag.ptr, tag.len);
    set->v[slot] = t;
    *handle = slot + WR_STRACK_HANDLE0;
    return t;
}

static void
release(struct wr_stracks *set, uint32_t slot)
{
    struct wr_strack *t = set->v[slot];

    wr_free(t->ring);
    wr_free(t);
    set->v[slot] = NULL;
    while (set->n > 0 && set->v[set->n - 1] == NULL)
        set->n--;
}

int
wr_strack_reserve(struct wr_strack *t)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        uint64_t *v = wr_malloc(cap * sizeof *v);

        if (v == NULL)
            return WR_ERR_NOMEM;
        for (uint32_t i = 0; i < t->n; i++)
            v[i] = *at(t, i);
        wr_free(t->ring);
        t->ring = v;
        t->cap = cap;
        t->head = 0;
    }
    return WR_OK;
}

void
wr_strack_delivered(struct wr_strack *t, uint64_t offset)
{
    wr_assert(t->n < t->cap);
    wr_assert(t->n == 0 || (*at(t, t->n - 1) & ~SETTLED) < offset);
    t->ring[(t->head + t->n) & (t->cap - 1)] = offset;
    t->n++;
}

/* The index of offset among t's unsettled deliveries, or t->n. */
static uint32_t
search(struct wr_strack *t, uint64_t offset)
{
    uint32_t lo = 0, hi = t->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t v = *at(t, mid) & ~SETTLED;

        if (v == offset)
            return mid;
        if (v < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return t->n;
}

bool
wr_strack_settle(struct wr_stracks *set, uint32_t handle, uint64_t offset,
                 bool ack, struct wr_offsets *offs)
{
    uint32_t slot = handle - WR_STRACK_HANDLE0, i;
    struct wr_strack *t;
    uint64_t commit;
    bool stored = false;

    if (handle < WR_STRACK_HANDLE0 || slot >= set->n || set->v[slot] == NULL)
        return false;
    t = set->v[slot];
    i = search(t, offset);
    if (i == t->n || (*at(t, i) & SETTLED))
        return false;
    *at(t, i) |= SETTLED;
    if (!ack && offset < t->stop)
        t->stop = offset;
    while (t->n > 0 && (*at(t, 0) & SETTLED)) {
        t->head = (t->head + 1) & (t->cap - 1);
        t->n--;
    }
    if (ack) {
        /* the first offset not acked: the oldest unsettled delivery, or
         * where the consumer reads next (past what its filter skipped) */
        commit = t->n > 0 ? *at(t, 0) : t->c ? t->c->position : t->pos;
        commit = WR_MIN(commit, t->stop);
        if ((commit > t->stored || !t->written) && offs &&
            wr_offsets_set(offs, t->tag, t->len, commit) == WR_OK) {
            t->stored = commit;
            t->written = true;
            stored = true;
        }
    }
    if (t->c == NULL && t->n == 0)
        release(set, slot);
    return stored;
}

void
wr_strack_gone(struct wr_stracks *set, struct wr_strack *t)
{
    t->pos = t->c ? t->c->position : t->pos;
    t->c = NULL;
    if (t->n > 0)
        return;
    for (uint32_t s = 0; s < set->n; s++) {
        if (set->v[s] == t) {
            release(set, s);
            return;
        }
    }
}

void
wr_stracks_cleanup(struct wr_stracks *set)
{
    for (uint32_t s = 0; s < set->n; s++) {
        if (set->v[s]) {
            wr_free(set->v[s]->ring);
            wr_free(set->v[s]);
        }
    }
    wr_free(set->v);
    memset(set, 0, sizeof *set);
}
