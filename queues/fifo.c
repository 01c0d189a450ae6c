/* SPDX-License-Identifier: MIT */
/* The plain FIFO queue kind ("fifo": one ring of entries over the shared
 * engine, classic.c), and the entry ring it is made of (shared with the
 * priority kind through queues_internal.h). */
#include "queues_internal.h"

#include <string.h>

#define FIFO_MIN_CAP 8
#define FIFO_SHRINK_CAP 64  /* never shrink below this */
#define FIFO_COMPACT_MIN 32 /* dead slots tolerated before compacting */

/* The index in v (and xn) of offset off. */
static size_t
idx(const struct wr_fifo *f, size_t off)
{
    return (f->head + off) & (f->cap - 1);
}

static struct wr_rslot *
slot(const struct wr_fifo *f, size_t off)
{
    return &f->v[idx(f, off)];
}

/* The expiry node of the entry at index i (0: none). */
static uint32_t
xnode_at(const struct wr_fifo *f, size_t i)
{
    return f->xn ? f->xn[i] : 0;
}

static uint64_t
id_of(const struct wr_rslot *r)
{
    return r->tag >> 1;
}

static bool
redelivered(const struct wr_rslot *r)
{
    return r->tag & 1;
}

/* Tells the expiry index that node x (0: none) now lives at offset off. */
static void
track(struct wr_fifo *f, uint32_t x, size_t off)
{
    if (x != 0) {
        struct wr_xnode *n = wr_xindex_node(f->xi, x);
        n->pos = f->base + off;
        n->level = f->level;
    }
}

/* The deadline kept by node x (0: none). */
static int64_t
deadline(const struct wr_fifo *f, uint32_t x)
{
    return x ? wr_xindex_node(f->xi, x)->at : WR_NEVER;
}

/* Stores s at offset off (room reserved, xn there if s has a node; ids
 * are below 2^63, classic.c asserts it). */
static inline void
put(struct wr_fifo *f, size_t off, const struct wr_qslot *s)
{
    size_t i = idx(f, off);

    f->v[i].msg = s->msg;
    f->v[i].tag = s->id << 1 | (s->redelivered ? 1 : 0);
    if (f->xn)
        f->xn[i] = s->xnode;
    if (s->msg == WR_PAGED) {
        f->pl[i] = *s->ploc;
        f->paged++;
    }
    track(f, s->xnode, off);
}

/* Moves the entry at offset from to offset to (its node follows). */
static void
move(struct wr_fifo *f, size_t from, size_t to)
{
    size_t a = idx(f, from), b = idx(f, to);

    f->v[b] = f->v[a];
    if (f->pl && f->v[b].msg == WR_PAGED)
        f->pl[b] = f->pl[a];
    if (f->xn) {
        f->xn[b] = f->xn[a];
        track(f, f->xn[b], to);
    }
}

/* Copies the ring's count entries, in order, into arrays of ncap, head at
 * 0 (nxn and npl may be NULL). */
static void
copy_out(const struct wr_fifo *f, struct wr_rslot *nv, uint32_t *nxn,
         struct wr_ploc *npl)
{
    size_t first;

    if (f->count == 0)
        return;
    first = WR_MIN(f->count, f->cap - f->head);
    memcpy(nv, f->v + f->head, first * sizeof(*nv));
    memcpy(nv + first, f->v, (f->count - first) * sizeof(*nv));
    if (nxn && f->xn) {
        memcpy(nxn, f->xn + f->head, first * sizeof(*nxn));
        memcpy(nxn + first, f->xn, (f->count - first) * sizeof(*nxn));
    }
    if (npl && f->pl) {
        memcpy(npl, f->pl + f->head, first * sizeof(*npl));
        memcpy(npl + first, f->pl, (f->count - first) * sizeof(*npl));
    }
}

/* Moves the entries to new arrays of ncap slots, in order, head at 0.
 * Offsets (and so absolute positions) do not change. */
