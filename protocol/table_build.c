/* SPDX-License-Identifier: MIT */
/* The field-table builder (wr_tb_*): writes tables and arrays (AMQP 0-9-1
 * section 4.2.5.5, RabbitMQ's value types) into a caller's buffer, with
 * a sticky error and never past its cap. Reading them is table.c. */
#include "protocol_internal.h"

static void
tb_fail(struct wr_tb *b, int err)
{
    if (b->err == WR_OK)
        b->err = err;
}

static void
tb_put(struct wr_tb *b, const void *src, size_t n)
{
    if (b->err != WR_OK)
        return;
    if (n > b->cap - b->len) {
        b->err = WR_ERR_NOSPACE;
        return;
    }
    if (n)
        memcpy(b->buf + b->len, src, n);
    b->len += n;
}

static void
tb_u8(struct wr_tb *b, uint8_t v)
{
    tb_put(b, &v, 1);
}

static void
tb_u16(struct wr_tb *b, uint16_t v)
{
    uint8_t o[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    tb_put(b, o, 2);
}

static void
tb_u32(struct wr_tb *b, uint32_t v)
{
    uint8_t o[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};

    tb_put(b, o, 4);
}

static void
tb_u64(struct wr_tb *b, uint64_t v)
{
    tb_u32(b, (uint32_t)(v >> 32));
    tb_u32(b, (uint32_t)v);
}

static void
tb_longstr(struct wr_tb *b, const uint8_t *p, uint32_t n)
{
    tb_u32(b, n);
    tb_put(b, p, n);
}

/* The innermost open container is an array when the octet before its length
 * prefix is 'A' (the top level is always a table). */
static bool
tb_in_array(const struct wr_tb *b)
{
    return b->depth > 1 && b->buf[b->stack[b->depth - 1] - 1] == WR_FT_ARRAY;
}

/* Starts an entry: the name inside a table (key != NULL), nothing inside an
 * array (key == NULL), then the type octet. Returns false on error. */
static bool
tb_entry(struct wr_tb *b, const char *key, uint8_t type)
{
    if (b->err != WR_OK)
        return false;
    if (b->depth == 0 || (key == NULL) != tb_in_array(b)) {
        tb_fail(b, WR_ERR_INVALID);
        return false;
    }
    if (key != NULL) {
        size_t n = strlen(key);
        if (n > 255) { /* section 4.2.5.3: names are short strings */
            tb_fail(b, WR_ERR_INVALID);
            return false;
        }
        tb_u8(b, (uint8_t)n);
        tb_put(b, key, n);
    }
    tb_u8(b, type);
    return b->err == WR_OK;
}

void
wr_tb_init(struct wr_tb *b, uint8_t *buf, size_t cap)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->depth = 0;
    b->err = WR_OK;
    tb_u32(b, 0);
    if (b->err == WR_OK)
        b->stack[b->depth++] = 0;
}

void
wr_tb_add_bool(struct wr_tb *b, const char *key, bool v)
{
    if (tb_entry(b, key, WR_FT_BOOL))
        tb_u8(b, v ? 1 : 0);
}

void
wr_tb_add_int(struct wr_tb *b, const char *key, uint8_t type, int64_t v)
{
    int64_t lo, hi;

    switch (type) {
    case WR_FT_I8:
        lo = INT8_MIN, hi = INT8_MAX;
        break;
    case WR_FT_U8:
        lo = 0, hi = UINT8_MAX;
        break;
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
        lo = INT16_MIN, hi = INT16_MAX;
        break;
    case WR_FT_U16:
        lo = 0, hi = UINT16_MAX;
        break;
    case WR_FT_I32:
        lo = INT32_MIN, hi = INT32_MAX;
        break;
    case WR_FT_U32:
        lo = 0, hi = UINT32_MAX;
        break;
    case WR_FT_I64:
        lo = INT64_MIN, hi = INT64_MAX;
        break;
    default: /* L and T go through wr_tb_add_u64 */
        tb_fail(b, WR_ERR_INVALID);
        return;
    }
    if (v < lo || v > hi) {
        tb_fail(b, WR_ERR_INVALID);
        return;
    }
    if (!tb_entry(b, key, type))
        return;
    switch (type) {
    case WR_FT_I8:
    case WR_FT_U8:
        tb_u8(b, (uint8_t)v);
        break;
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
    case WR_FT_U16:
        tb_u16(b, (uint16_t)v);
        break;
    case WR_FT_I32:
    case WR_FT_U32:
        tb_u32(b, (uint32_t)v);
        break;
    default:
        tb_u64(b, (uint64_t)v);
        break;
    }
}

void
wr_tb_add_u64(struct wr_tb *b, const char *key, uint8_t type, uint64_t v)
{
    if (type != WR_FT_U64 && type != WR_FT_TIMESTAMP) {
        tb_fail(b, WR_ERR_INVALID);
        return;
    }
    if (tb_entry(b, key, type))
        tb_u64(b, v);
}

