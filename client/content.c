/* SPDX-License-Identifier: MIT */
/* Messages: publishing (method, header and body frames straight into the
 * output buffer), assembling deliveries from content frames, owned copies,
 * and publisher-confirm bookkeeping. AMQP 0-9-1 section 4.2.6. */
#include "client_internal.h"

#include <string.h>

_Static_assert((int)WARREN_PROP_CONTENT_TYPE == (int)WR_PROP_CONTENT_TYPE &&
                   (int)WARREN_PROP_HEADERS == (int)WR_PROP_HEADERS &&
                   (int)WARREN_PROP_CLUSTER_ID == (int)WR_PROP_CLUSTER_ID,
               "property flags are AMQP's bits");

#define PROP_FLAGS_ALL 0xFFFC /* the 14 defined property bits */

/* ---- properties ------------------------------------------------------ */

static struct warren_bytes
pub(struct wr_bytes b)
{
    return (struct warren_bytes){b.ptr, b.len};
}

static void
props_from_wr(struct warren_props *o, const struct wr_props *p)
{
    uint16_t f = p->flags;

    memset(o, 0, sizeof(*o));
    o->flags = f;
#define VIEW(flag, field)                                                      \
    if (f & (flag))                                                            \
    o->field = pub(p->field)
    VIEW(WR_PROP_CONTENT_TYPE, content_type);
    VIEW(WR_PROP_CONTENT_ENCODING, content_encoding);
    VIEW(WR_PROP_CORRELATION_ID, correlation_id);
    VIEW(WR_PROP_REPLY_TO, reply_to);
    VIEW(WR_PROP_EXPIRATION, expiration);
    VIEW(WR_PROP_MESSAGE_ID, message_id);
    VIEW(WR_PROP_TYPE, type);
    VIEW(WR_PROP_USER_ID, user_id);
    VIEW(WR_PROP_APP_ID, app_id);
    VIEW(WR_PROP_CLUSTER_ID, cluster_id);
#undef VIEW
    if (f & WR_PROP_HEADERS)
        o->headers = (struct warren_bytes){p->headers.ptr, p->headers.len};
    if (f & WR_PROP_DELIVERY_MODE)
        o->delivery_mode = p->delivery_mode;
    if (f & WR_PROP_PRIORITY)
        o->priority = p->priority;
    if (f & WR_PROP_TIMESTAMP)
        o->timestamp = p->timestamp;
}

/* A view of b for the codec; false if it is too long for any field. */
static bool
view(struct warren_bytes b, struct wr_bytes *out)
{
    if (b.len > UINT32_MAX || (b.len > 0 && b.ptr == NULL))
        return false;
    *out = (struct wr_bytes){b.ptr, (uint32_t)b.len};
    return true;
}

/* Checks and converts the application's properties. Short strings over
 * 255 bytes are caught by the encoder. */
static int
props_to_wr(const struct warren_props *p, struct wr_props *o)
{
    bool ok = true;

    memset(o, 0, sizeof(*o));
    if (p == NULL)
        return WR_OK;
    if (p->flags & ~(uint32_t)PROP_FLAGS_ALL)
        return WR_ERR_INVALID;
    o->flags = (uint16_t)p->flags;
    ok &= view(p->content_type, &o->content_type);
    ok &= view(p->content_encoding, &o->content_encoding);
    ok &= view(p->correlation_id, &o->correlation_id);
    ok &= view(p->reply_to, &o->reply_to);
    ok &= view(p->expiration, &o->expiration);
    ok &= view(p->message_id, &o->message_id);
    ok &= view(p->type, &o->type);
    ok &= view(p->user_id, &o->user_id);
    ok &= view(p->app_id, &o->app_id);
    ok &= view(p->cluster_id, &o->cluster_id);
    if (o->flags & WR_PROP_HEADERS) {
        struct wr_bytes h = {NULL, 0};

        ok &= view(p->headers, &h);
        if (ok && wr_table_validate(h.ptr, h.len, WR_TABLE_MAX_DEPTH) != WR_OK)
            ok = false;
        o->headers = (struct wr_table){h.ptr, h.len};
    }
    o->delivery_mode = p->delivery_mode;
    o->priority = p->priority;
    o->timestamp = p->timestamp;
    return ok ? WR_OK : WR_ERR_INVALID;
}

/* ---- owned deliveries ------------------------------------------------ */

