/* SPDX-License-Identifier: MIT */
/* The refcounted message: header fields, exchange, routing key, encoded
 * properties and body in one allocation (STYLE.md 5.1-5.3); derived
 * messages that share another message's body; the expiration property. */
#include "queues.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Expirations are clamped here: 2^53 ms is 285,000 years. */
#define EXPIRATION_MAX (INT64_C(1) << 53)

int
wr_expiration_parse(struct wr_bytes s, int64_t *ms, char *why, size_t cap)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;

    /* Erlang's string:to_integer, as RabbitMQ's parse_expiration uses. */
    if (i < s.len && (s.ptr[i] == '-' || s.ptr[i] == '+'))
        neg = s.ptr[i++] == '-';
    if (i == s.len || s.ptr[i] < '0' || s.ptr[i] > '9') {
        snprintf(why, cap, "no_integer");
        return WR_ERR_INVALID;
    }
    for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
        v = v >= EXPIRATION_MAX ? EXPIRATION_MAX : v * 10 + (s.ptr[i] - '0');
    if (i < s.len) {
        snprintf(why, cap, "{leftover_string,\"%.*s\"}", (int)(s.len - i),
                 (const char *)s.ptr + i);
        return WR_ERR_INVALID;
    }
    if (neg && v != 0) {
        snprintf(why, cap, "{value_negative,-%" PRId64 "}", v);
        return WR_ERR_INVALID;
    }
    *ms = v;
    return WR_OK;
}

/* The body's allocated room once `received` bytes of it have arrived, for
 * a message built with body_grows: WR_MSG_BODY_PREALLOC, doubled as
 * needed, never more than body_size. */
static uint64_t
body_room(uint64_t body_size, uint64_t received)
{
    uint64_t room = WR_MSG_BODY_PREALLOC;

    while (room < received && room < body_size) {
        if (room > UINT64_MAX / 2)
            return body_size;
        room *= 2;
    }
    return WR_MIN(room, body_size);
}

struct wr_msg *
wr_msg_build(const struct wr_msg_spec *sp)
{
    struct wr_props own;
    const struct wr_props *p = sp->decoded;
    struct wr_msg *m, *owner = NULL;
    size_t fixed;
    uint64_t own_body = sp->body_size;
    char why[64];
    uint8_t *pd;

    if (sp->exchange.len > 255 || sp->rkey.len > 255)
        return NULL;
    if (p == NULL) {
        p = &own;
        memset(&own, 0, sizeof(own));
        if (sp->props_len > 0 &&
            wr_props_decode(sp->props, sp->props_len, &own) != WR_OK)
            return NULL;
    }
    if (sp->share_body) {
        owner = sp->share_body->body_owner ? sp->share_body->body_owner
                                           : sp->share_body;
        own_body = 0;
    }
    fixed = sizeof(*m) + sp->exchange.len + sp->rkey.len +
            (size_t)sp->props_len + sp->bcc.len;
    if (own_body > SIZE_MAX - fixed)
        return NULL;
    m = wr_small_alloc(fixed + (size_t)(sp->body_grows && !owner
                                            ? body_room(own_body, 0)
                                            : own_body));
    if (m == NULL)
        return NULL;
    m->refcount = 1;
    m->priority = (p->flags & WR_PROP_PRIORITY) ? p->priority : 0;
    m->exchange_len = (uint8_t)sp->exchange.len;
    m->rkey_len = (uint8_t)sp->rkey.len;
    m->persistent = (p->flags & WR_PROP_DELIVERY_MODE) && p->delivery_mode == 2;
    m->props_len = sp->props_len;
    m->bcc_len = sp->bcc.len;
    m->delivery_count = 0;
    m->body_grows = sp->body_grows && !owner;
    m->stored = 0;
    m->store_off = 0;
    m->store_pos = 0;
    m->ttl = -1;
    if ((p->flags & WR_PROP_EXPIRATION) &&
        wr_expiration_parse(p->expiration, &m->ttl, why, sizeof(why)) != WR_OK)
        m->ttl = -1; /* the broker refused those; be safe anyway */
    if (sp->exchange.len)
        memcpy(m->data, sp->exchange.ptr, sp->exchange.len);
    if (sp->rkey.len)
        memcpy(m->data + sp->exchange.len, sp->rkey.ptr, sp->rkey.len);
    pd = m->data + sp->exchange.len + sp->rkey.len;
    if (sp->props_len)
        memcpy(pd, sp->props, sp->props_len);
    if (sp->bcc.len)
        memcpy(pd + sp->props_len, sp->bcc.ptr, sp->bcc.len);
    if (owner) {
        m->body_owner = wr_msg_ref(owner);
        m->body_size = owner->body_size;
    } else {
        m->body_owner = NULL;
        m->body_size = sp->body_size;
    }
    return m;
}

