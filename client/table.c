/* SPDX-License-Identifier: MIT */
/* The public field-table API: a growable builder over protocol/'s wr_tb,
 * and readers over wr_table_iter (AMQP 0-9-1 section 4.2.5.5). */
#include "client_internal.h"

#include <string.h>

struct warren_table {
    struct wr_tb b; /* top-level table open; b.buf is owned */
};

int
warren_table_new(struct warren_table **out)
{
    struct warren_table *t = wr_calloc(1, sizeof(*t));
    uint8_t *buf = wr_malloc(256);

    *out = NULL;
    if (t == NULL || buf == NULL) {
        wr_free(t);
        wr_free(buf);
        return WR_ERR_NOMEM;
    }
    wr_tb_init(&t->b, buf, 256);
    *out = t;
    return WR_OK;
}

void
warren_table_free(struct warren_table *t)
{
    if (t == NULL)
        return;
    wr_free(t->b.buf);
    wr_free(t);
}

/* Runs add(t, ...) and grows the buffer until the entry fits: the builder
 * records only offsets, so it survives the move. */
#define TB_ADD(t, key, call)                                                   \
    do {                                                                       \
        size_t mark_;                                                          \
        if ((t) == NULL || (key) == NULL || strlen(key) > 255)                 \
            return WR_ERR_INVALID;                                             \
        mark_ = (t)->b.len;                                                    \
        for (;;) {                                                             \
            call;                                                              \
            if ((t)->b.err != WR_ERR_NOSPACE)                                  \
                break;                                                         \
            (t)->b.len = mark_;                                                \
            (t)->b.err = WR_OK;                                                \
            if (grow(t) != WR_OK)                                              \
                return WR_ERR_NOMEM;                                           \
        }                                                                      \
        if ((t)->b.err != WR_OK) {                                             \
            int rc_ = (t)->b.err;                                              \
            (t)->b.len = mark_;                                                \
            (t)->b.err = WR_OK;                                                \
            return rc_;                                                        \
        }                                                                      \
        return WR_OK;                                                          \
    } while (0)

static int
grow(struct warren_table *t)
{
    size_t cap = t->b.cap * 2;
    uint8_t *p;

    if (cap > (size_t)UINT32_MAX)
        return WR_ERR_NOMEM;
    if ((p = wr_realloc(t->b.buf, cap)) == NULL)
        return WR_ERR_NOMEM;
    t->b.buf = p;
    t->b.cap = cap;
    return WR_OK;
}

int
warren_table_add_str(struct warren_table *t, const char *key, const char *value)
{
    if (value == NULL || strlen(value) > UINT32_MAX)
        return WR_ERR_INVALID;
    TB_ADD(t, key, wr_tb_add_str(&t->b, key, wr_bytes_str(value)));
}

int
warren_table_add_int(struct warren_table *t, const char *key, int64_t value)
{
    uint8_t type =
        value >= INT32_MIN && value <= INT32_MAX ? WR_FT_I32 : WR_FT_I64;

    TB_ADD(t, key, wr_tb_add_int(&t->b, key, type, value));
}

int
warren_table_add_bool(struct warren_table *t, const char *key, bool value)
{
    TB_ADD(t, key, wr_tb_add_bool(&t->b, key, value));
}

int
warren_table_add_double(struct warren_table *t, const char *key, double value)
{
    TB_ADD(t, key, wr_tb_add_double(&t->b, key, value));
}

int
warren_table_add_table(struct warren_table *t, const char *key,
                       const struct warren_table *sub)
{
    struct wr_value v = {.type = WR_FT_TABLE};

    if (sub == NULL || sub == t)
        return WR_ERR_INVALID;
    v.v.table = wr_tb_table(&sub->b);
    TB_ADD(t, key, wr_tb_add_value(&t->b, key, &v));
}

struct warren_bytes
warren_table_bytes(const struct warren_table *t)
{
    struct wr_table v = wr_tb_table(&t->b);

    return (struct warren_bytes){v.ptr, v.len};
}

struct wr_table
wr_client_table_view(const struct warren_table *t)
{
    if (t == NULL)
        return (struct wr_table){NULL, 0};
    return wr_tb_table(&t->b);
}

/* ---- reading --------------------------------------------------------- */

static void
to_public(const struct wr_value *v, struct warren_value *o)
{
    memset(o, 0, sizeof(*o));
    o->type = (char)v->type;
    switch (v->type) {
    case WR_FT_BOOL:
        o->b = v->v.b;
        o->i = v->v.b;
        break;
    case WR_FT_U8:
    case WR_FT_U16:
    case WR_FT_U32:
    case WR_FT_U64:
    case WR_FT_TIMESTAMP:
        o->u = v->v.u;
        o->i = (int64_t)v->v.u;
        break;
    case WR_FT_FLOAT:
        o->d = v->v.f;
        break;
    case WR_FT_DOUBLE:
        o->d = v->v.d;
        break;
    case WR_FT_DECIMAL:
        o->u = v->v.decimal.value;
        o->scale = v->v.decimal.scale;
        break;
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        o->str = (struct warren_bytes){v->v.str.ptr, v->v.str.len};
        break;
    case WR_FT_TABLE:
        o->str = (struct warren_bytes){v->v.table.ptr, v->v.table.len};
        break;
    case WR_FT_ARRAY:
        o->str = (struct warren_bytes){v->v.array.ptr, v->v.array.len};
        break;
    case WR_FT_VOID:
        break;
    default: /* the signed integers: b s U I l */
        o->i = v->v.i;
        break;
    }
}

int
warren_table_next(struct warren_bytes table, size_t *pos,
                  struct warren_bytes *key, struct warren_value *val)
{
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    int rc;

    if (table.len > UINT32_MAX || (table.len > 0 && table.ptr == NULL))
        return WR_ERR_SYNTAX;
    wr_table_iter_init(&it, (struct wr_table){table.ptr, (uint32_t)table.len});
    it.off = *pos;
    rc = wr_table_next(&it, &k, &v);
    if (rc == WR_AGAIN)
        return WR_ERR_NOT_FOUND;
    if (rc != WR_OK)
        return rc;
    *pos = it.off;
    *key = (struct warren_bytes){k.ptr, k.len};
    to_public(&v, val);
    return WR_OK;
}

int
warren_table_get(struct warren_bytes table, const char *key,
                 struct warren_value *val)
{
    struct warren_bytes k;
    size_t pos = 0, n = strlen(key);
    int rc;

    while ((rc = warren_table_next(table, &pos, &k, val)) == WR_OK)
        if (k.len == n && memcmp(k.ptr, key, n) == 0)
            return WR_OK;
    return rc;
}
