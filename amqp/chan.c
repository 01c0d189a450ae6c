/* SPDX-License-Identifier: MIT */
/* Channels: the unacked ring indexed by delivery tag, settlement (ack /
 * nack / reject), requeueing and the confirms owed. Lifecycle is in
 * chan_life.c, frame dispatch in chan_frame.c, errors in close.c. */
#include "amqp_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the unacked ring -------------------------------------------------- */

static struct wr_unacked *
ring_at(struct wr_chan *ch, uint64_t tag)
{
    return &ch->ring[tag & (ch->ring_cap - 1)];
}

/* Makes room for tag next_tag; returns its slot. */
static struct wr_unacked *
ring_reserve(struct wr_chan *ch)
{
    if (ch->next_tag - ch->first_tag == ch->ring_cap) {
        uint64_t ncap = ch->ring_cap ? ch->ring_cap * 2 : 64;
        struct wr_unacked *n = wr_calloc(ncap, sizeof(*n));
        for (uint64_t t = ch->first_tag; t < ch->next_tag; t++)
            n[t & (ncap - 1)] = *ring_at(ch, t);
        wr_free(ch->ring);
        ch->ring = n;
        ch->ring_cap = ncap;
    }
    return ring_at(ch, ch->next_tag);
}

/* Skips settled tags at the front of the window. */
static void
ring_advance(struct wr_chan *ch)
{
    while (ch->first_tag < ch->next_tag &&
           ring_at(ch, ch->first_tag)->queue == NULL)
        ch->first_tag++;
}

uint64_t
wr_chan_record_delivery(struct wr_chan *ch, struct wr_queue *q,
                        const struct wr_delivery *d, struct wr_bconsumer *bc)
{
    struct wr_unacked *u = ring_reserve(ch);
    uint64_t tag = ch->next_tag++;

    ch->n_delivered++;
    if (q == NULL) { /* no-ack: nothing to remember */
        u->queue = NULL;
        ring_advance(ch);
        return tag;
    }
    u->queue = wr_queue_ref(q);
    u->id = d->id;
    u->handle = d->handle;
    u->consumer = bc;
    u->delivered = wr_now_ms();
    if (q->eff.has_consumer_timeout)
        ch->ctimeout_per_queue = true;
    ch->unacked_count++;
    if (bc)
        bc->unacked++;
    return tag;
}

/* Settles one unacked delivery at time now: its queue acks, requeues or
 * rejects the entry. */
static void
settle_one(struct wr_chan *ch, struct wr_unacked *u, enum wr_settle how,
           int64_t now)
{
    struct wr_queue *q = u->queue;

    ch->unacked_count--;
    if (u->consumer)
        u->consumer->unacked--;
    if (how == WR_SETTLE_ACK)
        ch->n_acked++;
    u->consumer = NULL;
    u->queue = NULL;
    wr_queue_settle(q, u->id, u->handle, how, now);
    wr_queue_unref(&q);
}

/* Dispatches each distinct queue in qs once, then unrefs them. */
static void
dispatch_and_unref(struct wr_queue **qs, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = qs[j] == qs[i];
        if (!seen && !qs[i]->deleted)
            wr_queue_dispatch(qs[i], now);
    }
    for (size_t i = 0; i < n; i++)
        wr_queue_unref(&qs[i]);
}

/* Requeues tags [lo, hi] (unsettled ones), highest first so they land at
 * the head of their queues in their original order. */
static void
requeue_range(struct wr_chan *ch, uint64_t lo, uint64_t hi)
{
    struct wr_queue *small[16], **qs = small;
    size_t n = 0, cap = WR_ARRAY_LEN(small);
    int64_t now = wr_now_ms();

    for (uint64_t t = hi + 1; t-- > lo;) {
        struct wr_unacked *u = ring_at(ch, t);
        if (u->queue == NULL)
            continue;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = qs[j] == u->queue;
        if (!seen) {
            if (n == cap) {
                struct wr_queue **nq = wr_malloc(cap * 2 * sizeof(*nq));
                memcpy(nq, qs, n * sizeof(*nq));
                if (qs != small)
                    wr_free(qs);
                qs = nq;
                cap *= 2;
            }
            qs[n++] = wr_queue_ref(u->queue);
        }
        settle_one(ch, u, WR_SETTLE_REQUEUE, now);
    }
    ring_advance(ch);
    dispatch_and_unref(qs, n, now);
    if (qs != small)
        wr_free(qs);
}

void
wr_chan_requeue_all(struct wr_chan *ch)
{
    if (ch->next_tag > ch->first_tag)
        requeue_range(ch, ch->first_tag, ch->next_tag - 1);
}