struct wr_msg *
wr_msg_new(struct wr_bytes exchange, struct wr_bytes rkey, const uint8_t *props,
           uint32_t props_len, uint64_t body_size)
{
    struct wr_msg_spec sp = {.exchange = exchange,
                             .rkey = rkey,
                             .props = props,
                             .props_len = props_len,
                             .body_size = body_size};

    return wr_msg_build(&sp);
}

int
wr_msg_body_append(struct wr_msg **mp, uint64_t *received, const uint8_t *p,
                   size_t n)
{
    struct wr_msg *m = *mp;
    uint64_t room, need, got = *received;

    wr_assert(m->refcount == 1 && m->body_owner == NULL);
    if (n > m->body_size - got)
        return WR_ERR_INVALID;
    room = m->body_grows ? body_room(m->body_size, got) : m->body_size;
    need = m->body_grows ? body_room(m->body_size, got + n) : m->body_size;
    if (need > room) {
        size_t fixed = sizeof(*m) + m->exchange_len + m->rkey_len +
                       (size_t)m->props_len + m->bcc_len;
        struct wr_msg *nm;

        if (need > SIZE_MAX - fixed)
            return WR_ERR_NOMEM;
        nm = wr_realloc(m, fixed + (size_t)need);
        if (nm == NULL)
            return WR_ERR_NOMEM;
        *mp = m = nm;
    }
    if (n)
        memcpy(wr_msg_body(m) + got, p, n);
    *received = got + n;
    return WR_OK;
}

void
wr_msg_unref(struct wr_msg **mp)
{
    struct wr_msg *m = *mp;

    *mp = NULL;
    wr_assert(m != NULL && m->refcount > 0);
    if (--m->refcount == 0) {
        if (m->body_owner)
            wr_msg_unref(&m->body_owner);
        wr_small_free(m);
    }
}

struct wr_bytes
wr_msg_exchange(const struct wr_msg *m)
{
    return (struct wr_bytes){m->data, m->exchange_len};
}

struct wr_bytes
wr_msg_rkey(const struct wr_msg *m)
{
    return (struct wr_bytes){m->data + m->exchange_len, m->rkey_len};
}

struct wr_array
wr_msg_bcc(const struct wr_msg *m)
{
    return (struct wr_array){wr_msg_props_data(m) + m->props_len, m->bcc_len};
}

int
wr_msg_props(const struct wr_msg *m, struct wr_props *p)
{
    if (m->props_len == 0) {
        memset(p, 0, sizeof(*p));
        return WR_OK;
    }
    return wr_props_decode(wr_msg_props_data(m), m->props_len, p);
}

size_t
wr_msg_mem(const struct wr_msg *m)
{
    return sizeof(*m) + m->exchange_len + m->rkey_len + m->props_len +
           m->bcc_len + (m->body_owner ? 0 : (size_t)m->body_size);
}

