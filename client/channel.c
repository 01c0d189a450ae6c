/* SPDX-License-Identifier: MIT */
/* Channels: open and close, the per-channel frame handler, synchronous
 * requests (AMQP 0-9-1 section 2.3.3) and the basic, tx and confirm
 * methods built on them. The exchange and queue methods are topology.c,
 * content lives in content.c. */
#include "client_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- lifecycle ------------------------------------------------------- */

struct wr_client_consumer *
wr_client_find_consumer(struct warren_channel *ch, struct wr_bytes tag)
{
    struct wr_list *pos, *tmp;

    wr_list_for_each_safe(pos, tmp, &ch->consumers)
    {
        struct wr_client_consumer *k =
            WR_CONTAINER_OF(pos, struct wr_client_consumer, link);

        if (wr_bytes_eq_str(tag, k->tag))
            return k;
    }
    return NULL;
}

void
wr_client_channel_free(struct warren_channel *ch)
{
    struct wr_list *pos, *tmp;

    wr_list_for_each_safe(pos, tmp, &ch->consumers)
    {
        wr_list_remove(pos);
        wr_free(WR_CONTAINER_OF(pos, struct wr_client_consumer, link));
    }
    warren_delivery_free(ch->got);
    wr_free(ch->asm_buf);
    wr_free(ch->conf_bits);
    wr_free(ch);
}

void
wr_client_channel_mark_closed(struct warren_channel *ch,
                              const struct warren_close *why)
{
    if (ch->state == WR_CH_CLOSED)
        return;
    ch->state = WR_CH_CLOSED;
    ch->close = *why;
    ch->asm_state = WR_ASM_IDLE;
    if (!ch->rpc.done) {
        ch->rpc.done = true;
        ch->rpc.err = why->error;
    }
}

/* Picks the lowest free channel number after the last one handed out
 * (so a number is not reused while stray frames for it may be in flight)
 * and makes sure chans[] has a slot for it. Returns 0 if none is free. */
static uint16_t
pick_id(struct warren_conn *c)
{
    uint32_t max = c->channel_max ? c->channel_max : 65535;

    for (uint32_t i = 0; i < max; i++) {
        uint32_t id = (c->last_id + i) % max + 1;

        if (id >= c->nchans || c->chans[id] == NULL)
            return (uint16_t)id;
    }
    return 0;
}

static int
ensure_slot(struct warren_conn *c, uint16_t id)
{
    size_t n = c->nchans ? c->nchans : 16;
    struct warren_channel **p;

    if (id < c->nchans)
        return WR_OK;
    while (n <= id)
        n *= 2;
    n = WR_MIN(n, (size_t)c->channel_max + 1);
    p = wr_realloc(c->chans, n * sizeof(*p));
    if (p == NULL)
        return WR_ERR_NOMEM;
    memset(p + c->nchans, 0, (n - c->nchans) * sizeof(*p));
    c->chans = p;
    c->nchans = n;
    return WR_OK;
}

static bool
rpc_ready(struct warren_conn *c, void *arg)
{
    struct warren_channel *ch = arg;

    (void)c;
    return ch->rpc.done;
}

int
wr_client_request(struct warren_channel *ch, const struct wr_method *m,
                  uint32_t expect, uint32_t expect2)
{
    struct warren_conn *c = ch->conn;
    int rc;

    if ((rc = wr_client_check_wait(c)) != WR_OK)
        return rc;
    if (ch->state == WR_CH_CLOSED || ch->state == WR_CH_CLOSING)
        return WARREN_ERR_CHANNEL_CLOSED;
    if ((rc = wr_client_send_method(c, ch->id, m)) != WR_OK)
        return rc;
    memset(&ch->rpc, 0, sizeof(ch->rpc));
    ch->rpc.expect[0] = expect;
    ch->rpc.expect[1] = expect2;
    rc = wr_client_wait(c, wr_client_deadline(c->rpc_ms), rpc_ready, ch);
    if (rc == WR_AGAIN)
        return wr_client_fail(c, WR_ERR_TIMEOUT, 0, m->id, false,
                              "no reply to %s on channel %u within %d ms",
                              wr_method_name(m->id), ch->id, c->rpc_ms);
    if (rc != WR_OK)
        return rc;
    if (ch->rpc.err != WR_OK)
        return ch->rpc.err;
    /* Acks made by callbacks while we waited go out now, without reading
     * (the reply's views point into the input buffer). */
    c->dispatching++;
    rc = wr_client_flush(c);
    c->dispatching--;
    return rc;
}

