/* SPDX-License-Identifier: MIT */
/* The basic class: publish and routing, consumers and deliveries, get,
 * qos, ack / nack / reject, recover. */
#include "amqp_internal.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

/* Bodies up to this size are copied into the frame buffer; larger ones
 * are added to the output by reference (zero copy). The frame buffer
 * costs a second copy of bytes already in cache, which is cheaper than
 * more evbuffer calls (MESSAGES.md). */
#define COPY_BODY_MAX 4096

static void
unref_cleanup(const void *data, size_t len, void *arg)
{
    struct wr_msg *m = arg;

    (void)data;
    (void)len;
    wr_msg_unref(&m);
}

static void
free_cleanup(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    wr_free(arg);
}

/* Writes method frame + content header + body frames for m on ch. The
 * method payload is in mbuf[WR_FRAME_HEADER_SIZE .. +mlen). Borrows m. */
static void
send_content(struct wr_chan *ch, uint8_t *buf, size_t cap, size_t mlen,
             struct wr_msg *m)
{
    struct wr_conn *c = ch->conn;
    struct evbuffer *out;
    size_t chunk = c->frame_max - WR_FRAME_OVERHEAD, off;
    uint64_t left;
    uint8_t *p;

    if (c->state >= WR_CONN_FLUSHING)
        return;
    wr_frame_header_encode(buf, WR_FRAME_METHOD, ch->id, (uint32_t)mlen);
    off = WR_FRAME_HEADER_SIZE + mlen;
    buf[off++] = WR_FRAME_END;
    /* AMQP 0-9-1 4.2.6.1: class, weight 0, body size, then properties. */
    wr_frame_header_encode(buf + off, WR_FRAME_HEADER, ch->id,
                           12 + m->props_len);
    p = buf + off + WR_FRAME_HEADER_SIZE;
    p[0] = 0;
    p[1] = 60;
    p[2] = p[3] = 0;
    for (int i = 0; i < 8; i++)
        p[4 + i] = (uint8_t)(m->body_size >> (56 - 8 * i));
    off += WR_FRAME_HEADER_SIZE + 12;
    if (m->props_len <= cap - off - 1) {
        memcpy(buf + off, wr_msg_props_data(m), m->props_len);
        off += m->props_len;
        buf[off++] = WR_FRAME_END;
    } else { /* huge property list: write what we have, then the rest */
        out = wr_conn_output(c);
        evbuffer_add(out, buf, off);
        evbuffer_add(out, wr_msg_props_data(m), m->props_len);
        buf[0] = WR_FRAME_END;
        off = 1;
    }
    left = m->body_size;
    if (left <= COPY_BODY_MAX && left + 2 * WR_FRAME_OVERHEAD <= cap - off &&
        left <= chunk) {
        if (left) {
            wr_frame_header_encode(buf + off, WR_FRAME_BODY, ch->id,
                                   (uint32_t)left);
            off += WR_FRAME_HEADER_SIZE;
            memcpy(buf + off, wr_msg_body(m), left);
            off += left;
            buf[off++] = WR_FRAME_END;
        }
        /* one add for the deliveries of a dispatch pass (out.c) */
        if (!wr_conn_stage(c, buf, off))
            evbuffer_add(wr_conn_output(c), buf, off);
    } else {
        /* The first body frame's header goes out with the content header.
         * After each referenced chunk, its frame-end and the next header
         * are a small block of their own: evbuffer_add after a reference
         * chain would allocate a chain as large as the chunk (libevent 2.1
         * sizes a new chain from the last one), and the memory watermark
         * would see it. */
        out = wr_conn_output(c);
        if (off > cap - WR_FRAME_HEADER_SIZE) {
            evbuffer_add(out, buf, off);
            off = 0;
        }
        wr_frame_header_encode(buf + off, WR_FRAME_BODY, ch->id,
                               (uint32_t)WR_MIN((uint64_t)chunk, m->body_size));
        off += WR_FRAME_HEADER_SIZE;
        evbuffer_add(out, buf, off);
        for (uint64_t pos = 0; pos < m->body_size; pos += chunk) {
            size_t n = (size_t)WR_MIN((uint64_t)chunk, m->body_size - pos);
            uint8_t *tail = wr_malloc(1 + WR_FRAME_HEADER_SIZE);
            size_t tl = 1;
            evbuffer_add_reference(out, wr_msg_body(m) + pos, n, unref_cleanup,
                                   wr_msg_ref(m));
            tail[0] = WR_FRAME_END;
            if (m->body_size - pos > n) {
                wr_frame_header_encode(
                    tail + 1, WR_FRAME_BODY, ch->id,
                    (uint32_t)WR_MIN((uint64_t)chunk, m->body_size - pos - n));
                tl += WR_FRAME_HEADER_SIZE;
            }
            evbuffer_add_reference(out, tail, tl, free_cleanup, tail);
        }
    }
    c->last_send = wr_now();
    if (wr_conn_output_length(c) >= c->srv->cfg.output_limit)
        c->write_blocked = true;
}