static size_t
views_size(const struct warren_delivery *d)
{
    const struct warren_props *p = &d->props;

    return d->consumer_tag.len + d->exchange.len + d->routing_key.len +
           d->reply_text.len + p->content_type.len + p->content_encoding.len +
           p->headers.len + p->correlation_id.len + p->reply_to.len +
           p->expiration.len + p->message_id.len + p->type.len +
           p->user_id.len + p->app_id.len + p->cluster_id.len + d->body.len;
}

/* Copies b's bytes to *at and points b there. */
static void
adopt(uint8_t **at, struct warren_bytes *b)
{
    if (b->ptr == NULL)
        return;
    if (b->len)
        memcpy(*at, b->ptr, b->len);
    b->ptr = *at;
    *at += b->len;
}

int
warren_delivery_copy(const struct warren_delivery *d,
                     struct warren_delivery **out)
{
    size_t n = views_size(d);
    struct wr_client_owned *o;
    struct warren_props *p;
    uint8_t *at;

    *out = NULL;
    if (n > SIZE_MAX - sizeof(*o) || (o = wr_malloc(sizeof(*o) + n)) == NULL)
        return WR_ERR_NOMEM;
    o->magic = WR_CLIENT_OWNED_MAGIC;
    wr_list_init(&o->link);
    o->d = *d;
    p = &o->d.props;
    at = o->data;
    adopt(&at, &o->d.consumer_tag);
    adopt(&at, &o->d.exchange);
    adopt(&at, &o->d.routing_key);
    adopt(&at, &o->d.reply_text);
    adopt(&at, &p->content_type);
    adopt(&at, &p->content_encoding);
    adopt(&at, &p->headers);
    adopt(&at, &p->correlation_id);
    adopt(&at, &p->reply_to);
    adopt(&at, &p->expiration);
    adopt(&at, &p->message_id);
    adopt(&at, &p->type);
    adopt(&at, &p->user_id);
    adopt(&at, &p->app_id);
    adopt(&at, &p->cluster_id);
    adopt(&at, &o->d.body);
    *out = &o->d;
    return WR_OK;
}

void
wr_client_owned_free(struct wr_client_owned *o)
{
    wr_assert(o->magic == WR_CLIENT_OWNED_MAGIC);
    o->magic = 0;
    wr_list_remove(&o->link);
    wr_free(o);
}

void
warren_delivery_free(struct warren_delivery *d)
{
    if (d != NULL)
        wr_client_owned_free(WR_CONTAINER_OF(d, struct wr_client_owned, d));
}

/* ---- assembling content ---------------------------------------------- */

static int
asm_reserve(struct warren_channel *ch, size_t n)
{
    uint8_t *p;

    if (n <= ch->asm_cap)
        return WR_OK;
    n = WR_MAX(n, (size_t)1024);
    if ((p = wr_realloc(ch->asm_buf, n)) == NULL)
        return WR_ERR_NOMEM;
    ch->asm_buf = p;
    ch->asm_cap = n;
    return WR_OK;
}

int
wr_client_content_method(struct warren_channel *ch, const struct wr_frame *f)
{
    if (asm_reserve(ch, f->size) != WR_OK)
        return wr_client_fail(ch->conn, WR_ERR_NOMEM, 0, 0, false,
                              "out of memory for a delivery");
    memcpy(ch->asm_buf, f->payload, f->size);
    ch->asm_mlen = f->size;
    ch->asm_state = WR_ASM_HEADER;
    return WR_OK;
}

static void
run_cb(struct warren_conn *c, warren_delivery_cb cb,
       const struct warren_delivery *d, void *arg)
{
    c->in_callback++;
    cb(d, arg);
    c->in_callback--;
}