int
warren_channel_open(struct warren_conn *c, struct warren_channel **out)
{
    struct wr_method m = {.id = WR_CHANNEL_OPEN};
    struct warren_channel *ch;
    uint16_t id;
    int rc;

    *out = NULL;
    if ((rc = wr_client_check_wait(c)) != WR_OK)
        return rc;
    if ((id = pick_id(c)) == 0) {
        wr_client_log(c, WARREN_LOG_WARN, "all %u channels are in use",
                      c->channel_max);
        return WR_ERR_INVALID;
    }
    if (ensure_slot(c, id) != WR_OK || (ch = wr_calloc(1, sizeof(*ch))) == NULL)
        return WR_ERR_NOMEM;
    ch->conn = c;
    ch->id = id;
    ch->state = WR_CH_OPENING;
    ch->rpc.done = true;
    wr_list_init(&ch->consumers);
    c->chans[id] = ch;
    c->last_id = id;
    rc = wr_client_request(ch, &m, WR_CHANNEL_OPEN_OK, 0);
    if (rc != WR_OK) {
        c->chans[id] = NULL;
        wr_client_channel_free(ch);
        return rc;
    }
    ch->state = WR_CH_OPEN;
    *out = ch;
    return WR_OK;
}

int
warren_channel_close(struct warren_channel *ch)
{
    struct warren_conn *c = ch->conn;
    struct wr_list *pos, *tmp;
    int rc = WR_OK;

    if (c->in_callback > 0)
        return WR_ERR_INVALID;
    if (c->state == WR_CLIENT_OPEN && ch->state == WR_CH_OPEN) {
        struct wr_method m = {.id = WR_CHANNEL_CLOSE};

        m.u.channel_close.reply_code = WR_REPLY_SUCCESS;
        m.u.channel_close.reply_text = WR_BYTES_LIT("Goodbye");
        rc = wr_client_send_method(c, ch->id, &m);
        if (rc == WR_OK) {
            /* Section 2.3.5.2: from now on only close / close-ok count
             * (closing_frame); a crossing channel.close ends it too. */
            ch->state = WR_CH_CLOSING;
            memset(&ch->rpc, 0, sizeof(ch->rpc));
            ch->rpc.expect[0] = WR_CHANNEL_CLOSE_OK;
            rc =
                wr_client_wait(c, wr_client_deadline(c->rpc_ms), rpc_ready, ch);
            if (rc == WR_AGAIN)
                rc = wr_client_fail(c, WR_ERR_TIMEOUT, 0, WR_CHANNEL_CLOSE,
                                    false,
                                    "no channel.close-ok on channel %u "
                                    "within %d ms",
                                    ch->id, c->rpc_ms);
        }
    }
    wr_list_for_each_safe(pos, tmp, &c->pending)
    {
        struct wr_client_owned *o =
            WR_CONTAINER_OF(pos, struct wr_client_owned, link);

        if (o->d.channel == ch)
            wr_client_owned_free(o);
    }
    c->chans[ch->id] = NULL;
    wr_client_channel_free(ch);
    return rc;
}

uint16_t
warren_channel_id(const struct warren_channel *ch)
{
    return ch->id;
}

bool
warren_channel_is_open(const struct warren_channel *ch)
{
    return ch->state == WR_CH_OPEN && ch->conn->state == WR_CLIENT_OPEN;
}

const struct warren_close *
warren_channel_last_close(const struct warren_channel *ch)
{
    if (ch->state == WR_CH_CLOSED)
        return &ch->close;
    if (ch->conn->state == WR_CLIENT_DEAD && ch->conn->has_close)
        return &ch->conn->last_close;
    return NULL;
}

/* ---- frames from the broker ------------------------------------------ */

