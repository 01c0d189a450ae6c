/* SPDX-License-Identifier: MIT */
/* Cursor primitives shared by the codec files: big-endian readers that
 * never read past the end, and writers that never write past the cap.
 * Bounds checks are written so they cannot overflow (len - off). */
#ifndef WR_PROTOCOL_INTERNAL_H
#define WR_PROTOCOL_INTERNAL_H

#include "protocol.h"

#include <string.h>

/* The 0-9-1 grammar's 'U' (short-int, signed 16) in field tables
 * (table.c, table_build.c). RabbitMQ never sends it; we read it anyway,
 * into v.i like 's'. */
#define WR_FT_SPEC_I16 'U'

struct wr_rd {
    const uint8_t *p;
    size_t len, off;
};

struct wr_wr {
    uint8_t *p;
    size_t cap, off;
    int err; /* sticky: WR_OK or WR_ERR_NOSPACE / WR_ERR_INVALID */
};

static inline bool
rd_has(const struct wr_rd *r, size_t n)
{
    return n <= r->len - r->off;
}

static inline int
rd_u8(struct wr_rd *r, uint8_t *v)
{
    if (!rd_has(r, 1))
        return WR_ERR_SYNTAX;
    *v = r->p[r->off++];
    return WR_OK;
}

static inline int
rd_u16(struct wr_rd *r, uint16_t *v)
{
    if (!rd_has(r, 2))
        return WR_ERR_SYNTAX;
    *v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return WR_OK;
}

static inline int
rd_u32(struct wr_rd *r, uint32_t *v)
{
    if (!rd_has(r, 4))
        return WR_ERR_SYNTAX;
    const uint8_t *b = r->p + r->off;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
         ((uint32_t)b[2] << 8) | b[3];
    r->off += 4;
    return WR_OK;
}

static inline int
rd_u64(struct wr_rd *r, uint64_t *v)
{
    const uint8_t *b;
    uint64_t x = 0;

    if (!rd_has(r, 8))
        return WR_ERR_SYNTAX;
    b = r->p + r->off;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | b[i];
    *v = x;
    r->off += 8;
    return WR_OK;
}

static inline int
rd_shortstr(struct wr_rd *r, struct wr_bytes *s)
{
    uint8_t n;

    if (rd_u8(r, &n) != WR_OK || !rd_has(r, n))
        return WR_ERR_SYNTAX;
    s->ptr = r->p + r->off;
    s->len = n;
    r->off += n;
    return WR_OK;
}

static inline int
rd_longstr(struct wr_rd *r, struct wr_bytes *s)
{
    uint32_t n;

    if (rd_u32(r, &n) != WR_OK || !rd_has(r, n))
        return WR_ERR_SYNTAX;
    s->ptr = r->p + r->off;
    s->len = n;
    r->off += n;
    return WR_OK;
}

/* Reads a length-prefixed field table and validates it. */
static inline int
rd_table(struct wr_rd *r, struct wr_table *t)
{
    struct wr_bytes s;
    int rc = rd_longstr(r, &s);

    if (rc != WR_OK)
        return rc;
    rc = wr_table_validate(s.ptr, s.len, WR_TABLE_MAX_DEPTH);
    if (rc != WR_OK)
        return rc;
    t->ptr = s.ptr;
    t->len = s.len;
    return WR_OK;
}

static inline void
wr_put(struct wr_wr *w, const void *src, size_t n)
{
    if (w->err != WR_OK)
        return;
    if (n > w->cap - w->off) {
        w->err = WR_ERR_NOSPACE;
        return;
    }
    if (n)
        memcpy(w->p + w->off, src, n);
    w->off += n;
}

static inline void
wr_u8(struct wr_wr *w, uint8_t v)
{
    wr_put(w, &v, 1);
}

static inline void
wr_u16(struct wr_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wr_put(w, b, 2);
}

static inline void
wr_u32(struct wr_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    wr_put(w, b, 4);
}

static inline void
wr_u64(struct wr_wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

static inline void
wr_shortstr(struct wr_wr *w, struct wr_bytes s)
{
    if (s.len > 255) {
        if (w->err == WR_OK)
            w->err = WR_ERR_INVALID;
        return;
    }
    wr_u8(w, (uint8_t)s.len);
    wr_put(w, s.ptr, s.len);
}

static inline void
wr_longstr(struct wr_wr *w, struct wr_bytes s)
{
    wr_u32(w, s.len);
    wr_put(w, s.ptr, s.len);
}

static inline void
wr_table(struct wr_wr *w, struct wr_table t)
{
    wr_u32(w, t.len);
    wr_put(w, t.ptr, t.len);
}

#endif