/* The whole message is in: method and header in asm_buf, body at body. */
static int
content_done(struct warren_channel *ch, const uint8_t *body)
{
    struct warren_conn *c = ch->conn;
    struct warren_delivery d;
    struct wr_content_header h;
    struct wr_method m;
    struct wr_client_consumer *k;

    ch->asm_state = WR_ASM_IDLE;
    /* Both decoded fine when they arrived; decode again from the copies
     * because the first views pointed into the input buffer. */
    if (wr_method_decode(ch->asm_buf, ch->asm_mlen, &m) != WR_OK ||
        wr_content_header_decode(ch->asm_buf + ch->asm_mlen, ch->asm_hlen,
                                 &h) != WR_OK)
        return wr_client_fail(c, WARREN_ERR_PROTOCOL, 0, 0, false,
                              "internal: content no longer decodes");
    memset(&d, 0, sizeof(d));
    d.channel = ch;
    props_from_wr(&d.props, &h.props);
    d.body = (struct warren_bytes){body, (size_t)ch->body_size};
    switch (m.id) {
    case WR_BASIC_DELIVER:
        d.kind = WARREN_DELIVER;
        d.delivery_tag = m.u.basic_deliver.delivery_tag;
        d.redelivered = m.u.basic_deliver.redelivered;
        d.consumer_tag = pub(m.u.basic_deliver.consumer_tag);
        d.exchange = pub(m.u.basic_deliver.exchange);
        d.routing_key = pub(m.u.basic_deliver.routing_key);
        k = wr_client_find_consumer(ch, m.u.basic_deliver.consumer_tag);
        if (k == NULL) {
            wr_client_log(c, WARREN_LOG_INFO,
                          "delivery for unknown consumer '%.*s' on channel "
                          "%u dropped",
                          (int)d.consumer_tag.len,
                          (const char *)d.consumer_tag.ptr, ch->id);
        } else if (k->cb != NULL) {
            run_cb(c, k->cb, &d, k->arg);
        } else {
            struct warren_delivery *own;

            if (warren_delivery_copy(&d, &own) != WR_OK) {
                c->pending_err = WR_ERR_NOMEM;
                wr_client_log(c, WARREN_LOG_ERROR,
                              "out of memory: delivery %llu dropped",
                              (unsigned long long)d.delivery_tag);
            } else {
                wr_list_push_back(
                    &c->pending,
                    &WR_CONTAINER_OF(own, struct wr_client_owned, d)->link);
            }
        }
        break;
    case WR_BASIC_RETURN:
        d.kind = WARREN_RETURN;
        d.reply_code = m.u.basic_return.reply_code;
        d.reply_text = pub(m.u.basic_return.reply_text);
        d.exchange = pub(m.u.basic_return.exchange);
        d.routing_key = pub(m.u.basic_return.routing_key);
        if (c->cb.on_return != NULL)
            run_cb(c, c->cb.on_return, &d, c->cb.arg);
        else
            wr_client_log(c, WARREN_LOG_INFO,
                          "message returned (%u %.*s), no on_return set",
                          d.reply_code, (int)d.reply_text.len,
                          (const char *)d.reply_text.ptr);
        break;
    case WR_BASIC_GET_OK:
        d.kind = WARREN_GET;
        d.delivery_tag = m.u.basic_get_ok.delivery_tag;
        d.redelivered = m.u.basic_get_ok.redelivered;
        d.exchange = pub(m.u.basic_get_ok.exchange);
        d.routing_key = pub(m.u.basic_get_ok.routing_key);
        d.message_count = m.u.basic_get_ok.message_count;
        if (ch->rpc.done || ch->rpc.expect[0] != WR_BASIC_GET_OK)
            return wr_client_fail_protocol(c, WR_REPLY_COMMAND_INVALID, m.id,
                                           "basic.get-ok without basic.get");
        warren_delivery_free(ch->got);
        ch->got = NULL;
        ch->rpc.err = warren_delivery_copy(&d, &ch->got);
        ch->rpc.done = true;
        break;
    }
    return c->state == WR_CLIENT_DEAD ? c->dead_rc : WR_OK;
}

int
wr_client_content_header(struct warren_channel *ch, const struct wr_frame *f)
{
    struct warren_conn *c = ch->conn;
    struct wr_content_header h;
    int rc;

    if (asm_reserve(ch, (size_t)ch->asm_mlen + f->size) != WR_OK)
        return wr_client_fail(c, WR_ERR_NOMEM, 0, 0, false,
                              "out of memory for a delivery");
    memcpy(ch->asm_buf + ch->asm_mlen, f->payload, f->size);
    ch->asm_hlen = f->size;
    rc = wr_content_header_decode(ch->asm_buf + ch->asm_mlen, f->size, &h);
    if (rc != WR_OK)
        return wr_client_fail_protocol(c, WR_REPLY_SYNTAX_ERROR, 0,
                                       "bad content header on channel %u: "
                                       "%s",
                                       ch->id, wr_strerror(rc));
    if (h.class_id != 60)
        return wr_client_fail_protocol(c, WR_REPLY_FRAME_ERROR, 0,
                                       "content header of class %u on "
                                       "channel %u",
                                       h.class_id, ch->id);
    if (h.body_size > WR_CLIENT_MAX_BODY)
        return wr_client_fail_protocol(c, WR_REPLY_FRAME_ERROR, 0,
                                       "message body of %llu bytes is over "
                                       "the client's limit",
                                       (unsigned long long)h.body_size);
    ch->body_size = h.body_size;
    ch->body_got = 0;
    if (h.body_size == 0)
        return content_done(ch, (const uint8_t *)"");
    ch->asm_state = WR_ASM_BODY;
    return WR_OK;
}