static int
on_channel_close(struct warren_channel *ch, const struct wr_method *m)
{
    const struct wr_channel_close *cl = &m->u.channel_close;
    struct warren_conn *c = ch->conn;
    struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};
    struct warren_close why;
    int rc;

    wr_client_close_set(&why, ch->id, cl->reply_code, cl->reply_text,
                        WR_METHOD_ID(cl->class_id, cl->method_id), true,
                        WARREN_ERR_CHANNEL_CLOSED);
    c->last_close = why;
    c->has_close = true;
    wr_client_log(c, WARREN_LOG_NOTICE, "broker closed channel %u: %u %s",
                  ch->id, why.reply_code, why.reply_text);
    /* Section 2.3.5.2: answer with close-ok; the number is then free. */
    rc = wr_client_send_method(c, ch->id, &ok);
    if (rc != WR_OK)
        return wr_client_fail(c, rc, 0, 0, false, "out of memory");
    wr_client_channel_mark_closed(ch, &why);
    if (c->cb.on_close != NULL) {
        c->in_callback++;
        c->cb.on_close(c, ch, &why, c->cb.arg);
        c->in_callback--;
    }
    return WR_OK;
}

/* basic.cancel from the broker (RabbitMQ consumer_cancel_notify). */
static int
on_broker_cancel(struct warren_channel *ch, const struct wr_basic_cancel *m)
{
    struct warren_conn *c = ch->conn;
    struct wr_client_consumer *k = wr_client_find_consumer(ch, m->consumer_tag);
    char tag[WARREN_TAG_MAX];

    snprintf(tag, sizeof(tag), "%.*s", (int)m->consumer_tag.len,
             (const char *)m->consumer_tag.ptr);
    if (!m->no_wait) {
        struct wr_method ok = {.id = WR_BASIC_CANCEL_OK};
        int rc;

        ok.u.basic_cancel_ok.consumer_tag = m->consumer_tag;
        if ((rc = wr_client_send_method(c, ch->id, &ok)) != WR_OK)
            return wr_client_fail(c, rc, 0, 0, false, "out of memory");
    }
    if (k == NULL)
        return WR_OK;
    wr_list_remove(&k->link);
    wr_free(k);
    wr_client_log(c, WARREN_LOG_NOTICE,
                  "broker cancelled consumer %s on channel %u", tag, ch->id);
    if (c->cb.on_cancel != NULL) {
        c->in_callback++;
        c->cb.on_cancel(ch, tag, c->cb.arg);
        c->in_callback--;
    }
    return WR_OK;
}

static int
decode(struct warren_channel *ch, const struct wr_frame *f, struct wr_method *m)
{
    int rc = wr_method_decode(f->payload, f->size, m);

    if (rc == WR_OK)
        return WR_OK;
    return wr_client_fail_protocol(
        ch->conn,
        rc == WR_ERR_UNKNOWN_METHOD ? WR_REPLY_NOT_IMPLEMENTED
                                    : WR_REPLY_SYNTAX_ERROR,
        0, "cannot decode a method on channel %u: %s", ch->id, wr_strerror(rc));
}

/* While we close: section 2.3.5.2 says drop all but close / close-ok. */
static int
closing_frame(struct warren_channel *ch, const struct wr_frame *f)
{
    struct wr_method m;
    int rc;

    if (f->type != WR_FRAME_METHOD)
        return WR_OK;
    if ((rc = decode(ch, f, &m)) != WR_OK)
        return rc;
    if (m.id == WR_CHANNEL_CLOSE) {
        struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};

        if ((rc = wr_client_send_method(ch->conn, ch->id, &ok)) != WR_OK)
            return wr_client_fail(ch->conn, rc, 0, 0, false, "out of memory");
        ch->rpc.done = true;
    } else if (m.id == WR_CHANNEL_CLOSE_OK) {
        ch->rpc.done = true;
    }
    return WR_OK;
}

