/* SPDX-License-Identifier: MIT */
/* The priority queue kind ("priority", x-max-priority): one FIFO ring per
 * priority level and a 256-bit map of the non-empty levels, so push and pop
 * are O(1), over the shared engine (classic.c). */
#include "queues_internal.h"

struct prio {
    uint8_t max;            /* highest level; message priorities are capped */
    uint64_t nonempty[4];   /* bit p set <=> level[p] holds entries */
    struct wr_fifo level[]; /* max + 1 rings */
};

static unsigned
level_of(const struct prio *pq, const struct wr_qslot *s)
{
    /* RabbitMQ caps a priority above x-max-priority at the maximum. */
    return s->priority > pq->max ? pq->max : s->priority;
}

static void
mark(struct prio *pq, unsigned lvl)
{
    pq->nonempty[lvl >> 6] |= UINT64_C(1) << (lvl & 63);
}

static void
unmark(struct prio *pq, unsigned lvl)
{
    pq->nonempty[lvl >> 6] &= ~(UINT64_C(1) << (lvl & 63));
}

/* The highest non-empty level, or -1 when none is (an index sentinel). */
static int
top_level(const struct prio *pq)
{
    for (int w = 3; w >= 0; w--)
        if (pq->nonempty[w])
            return w * 64 + 63 - __builtin_clzll(pq->nonempty[w]);
    return -1;
}

static int
prio_init(struct wr_queue *q)
{
    unsigned n = (unsigned)q->args.max_priority + 1;
    struct prio *pq = wr_malloc(sizeof(*pq) + n * sizeof(struct wr_fifo));

    if (pq == NULL)
        return WR_ERR_NOMEM;
    pq->max = q->args.max_priority;
    for (int w = 0; w < 4; w++)
        pq->nonempty[w] = 0;
    for (unsigned i = 0; i < n; i++)
        wr_fifo_init(&pq->level[i], q->expiry, i);
    q->storage = pq;
    return WR_OK;
}

static void
prio_cleanup(struct wr_queue *q)
{
    struct prio *pq = q->storage;

    if (pq == NULL)
        return;
    for (unsigned i = 0; i <= pq->max; i++)
        wr_fifo_cleanup(&pq->level[i]);
    wr_free(pq);
    q->storage = NULL;
}

static int
prio_push(struct wr_queue *q, const struct wr_qslot *s)
{
    struct prio *pq = q->storage;
    unsigned lvl = level_of(pq, s);
    int rc = wr_fifo_push(&pq->level[lvl], s);

    if (rc == WR_OK)
        mark(pq, lvl);
    return rc;
}

static int
prio_push_front(struct wr_queue *q, const struct wr_qslot *s)
{
    struct prio *pq = q->storage;
    unsigned lvl = level_of(pq, s);
    int rc = wr_fifo_push_front(&pq->level[lvl], s);

    if (rc == WR_OK)
        mark(pq, lvl);
    return rc;
}

static bool
prio_pop(struct wr_queue *q, struct wr_qentry *e)
{
    struct prio *pq = q->storage;
    int lvl;

    /* A level may hold only dead slots (expired in place): it empties as
     * it is popped, and the next level is tried. */
    while ((lvl = top_level(pq)) >= 0) {
        struct wr_fifo *f = &pq->level[lvl];
        bool ok;
        if (f->paged > 0 && wr_fifo_head_paged(f) && !wr_dur_fill(q, f))
            return false;
        ok = wr_fifo_pop(f, e);
        if (pq->level[lvl].count == 0)
            unmark(pq, (unsigned)lvl);
        if (ok)
            return true;
    }
    return false;
}

static struct wr_fifo *
prio_ring(struct wr_queue *q, uint32_t level)
{
    struct prio *pq = q->storage;

    wr_assert(level <= pq->max);
    return &pq->level[level];
}

static uint32_t
prio_levels(const struct wr_queue *q)
{
    const struct prio *pq = q->storage;

    return (uint32_t)pq->max + 1;
}

static size_t
prio_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
          size_t n)
{
    const struct prio *pq = q->storage;
    size_t got = 0;

    for (int lvl = pq->max; lvl >= 0 && got < n; lvl--)
        got += wr_fifo_peek(&pq->level[lvl], now, out + got, n - got);
    return got;
}

static const struct wr_ring_ops prio_rings = {
    .push = prio_push,
    .push_front = prio_push_front,
    .pop = prio_pop,
    .ring = prio_ring,
    .levels = prio_levels,
    .peek = prio_peek,
};

const struct wr_queue_kind wr_queue_prio = {
    .name = "priority",
    .init = prio_init,
    .cleanup = prio_cleanup,
    .enqueue = wr_classic_enqueue,
    .dispatch = wr_classic_dispatch,
    .get = wr_classic_get,
    .settle = wr_classic_settle,
    .purge = wr_classic_purge,
    .delete = wr_classic_purge,
    .expire = wr_classic_expire,
    .next_deadline = wr_classic_next_deadline,
    .peek = wr_classic_peek,
    .limits_changed = wr_classic_limits_changed,
    .rings = &prio_rings,
};
