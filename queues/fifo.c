/* SPDX-License-Identifier: MIT */
/* The plain FIFO queue kind, and the entry ring it is made of (shared with
 * the priority kind through queues_internal.h). */
#include "queues_internal.h"

#include <string.h>

#define FIFO_MIN_CAP 8
#define FIFO_SHRINK_CAP 64 /* never shrink below this */

/* Moves the entries to a new array of ncap slots, in order, head at 0. */
static int
resize(struct wr_fifo *f, size_t ncap)
{
    struct wr_qentry *nv;
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
    if (f->cap > SIZE_MAX / 2 / sizeof(struct wr_qentry))
        return WR_ERR_NOMEM;
    return resize(f, f->cap ? f->cap * 2 : FIFO_MIN_CAP);
}

int
wr_fifo_push(struct wr_fifo *f, struct wr_qentry e)
{
    int rc = reserve_one(f);

    if (rc != WR_OK)
        return rc;
    f->v[(f->head + f->count) & (f->cap - 1)] = e;
    f->count++;
    return WR_OK;
}

int
wr_fifo_push_front(struct wr_fifo *f, struct wr_qentry e)
{
    size_t pos = 0, mask;
    int rc = reserve_one(f);

    if (rc != WR_OK)
        return rc;
    mask = f->cap - 1;
    /* RabbitMQ puts requeued messages back in publish order: skip the
     * redelivered entries at the head that were published earlier. The
     * broker requeues newest first, so this is usually zero steps. */
    while (pos < f->count && f->v[(f->head + pos) & mask].redelivered &&
           f->v[(f->head + pos) & mask].msg->seq < e.msg->seq)
        pos++;
    f->head = (f->head + f->cap - 1) & mask;
    for (size_t k = 0; k < pos; k++)
        f->v[(f->head + k) & mask] = f->v[(f->head + k + 1) & mask];
    f->v[(f->head + pos) & mask] = e;
    f->count++;
    return WR_OK;
}

bool
wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e)
{
    if (f->count == 0)
        return false;
    *e = f->v[f->head];
    f->head = (f->head + 1) & (f->cap - 1);
    f->count--;
    /* Give memory back after a burst; halving at a quarter keeps this
     * amortized O(1). A failed shrink is harmless. */
    if (f->cap > FIFO_SHRINK_CAP && f->count < f->cap / 4)
        (void)resize(f, f->cap / 2);
    return true;
}

void
wr_fifo_cleanup(struct wr_fifo *f)
{
    for (size_t i = 0; i < f->count; i++)
        wr_msg_unref(&f->v[(f->head + i) & (f->cap - 1)].msg);
    wr_free(f->v);
    wr_fifo_init(f);
}

/* ---- the "fifo" queue kind ------------------------------------------- */

static int
fifo_init(struct wr_queue *q)
{
    struct wr_fifo *f = wr_malloc(sizeof(*f));

    if (f == NULL)
        return WR_ERR_NOMEM;
    wr_fifo_init(f);
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
fifo_push(struct wr_queue *q, struct wr_qentry e)
{
    return wr_fifo_push(q->storage, e);
}

static int
fifo_push_front(struct wr_queue *q, struct wr_qentry e)
{
    return wr_fifo_push_front(q->storage, e);
}

static bool
fifo_pop(struct wr_queue *q, struct wr_qentry *e)
{
    return wr_fifo_pop(q->storage, e);
}

const struct wr_queue_kind wr_queue_fifo = {
    .name = "fifo",
    .init = fifo_init,
    .cleanup = fifo_cleanup,
    .push = fifo_push,
    .push_front = fifo_push_front,
    .pop = fifo_pop,
};