int
wr_client_channel_frame(struct warren_channel *ch, const struct wr_frame *f)
{
    struct warren_conn *c = ch->conn;
    struct wr_method m;
    int rc;

    if (ch->state == WR_CH_CLOSED)
        return WR_OK;
    if (ch->state == WR_CH_CLOSING)
        return closing_frame(ch, f);
    /* Section 4.2.6: a content method is followed by exactly one header
     * frame and its body frames, nothing else on that channel. */
    if (ch->asm_state == WR_ASM_HEADER) {
        if (f->type != WR_FRAME_HEADER)
            return wr_client_fail_protocol(
                c, WR_REPLY_UNEXPECTED_FRAME, 0,
                "expected a content header on channel %u, got type %u", ch->id,
                f->type);
        return wr_client_content_header(ch, f);
    }
    if (ch->asm_state == WR_ASM_BODY) {
        if (f->type != WR_FRAME_BODY)
            return wr_client_fail_protocol(
                c, WR_REPLY_UNEXPECTED_FRAME, 0,
                "expected a content body on channel %u, got type %u", ch->id,
                f->type);
        return wr_client_content_body(ch, f);
    }
    if (f->type != WR_FRAME_METHOD)
        return wr_client_fail_protocol(c, WR_REPLY_UNEXPECTED_FRAME, 0,
                                       "content frame on channel %u "
                                       "without a content method",
                                       ch->id);
    if ((rc = decode(ch, f, &m)) != WR_OK)
        return rc;
    switch (m.id) {
    case WR_BASIC_DELIVER:
    case WR_BASIC_RETURN:
    case WR_BASIC_GET_OK:
        return wr_client_content_method(ch, f);
    case WR_CHANNEL_CLOSE:
        return on_channel_close(ch, &m);
    case WR_CHANNEL_FLOW: {
        struct wr_method ok = {.id = WR_CHANNEL_FLOW_OK};

        ok.u.channel_flow_ok.active = m.u.channel_flow.active;
        if ((rc = wr_client_send_method(c, ch->id, &ok)) != WR_OK)
            return wr_client_fail(c, rc, 0, 0, false, "out of memory");
        return WR_OK;
    }
    case WR_BASIC_ACK:
        wr_client_confirm(ch, m.u.basic_ack.delivery_tag,
                          m.u.basic_ack.multiple, true);
        return WR_OK;
    case WR_BASIC_NACK:
        wr_client_confirm(ch, m.u.basic_nack.delivery_tag,
                          m.u.basic_nack.multiple, false);
        return WR_OK;
    case WR_BASIC_CANCEL:
        return on_broker_cancel(ch, &m.u.basic_cancel);
    }
    if (!ch->rpc.done && (m.id == ch->rpc.expect[0] ||
                          (ch->rpc.expect[1] && m.id == ch->rpc.expect[1]))) {
        ch->rpc.reply = m;
        ch->rpc.done = true;
        return WR_OK;
    }
    if (wr_method_has_content(m.id) || WR_METHOD_CLASS(m.id) == 10)
        return wr_client_fail_protocol(c, WR_REPLY_COMMAND_INVALID, m.id,
                                       "unexpected %s on channel %u",
                                       wr_method_name(m.id), ch->id);
    /* A late reply (after a timeout elsewhere) or a method we don't use:
     * harmless to drop. */
    wr_client_log(c, WARREN_LOG_WARN, "unexpected %s on channel %u dropped",
                  wr_method_name(m.id), ch->id);
    return WR_OK;
}

/* ---- basic ----------------------------------------------------------- */

int
warren_qos(struct warren_channel *ch, uint16_t prefetch_count, int flags)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    if (!wr_client_flags_ok(flags, WARREN_GLOBAL))
        return WR_ERR_INVALID;
    m.u.basic_qos.prefetch_count = prefetch_count;
    m.u.basic_qos.global = flags & WARREN_GLOBAL;
    return wr_client_request(ch, &m, WR_BASIC_QOS_OK, 0);
}