/* Encodes method m's payload into buf after room for the frame header. */
static size_t
encode_payload(const struct wr_method *m, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    int rc = wr_method_encode(m, buf + WR_FRAME_HEADER_SIZE,
                              cap - WR_FRAME_OVERHEAD, &len);

    wr_assert(rc == WR_OK);
    return len;
}

void
wr_chan_send_content(struct wr_chan *ch, const struct wr_method *mth,
                     struct wr_msg *m)
{
    uint8_t buf[8192];

    send_content(ch, buf, sizeof(buf), encode_payload(mth, buf, sizeof(buf)),
                 m);
}

/* ---- consumers ---------------------------------------------------------- */

static bool
consumer_can_take(struct wr_consumer *wc)
{
    struct wr_bconsumer *bc = WR_CONTAINER_OF(wc, struct wr_bconsumer, base);
    struct wr_chan *ch = bc->ch;

    if (ch->closing || !ch->flow_active || !wr_conn_can_deliver(ch->conn))
        return false;
    if (bc->base.no_ack)
        return true;
    if (bc->prefetch && bc->unacked >= bc->prefetch)
        return false;
    return ch->prefetch_global == 0 || ch->unacked_count < ch->prefetch_global;
}

static void
consumer_deliver(struct wr_consumer *wc, struct wr_queue *q,
                 const struct wr_delivery *e)
{
    struct wr_bconsumer *bc = WR_CONTAINER_OF(wc, struct wr_bconsumer, base);
    struct wr_chan *ch = bc->ch;
    struct wr_method d = {.id = WR_BASIC_DELIVER};
    struct wr_msg *m = e->msg; /* borrowed */
    uint8_t buf[8192];
    uint64_t tag;

    tag = wr_chan_record_delivery(ch, bc->base.no_ack ? NULL : q, e, bc);
    d.u.basic_deliver.consumer_tag =
        (struct wr_bytes){(const uint8_t *)bc->tag, bc->tag_len};
    d.u.basic_deliver.delivery_tag = tag;
    d.u.basic_deliver.redelivered = e->redelivered;
    d.u.basic_deliver.exchange = wr_msg_exchange(m);
    d.u.basic_deliver.routing_key = wr_msg_rkey(m);
    send_content(ch, buf, sizeof(buf), encode_payload(&d, buf, sizeof(buf)), m);
}

static const struct wr_consumer_ops consumer_ops = {
    .can_take = consumer_can_take,
    .deliver = consumer_deliver,
};

static void
random_tag(char *out, size_t cap, const char *prefix)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                   "opqrstuvwxyz0123456789-_";
    static uint64_t state;
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);

    if (state == 0)
        state = (uint64_t)wr_now() * 0x9E3779B97F4A7C15ULL ^
                (uint64_t)(uintptr_t)out;
    for (; n < cap - 1 && n < strlen(prefix) + 22; n++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[n] = alphabet[state % 64];
    }
    out[n] = '\0';
}

