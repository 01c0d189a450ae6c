/* SPDX-License-Identifier: MIT */
/* The plain FIFO queue kind ("fifo": one ring of entries over the shared
 * engine, classic.c), and the entry ring it is made of (shared with the
 * priority kind through queues_internal.h). */
#include "queues_internal.h"

#include <string.h>

#define FIFO_MIN_CAP 8
#define FIFO_SHRINK_CAP 64  /* never shrink below this */
#define FIFO_COMPACT_MIN 32 /* dead slots tolerated before compacting */

static struct wr_qslot *
slot(const struct wr_fifo *f, size_t off)
{
    return &f->v[(f->head + off) & (f->cap - 1)];
}

/* Tells the expiry index where slot s now lives (offset off). */
static void
track(struct wr_fifo *f, const struct wr_qslot *s, size_t off)
{
    if (s->xnode != 0) {
        struct wr_xnode *n = wr_xindex_node(f->xi, s->xnode);
        n->pos = f->base + off;
        n->level = f->level;
    }
}

/* The deadline of slot s: kept by its expiry node, if it has one. */
static int64_t
deadline(const struct wr_fifo *f, const struct wr_qslot *s)
{
    return s->xnode ? wr_xindex_node(f->xi, s->xnode)->at : WR_NEVER;
}

/* Moves the entries to a new array of ncap slots, in order, head at 0.
 * Offsets (and so absolute positions) do not change. */
static int
resize(struct wr_fifo *f, size_t ncap)
{
    struct wr_qslot *nv;
    size_t first;

    wr_assert(ncap >= f->count);
    nv = wr_malloc(ncap * sizeof(*nv));
    if (nv == NULL)
        return WR_ERR_NOMEM;
    if (f->count) {
        first = WR_MIN(f->count, f->cap - f->head);
        memcpy(nv, f->v + f->head, first * sizeof(*nv));
        memcpy(nv + first, f->v, (f->count - first) * sizeof(*nv));
    }
    wr_free(f->v);
    f->v = nv;
    f->cap = ncap;
    f->head = 0;
    return WR_OK;
}

static int
reserve_one(struct wr_fifo *f)
{
    if (f->count < f->cap)
        return WR_OK;
    if (f->cap > SIZE_MAX / 2 / sizeof(struct wr_qslot))
        return WR_ERR_NOMEM;
    return resize(f, f->cap ? f->cap * 2 : FIFO_MIN_CAP);
}

/* Gives memory back after a burst; halving at a quarter keeps this
 * amortized O(1). A failed shrink is harmless. */
static void
maybe_shrink(struct wr_fifo *f)
{
    if (f->cap > FIFO_SHRINK_CAP && f->count < f->cap / 4)
        (void)resize(f, f->cap / 2);
}

/* Drops the dead slots at the head. */
static void
trim_head(struct wr_fifo *f)
{
    while (f->count > 0 && f->v[f->head].msg == NULL) {
        f->head = (f->head + 1) & (f->cap - 1);
        f->base++;
        f->count--;
        f->dead--;
    }
}

/* Squeezes the dead slots out, in place and in order, and tells the index
 * the new positions. O(count), run when dead slots outnumber live ones, so
 * amortized O(1) per expiry. */
static void
compact(struct wr_fifo *f)
{
    size_t w = 0;

    for (size_t r = 0; r < f->count; r++) {
        struct wr_qslot s = *slot(f, r);
        if (s.msg == NULL)
            continue;
        *slot(f, w) = s;
        track(f, &s, w);
        w++;
    }
    f->count = w;
    f->dead = 0;
    maybe_shrink(f);
}

int
wr_fifo_push(struct wr_fifo *f, struct wr_qslot s)
{
    int rc = reserve_one(f);

    if (rc != WR_OK)
        return rc;
    *slot(f, f->count) = s;
    track(f, &s, f->count);
    f->count++;
    return WR_OK;
}