int
warren_consume(struct warren_channel *ch, const char *queue, const char *tag,
               int flags, const struct warren_table *args,
               warren_delivery_cb cb, void *arg, char *tag_out)
{
    struct wr_method m = {.id = WR_BASIC_CONSUME};
    struct wr_basic_consume *bc = &m.u.basic_consume;
    struct wr_client_consumer *k;
    struct wr_bytes got;
    int rc;

    if (!wr_client_flags_ok(flags,
                            WARREN_NO_ACK | WARREN_EXCLUSIVE | WARREN_NO_LOCAL))
        return WR_ERR_INVALID;
    bc->queue = wr_client_name(queue);
    bc->consumer_tag = wr_client_name(tag);
    bc->no_ack = flags & WARREN_NO_ACK;
    bc->exclusive = flags & WARREN_EXCLUSIVE;
    bc->no_local = flags & WARREN_NO_LOCAL;
    bc->arguments = wr_client_table_view(args);
    if ((k = wr_calloc(1, sizeof(*k))) == NULL)
        return WR_ERR_NOMEM;
    rc = wr_client_request(ch, &m, WR_BASIC_CONSUME_OK, 0);
    if (rc != WR_OK) {
        wr_free(k);
        return rc;
    }
    got = ch->rpc.reply.u.basic_consume_ok.consumer_tag;
    snprintf(k->tag, sizeof(k->tag), "%.*s", (int)got.len,
             (const char *)got.ptr);
    k->cb = cb;
    k->arg = arg;
    wr_list_push_back(&ch->consumers, &k->link);
    if (tag_out != NULL)
        memcpy(tag_out, k->tag, strlen(k->tag) + 1);
    return WR_OK;
}

int
warren_cancel(struct warren_channel *ch, const char *tag)
{
    struct wr_method m = {.id = WR_BASIC_CANCEL};
    struct wr_client_consumer *k;
    int rc;

    if (tag == NULL)
        return WR_ERR_INVALID;
    if ((rc = wr_client_check_wait(ch->conn)) != WR_OK)
        return rc;
    if (wr_client_find_consumer(ch, wr_bytes_str(tag)) == NULL)
        return ch->state == WR_CH_OPEN ? WR_ERR_NOT_FOUND
                                       : WARREN_ERR_CHANNEL_CLOSED;
    m.u.basic_cancel.consumer_tag = wr_bytes_str(tag);
    rc = wr_client_request(ch, &m, WR_BASIC_CANCEL_OK, 0);
    /* The broker may have cancelled it meanwhile (on_broker_cancel). */
    if (rc == WR_OK &&
        (k = wr_client_find_consumer(ch, wr_bytes_str(tag))) != NULL) {
        wr_list_remove(&k->link);
        wr_free(k);
    }
    return rc;
}

int
warren_get(struct warren_channel *ch, const char *queue, int flags,
           struct warren_delivery **out)
{
    struct wr_method m = {.id = WR_BASIC_GET};
    int rc;

    *out = NULL;
    if (!wr_client_flags_ok(flags, WARREN_NO_ACK))
        return WR_ERR_INVALID;
    m.u.basic_get.queue = wr_client_name(queue);
    m.u.basic_get.no_ack = flags & WARREN_NO_ACK;
    /* get-ok completes in content.c once its body is in. */
    rc = wr_client_request(ch, &m, WR_BASIC_GET_OK, WR_BASIC_GET_EMPTY);
    if (rc == WR_OK) {
        *out = ch->got;
        ch->got = NULL;
    }
    return rc;
}

/* An asynchronous method: buffered, flushed now unless a frame is being
 * dispatched (the dispatching call flushes before it returns). */
static int
async_method(struct warren_channel *ch, const struct wr_method *m)
{
    struct warren_conn *c = ch->conn;
    int rc;

    if (c->state != WR_CLIENT_OPEN)
        return WARREN_ERR_CONNECTION_CLOSED;
    if (ch->state != WR_CH_OPEN)
        return WARREN_ERR_CHANNEL_CLOSED;
    if ((rc = wr_client_send_method(c, ch->id, m)) != WR_OK)
        return rc;
    if (c->dispatching == 0 || c->out_len - c->out_off >= WR_CLIENT_FLUSH_AT)
        return wr_client_flush(c);
    return WR_OK;
}

int
warren_ack(struct warren_channel *ch, uint64_t delivery_tag, int flags)
{
    struct wr_method m = {.id = WR_BASIC_ACK};

    if (!wr_client_flags_ok(flags, WARREN_MULTIPLE))
        return WR_ERR_INVALID;
    m.u.basic_ack.delivery_tag = delivery_tag;
    m.u.basic_ack.multiple = flags & WARREN_MULTIPLE;
    return async_method(ch, &m);
}