static int
resize(struct wr_fifo *f, size_t ncap)
{
    struct wr_rslot *nv;
    uint32_t *nxn = NULL;
    struct wr_ploc *npl = NULL;

    wr_assert(ncap >= f->count);
    nv = wr_malloc(ncap * sizeof(*nv));
    if (nv == NULL)
        return WR_ERR_NOMEM;
    if (f->xn) {
        nxn = wr_malloc(ncap * sizeof(*nxn));
        if (nxn == NULL) {
            wr_free(nv);
            return WR_ERR_NOMEM;
        }
    }
    if (f->pl) {
        npl = wr_malloc(ncap * sizeof(*npl));
        if (npl == NULL) {
            wr_free(nv);
            wr_free(nxn);
            return WR_ERR_NOMEM;
        }
    }
    copy_out(f, nv, nxn, npl);
    wr_free(f->v);
    wr_free(f->xn);
    wr_free(f->pl);
    f->v = nv;
    f->xn = nxn;
    f->pl = npl;
    f->cap = ncap;
    f->head = 0;
    return WR_OK;
}

/* Room for the locations of paged-out entries beside the slots. */
static int
reserve_pl(struct wr_fifo *f)
{
    if (f->pl == NULL && f->cap > 0) {
        f->pl = wr_malloc(f->cap * sizeof(*f->pl));
        if (f->pl == NULL)
            return WR_ERR_NOMEM;
    }
    return WR_OK;
}

/* Makes room for one more entry, for its node id when it has one and for
 * its location when it is paged out. */
static int
reserve_one(struct wr_fifo *f, uint32_t xnode, bool paged)
{
    if (f->count == f->cap) {
        int rc;
        if (f->cap > SIZE_MAX / 2 / sizeof(struct wr_rslot))
            return WR_ERR_NOMEM;
        rc = resize(f, f->cap ? f->cap * 2 : FIFO_MIN_CAP);
        if (rc != WR_OK)
            return rc;
    }
    if (xnode != 0 && f->xn == NULL) {
        f->xn = wr_calloc(f->cap, sizeof(*f->xn));
        if (f->xn == NULL)
            return WR_ERR_NOMEM;
    }
    if (paged)
        return reserve_pl(f);
    return WR_OK;
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
        if (slot(f, r)->msg == NULL)
            continue;
        move(f, r, w);
        w++;
    }
    f->count = w;
    f->dead = 0;
    maybe_shrink(f);
}

int
wr_fifo_push(struct wr_fifo *f, const struct wr_qslot *s)
{
    int rc = reserve_one(f, s->xnode, s->msg == WR_PAGED);

    if (rc != WR_OK)
        return rc;
    put(f, f->count, s);
    f->count++;
    return WR_OK;
}

int
wr_fifo_push_front(struct wr_fifo *f, const struct wr_qslot *s)
{
    size_t pos = 0;
    int rc;

    trim_head(f);
    rc = reserve_one(f, s->xnode, s->msg == WR_PAGED);
    if (rc != WR_OK)
        return rc;
    /* RabbitMQ puts requeued messages back in queue order: skip the
     * redelivered entries at the head that were enqueued earlier (smaller
     * ids; and dead slots among them). The broker requeues newest first,
     * so this is usually zero steps. */
    while (pos < f->count) {
        const struct wr_rslot *at = slot(f, pos);
        if (at->msg != NULL && !(redelivered(at) && id_of(at) < s->id))
            break;
        pos++;
    }
    f->head = (f->head + f->cap - 1) & (f->cap - 1);
    f->base--;
    for (size_t k = 0; k < pos; k++)
        move(f, k + 1, k);
    put(f, pos, s);
    f->count++;
    return WR_OK;
}

bool
wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e)
{
    struct wr_rslot s;
    uint32_t x;

    trim_head(f);
    if (f->count == 0 || f->v[f->head].msg == WR_PAGED)
        return false; /* the caller reads paged-out entries back first */
    s = f->v[f->head];
    x = xnode_at(f, f->head);
    f->head = (f->head + 1) & (f->cap - 1);
    f->base++;
    f->count--;
    e->msg = s.msg;
    e->id = id_of(&s);
    e->redelivered = redelivered(&s);
    e->expires = deadline(f, x);
    if (x != 0)
        wr_xindex_del(f->xi, x);
    trim_head(f);
    if (f->count == 0 && f->xn != NULL) { /* no node ids to keep */
        wr_free(f->xn);
        f->xn = NULL;
    }
    if (f->count == 0 && f->pl != NULL) { /* no locations either */
        wr_free(f->pl);
        f->pl = NULL;
    }
    maybe_shrink(f);
    return true;
}