void
wr_tb_add_float(struct wr_tb *b, const char *key, float v)
{
    uint32_t u;

    memcpy(&u, &v, sizeof(u));
    if (tb_entry(b, key, WR_FT_FLOAT))
        tb_u32(b, u);
}

void
wr_tb_add_double(struct wr_tb *b, const char *key, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    if (tb_entry(b, key, WR_FT_DOUBLE))
        tb_u64(b, u);
}

void
wr_tb_add_decimal(struct wr_tb *b, const char *key, uint8_t scale, uint32_t v)
{
    if (tb_entry(b, key, WR_FT_DECIMAL)) {
        tb_u8(b, scale);
        tb_u32(b, v);
    }
}

void
wr_tb_add_str(struct wr_tb *b, const char *key, struct wr_bytes s)
{
    if (tb_entry(b, key, WR_FT_LONGSTR))
        tb_longstr(b, s.ptr, s.len);
}

void
wr_tb_add_bytes(struct wr_tb *b, const char *key, struct wr_bytes s)
{
    if (tb_entry(b, key, WR_FT_BYTES))
        tb_longstr(b, s.ptr, s.len);
}

void
wr_tb_add_void(struct wr_tb *b, const char *key)
{
    tb_entry(b, key, WR_FT_VOID);
}

void
wr_tb_add_value(struct wr_tb *b, const char *key, const struct wr_value *v)
{
    switch (v->type) {
    case WR_FT_BOOL:
        wr_tb_add_bool(b, key, v->v.b);
        return;
    case WR_FT_I8:
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
    case WR_FT_I32:
    case WR_FT_I64:
        wr_tb_add_int(b, key, v->type, v->v.i);
        return;
    case WR_FT_U8:
    case WR_FT_U16:
    case WR_FT_U32:
        wr_tb_add_int(b, key, v->type, (int64_t)v->v.u);
        return;
    case WR_FT_U64:
    case WR_FT_TIMESTAMP:
        wr_tb_add_u64(b, key, v->type, v->v.u);
        return;
    case WR_FT_FLOAT:
        wr_tb_add_float(b, key, v->v.f);
        return;
    case WR_FT_DOUBLE:
        wr_tb_add_double(b, key, v->v.d);
        return;
    case WR_FT_DECIMAL:
        wr_tb_add_decimal(b, key, v->v.decimal.scale, v->v.decimal.value);
        return;
    case WR_FT_LONGSTR:
        wr_tb_add_str(b, key, v->v.str);
        return;
    case WR_FT_BYTES:
        wr_tb_add_bytes(b, key, v->v.str);
        return;
    case WR_FT_TABLE:
        if (tb_entry(b, key, WR_FT_TABLE))
            tb_longstr(b, v->v.table.ptr, v->v.table.len);
        return;
    case WR_FT_ARRAY:
        if (tb_entry(b, key, WR_FT_ARRAY))
            tb_longstr(b, v->v.array.ptr, v->v.array.len);
        return;
    case WR_FT_VOID:
        wr_tb_add_void(b, key);
        return;
    }
    tb_fail(b, WR_ERR_INVALID);
}

static void
tb_begin(struct wr_tb *b, const char *key, uint8_t type)
{
    if (b->err == WR_OK && b->depth >= WR_TABLE_MAX_DEPTH) {
        tb_fail(b, WR_ERR_TOO_DEEP);
        return;
    }
    if (!tb_entry(b, key, type))
        return;
    tb_u32(b, 0);
    if (b->err == WR_OK)
        b->stack[b->depth++] = b->len - 4;
}

void
wr_tb_begin_table(struct wr_tb *b, const char *key)
{
    tb_begin(b, key, WR_FT_TABLE);
}

void
wr_tb_begin_array(struct wr_tb *b, const char *key)
{
    tb_begin(b, key, WR_FT_ARRAY);
}

void
wr_tb_elem_value(struct wr_tb *b, const struct wr_value *v)
{
    wr_tb_add_value(b, NULL, v);
}

void
wr_tb_elem_str(struct wr_tb *b, struct wr_bytes s)
{
    wr_tb_add_str(b, NULL, s);
}

void
wr_tb_elem_begin_table(struct wr_tb *b)
{
    tb_begin(b, NULL, WR_FT_TABLE);
}

void
wr_tb_end(struct wr_tb *b)
{
    size_t at, n;

    if (b->err != WR_OK)
        return;
    if (b->depth == 0) {
        b->err = WR_ERR_INVALID;
        return;
    }
    at = b->stack[--b->depth];
    n = b->len - at - 4;
    if (n > UINT32_MAX) {
        b->err = WR_ERR_INVALID;
        return;
    }
    b->buf[at] = (uint8_t)(n >> 24);
    b->buf[at + 1] = (uint8_t)(n >> 16);
    b->buf[at + 2] = (uint8_t)(n >> 8);
    b->buf[at + 3] = (uint8_t)n;
}

struct wr_table
wr_tb_table(const struct wr_tb *b)
{
    struct wr_table t = {NULL, 0};

    if (b->len >= 4) {
        t.ptr = b->buf + 4;
        t.len = (uint32_t)(b->len - 4);
    }
    return t;
}