int
wr_fifo_push_front(struct wr_fifo *f, struct wr_qslot s)
{
    size_t pos = 0;
    int rc;

    trim_head(f);
    rc = reserve_one(f);
    if (rc != WR_OK)
        return rc;
    /* RabbitMQ puts requeued messages back in queue order: skip the
     * redelivered entries at the head that were enqueued earlier (smaller
     * ids; and dead slots among them). The broker requeues newest first,
     * so this is usually zero steps. */
    while (pos < f->count) {
        const struct wr_qslot *at = slot(f, pos);
        if (at->msg != NULL && !(at->redelivered && at->id < s.id))
            break;
        pos++;
    }
    f->head = (f->head + f->cap - 1) & (f->cap - 1);
    f->base--;
    for (size_t k = 0; k < pos; k++) {
        *slot(f, k) = *slot(f, k + 1);
        track(f, slot(f, k), k);
    }
    *slot(f, pos) = s;
    track(f, &s, pos);
    f->count++;
    return WR_OK;
}

bool
wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e)
{
    struct wr_qslot s;

    trim_head(f);
    if (f->count == 0)
        return false;
    s = f->v[f->head];
    f->head = (f->head + 1) & (f->cap - 1);
    f->base++;
    f->count--;
    e->msg = s.msg;
    e->id = s.id;
    e->redelivered = s.redelivered;
    e->expires = deadline(f, &s);
    if (s.xnode != 0)
        wr_xindex_del(f->xi, s.xnode);
    trim_head(f);
    maybe_shrink(f);
    return true;
}

struct wr_msg *
wr_fifo_kill(struct wr_fifo *f, uint64_t pos, uint32_t id)
{
    uint64_t off = pos - f->base; /* wraps correctly */
    struct wr_qslot *s;
    struct wr_msg *m;

    wr_assert(off < f->count);
    s = slot(f, (size_t)off);
    wr_assert(s->msg != NULL && s->xnode == id);
    m = s->msg;
    s->msg = NULL;
    s->xnode = 0;
    f->dead++;
    wr_xindex_del(f->xi, id);
    trim_head(f);
    if (f->dead > FIFO_COMPACT_MIN && f->dead > f->count / 2)
        compact(f);
    return m;
}

size_t
wr_fifo_peek(const struct wr_fifo *f, int64_t now, struct wr_qentry *out,
             size_t n)
{
    size_t got = 0;

    for (size_t i = 0; i < f->count && got < n; i++) {
        const struct wr_qslot *s = slot(f, i);
        int64_t at = deadline(f, s);
        if (s->msg != NULL && at > now)
            out[got++] = (struct wr_qentry){s->msg, s->id, at, s->redelivered};
    }
    return got;
}

void
wr_fifo_cleanup(struct wr_fifo *f)
{
    for (size_t i = 0; i < f->count; i++) {
        struct wr_qslot *s = slot(f, i);
        if (s->msg != NULL)
            wr_msg_unref(&s->msg);
    }
    wr_free(f->v);
    wr_fifo_init(f, f->xi, f->level);
}

/* ---- the "fifo" queue kind ------------------------------------------- */

static int
fifo_init(struct wr_queue *q)
{
    struct wr_fifo *f = wr_malloc(sizeof(*f));

    if (f == NULL)
        return WR_ERR_NOMEM;
    wr_fifo_init(f, q->expiry, 0);
    q->storage = f;
    return WR_OK;
}

static void
fifo_cleanup(struct wr_queue *q)
{
    struct wr_fifo *f = q->storage;

    if (f == NULL)
        return;
    wr_fifo_cleanup(f);
    wr_free(f);
    q->storage = NULL;
}

static int
fifo_push(struct wr_queue *q, struct wr_qslot s)
{
    return wr_fifo_push(q->storage, s);
}

static int
fifo_push_front(struct wr_queue *q, struct wr_qslot s)
{
    return wr_fifo_push_front(q->storage, s);
}

static bool
fifo_pop(struct wr_queue *q, struct wr_qentry *e)
{
    return wr_fifo_pop(q->storage, e);
}

static struct wr_fifo *
fifo_ring(struct wr_queue *q, uint32_t level)
{
    wr_assert(level == 0);
    return q->storage;
}

static size_t
fifo_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
          size_t n)
{
    return wr_fifo_peek(q->storage, now, out, n);
}

static const struct wr_ring_ops fifo_rings = {
    .push = fifo_push,
    .push_front = fifo_push_front,
    .pop = fifo_pop,
    .ring = fifo_ring,
    .peek = fifo_peek,
};

const struct wr_queue_kind wr_queue_fifo = {
    .name = "fifo",
    .init = fifo_init,
    .cleanup = fifo_cleanup,
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
    .rings = &fifo_rings,
};
