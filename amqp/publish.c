/* SPDX-License-Identifier: MIT */
/* The publish path, top to bottom (docs/internals/PATH.md):
 *   1. basic.publish: permissions, the exchange, then wait for the content;
 *   2. the content header: the message is allocated once, whole, and its
 *      properties checked (expiration, CC / BCC, user-id) and rewritten
 *      (BCC taken out, a direct reply-to address made unique);
 *   3. body frames are appended until the declared size is reached;
 *   4. the complete message is kept for tx.commit, or routed now;
 *   5. routed through the vhost into its queues (vhost/route.c), then
 *      basic.return when unroutable and mandatory, and the publisher
 *      confirm (basic.ack, or basic.nack when a queue refused it). */
#include "amqp_internal.h"

#include <string.h>

static void content_complete(struct wr_chan *ch);

void
wr_chan_basic_publish(struct wr_chan *ch, const struct wr_basic_publish *a)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_exchange *x;

    /* RabbitMQ access control: write on the exchange (and topic write on
     * the routing key below). Under the memory alarm this connection is
     * blocked too. */
    wr_flow_on_publish(ch->conn);
    if (!wr_access_publish(ch, a->exchange))
        return;
    x = wr_vhost_exchange(vh, a->exchange);
    if (x == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, WR_BASIC_PUBLISH,
                      "no exchange '%.*s' in vhost '%s'", (int)a->exchange.len,
                      a->exchange.ptr, vh->name);
        return;
    }
    if (x->internal) {
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_BASIC_PUBLISH,
                      "cannot publish to internal exchange '%s' in vhost "
                      "'%s'",
                      x->name, vh->name);
        return;
    }
    if (!wr_access_topic(ch, x, WR_PERM_WRITE, a->routing_key,
                         WR_BASIC_PUBLISH))
        return;
    if (a->immediate) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_PUBLISH,
                      "immediate=true");
        return;
    }
    wr_chan_content_start(ch, a->exchange, a->routing_key, a->mandatory);
}

void
wr_chan_content_start(struct wr_chan *ch, struct wr_bytes exchange,
                      struct wr_bytes rkey, bool mandatory)
{
    /* Kept until the header says how big the body is; then the message is
     * allocated once, whole. Short strings: at most 255 bytes each. */
    memcpy(ch->pending_names, exchange.ptr, exchange.len);
    memcpy(ch->pending_names + exchange.len, rkey.ptr, rkey.len);
    ch->pending_xlen = (uint8_t)exchange.len;
    ch->pending_klen = (uint8_t)rkey.len;
    ch->pending_mandatory = mandatory;
    ch->cstate = WR_CONTENT_HEADER;
}

/* CC and BCC must be arrays (RabbitMQ: "invalid message:
 * {unacceptable_type_in_header,...}"). */
static bool
routes_header_ok(struct wr_chan *ch, struct wr_table headers, const char *key,
                 struct wr_value *v, bool *found)
{
    *found = wr_table_get(headers, key, v) == WR_OK;
    if (!*found || v->type == WR_FT_ARRAY)
        return true;
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                  "invalid message: {unacceptable_type_in_header,\"%s\",%s}",
                  key, wr_field_type_name(v->type));
    return false;
}

struct wr_msg *
wr_chan_publish_message(struct wr_chan *ch, struct wr_bytes exchange,
                        struct wr_bytes rkey, const struct wr_content_header *h)
{
    static const char *const skip_bcc[] = {"BCC", NULL};
    struct wr_props p = h->props;
    struct wr_msg_spec sp = {.exchange = exchange,
                             .rkey = rkey,
                             .props = h->raw_props,
                             .props_len = h->raw_props_len,
                             .body_size = h->body_size,
                             /* a peer may announce more than it sends */
                             .body_grows = true};
    struct wr_value cc, bcc;
    bool has_cc = false, has_bcc = false, rewrite = false;
    uint8_t *hbuf = NULL, *pbuf = NULL;
    struct wr_msg *m = NULL;
    char why[128];
    int64_t ttl;