/* Appends n raw bytes to b (sticky WR_ERR_NOSPACE). */
static void
tb_put_raw(struct wr_tb *b, const uint8_t *p, size_t n)
{
    if (b->err != WR_OK)
        return;
    if (n > b->cap - b->len) {
        b->err = WR_ERR_NOSPACE;
        return;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

void
wr_headers_copy(struct wr_tb *b, struct wr_table t, const char *const *skip)
{
    struct wr_table_iter it;
    struct wr_bytes key;
    struct wr_value v;
    size_t from = 0;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &key, &v) == WR_OK) {
        bool drop = false;
        for (size_t i = 0; skip && skip[i] && !drop; i++)
            drop = wr_bytes_eq_str(key, skip[i]);
        /* The entry's bytes as they are: keys may hold any octet. */
        if (!drop)
            tb_put_raw(b, t.ptr + from, it.off - from);
        from = it.off;
    }
}

/* One entry of a table being sorted: its bytes, its key, its place. */
struct sort_entry {
    size_t off, len;
    struct wr_bytes key;
};

/* Erlang's order on binaries: octet by octet, a prefix first. Equal keys
 * keep their order (qsort is not stable: the offset decides). */
static int
sort_entry_cmp(const void *a, const void *b)
{
    const struct sort_entry *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;

    if (c != 0)
        return c;
    if (x->key.len != y->key.len)
        return x->key.len < y->key.len ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

void
wr_headers_copy_sorted(struct wr_tb *b, struct wr_table t)
{
    struct wr_table_iter it;
    struct wr_bytes key;
    struct wr_value v;
    struct sort_entry *e;
    size_t n = 0, from = 0;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &key, &v) == WR_OK)
        n++;
    if (n == 0)
        return;
    e = wr_malloc(n * sizeof(*e));
    n = 0;
    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &key, &v) == WR_OK) {
        e[n++] = (struct sort_entry){from, it.off - from, key};
        from = it.off;
    }
    qsort(e, n, sizeof(*e), sort_entry_cmp);
    for (size_t i = 0; i < n; i++)
        tb_put_raw(b, t.ptr + e[i].off, e[i].len);
    wr_free(e);
}

struct wr_msg *
wr_msg_with_delivery_count(struct wr_msg *m, uint32_t count)
{
    static const char *const skip[] = {"x-delivery-count", NULL};
    struct wr_props p;
    struct wr_tb b;
    struct wr_msg_spec sp = {0};
    struct wr_msg *out = NULL;
    /* Old headers + the new entry, then the whole property list. */
    size_t hcap, pcap, plen;
    uint8_t *hbuf = NULL, *pbuf = NULL;

    if (wr_msg_props(m, &p) != WR_OK)
        return NULL;
    hcap = (size_t)p.headers.len + 64;
    pcap = (size_t)m->props_len + 64 + 4;
    hbuf = wr_malloc(hcap);
    pbuf = wr_malloc(pcap);
    if (hbuf == NULL || pbuf == NULL)
        goto done;
    wr_tb_init(&b, hbuf, hcap);
    wr_headers_copy(&b, p.headers, skip);
    wr_tb_add_int(&b, "x-delivery-count", WR_FT_I64, count);
    wr_tb_end(&b);
    if (b.err != WR_OK)
        goto done;
    p.flags |= WR_PROP_HEADERS;
    p.headers = wr_tb_table(&b);
    if (wr_props_encode(&p, pbuf, pcap, &plen) != WR_OK)
        goto done;
    sp.exchange = wr_msg_exchange(m);
    sp.rkey = wr_msg_rkey(m);
    sp.props = pbuf;
    sp.props_len = (uint32_t)plen;
    sp.bcc = (struct wr_bytes){wr_msg_bcc(m).ptr, m->bcc_len};
    sp.decoded = &p;
    sp.share_body = m;
    out = wr_msg_build(&sp);
    if (out) {
        out->delivery_count = count;
        /* the same stored record: recovery re-applies the count */
        out->stored = m->stored;
        out->store_off = m->store_off;
        out->store_pos = m->store_pos;
    }
done:
    wr_free(hbuf);
    wr_free(pbuf);
    return out;
}
