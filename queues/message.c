/* SPDX-License-Identifier: MIT */
/* The refcounted message: header fields, exchange, routing key, encoded
 * properties and body in one allocation (STYLE.md 5.1-5.3). */
#include "queues.h"

#include <string.h>

struct wr_msg *
wr_msg_new(struct wr_bytes exchange, struct wr_bytes rkey, const uint8_t *props,
           uint32_t props_len, uint64_t body_size)
{
    struct wr_props p;
    struct wr_msg *m;
    size_t fixed;

    if (exchange.len > 255 || rkey.len > 255)
        return NULL;
    memset(&p, 0, sizeof(p));
    if (props_len > 0 && wr_props_decode(props, props_len, &p) != WR_OK)
        return NULL;
    fixed = sizeof(*m) + exchange.len + rkey.len + (size_t)props_len;
    if (body_size > SIZE_MAX - fixed)
        return NULL;
    m = wr_malloc(fixed + (size_t)body_size);
    if (m == NULL)
        return NULL;
    m->refcount = 1;
    m->priority = (p.flags & WR_PROP_PRIORITY) ? p.priority : 0;
    m->exchange_len = (uint8_t)exchange.len;
    m->rkey_len = (uint8_t)rkey.len;
    m->persistent = (p.flags & WR_PROP_DELIVERY_MODE) && p.delivery_mode == 2;
    m->props_len = props_len;
    m->body_size = body_size;
    m->body_received = 0;
    m->seq = 0;
    if (exchange.len)
        memcpy(m->data, exchange.ptr, exchange.len);
    if (rkey.len)
        memcpy(m->data + exchange.len, rkey.ptr, rkey.len);
    m->props = m->data + exchange.len + rkey.len;
    if (props_len)
        memcpy(m->props, props, props_len);
    m->body = m->props + props_len;
    return m;
}

void
wr_msg_unref(struct wr_msg **mp)
{
    struct wr_msg *m = *mp;

    *mp = NULL;
    wr_assert(m != NULL && m->refcount > 0);
    if (--m->refcount == 0)
        wr_free(m);
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

int
wr_msg_props(const struct wr_msg *m, struct wr_props *p)
{
    if (m->props_len == 0) {
        memset(p, 0, sizeof(*p));
        return WR_OK;
    }
    return wr_props_decode(m->props, m->props_len, p);
}

size_t
wr_msg_mem(const struct wr_msg *m)
{
    return sizeof(*m) + m->exchange_len + m->rkey_len + m->props_len +
           (size_t)m->body_size;
}
