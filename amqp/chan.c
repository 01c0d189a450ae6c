/* SPDX-License-Identifier: MIT */
/* Channels: lifecycle, the close handshake, content assembly
 * (basic.publish + header + body frames), the unacked ring indexed by
 * delivery tag, settlement (ack / nack / reject) and requeueing. */
#include "amqp_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct wr_chan *
wr_chan_new(struct wr_conn *c, uint16_t id)
{
    struct wr_chan *ch = wr_calloc(1, sizeof(*ch));

    ch->conn = c;
    ch->id = id;
    ch->flow_active = true;
    ch->first_tag = ch->next_tag = 1;
    ch->tx_tail = &ch->tx_head;
    wr_hmap_init(&ch->consumers_by_tag);
    wr_list_init(&ch->consumers);
    wr_list_init(&ch->confirm_link);
    wr_list_init(&ch->store_link);
    return ch;
}

/* Releases what the channel holds (idempotent): consumers cancelled,
 * unacked deliveries requeued, pending content and tx ops dropped. */
static void
chan_release(struct wr_chan *ch)
{
    struct wr_list *pos, *tmp;

    /* Nothing more is delivered here, not even to a consumer of this
     * channel that a cancel below makes the single active one. */
    ch->closing = true;
    wr_list_for_each_safe(pos, tmp, &ch->consumers)
    {
        wr_chan_cancel_consumer(
            WR_CONTAINER_OF(pos, struct wr_bconsumer, chan_link), false);
    }
    wr_reply_to_cancel(ch, (struct wr_bytes){NULL, 0});
    wr_chan_requeue_all(ch);
    if (ch->pending)
        wr_msg_unref(&ch->pending);
    ch->cstate = WR_CONTENT_IDLE;
    wr_chan_tx_cleanup(ch);
    wr_list_remove(&ch->confirm_link);
    wr_chan_store_cleanup(ch);
}

void
wr_chan_free(struct wr_chan *ch)
{
    chan_release(ch);
    wr_route_set_cleanup(&ch->route);
    wr_hmap_cleanup(&ch->consumers_by_tag);
    wr_free(ch->ring);
    wr_free(ch->last_queue);
    wr_free(ch);
}

/* Frees the channel and its slot on the connection. */
static void
chan_close_slot(struct wr_chan *ch)
{
    struct wr_conn *c = ch->conn;

    c->chans[ch->id] = NULL;
    c->open_chans--;
    wr_chan_free(ch);
}

void
wr_chan_error(struct wr_chan *ch, uint16_t code, uint32_t method_id,
              const char *fmt, ...)
{
    char text[256];
    struct wr_method m = {.id = WR_CHANNEL_CLOSE};
    va_list ap;

    if (ch->closing)
        return;
    va_start(ap, fmt);
    wr_reply_vformat(text, sizeof(text), code, fmt, ap);
    va_end(ap);
    wr_log(WR_LOG_INFO, "conn %llu %s ch %u: channel error %u %s",
           (unsigned long long)ch->conn->id, ch->conn->peer, ch->id, code,
           text);
    m.u.channel_close.reply_code = code;
    m.u.channel_close.reply_text = wr_bytes_str(text);
    m.u.channel_close.class_id = WR_METHOD_CLASS(method_id);
    m.u.channel_close.method_id = WR_METHOD_INDEX(method_id);
    /* Flush confirms owed for publishes before the error. */
    wr_chan_flush_confirms(ch);
    wr_conn_send_method(ch->conn, ch->id, &m);
    ch->closing = true;
    chan_release(ch);
}

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
    wr_chan_kick(ch);
    return WR_OK;
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
        if (bc->base.queue && wr_queue_counts(bc->base.queue)->ready)
            wr_queue_dispatch(bc->base.queue, now);
    }
}

/* ---- publisher confirms ----------------------------------------------- */