    if ((p.flags & WR_PROP_EXPIRATION) &&
        wr_expiration_parse(p.expiration, &ttl, why, sizeof(why)) != WR_OK) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                      "invalid expiration '%.*s': %s", (int)p.expiration.len,
                      p.expiration.ptr, why);
        return NULL;
    }
    if (p.flags & WR_PROP_HEADERS) {
        if (!routes_header_ok(ch, p.headers, "CC", &cc, &has_cc) ||
            !routes_header_ok(ch, p.headers, "BCC", &bcc, &has_bcc))
            return NULL;
    }
    if ((p.flags & WR_PROP_REPLY_TO) && wr_reply_to_is_pseudo(p.reply_to)) {
        if (ch->reply_tag == NULL) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                          "fast reply consumer does not exist");
            return NULL;
        }
        p.reply_to = wr_bytes_str(ch->reply_key);
        rewrite = true;
    }
    if (has_bcc) {
        /* Receivers must not see who else got it: keep the keys for
         * routing only (wr_msg_bcc). */
        struct wr_tb b;
        size_t cap = p.headers.len + 8;
        hbuf = wr_malloc(cap);
        wr_tb_init(&b, hbuf, cap);
        wr_headers_copy(&b, p.headers, skip_bcc);
        wr_tb_end(&b);
        wr_assert(b.err == WR_OK); /* smaller than what it came from */
        p.headers = wr_tb_table(&b);
        sp.bcc = (struct wr_bytes){bcc.v.array.ptr, bcc.v.array.len};
        rewrite = true;
    }
    if (rewrite) {
        size_t cap = h->raw_props_len + 256, len;
        pbuf = wr_malloc(cap);
        if (wr_props_encode(&p, pbuf, cap, &len) != WR_OK) {
            /* cannot happen: the list shrank or grew by < 64 bytes */
            wr_conn_error(ch->conn, WR_REPLY_INTERNAL_ERROR, WR_BASIC_PUBLISH,
                          "cannot encode properties");
            goto done;
        }
        sp.props = pbuf;
        sp.props_len = (uint32_t)len;
    }
    /* p is what the stored bytes say (a rewrite changes neither priority,
     * delivery mode nor expiration): the header is decoded once. */
    sp.decoded = &p;
    m = wr_msg_build(&sp);
    if (m == NULL)
        wr_conn_error(ch->conn, WR_REPLY_SYNTAX_ERROR, WR_BASIC_PUBLISH,
                      "malformed basic properties");
done:
    wr_free(hbuf);
    wr_free(pbuf);
    return m;
}

void
wr_chan_content_header(struct wr_chan *ch, const struct wr_frame *f)
{
    struct wr_content_header h;
    int rc = wr_content_header_decode(f->payload, f->size, &h);
    uint64_t max = ch->conn->srv->cfg.max_message_size;

    if (rc != WR_OK) {
        wr_conn_error(ch->conn, WR_REPLY_SYNTAX_ERROR, WR_BASIC_PUBLISH,
                      "malformed content header: %s", wr_strerror(rc));
        return;
    }
    if (h.class_id != 60) {
        wr_conn_error(ch->conn, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH,
                      "content header for class %u, expected 60", h.class_id);
        return;
    }
    if (h.body_size > max) {
        ch->cstate = WR_CONTENT_IDLE;
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                      "message size %llu is larger than configured max "
                      "size %llu",
                      (unsigned long long)h.body_size, (unsigned long long)max);
        return;
    }
    struct wr_bytes x = {ch->pending_names, ch->pending_xlen};
    struct wr_bytes k = {ch->pending_names + ch->pending_xlen,
                         ch->pending_klen};
    struct wr_msg *m;
    /* A channel or connection error while checking the properties ends
     * this publish. */
    ch->cstate = WR_CONTENT_IDLE;
    m = wr_chan_publish_message(ch, x, k, &h);
    if (m == NULL)
        return;
    ch->pending = m;
    ch->pending_received = 0;
    ch->cstate = WR_CONTENT_BODY;
    /* RabbitMQ validates user-id against the authenticated user. */
    if ((h.props.flags & WR_PROP_USER_ID) &&
        !wr_bytes_eq_str(h.props.user_id, ch->conn->user)) {
        wr_msg_unref(&ch->pending);
        ch->cstate = WR_CONTENT_IDLE;
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_PUBLISH,
                      "user_id property set to '%.*s' but authenticated "
                      "user was '%s'",
                      (int)h.props.user_id.len, h.props.user_id.ptr,
                      ch->conn->user);
        return;
    }
    if (h.body_size == 0)
        content_complete(ch);
}