void
wr_broker_random_name(char *out, size_t cap, const char *prefix)
{
    random_tag(out, cap, prefix);
}

/* The x-priority consumer argument (RabbitMQ: any integer type). */
static bool
consumer_priority(struct wr_chan *ch, struct wr_queue *q, struct wr_table args,
                  int32_t *out)
{
    struct wr_value v;
    int64_t n = 0;

    *out = 0;
    if (wr_table_get(args, "x-priority", &v) != WR_OK)
        return true;
    if (v.type == WR_FT_TIMESTAMP || wr_value_int(&v, &n) != WR_OK) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "invalid arg 'x-priority' for queue '%s' in vhost "
                      "'%s': \"expected integer, got %s\"",
                      q->name, ch->conn->vh->name, wr_field_type_name(v.type));
        return false;
    }
    *out = (int32_t)WR_MAX(WR_MIN(n, INT32_MAX), INT32_MIN);
    return true;
}

/* consumer_max_per_channel: a consume with a tag the channel does not
 * have yet (an empty one always makes a new one), on a channel that has
 * that many consumers (the direct reply-to one included), closes the
 * connection with 530, as RabbitMQ does; before any other check, as there.
 * Returns true after the error. */
static bool
consumer_limit_reached(struct wr_chan *ch, struct wr_bytes tag)
{
    uint32_t max = ch->conn->srv->cfg.consumer_max;
    size_t n = ch->consumers_by_tag.count + (ch->reply_tag != NULL);

    if (max == 0 || n < max)
        return false;
    if (tag.len > 0 && (wr_hmap_get(&ch->consumers_by_tag, tag.ptr, tag.len) ||
                        (ch->reply_tag && strlen(ch->reply_tag) == tag.len &&
                         memcmp(ch->reply_tag, tag.ptr, tag.len) == 0)))
        return false; /* a reused tag: that error comes later */
    wr_conn_error(ch->conn, WR_REPLY_NOT_ALLOWED, WR_BASIC_CONSUME,
                  "reached maximum (%u) of consumers per channel", max);
    return true;
}