int
wr_chan_settle(struct wr_chan *ch, uint64_t tag, bool multiple, bool ack,
               bool requeue)
{
    uint64_t lo;

    if (multiple && tag == 0) { /* AMQP 0-9-1: tag 0 + multiple = all */
        if (ch->next_tag == ch->first_tag)
            return WR_OK;
        tag = ch->next_tag - 1;
    } else if (tag < ch->first_tag || tag >= ch->next_tag ||
               ring_at(ch, tag)->queue == NULL) {
        return WR_ERR_NOT_FOUND;
    }
    lo = multiple ? ch->first_tag : tag;
    if (!ack && requeue) {
        requeue_range(ch, lo, tag);
    } else {
        int64_t now = wr_now_ms();
        enum wr_settle how = ack ? WR_SETTLE_ACK : WR_SETTLE_REJECT;
        for (uint64_t t = lo; t <= tag; t++) {
            struct wr_unacked *u = ring_at(ch, t);
            if (u->queue)
                settle_one(ch, u, how, now);
        }
        ring_advance(ch);
    }
    /* Credit came back: let the channel's consumers take more. */
    wr_chan_kick_later(ch);
    return WR_OK;
}

void
wr_chan_kick_later(struct wr_chan *ch)
{
    struct wr_conn *c = ch->conn;

    /* In a read pass, once at its end: the acks it holds (a client acks
     * what one read brought) refill the window with one dispatch, the
     * deliveries encoded back to back, not one dispatch per ack. */
    if (!c->in_read_pass) {
        wr_chan_kick(ch);
        return;
    }
    if (wr_list_empty(&ch->kick_link))
        wr_list_push_back(&c->kick_chans, &ch->kick_link);
}

void
wr_chan_kick_pending(struct wr_conn *c)
{
    while (!wr_list_empty(&c->kick_chans)) {
        struct wr_chan *ch =
            WR_CONTAINER_OF(c->kick_chans.next, struct wr_chan, kick_link);
        wr_list_remove(&ch->kick_link);
        wr_chan_kick(ch);
    }
}

void
wr_chan_kick(struct wr_chan *ch)
{
    struct wr_list *pos, *tmp;
    int64_t now;

    if (ch->closing || !wr_conn_can_deliver(ch->conn))
        return;
    now = wr_now_ms();
    wr_list_for_each_safe(pos, tmp, &ch->consumers)
    {
        struct wr_bconsumer *bc =
            WR_CONTAINER_OF(pos, struct wr_bconsumer, chan_link);
        if (bc->base.queue && (wr_queue_counts(bc->base.queue)->ready ||
                               wr_queue_is_stream(bc->base.queue)))
            wr_queue_dispatch(bc->base.queue, now);
    }
}

/* ---- publisher confirms ----------------------------------------------- */

void
wr_chan_flush_confirms(struct wr_chan *ch)
{
    /* in order: not past a publish that waits for the disk */
    uint64_t upto = wr_chan_confirm_limit(ch);

    wr_list_remove(&ch->confirm_link);
    wr_chan_ack_upto(ch, upto);
}

void
wr_chan_ack_upto(struct wr_chan *ch, uint64_t upto)
{
    struct wr_method m = {.id = WR_BASIC_ACK};

    if (upto <= ch->confirmed_upto)
        return;
    m.u.basic_ack.delivery_tag = upto;
    m.u.basic_ack.multiple = upto - ch->confirmed_upto > 1;
    ch->confirmed_upto = upto;
    wr_conn_send_method(ch->conn, ch->id, &m);
}

void
wr_chan_nack_all(struct wr_chan *ch)
{
    struct wr_method n = {.id = WR_BASIC_NACK};

    wr_chan_flush_confirms(ch);
    if (ch->publish_seq <= ch->confirmed_upto)
        return;
    n.u.basic_nack.delivery_tag = ch->publish_seq;
    n.u.basic_nack.multiple = ch->publish_seq - ch->confirmed_upto > 1;
    ch->confirmed_upto = ch->publish_seq;
    wr_conn_send_method(ch->conn, ch->id, &n);
}

/* ---- frames ------------------------------------------------------------ */

/* ---- helpers shared by the class handlers ----------------------------- */

uint64_t
wr_chan_confirm_limit(const struct wr_chan *ch)
{
    for (uint32_t i = 0; i < ch->sw_n; i++) {
        const struct wr_swait *w = &ch->sw[(ch->sw_head + i) % ch->sw_cap];
        if (w->seq != 0)
            return w->seq - 1;
    }
    return ch->publish_seq;
}
