/* SPDX-License-Identifier: MIT */
/* Content headers and the basic class's property list (AMQP 0-9-1 section
 * 4.2.6.1 and the basic class fields of the spec XML). */
#include "protocol_internal.h"

#include <stddef.h>

/* Bit 0 of a flag word announces another word (4.2.6.1); basic has 14
 * properties, so one word is enough and the bit must be clear. Bit 1 names
 * no basic property and is ignored. */
#define FLAG_CONTINUATION 0x0001
#define FLAGS_KNOWN 0xFFFC

/* The 14 basic properties in flag order (highest bit first), as the basic
 * class's <field>s in the spec XML; 4.2.6.1: present ones follow the flags
 * in this order. */
static const struct {
    uint16_t flag;
    uint8_t kind; /* enum wr_field_kind */
    uint16_t offset;
} prop_fields[] = {
    {WR_PROP_CONTENT_TYPE, WR_FD_SHORTSTR,
     offsetof(struct wr_props, content_type)},
    {WR_PROP_CONTENT_ENCODING, WR_FD_SHORTSTR,
     offsetof(struct wr_props, content_encoding)},
    {WR_PROP_HEADERS, WR_FD_TABLE, offsetof(struct wr_props, headers)},
    {WR_PROP_DELIVERY_MODE, WR_FD_OCTET,
     offsetof(struct wr_props, delivery_mode)},
    {WR_PROP_PRIORITY, WR_FD_OCTET, offsetof(struct wr_props, priority)},
    {WR_PROP_CORRELATION_ID, WR_FD_SHORTSTR,
     offsetof(struct wr_props, correlation_id)},
    {WR_PROP_REPLY_TO, WR_FD_SHORTSTR, offsetof(struct wr_props, reply_to)},
    {WR_PROP_EXPIRATION, WR_FD_SHORTSTR, offsetof(struct wr_props, expiration)},
    {WR_PROP_MESSAGE_ID, WR_FD_SHORTSTR, offsetof(struct wr_props, message_id)},
    {WR_PROP_TIMESTAMP, WR_FD_LONGLONG, offsetof(struct wr_props, timestamp)},
    {WR_PROP_TYPE, WR_FD_SHORTSTR, offsetof(struct wr_props, type)},
    {WR_PROP_USER_ID, WR_FD_SHORTSTR, offsetof(struct wr_props, user_id)},
    {WR_PROP_APP_ID, WR_FD_SHORTSTR, offsetof(struct wr_props, app_id)},
    {WR_PROP_CLUSTER_ID, WR_FD_SHORTSTR, offsetof(struct wr_props, cluster_id)},
};

int
wr_props_decode(const uint8_t *p, size_t len, struct wr_props *props)
{
    struct wr_rd r = {p, len, 0};
    uint16_t flags;
    int rc;

    memset(props, 0, sizeof(*props));
    if (rd_u16(&r, &flags) != WR_OK || (flags & FLAG_CONTINUATION))
        return WR_ERR_SYNTAX;
    props->flags = flags & FLAGS_KNOWN;
    if (props->flags == 0) /* the common case: no properties at all */
        return r.off == r.len ? WR_OK : WR_ERR_SYNTAX;
    for (size_t i = 0; i < WR_ARRAY_LEN(prop_fields); i++) {
        void *at = (char *)props + prop_fields[i].offset;

        if (!(props->flags & prop_fields[i].flag))
            continue;
        switch (prop_fields[i].kind) {
        case WR_FD_SHORTSTR:
            rc = rd_shortstr(&r, at);
            break;
        case WR_FD_TABLE:
            rc = rd_table(&r, at);
            break;
        case WR_FD_OCTET:
            rc = rd_u8(&r, at);
            break;
        default:
            rc = rd_u64(&r, at);
            break;
        }
        if (rc != WR_OK)
            return rc;
    }
    /* 4.2.6.1: the property list is exactly what the flags announce. */
    return r.off == r.len ? WR_OK : WR_ERR_SYNTAX;
}

int
wr_content_header_decode(const uint8_t *p, size_t len,
                         struct wr_content_header *h)
{
    struct wr_rd r = {p, len, 0};

    memset(h, 0, sizeof(*h));
    if (rd_u16(&r, &h->class_id) != WR_OK || rd_u16(&r, &h->weight) != WR_OK ||
        rd_u64(&r, &h->body_size) != WR_OK)
        return WR_ERR_SYNTAX;
    /* 4.2.6.1: "The weight field is unused and must be zero." */
    if (h->weight != 0)
        return WR_ERR_SYNTAX;
    /* A frame payload is bounded by a uint32 size, so this fits. */
    if (len - r.off > UINT32_MAX)
        return WR_ERR_SYNTAX;
    h->raw_props = p + r.off;
    h->raw_props_len = (uint32_t)(len - r.off);
    return wr_props_decode(h->raw_props, h->raw_props_len, &h->props);
}

static void
encode_props(struct wr_wr *w, const struct wr_props *props)
{
    uint16_t flags = props->flags & FLAGS_KNOWN;

    wr_u16(w, flags);
    for (size_t i = 0; i < WR_ARRAY_LEN(prop_fields); i++) {
        const void *at = (const char *)props + prop_fields[i].offset;

        if (!(flags & prop_fields[i].flag))
            continue;
        switch (prop_fields[i].kind) {
        case WR_FD_SHORTSTR:
            wr_shortstr(w, *(const struct wr_bytes *)at);
            break;
        case WR_FD_TABLE:
            wr_table(w, *(const struct wr_table *)at);
            break;
        case WR_FD_OCTET:
            wr_u8(w, *(const uint8_t *)at);
            break;
        default:
            wr_u64(w, *(const uint64_t *)at);
            break;
        }
    }
}

int
wr_props_encode(const struct wr_props *props, uint8_t *out, size_t cap,
                size_t *len)
{
    struct wr_wr w = {out, cap, 0, WR_OK};

    encode_props(&w, props);
    if (w.err != WR_OK)
        return w.err;
    *len = w.off;
    return WR_OK;
}

int
wr_content_header_encode(uint16_t class_id, uint64_t body_size,
                         const struct wr_props *props, uint8_t *out, size_t cap,
                         size_t *len)
{
    struct wr_wr w = {out, cap, 0, WR_OK};

    wr_u16(&w, class_id);
    wr_u16(&w, 0); /* weight */
    wr_u64(&w, body_size);
    encode_props(&w, props);
    if (w.err != WR_OK)
        return w.err;
    *len = w.off;
    return WR_OK;
}