void
wr_chan_content_body(struct wr_chan *ch, const struct wr_frame *f)
{
    struct wr_msg *m = ch->pending;
    int rc;

    if (f->size > m->body_size - ch->pending_received) {
        wr_conn_error(ch->conn, WR_REPLY_FRAME_ERROR, WR_BASIC_PUBLISH,
                      "content body larger than the %llu bytes declared",
                      (unsigned long long)m->body_size);
        return;
    }
    /* The size is checked above and out of memory aborts the broker. */
    rc = wr_msg_body_append(&ch->pending, &ch->pending_received, f->payload,
                            f->size);
    wr_assert(rc == WR_OK);
    if (ch->pending_received == ch->pending->body_size)
        content_complete(ch);
}

static void
content_complete(struct wr_chan *ch)
{
    struct wr_msg *m = ch->pending;

    ch->pending = NULL;
    ch->cstate = WR_CONTENT_IDLE;
    wr_chan_publish_complete(ch, m, ch->pending_mandatory);
}

void
wr_chan_publish_complete(struct wr_chan *ch, struct wr_msg *m, bool mandatory)
{
    if (ch->tx)
        wr_chan_tx_publish(ch, m,
                           mandatory); /* chan_tx.c: kept for tx.commit */
    else
        wr_chan_route_publish(ch, m, mandatory);
}

static void
basic_return(struct wr_chan *ch, struct wr_msg *m, uint16_t code,
             const char *text)
{
    struct wr_method r = {.id = WR_BASIC_RETURN};

    r.u.basic_return.reply_code = code;
    r.u.basic_return.reply_text = wr_bytes_str(text);
    r.u.basic_return.exchange = wr_msg_exchange(m);
    r.u.basic_return.routing_key = wr_msg_rkey(m);
    wr_chan_send_content(ch, &r, m);
}

void
wr_chan_route_publish(struct wr_chan *ch, struct wr_msg *m, bool mandatory)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_exchange *x = wr_vhost_exchange(vh, wr_msg_exchange(m));
    bool routed, rejected, stored;

    if (x == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, WR_BASIC_PUBLISH,
                      "no exchange '%.*s' in vhost '%s'", m->exchange_len,
                      (const char *)m->data, vh->name);
        wr_msg_unref(&m);
        return;
    }
    wr_vhost_publish(vh, x, m, mandatory, &ch->route, &routed, &rejected);
    wr_credit_after_publish(ch->conn, &ch->route);
    ch->n_published++;
    stored = wr_chan_needs_store(ch, m);
    /* The store failed (runtime/persist.c): a persistent message for a
     * durable queue cannot be made durable; its publisher hears so. */
    if (stored && ch->conn->srv->store_failed)
        rejected = true;
    if (stored && ch->tx)
        ch->tx_stored = true;
    if (!routed && mandatory)
        basic_return(ch, m, WR_REPLY_NO_ROUTE, "NO_ROUTE");
    if (ch->confirm && rejected) {
        /* A queue refused it (x-overflow reject-publish): basic.nack for
         * this one, after the acks owed for those before it. Nothing
         * before it is unconfirmed then, and RabbitMQ marks such a nack
         * multiple (rabbit_channel:coalesce_and_send): a Java
         * ConfirmListener sees handleNack(tag, true) from both. */
        struct wr_method n = {.id = WR_BASIC_NACK};
        if (ch->sw_n > 0) { /* behind publishes that wait for the disk */
            wr_chan_store_nack(ch, ++ch->publish_seq);
            wr_msg_unref(&m);
            return;
        }
        wr_chan_flush_confirms(ch);
        ch->confirmed_upto = ++ch->publish_seq;
        n.u.basic_nack.delivery_tag = ch->publish_seq;
        n.u.basic_nack.multiple = true;
        wr_conn_send_method(ch->conn, ch->id, &n);
    } else if (ch->confirm) {
        /* Transient queues hold the message now: confirm it (batched per
         * read pass, see conn.c). */
        ch->publish_seq++;
        ch->conn->vh->stats.confirmed++;
        ch->n_confirmed++;
        if (stored)
            wr_chan_store_wait(ch, ch->publish_seq);
        if (wr_list_empty(&ch->confirm_link))
            wr_list_push_back(&ch->conn->confirm_chans, &ch->confirm_link);
    }
    wr_msg_unref(&m);
}
