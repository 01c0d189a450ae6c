/* SPDX-License-Identifier: MIT */
/* The generic method codec: walks the per-method field descriptors that
 * tools/gen_methods.py generated from the spec (methods_gen.c). */
#include "protocol_internal.h"

static const struct wr_method_desc *
find_desc(uint32_t id)
{
    size_t lo = 0, hi = WR_METHOD_COUNT;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t mid_id = wr_method_descs[mid].id;
        if (mid_id == id)
            return &wr_method_descs[mid];
        if (mid_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int
decode_fields(struct wr_rd *r, const struct wr_method_desc *d, void *base)
{
    uint8_t bits = 0;
    int bitpos = 8; /* 8 = no octet loaded */

    for (unsigned i = 0; i < d->nfields; i++) {
        const struct wr_field_desc *f = &d->fields[i];
        void *at = (char *)base + f->offset;
        int rc = WR_OK;

        if (f->kind != WR_FD_BIT)
            bitpos = 8;
        switch (f->kind) {
        case WR_FD_OCTET:
            rc = rd_u8(r, at);
            break;
        case WR_FD_SHORT:
            rc = rd_u16(r, at);
            break;
        case WR_FD_LONG:
            rc = rd_u32(r, at);
            break;
        case WR_FD_LONGLONG:
            rc = rd_u64(r, at);
            break;
        case WR_FD_BIT:
            /* AMQP 0-9-1 4.2.5.2: consecutive bits pack into octets. */
            if (bitpos == 8) {
                if ((rc = rd_u8(r, &bits)) != WR_OK)
                    return rc;
                bitpos = 0;
            }
            *(bool *)at = (bits >> bitpos++) & 1;
            break;
        case WR_FD_SHORTSTR:
            rc = rd_shortstr(r, at);
            break;
        case WR_FD_LONGSTR:
            rc = rd_longstr(r, at);
            break;
        case WR_FD_TABLE:
            rc = rd_table(r, at);
            break;
        }
        if (rc != WR_OK)
            return rc;
    }
    return WR_OK;
}

/* basic.publish and basic.ack come once per message: decoded here
 * without the table walk, with the same result as decode_fields. Returns
 * false for anything else, or when the arguments do not fit exactly (the
 * table path then reports the error). */
static bool
decode_hot(const uint8_t *p, size_t len, uint16_t cid, uint16_t mid,
           struct wr_method *m)
{
    if (cid == 60 && mid == 80 && len == 4 + 8 + 1) {
        uint64_t tag = 0;

        for (int i = 4; i < 12; i++)
            tag = (tag << 8) | p[i];
        m->id = WR_BASIC_ACK;
        m->u.basic_ack = (struct wr_basic_ack){tag, p[12] & 1};
        return true;
    }
    if (cid == 60 && mid == 40 && len >= 4 + 2 + 1) {
        size_t off = 6, xl, kl;
        const uint8_t *x, *k;

        xl = p[off++];
        if (len - off < xl + 1)
            return false;
        x = p + off;
        off += xl;
        kl = p[off++];
        if (len - off != kl + 1)
            return false;
        k = p + off;
        off += kl;
        m->id = WR_BASIC_PUBLISH;
        m->u.basic_publish =
            (struct wr_basic_publish){(uint16_t)(p[4] << 8 | p[5]),
                                      {x, (uint32_t)xl},
                                      {k, (uint32_t)kl},
                                      p[off] & 1,
                                      (p[off] >> 1) & 1};
        return true;
    }
    return false;
}

int
wr_method_decode(const uint8_t *p, size_t len, struct wr_method *m)
{
    struct wr_rd r = {p, len, 0};
    const struct wr_method_desc *d;
    uint16_t cid, mid;
    int rc;

    if (rd_u16(&r, &cid) != WR_OK || rd_u16(&r, &mid) != WR_OK)
        return WR_ERR_SYNTAX;
    if (decode_hot(p, len, cid, mid, m))
        return WR_OK;
    d = find_desc(WR_METHOD_ID(cid, mid));
    if (d == NULL)
        return WR_ERR_UNKNOWN_METHOD;
    memset(m, 0, sizeof(*m));
    m->id = d->id;
    rc = decode_fields(&r, d, &m->u);
    if (rc != WR_OK)
        return rc;
    /* AMQP 0-9-1 4.2.3: the payload is exactly the method's arguments. */
    return r.off == r.len ? WR_OK : WR_ERR_SYNTAX;
}

static void
encode_fields(struct wr_wr *w, const struct wr_method_desc *d, const void *base)
{
    uint8_t bits = 0;
    int bitpos = 0; /* bits pending in `bits` */

    for (unsigned i = 0; i < d->nfields; i++) {
        const struct wr_field_desc *f = &d->fields[i];
        const void *at = (const char *)base + f->offset;

        if (f->kind != WR_FD_BIT && bitpos > 0) {
            wr_u8(w, bits);
            bits = 0;
            bitpos = 0;
        }
        switch (f->kind) {
        case WR_FD_OCTET:
            wr_u8(w, *(const uint8_t *)at);
            break;
        case WR_FD_SHORT:
            wr_u16(w, *(const uint16_t *)at);
            break;
        case WR_FD_LONG:
            wr_u32(w, *(const uint32_t *)at);
            break;
        case WR_FD_LONGLONG:
            wr_u64(w, *(const uint64_t *)at);
            break;
        case WR_FD_BIT:
            if (bitpos == 8) {
                wr_u8(w, bits);
                bits = 0;
                bitpos = 0;
            }
            bits |= (uint8_t)((*(const bool *)at ? 1 : 0) << bitpos++);
            break;
        case WR_FD_SHORTSTR:
            wr_shortstr(w, *(const struct wr_bytes *)at);
            break;
        case WR_FD_LONGSTR:
            wr_longstr(w, *(const struct wr_bytes *)at);
            break;
        case WR_FD_TABLE:
            wr_table(w, *(const struct wr_table *)at);
            break;
        }
    }
    if (bitpos > 0)
        wr_u8(w, bits);
}

static uint8_t *
put_shortstr(uint8_t *p, struct wr_bytes s)
{
    *p++ = (uint8_t)s.len;
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* basic.deliver goes out once per message: encoded here without the
 * table walk, to the same bytes as encode_fields. Returns false when it
 * does not fit, or a string is too long for a shortstr (the table path
 * then reports the error). */
static bool
encode_hot(const struct wr_method *m, uint8_t *out, size_t cap, size_t *len)
{
    const struct wr_basic_deliver *a = &m->u.basic_deliver;
    size_t n;
    uint8_t *p = out;

    if (m->id != WR_BASIC_DELIVER || a->consumer_tag.len > 255 ||
        a->exchange.len > 255 || a->routing_key.len > 255)
        return false;
    n = 4 + 1 + a->consumer_tag.len + 8 + 1 + 1 + a->exchange.len + 1 +
        a->routing_key.len;
    if (n > cap)
        return false;
    *p++ = 0;
    *p++ = 60;
    *p++ = 0;
    *p++ = 60;
    p = put_shortstr(p, a->consumer_tag);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(a->delivery_tag >> (56 - 8 * i));
    *p++ = a->redelivered ? 1 : 0;
    p = put_shortstr(p, a->exchange);
    put_shortstr(p, a->routing_key);
    *len = n;
    return true;
}

int
wr_method_encode(const struct wr_method *m, uint8_t *out, size_t cap,
                 size_t *len)
{
    const struct wr_method_desc *d;
    struct wr_wr w = {out, cap, 0, WR_OK};

    if (encode_hot(m, out, cap, len))
        return WR_OK;
    d = find_desc(m->id);
    if (d == NULL)
        return WR_ERR_UNKNOWN_METHOD;
    wr_u16(&w, WR_METHOD_CLASS(m->id));
    wr_u16(&w, WR_METHOD_INDEX(m->id));
    encode_fields(&w, d, &m->u);
    if (w.err != WR_OK)
        return w.err;
    *len = w.off;
    return WR_OK;
}

int
wr_method_frame_encode(uint16_t channel, const struct wr_method *m,
                       uint8_t *out, size_t cap, size_t *len)
{
    size_t plen;
    int rc;

    if (cap < WR_FRAME_OVERHEAD)
        return WR_ERR_NOSPACE;
    rc = wr_method_encode(m, out + WR_FRAME_HEADER_SIZE,
                          cap - WR_FRAME_OVERHEAD, &plen);
    if (rc != WR_OK)
        return rc;
    wr_frame_header_encode(out, WR_FRAME_METHOD, channel, (uint32_t)plen);
    out[WR_FRAME_HEADER_SIZE + plen] = WR_FRAME_END;
    *len = plen + WR_FRAME_OVERHEAD;
    return WR_OK;
}

const char *
wr_method_name(uint32_t id)
{
    const struct wr_method_desc *d = find_desc(id);

    return d ? d->name : NULL;
}

bool
wr_method_has_content(uint32_t id)
{
    const struct wr_method_desc *d = find_desc(id);

    return d && (d->flags & WR_MD_CONTENT);
}

bool
wr_method_is_sync(uint32_t id)
{
    const struct wr_method_desc *d = find_desc(id);

    return d && (d->flags & WR_MD_SYNC);
}