struct wr_msg *
wr_fifo_kill(struct wr_fifo *f, uint64_t pos, uint32_t id, uint64_t *eid,
             struct wr_ploc *pl)
{
    uint64_t off = pos - f->base; /* wraps correctly */
    size_t i;
    struct wr_msg *m;

    wr_assert(off < f->count);
    i = idx(f, (size_t)off);
    wr_assert(f->v[i].msg != NULL && xnode_at(f, i) == id);
    m = f->v[i].msg;
    *eid = f->v[i].tag >> 1;
    if (m == WR_PAGED) {
        *pl = f->pl[i];
        f->paged--;
    }
    f->v[i].msg = NULL;
    f->xn[i] = 0;
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

    for (size_t k = 0; k < f->count && got < n; k++) {
        size_t i = idx(f, k);
        const struct wr_rslot *s = &f->v[i];
        int64_t at = deadline(f, xnode_at(f, i));
        if (s->msg != NULL && s->msg != WR_PAGED && at > now)
            out[got++] =
                (struct wr_qentry){s->msg, id_of(s), at, redelivered(s)};
    }
    return got;
}

void
wr_fifo_cleanup(struct wr_fifo *f)
{
    for (size_t k = 0; k < f->count; k++) {
        struct wr_rslot *s = slot(f, k);
        if (s->msg != NULL && s->msg != WR_PAGED)
            wr_msg_unref(&s->msg);
    }
    wr_free(f->v);
    wr_free(f->xn);
    wr_free(f->pl);
    wr_fifo_init(f, f->xi, f->level);
}

bool
wr_fifo_head_paged(struct wr_fifo *f)
{
    trim_head(f);
    return f->count > 0 && f->v[f->head].msg == WR_PAGED;
}

void
wr_fifo_page_out(struct wr_fifo *f, size_t off, const struct wr_ploc *pl,
                 struct wr_msg **m)
{
    size_t i = idx(f, off);

    wr_assert(off < f->count && f->v[i].msg != NULL && f->v[i].msg != WR_PAGED);
    if (reserve_pl(f) != WR_OK) {
        *m = NULL; /* out of memory: it stays resident */
        return;
    }
    *m = f->v[i].msg;
    f->v[i].msg = WR_PAGED;
    f->pl[i] = *pl;
    f->paged++;
}

void
wr_fifo_page_in(struct wr_fifo *f, size_t off, struct wr_msg *m)
{
    size_t i = idx(f, off);

    wr_assert(off < f->count && f->v[i].msg == WR_PAGED && f->paged > 0);
    f->v[i].msg = m;
    f->paged--;
}

uint64_t
wr_fifo_drop_paged(struct wr_fifo *f, size_t off)
{
    size_t i = idx(f, off);
    uint32_t x = xnode_at(f, i);
    uint64_t id = id_of(&f->v[i]);

    wr_assert(off < f->count && f->v[i].msg == WR_PAGED && f->paged > 0);
    f->v[i].msg = NULL;
    f->paged--;
    f->dead++;
    if (x != 0) {
        f->xn[i] = 0;
        wr_xindex_del(f->xi, x);
    }
    return id;
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
fifo_push(struct wr_queue *q, const struct wr_qslot *s)
{
    return wr_fifo_push(q->storage, s);
}

static int
fifo_push_front(struct wr_queue *q, const struct wr_qslot *s)
{
    return wr_fifo_push_front(q->storage, s);
}

static bool
fifo_pop(struct wr_queue *q, struct wr_qentry *e)
{
    struct wr_fifo *f = q->storage;

    if (f->paged > 0 && wr_fifo_head_paged(f) && !wr_dur_fill(q, f))
        return false;
    return wr_fifo_pop(f, e);
}

static uint32_t
fifo_levels(const struct wr_queue *q)
{
    (void)q;
    return 1;
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
    .levels = fifo_levels,
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