int
wr_client_content_body(struct warren_channel *ch, const struct wr_frame *f)
{
    size_t at = (size_t)ch->asm_mlen + ch->asm_hlen;

    if (f->size > ch->body_size - ch->body_got)
        return wr_client_fail_protocol(ch->conn, WR_REPLY_FRAME_ERROR, 0,
                                       "content body larger than the %llu "
                                       "bytes declared",
                                       (unsigned long long)ch->body_size);
    /* The common case: the whole body in one frame, handed over in place
     * (the input buffer does not move while frames are dispatched). */
    if (ch->body_got == 0 && f->size == ch->body_size)
        return content_done(ch, f->payload);
    if (asm_reserve(ch, at + (size_t)ch->body_size) != WR_OK)
        return wr_client_fail(ch->conn, WR_ERR_NOMEM, 0, 0, false,
                              "out of memory for a %llu-byte message",
                              (unsigned long long)ch->body_size);
    memcpy(ch->asm_buf + at + ch->body_got, f->payload, f->size);
    ch->body_got += f->size;
    if (ch->body_got == ch->body_size)
        return content_done(ch, ch->asm_buf + at);
    return WR_OK;
}

/* ---- publisher confirms ---------------------------------------------- */

static bool
bit_get(const struct warren_channel *ch, uint64_t seq)
{
    uint64_t i = seq & (ch->conf_nbits - 1);

    return (ch->conf_bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_put(struct warren_channel *ch, uint64_t seq, bool on)
{
    uint64_t i = seq & (ch->conf_nbits - 1);
    uint64_t mask = (uint64_t)1 << (i % 64);

    if (on)
        ch->conf_bits[i / 64] |= mask;
    else
        ch->conf_bits[i / 64] &= ~mask;
}

/* Doubles the ring when the window of outstanding seqs fills it. */
static int
conf_room(struct warren_channel *ch)
{
    struct warren_channel tmp = *ch;

    if (ch->next_seq - ch->conf_low < ch->conf_nbits)
        return WR_OK;
    tmp.conf_nbits = ch->conf_nbits * 2;
    tmp.conf_bits = wr_calloc(tmp.conf_nbits / 64, sizeof(uint64_t));
    if (tmp.conf_bits == NULL)
        return WR_ERR_NOMEM;
    for (uint64_t s = ch->conf_low; s < ch->next_seq; s++)
        if (bit_get(ch, s))
            bit_put(&tmp, s, true);
    wr_free(ch->conf_bits);
    ch->conf_bits = tmp.conf_bits;
    ch->conf_nbits = tmp.conf_nbits;
    return WR_OK;
}

void
wr_client_confirm(struct warren_channel *ch, uint64_t tag, bool multiple,
                  bool ack)
{
    struct warren_conn *c = ch->conn;

    if (!ch->confirming || tag >= ch->next_seq || (tag == 0 && !multiple)) {
        wr_client_log(c, WARREN_LOG_WARN,
                      "basic.%s %llu on channel %u matches no publish",
                      ack ? "ack" : "nack", (unsigned long long)tag, ch->id);
        return;
    }
    if (!ack)
        ch->nacked = true;
    if (multiple) {
        for (; ch->conf_low <= tag; ch->conf_low++) {
            if (bit_get(ch, ch->conf_low))
                bit_put(ch, ch->conf_low, false);
            else
                ch->unconfirmed--;
        }
    } else if (tag >= ch->conf_low && !bit_get(ch, tag)) {
        bit_put(ch, tag, true);
        ch->unconfirmed--;
    }
    while (ch->conf_low < ch->next_seq && bit_get(ch, ch->conf_low)) {
        bit_put(ch, ch->conf_low, false);
        ch->conf_low++;
    }
    if (c->cb.on_confirm != NULL) {
        c->in_callback++;
        c->cb.on_confirm(ch, tag, multiple, ack, c->cb.arg);
        c->in_callback--;
    }
}

/* ---- publishing ------------------------------------------------------ */

/* Appends the content header frame; WR_OK, WR_ERR_INVALID or NOMEM. */
static int
put_header(struct warren_conn *c, uint16_t channel, const struct wr_props *p,
           size_t body_len)
{
    size_t want = 256, n = 0;
    int rc;

    for (;;) {
        rc = wr_client_out_reserve(c, want);
        if (rc != WR_OK)
            return rc;
        rc = wr_content_header_encode(
            60, body_len, p, c->out + c->out_len + WR_FRAME_HEADER_SIZE,
            c->out_cap - c->out_len - WR_FRAME_OVERHEAD, &n);
        if (rc != WR_ERR_NOSPACE)
            break;
        want = want * 2 + p->headers.len;
    }
    if (rc != WR_OK)
        return WR_ERR_INVALID; /* a short string over 255 bytes */
    if (n > c->frame_max - WR_FRAME_OVERHEAD) {
        wr_client_log(c, WARREN_LOG_WARN,
                      "properties of %zu bytes do not fit in a frame", n);
        return WR_ERR_INVALID;
    }
    wr_frame_header_encode(c->out + c->out_len, WR_FRAME_HEADER, channel,
                           (uint32_t)n);
    c->out[c->out_len + WR_FRAME_HEADER_SIZE + n] = WR_FRAME_END;
    c->out_len += n + WR_FRAME_OVERHEAD;
    return WR_OK;
}

int
warren_publish(struct warren_channel *ch, const char *exchange,
               const char *routing_key, int flags,
               const struct warren_props *props, const void *body, size_t len)
{
    struct warren_conn *c = ch->conn;
    struct wr_method m = {.id = WR_BASIC_PUBLISH};
    struct wr_props p;
    size_t mark, chunk, off;
    int rc;

    if ((flags & ~(WARREN_MANDATORY | WARREN_MORE)) != 0 ||
        (len > 0 && body == NULL))
        return WR_ERR_INVALID;
    if (c->state != WR_CLIENT_OPEN)
        return WARREN_ERR_CONNECTION_CLOSED;
    if (ch->state != WR_CH_OPEN)
        return WARREN_ERR_CHANNEL_CLOSED;
    if ((rc = props_to_wr(props, &p)) != WR_OK)
        return rc;
    if (ch->confirming && (rc = conf_room(ch)) != WR_OK)
        return rc;
    m.u.basic_publish.exchange = wr_bytes_str(exchange ? exchange : "");
    m.u.basic_publish.routing_key =
        wr_bytes_str(routing_key ? routing_key : "");
    m.u.basic_publish.mandatory = flags & WARREN_MANDATORY;
    /* Pending bytes before this message: a failure before any flush
     * rolls back to them (reserving may move them, not change them). */
    mark = c->out_len - c->out_off;
    rc = wr_client_send_method(c, ch->id, &m);
    if (rc == WR_OK)
        rc = put_header(c, ch->id, &p, len);
    if (rc != WR_OK) {
        c->out_len = c->out_off + mark;
        return rc;
    }
    /* Body frames of at most frame-max (section 4.2.6.2). A big body goes
     * out in pieces rather than growing the buffer to its size. */
    chunk = c->frame_max - WR_FRAME_OVERHEAD;
    for (off = 0; off < len; off += chunk) {
        size_t n = WR_MIN(chunk, len - off);

        if (c->out_len - c->out_off >= WR_CLIENT_FLUSH_AT &&
            (rc = wr_client_flush(c)) != WR_OK)
            return rc;
        if ((rc = wr_client_out_reserve(c, n + WR_FRAME_OVERHEAD)) != WR_OK)
            /* Frames of this message may be on the wire already: the
             * stream can't be repaired. */
            return wr_client_fail(c, rc, 0, 0, false,
                                  "out of memory while publishing");
        wr_frame_header_encode(c->out + c->out_len, WR_FRAME_BODY, ch->id,
                               (uint32_t)n);
        memcpy(c->out + c->out_len + WR_FRAME_HEADER_SIZE,
               (const uint8_t *)body + off, n);
        c->out[c->out_len + WR_FRAME_HEADER_SIZE + n] = WR_FRAME_END;
        c->out_len += n + WR_FRAME_OVERHEAD;
    }
    if (ch->confirming) {
        ch->next_seq++;
        ch->unconfirmed++;
    }
    if (!(flags & WARREN_MORE) || c->out_len - c->out_off >= WR_CLIENT_FLUSH_AT)
        return wr_client_flush(c);
    return WR_OK;
}