void
wr_chan_flush_confirms(struct wr_chan *ch)
{
    struct wr_method m = {.id = WR_BASIC_ACK};
    /* in order: not past a publish that waits for the disk */
    uint64_t upto = wr_chan_confirm_limit(ch);

    wr_list_remove(&ch->confirm_link);
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

static void
channel_method(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_conn *c = ch->conn;

    switch (m->id) {
    case WR_CHANNEL_CLOSE: {
        struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};
        uint16_t id = ch->id;
        chan_close_slot(ch);
        wr_conn_send_method(c, id, &ok);
        return;
    }
    case WR_CHANNEL_FLOW: {
        struct wr_method ok = {.id = WR_CHANNEL_FLOW_OK};
        /* RabbitMQ refuses to stop deliveries on a client's word, and
         * clients' own test suites expect that; pausing is a setting. */
        if (!m->u.channel_flow.active && !c->srv->cfg.channel_flow_pause) {
            wr_conn_error(c, WR_REPLY_NOT_IMPLEMENTED, m->id, "active=false");
            return;
        }
        ch->flow_active = m->u.channel_flow.active;
        ok.u.channel_flow_ok.active = ch->flow_active;
        wr_conn_send_method(c, ch->id, &ok);
        if (ch->flow_active)
            wr_chan_kick(ch);
        return;
    }
    case WR_CHANNEL_FLOW_OK:
        return; /* we never send channel.flow */
    case WR_CHANNEL_CLOSE_OK:
        wr_conn_error(c, WR_REPLY_COMMAND_INVALID, m->id,
                      "unexpected channel.close-ok on channel %u", ch->id);
        return;
    }
    wr_conn_error(c, WR_REPLY_COMMAND_INVALID, m->id, "unexpected %s",
                  wr_method_name(m->id));
}

void
wr_chan_frame(struct wr_chan *ch, const struct wr_frame *f,
              const struct wr_method *m)
{
    if (ch->closing) {
        /* AMQP 0-9-1 2.3.5.2: after channel.close, only close/close-ok. */
        if (m && m->id == WR_CHANNEL_CLOSE_OK) {
            chan_close_slot(ch);
        } else if (m && m->id == WR_CHANNEL_CLOSE) {
            struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};
            struct wr_conn *c = ch->conn;
            uint16_t id = ch->id;
            chan_close_slot(ch);
            wr_conn_send_method(c, id, &ok);
        }
        return;
    }
    if (ch->cstate != WR_CONTENT_IDLE) {
        if (f->type == WR_FRAME_HEADER && ch->cstate == WR_CONTENT_HEADER)
            wr_chan_content_header(ch, f);
        else if (f->type == WR_FRAME_BODY && ch->cstate == WR_CONTENT_BODY)
            wr_chan_content_body(ch, f);
        else
            wr_conn_error(ch->conn, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH,
                          "expected content %s, got frame type %u",
                          ch->cstate == WR_CONTENT_HEADER ? "header" : "body",
                          f->type);
        return;
    }
    if (m == NULL) {
        wr_conn_error(ch->conn, WR_REPLY_UNEXPECTED_FRAME, 0,
                      "content frame type %u on channel %u without "
                      "basic.publish",
                      f->type, ch->id);
        return;
    }
    switch (WR_METHOD_CLASS(m->id)) {
    case 20:
        channel_method(ch, m);
        return;
    case 40:
        wr_chan_exchange(ch, m);
        return;
    case 50:
        wr_chan_queue(ch, m);
        return;
    case 60:
        wr_chan_basic(ch, m);
        return;
    case 85:
        wr_chan_confirm(ch, m);
        return;
    case 90:
        wr_chan_tx(ch, m);
        return;
    }
    wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id, "%s on channel %u",
                  wr_method_name(m->id), ch->id);
}

/* ---- helpers shared by the class handlers ----------------------------- */

bool
wr_chan_queue_access(struct wr_chan *ch, struct wr_queue *q, uint32_t method_id)
{
    struct wr_op_err err;

    if (wr_vhost_queue_check_access(ch->conn->vh, q, ch->conn, &err) == WR_OK)
        return true;
    wr_chan_op_error(ch, method_id, &err);
    return false;
}

struct wr_queue *
wr_chan_find_queue(struct wr_chan *ch, struct wr_bytes name, uint32_t method_id)
{
    struct wr_queue *q;

    if (name.len == 0) {
        if (ch->last_queue == NULL) {
            wr_chan_error(ch, WR_REPLY_NOT_FOUND, method_id,
                          "no previously declared queue");
            return NULL;
        }
        name = wr_bytes_str(ch->last_queue);
    }
    q = wr_vhost_queue(ch->conn->vh, name);
    if (q == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, method_id,
                      "no queue '%.*s' in vhost '%s'", (int)name.len, name.ptr,
                      ch->conn->vh->name);
        return NULL;
    }
    return wr_chan_queue_access(ch, q, method_id) ? q : NULL;
}

void
wr_chan_op_error(struct wr_chan *ch, uint32_t method_id,
                 const struct wr_op_err *err)
{
    if (err->hard)
        wr_conn_error(ch->conn, err->code, method_id, "%s", err->text);
    else
        wr_chan_error(ch, err->code, method_id, "%s", err->text);
}
