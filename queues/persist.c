/* SPDX-License-Identifier: MIT */
/* The payloads of the records a durable queue writes to the store
 * (docs/internals/STORE.md, "Record types"): MSG, ENQ, SETTLE, REQUEUE and
 * PURGE, encoded big-endian and decoded with every length checked, since
 * recovery reads them back from disk. Nothing here does I/O. */
#include "queues_internal.h"

#include <string.h>

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* MSG: version, flags, exchange length, routing key length, properties
 * length (32), body length (64), publish time (64), then the four. */
unsigned
wr_prec_msg_parts(const struct wr_msg *m, int64_t published_ms,
                  uint8_t hdr[WR_PREC_MSG_HDR], struct wr_bytes parts[3])
{
    hdr[0] = WR_PREC_VERSION;
    hdr[1] = m->persistent ? WR_PREC_PERSISTENT : 0;
    hdr[2] = m->exchange_len;
    hdr[3] = m->rkey_len;
    put32(hdr + 4, m->props_len);
    put64(hdr + 8, m->body_size);
    put64(hdr + 16, (uint64_t)published_ms);
    parts[0] = (struct wr_bytes){hdr, WR_PREC_MSG_HDR};
    /* exchange, routing key and properties are contiguous in m->data; the
     * BCC keys that follow them are for routing only and not kept. */
    parts[1] = (struct wr_bytes){m->data, (uint32_t)m->exchange_len +
                                              m->rkey_len + m->props_len};
    parts[2] = (struct wr_bytes){wr_msg_body(m), (uint32_t)m->body_size};
    return 3;
}

size_t
wr_prec_enq_encode(uint8_t out[WR_PREC_ENQ_SIZE], const struct wr_prec_enq *e)
{
    put64(out, e->queue_id);
    put64(out + 8, e->msg.offset);
    put32(out + 16, e->msg.pos);
    put32(out + 20, e->msg.len);
    out[24] = e->priority;
    out[25] = 0;
    out[26] = 0;
    out[27] = 0;
    put32(out + 28, e->delivery_count);
    put64(out + 32, (uint64_t)e->expires_ms);
    return WR_PREC_ENQ_SIZE;
}

size_t
wr_prec_ref_encode(uint8_t out[WR_PREC_REF_SIZE], const struct wr_prec_ref *r)
{
    put64(out, r->queue_id);
    put64(out + 8, r->entry_id);
    put32(out + 16, r->delivery_count);
    put32(out + 20, 0);
    return WR_PREC_REF_SIZE;
}

static int
decode_msg(struct wr_bytes p, struct wr_prec_msg *m)
{
    uint64_t body, need;
    uint32_t props;
    const uint8_t *q = p.ptr + WR_PREC_MSG_HDR;

    if (p.len < WR_PREC_MSG_HDR || p.ptr[0] != WR_PREC_VERSION ||
        (p.ptr[1] & ~WR_PREC_PERSISTENT) != 0)
        return WR_ERR_SYNTAX;
    props = get32(p.ptr + 4);
    body = get64(p.ptr + 8);
    /* No sum before the body is known to fit: a length near 2^64 would
     * wrap it around. */
    if (body > p.len - WR_PREC_MSG_HDR)
        return WR_ERR_SYNTAX;
    need = (uint64_t)p.ptr[2] + p.ptr[3] + props + body;
    if (need != p.len - WR_PREC_MSG_HDR)
        return WR_ERR_SYNTAX;
    m->persistent = p.ptr[1] & WR_PREC_PERSISTENT;
    m->published_ms = (int64_t)get64(p.ptr + 16);
    m->exchange = (struct wr_bytes){q, p.ptr[2]};
    q += p.ptr[2];
    m->rkey = (struct wr_bytes){q, p.ptr[3]};
    q += p.ptr[3];
    m->props = (struct wr_bytes){q, props};
    q += props;
    m->body = (struct wr_bytes){q, (uint32_t)body};
    return WR_OK;
}

int
wr_prec_decode(uint8_t type, struct wr_bytes p, struct wr_prec *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    switch (type) {
    case WR_PREC_MSG:
        return decode_msg(p, &out->msg);
    case WR_PREC_ENQ:
        if (p.len != WR_PREC_ENQ_SIZE || p.ptr[25] || p.ptr[26] || p.ptr[27])
            return WR_ERR_SYNTAX;
        out->enq.queue_id = get64(p.ptr);
        out->enq.msg.offset = get64(p.ptr + 8);
        out->enq.msg.pos = get32(p.ptr + 16);
        out->enq.msg.len = get32(p.ptr + 20);
        out->enq.priority = p.ptr[24];
        out->enq.delivery_count = get32(p.ptr + 28);
        out->enq.expires_ms = (int64_t)get64(p.ptr + 32);
        return WR_OK;
    case WR_PREC_SETTLE:
    case WR_PREC_REQUEUE:
    case WR_PREC_PURGE:
        if (p.len != WR_PREC_REF_SIZE || get32(p.ptr + 20) != 0 ||
            (type != WR_PREC_REQUEUE && get32(p.ptr + 16) != 0))
            return WR_ERR_SYNTAX;
        out->ref.queue_id = get64(p.ptr);
        out->ref.entry_id = get64(p.ptr + 8);
        out->ref.delivery_count = get32(p.ptr + 16);
        return WR_OK;
    default:
        return WR_ERR_INVALID;
    }
}

struct wr_msg *
wr_prec_msg_build(const struct wr_prec_msg *pm)
{
    struct wr_msg_spec spec = {0};
    struct wr_msg *m;

    spec.exchange = pm->exchange;
    spec.rkey = pm->rkey;
    spec.props = pm->props.len ? pm->props.ptr : NULL;
    spec.props_len = pm->props.len;
    spec.body_size = pm->body.len;
    m = wr_msg_build(&spec);
    if (m == NULL)
        return NULL;
    if (pm->body.len > 0)
        memcpy(wr_msg_body(m), pm->body.ptr, pm->body.len);
    return m;
}