static void
basic_consume(struct wr_chan *ch, const struct wr_basic_consume *a)
{
    struct wr_queue *q;
    char tag[256];
    size_t tag_len;
    struct wr_bconsumer *bc;
    struct wr_list *pos, *tmp;
    int32_t priority;
    struct wr_stream_offset from;

    if (consumer_limit_reached(ch, a->consumer_tag))
        return;
    /* direct reply-to: no queue, so no queue permission either */
    if (wr_reply_to_is_pseudo(a->queue)) {
        wr_reply_to_consume(ch, a->consumer_tag, a->no_ack, a->no_wait);
        return;
    }
    if (!wr_access_check(ch, WR_PERM_READ, "queue",
                         wr_access_qname(ch, a->queue), WR_BASIC_CONSUME))
        return;
    wr_conn_prefer(ch->conn);
    q = wr_chan_find_queue(ch, a->queue, WR_BASIC_CONSUME);
    if (q == NULL)
        return;
    if (wr_queue_is_stream(q)) {
        if (!wr_chan_stream_consume(ch, q, a, &from))
            return;
    }
    if (!consumer_priority(ch, q, a->arguments, &priority))
        return;
    /* A consumer tag is a short string: any bytes, NULs included. */
    if (a->consumer_tag.len == 0) {
        random_tag(tag, sizeof(tag), "amq.ctag-");
        tag_len = strlen(tag);
    } else {
        tag_len = WR_MIN(a->consumer_tag.len, 255u);
        memcpy(tag, a->consumer_tag.ptr, tag_len);
        tag[tag_len] = '\0';
    }
    if (wr_hmap_get(&ch->consumers_by_tag, tag, tag_len) ||
        (ch->reply_tag && strlen(ch->reply_tag) == tag_len &&
         memcmp(ch->reply_tag, tag, tag_len) == 0)) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_ALLOWED, WR_BASIC_CONSUME,
                      "attempt to reuse consumer tag '%.*s'", (int)tag_len,
                      tag);
        return;
    }
    wr_list_for_each_safe(pos, tmp, &q->consumers)
    {
        if (a->exclusive ||
            WR_CONTAINER_OF(pos, struct wr_consumer, link)->exclusive) {
            wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_BASIC_CONSUME,
                          "queue '%s' in vhost '%s' in exclusive use", q->name,
                          ch->conn->vh->name);
            return;
        }
    }
    bc = wr_calloc(1, sizeof(*bc));
    bc->base.ops = &consumer_ops;
    bc->base.exclusive = a->exclusive;
    bc->base.no_ack = a->no_ack;
    bc->base.priority = priority;
    bc->ch = ch;
    bc->tag = wr_strndup(tag, tag_len);
    bc->tag_len = (uint8_t)tag_len;
    bc->prefetch = ch->prefetch_default;
    if (a->arguments.len) {
        bc->args = wr_malloc(a->arguments.len);
        memcpy(bc->args, a->arguments.ptr, a->arguments.len);
        bc->args_len = a->arguments.len;
    }
    wr_hmap_put(&ch->consumers_by_tag, bc->tag, bc->tag_len, bc, NULL);
    wr_list_push_back(&ch->consumers, &bc->chan_link);
    if (wr_queue_is_stream(q)) {
        from.tag = (struct wr_bytes){(const uint8_t *)tag, (uint32_t)tag_len};
        wr_stream_consumer_start(q, &bc->base, &from);
    }
    wr_queue_consumer_add(q, &bc->base);
    q->had_consumer = true;
    wr_queue_touch(q);
    if (!a->no_wait) {
        struct wr_method ok = {.id = WR_BASIC_CONSUME_OK};
        ok.u.basic_consume_ok.consumer_tag =
            (struct wr_bytes){(const uint8_t *)tag, (uint32_t)tag_len};
        wr_conn_send_method(ch->conn, ch->id, &ok);
    }
    /* Deliveries follow consume-ok. */
    wr_queue_dispatch(q, wr_now_ms());
}

static void
basic_cancel(struct wr_chan *ch, const struct wr_basic_cancel *a)
{
    struct wr_bconsumer *bc = wr_hmap_get(
        &ch->consumers_by_tag, a->consumer_tag.ptr, a->consumer_tag.len);

    if (bc)
        wr_chan_cancel_consumer(bc, false);
    else
        wr_reply_to_cancel(ch, a->consumer_tag);
    if (!a->no_wait) {
        struct wr_method ok = {.id = WR_BASIC_CANCEL_OK};
        ok.u.basic_cancel_ok.consumer_tag = a->consumer_tag;
        wr_conn_send_method(ch->conn, ch->id, &ok);
    }
}

/* ---- get, qos, acks ----------------------------------------------------- */

static void
basic_get(struct wr_chan *ch, const struct wr_basic_get *a)
{
    struct wr_queue *q;
    struct wr_method r = {.id = WR_BASIC_GET_OK};
    struct wr_delivery e;
    struct wr_msg *m;
    uint8_t buf[8192];

    if (!wr_access_check(ch, WR_PERM_READ, "queue",
                         wr_access_qname(ch, a->queue), WR_BASIC_GET))
        return;
    q = wr_chan_find_queue(ch, a->queue, WR_BASIC_GET);
    if (q == NULL || wr_chan_stream_refused(ch, q, WR_BASIC_GET))
        return;
    wr_queue_touch(q);
    if (!wr_queue_get(q, wr_now_ms(), a->no_ack, &e)) {
        struct wr_method empty = {.id = WR_BASIC_GET_EMPTY};
        wr_conn_send_method(ch->conn, ch->id, &empty);
        return;
    }
    m = e.msg; /* borrowed; with no-ack, ours */
    r.u.basic_get_ok.delivery_tag =
        wr_chan_record_delivery(ch, a->no_ack ? NULL : q, &e, NULL);
    r.u.basic_get_ok.redelivered = e.redelivered;
    r.u.basic_get_ok.exchange = wr_msg_exchange(m);
    r.u.basic_get_ok.routing_key = wr_msg_rkey(m);
    r.u.basic_get_ok.message_count =
        (uint32_t)WR_MIN(wr_queue_counts(q)->ready, UINT32_MAX);
    send_content(ch, buf, sizeof(buf), encode_payload(&r, buf, sizeof(buf)), m);
    if (a->no_ack)
        wr_msg_unref(&m);
}