int
warren_nack(struct warren_channel *ch, uint64_t delivery_tag, int flags)
{
    struct wr_method m = {.id = WR_BASIC_NACK};

    if (!wr_client_flags_ok(flags, WARREN_MULTIPLE | WARREN_REQUEUE))
        return WR_ERR_INVALID;
    m.u.basic_nack.delivery_tag = delivery_tag;
    m.u.basic_nack.multiple = flags & WARREN_MULTIPLE;
    m.u.basic_nack.requeue = flags & WARREN_REQUEUE;
    return async_method(ch, &m);
}

int
warren_reject(struct warren_channel *ch, uint64_t delivery_tag, int flags)
{
    struct wr_method m = {.id = WR_BASIC_REJECT};

    if (!wr_client_flags_ok(flags, WARREN_REQUEUE))
        return WR_ERR_INVALID;
    m.u.basic_reject.delivery_tag = delivery_tag;
    m.u.basic_reject.requeue = flags & WARREN_REQUEUE;
    return async_method(ch, &m);
}

int
warren_recover(struct warren_channel *ch, int flags)
{
    struct wr_method m = {.id = WR_BASIC_RECOVER};

    if (!wr_client_flags_ok(flags, WARREN_REQUEUE))
        return WR_ERR_INVALID;
    m.u.basic_recover.requeue = flags & WARREN_REQUEUE;
    return wr_client_request(ch, &m, WR_BASIC_RECOVER_OK, 0);
}

/* ---- confirm and tx -------------------------------------------------- */

int
warren_confirm_select(struct warren_channel *ch)
{
    struct wr_method m = {.id = WR_CONFIRM_SELECT};
    int rc;

    if (ch->conf_bits == NULL) {
        ch->conf_nbits = 1024;
        ch->conf_bits = wr_calloc(ch->conf_nbits / 64, sizeof(uint64_t));
        if (ch->conf_bits == NULL)
            return WR_ERR_NOMEM;
    }
    rc = wr_client_request(ch, &m, WR_CONFIRM_SELECT_OK, 0);
    if (rc == WR_OK && !ch->confirming) {
        ch->confirming = true;
        ch->next_seq = ch->conf_low = 1;
    }
    return rc;
}

uint64_t
warren_next_seq(const struct warren_channel *ch)
{
    return ch->confirming ? ch->next_seq : 0;
}

static bool
confirms_ready(struct warren_conn *c, void *arg)
{
    struct warren_channel *ch = arg;

    (void)c;
    return ch->unconfirmed == 0 || ch->state != WR_CH_OPEN;
}

int
warren_wait_confirms(struct warren_channel *ch, int timeout_ms)
{
    struct warren_conn *c = ch->conn;
    int rc;

    if ((rc = wr_client_check_wait(c)) != WR_OK)
        return rc;
    if (ch->state != WR_CH_OPEN)
        return WARREN_ERR_CHANNEL_CLOSED;
    if (!ch->confirming)
        return WR_ERR_INVALID;
    rc = wr_client_wait(c, wr_client_deadline(timeout_ms), confirms_ready, ch);
    if (rc != WR_OK)
        return rc;
    if (ch->state != WR_CH_OPEN)
        return WARREN_ERR_CHANNEL_CLOSED;
    if ((rc = wr_client_flush(c)) != WR_OK)
        return rc;
    if (ch->nacked) {
        ch->nacked = false;
        return WARREN_ERR_NACKED;
    }
    return WR_OK;
}

static int
tx(struct warren_channel *ch, uint32_t id, uint32_t ok)
{
    struct wr_method m = {.id = id};

    return wr_client_request(ch, &m, ok, 0);
}

int
warren_tx_select(struct warren_channel *ch)
{
    return tx(ch, WR_TX_SELECT, WR_TX_SELECT_OK);
}

int
warren_tx_commit(struct warren_channel *ch)
{
    return tx(ch, WR_TX_COMMIT, WR_TX_COMMIT_OK);
}

int
warren_tx_rollback(struct warren_channel *ch)
{
    return tx(ch, WR_TX_ROLLBACK, WR_TX_ROLLBACK_OK);
}
