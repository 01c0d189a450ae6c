/* SPDX-License-Identifier: MIT */
/* Confirms that mean "on disk" (docs/internals/STORE.md, "What a confirm
 * promises"): a publisher confirm, or tx.commit-ok, for a persistent
 * message routed to a stored (durable) queue goes out once the msgs/
 * store's durable position has passed every record written for it. The
 * channel notes a mark (the store's end after the publish) with the
 * sequence number; the store's event (runtime/persist.c) releases the
 * marks it covers, in order, one basic.ack (multiple) per channel.
 * Transient traffic never waits: with nothing owed to the disk a confirm
 * goes out as before. store_sync = background checks the marks against
 * what was written instead. A failed store nacks what waits. */
#include "amqp_internal.h"

#include "../store/store.h"

#include <string.h>

/* Whether the last publish went to a stream: streams keep every message,
 * persistent or not, and confirm it once it is on disk. */
static bool
routed_to_stream(const struct wr_chan *ch)
{
    const struct wr_route_set *r = &ch->route;

    for (size_t i = 0; i < r->count; i++)
        if (wr_queue_is_stream(r->queues[i]))
            return true;
    return false;
}

bool
wr_chan_needs_store(struct wr_chan *ch, const struct wr_msg *m)
{
    const struct wr_route_set *r = &ch->route;

    if (ch->conn->srv->msgs == NULL)
        return false;
    if (routed_to_stream(ch) || r->held_stored)
        return true;
    if (!m->persistent)
        return false;
    for (size_t i = 0; i < r->count; i++)
        if (wr_bqueue_stored(r->queues[i]))
            return true;
    return false;
}

/* Where the marks are checked: what is durable, or what was written. */
static uint64_t
covered(const struct wr_server *s)
{
    return s->cfg.store_sync_background ? s->msgs_written : s->msgs_durable;
}

static void
push(struct wr_chan *ch, uint64_t mark, uint64_t smark, uint64_t seq, bool nack)
{
    struct wr_server *s = ch->conn->srv;

    if (ch->sw_n == ch->sw_cap) {
        uint32_t cap = ch->sw_cap ? ch->sw_cap * 2 : 8;
        struct wr_swait *v = wr_malloc(cap * sizeof(*v));
        for (uint32_t i = 0; i < ch->sw_n; i++)
            v[i] = ch->sw[(ch->sw_head + i) % ch->sw_cap];
        wr_free(ch->sw);
        ch->sw = v;
        ch->sw_cap = cap;
        ch->sw_head = 0;
    }
    ch->sw[(ch->sw_head + ch->sw_n) % ch->sw_cap] = (struct wr_swait){
        .mark = mark, .smark = smark, .seq = seq, .nack = nack};
    ch->sw_n++;
    if (wr_list_empty(&ch->store_link))
        wr_list_push_back(&s->store_waiters, &ch->store_link);
    wr_persist_dirty(s);
}

void
wr_chan_store_wait(struct wr_chan *ch, uint64_t seq)
{
    struct wr_server *s = ch->conn->srv;
    uint64_t mark = wr_store_end(s->msgs);
    /* a tx.commit (seq 0) may have published to streams in any turn */
    uint64_t smark =
        seq == 0 || routed_to_stream(ch) ? wr_persist_stream_mark(s) : 0;

    if (mark <= covered(s) && smark <= s->streams_durable_gen && ch->sw_n == 0)
        return; /* nothing owed: goes out as a transient one */
    push(ch, mark, smark, seq, false);
}

void
wr_chan_store_nack(struct wr_chan *ch, uint64_t seq)
{
    const struct wr_swait *last =
        &ch->sw[(ch->sw_head + ch->sw_n - 1) % ch->sw_cap];

    push(ch, last->mark, last->smark, seq, true);
}

static void
release(struct wr_chan *ch, uint64_t pos)
{
    bool confirms = false;

    while (ch->sw_n > 0) {
        struct wr_swait *w = &ch->sw[ch->sw_head];
        if (w->mark > pos || w->smark > ch->conn->srv->streams_durable_gen)
            break;
        if (w->seq == 0) {
            struct wr_method ok = {.id = WR_TX_COMMIT_OK};
            wr_conn_send_method(ch->conn, ch->id, &ok);
        } else if (w->nack) {
            struct wr_method n = {.id = WR_BASIC_NACK};
            wr_chan_ack_upto(ch, w->seq - 1);
            n.u.basic_nack.delivery_tag = w->seq;
            ch->confirmed_upto = w->seq;
            wr_conn_send_method(ch->conn, ch->id, &n);
        } else {
            confirms = true;
        }
        ch->sw_head = (ch->sw_head + 1) % ch->sw_cap;
        ch->sw_n--;
    }
    if (confirms)
        wr_chan_flush_confirms(ch);
}

/* The store failed: what waits for it will never be durable. */
static void
refuse(struct wr_chan *ch)
{
    bool commit = false;

    for (uint32_t i = 0; i < ch->sw_n; i++)
        commit |= ch->sw[(ch->sw_head + i) % ch->sw_cap].seq == 0;
    if (commit) {
        ch->sw_n = 0;
        wr_chan_error(ch, WR_REPLY_INTERNAL_ERROR, WR_TX_COMMIT,
                      "the message store failed: the transaction is not "
                      "on disk");
        return;
    }
    /* while the marks are there: acks up to the first publish that
     * waited, nacks from it on */
    wr_chan_nack_all(ch);
    ch->sw_n = 0;
}

void
wr_amqp_store_moved(struct wr_server *s)
{
    struct wr_list *pos, *tmp;
    uint64_t at = covered(s);

    wr_list_for_each_safe(pos, tmp, &s->store_waiters)
    {
        struct wr_chan *ch = WR_CONTAINER_OF(pos, struct wr_chan, store_link);
        if (s->store_failed)
            refuse(ch);
        else
            release(ch, at);
        if (ch->sw_n == 0)
            wr_list_remove(&ch->store_link);
    }
}