static void
basic_qos(struct wr_chan *ch, const struct wr_basic_qos *a)
{
    struct wr_method ok = {.id = WR_BASIC_QOS_OK};

    /* RabbitMQ: global=false applies to consumers created after; global=true
     * is one limit shared by the channel. Like RabbitMQ 3.10, a prefetch
     * window in bytes is refused: connection.close 540. */
    if (a->prefetch_size != 0) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_QOS,
                      "prefetch_size!=0 (%lu)",
                      (unsigned long)a->prefetch_size);
        return;
    }
    /* and, as in RabbitMQ 3.10 (rabbit_limiter:unlimit_prefetch), a
     * global=false one lifts the channel's limit */
    if (a->global) {
        ch->prefetch_global = a->prefetch_count;
    } else {
        ch->prefetch_default = a->prefetch_count;
        ch->prefetch_global = 0;
    }
    wr_conn_send_method(ch->conn, ch->id, &ok);
    wr_chan_kick(ch);
}

static void
settle(struct wr_chan *ch, uint32_t method, uint64_t tag, bool multiple,
       bool ack, bool requeue)
{
    if (!ack && wr_chan_stream_nack_refused(ch, method, tag, multiple))
        return;
    if (ch->tx) {
        wr_chan_tx_settle(ch, method, tag, multiple, ack, requeue);
        return;
    }
    if (wr_chan_settle(ch, tag, multiple, ack, requeue) != WR_OK)
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, method,
                      "unknown delivery tag %llu", (unsigned long long)tag);
}

void
wr_chan_basic(struct wr_chan *ch, const struct wr_method *m)
{
    switch (m->id) {
    case WR_BASIC_PUBLISH:
        wr_chan_basic_publish(ch, &m->u.basic_publish);
        return;
    case WR_BASIC_ACK:
        settle(ch, m->id, m->u.basic_ack.delivery_tag, m->u.basic_ack.multiple,
               true, false);
        return;
    case WR_BASIC_NACK:
        settle(ch, m->id, m->u.basic_nack.delivery_tag,
               m->u.basic_nack.multiple, false, m->u.basic_nack.requeue);
        return;
    case WR_BASIC_REJECT:
        settle(ch, m->id, m->u.basic_reject.delivery_tag, false, false,
               m->u.basic_reject.requeue);
        return;
    case WR_BASIC_CONSUME:
        basic_consume(ch, &m->u.basic_consume);
        return;
    case WR_BASIC_CANCEL:
        basic_cancel(ch, &m->u.basic_cancel);
        return;
    case WR_BASIC_QOS:
        basic_qos(ch, &m->u.basic_qos);
        return;
    case WR_BASIC_GET:
        basic_get(ch, &m->u.basic_get);
        return;
    case WR_BASIC_RECOVER:
    case WR_BASIC_RECOVER_ASYNC: {
        bool requeue = m->id == WR_BASIC_RECOVER
                           ? m->u.basic_recover.requeue
                           : m->u.basic_recover_async.requeue;
        if (!requeue) {
            wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, m->id,
                          "requeue=false");
            return;
        }
        wr_chan_requeue_all(ch);
        if (m->id == WR_BASIC_RECOVER) {
            struct wr_method ok = {.id = WR_BASIC_RECOVER_OK};
            wr_conn_send_method(ch->conn, ch->id, &ok);
        }
        return;
    }
    }
    wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                  "%s is not a client method", wr_method_name(m->id));
}
