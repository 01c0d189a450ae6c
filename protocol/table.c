/* SPDX-License-Identifier: MIT */
/* Field tables and arrays (AMQP 0-9-1 section 4.2.5.5 with RabbitMQ's value
 * types, see the errata page): validation, iteration, lookup and semantic
 * equality; the builder is table_build.c. The decoder never allocates. */
#include "protocol_internal.h"

#include <math.h>

/* Past this many entries wr_table_equal stops at byte equality: the
 * order-free comparison is quadratic and its input comes from peers. */
#define EQUAL_MAX_ENTRIES 1024

static float
float_from_bits(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static double
double_from_bits(uint64_t u)
{
    double d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

/* Reads one value (type octet + payload). Nested tables and arrays come back
 * as views and are not looked into. */
static int
read_value(struct wr_rd *r, struct wr_value *v)
{
    /* Zeroed so that a failed read stores 0, never an indeterminate value. */
    uint8_t t, u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    struct wr_bytes s;
    int rc;

    if (rd_u8(r, &t) != WR_OK)
        return WR_ERR_SYNTAX;
    memset(v, 0, sizeof(*v));
    v->type = t;
    switch (t) {
    case WR_FT_BOOL:
        rc = rd_u8(r, &u8);
        v->v.b = u8 != 0; /* RabbitMQ: any non-zero octet is true */
        return rc;
    case WR_FT_I8:
        rc = rd_u8(r, &u8);
        v->v.i = (int8_t)u8;
        return rc;
    case WR_FT_U8:
        rc = rd_u8(r, &u8);
        v->v.u = u8;
        return rc;
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
        rc = rd_u16(r, &u16);
        v->v.i = (int16_t)u16;
        return rc;
    case WR_FT_U16:
        rc = rd_u16(r, &u16);
        v->v.u = u16;
        return rc;
    case WR_FT_I32:
        rc = rd_u32(r, &u32);
        v->v.i = (int32_t)u32;
        return rc;
    case WR_FT_U32:
        rc = rd_u32(r, &u32);
        v->v.u = u32;
        return rc;
    case WR_FT_I64:
        rc = rd_u64(r, &u64);
        v->v.i = (int64_t)u64;
        return rc;
    case WR_FT_U64:
    case WR_FT_TIMESTAMP:
        rc = rd_u64(r, &u64);
        v->v.u = u64;
        return rc;
    case WR_FT_FLOAT:
        rc = rd_u32(r, &u32);
        v->v.f = float_from_bits(u32);
        return rc;
    case WR_FT_DOUBLE:
        rc = rd_u64(r, &u64);
        v->v.d = double_from_bits(u64);
        return rc;
    case WR_FT_DECIMAL:
        if (rd_u8(r, &v->v.decimal.scale) != WR_OK)
            return WR_ERR_SYNTAX;
        return rd_u32(r, &v->v.decimal.value);
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return rd_longstr(r, &v->v.str);
    case WR_FT_TABLE:
        if ((rc = rd_longstr(r, &s)) != WR_OK)
            return rc;
        v->v.table.ptr = s.ptr;
        v->v.table.len = s.len;
        return WR_OK;
    case WR_FT_ARRAY:
        if ((rc = rd_longstr(r, &s)) != WR_OK)
            return rc;
        v->v.array.ptr = s.ptr;
        v->v.array.len = s.len;
        return WR_OK;
    case WR_FT_VOID:
        return WR_OK;
    }
    return WR_ERR_FIELD_TYPE;
}

static int validate(const uint8_t *p, size_t len, bool named, int levels);

/* levels: how many levels may still be opened, this one included. */
static int
validate_nested(const struct wr_value *v, int levels)
{
    if (v->type != WR_FT_TABLE && v->type != WR_FT_ARRAY)
        return WR_OK;
    if (levels <= 1)
        return WR_ERR_TOO_DEEP;
    if (v->type == WR_FT_TABLE)
        return validate(v->v.table.ptr, v->v.table.len, true, levels - 1);
    return validate(v->v.array.ptr, v->v.array.len, false, levels - 1);
}

/* A table is a run of (short-string name, value); an array a run of values. */
static int
validate(const uint8_t *p, size_t len, bool named, int levels)
{
    struct wr_rd r = {p, len, 0};
    struct wr_bytes key;
    struct wr_value v;
    int rc;

    while (r.off < r.len) {
        if (named && rd_shortstr(&r, &key) != WR_OK)
            return WR_ERR_SYNTAX;
        if ((rc = read_value(&r, &v)) != WR_OK)
            return rc;
        if ((rc = validate_nested(&v, levels)) != WR_OK)
            return rc;
    }
    return WR_OK;
}

int
wr_table_validate(const uint8_t *p, size_t len, int max_depth)
{
    if (max_depth < 1)
        return WR_ERR_TOO_DEEP;
    return validate(p, len, true, max_depth);
}

void
wr_table_iter_init(struct wr_table_iter *it, struct wr_table t)
{
    it->p = t.ptr;
    it->len = t.len;
    it->off = 0;
}

int
wr_table_next(struct wr_table_iter *it, struct wr_bytes *key,
              struct wr_value *val)
{
    struct wr_rd r = {it->p, it->len, it->off};
    int rc;

    if (r.off >= r.len)
        return WR_AGAIN;
    if (rd_shortstr(&r, key) != WR_OK)
        return WR_ERR_SYNTAX;
    if ((rc = read_value(&r, val)) != WR_OK)
        return rc;
    it->off = r.off;
    return WR_OK;
}

void
wr_array_iter_init(struct wr_array_iter *it, struct wr_array a)
{
    it->p = a.ptr;
    it->len = a.len;
    it->off = 0;
}

int
wr_array_next(struct wr_array_iter *it, struct wr_value *val)
{
    struct wr_rd r = {it->p, it->len, it->off};
    int rc;

    if (r.off >= r.len)
        return WR_AGAIN;
    if ((rc = read_value(&r, val)) != WR_OK)
        return rc;
    it->off = r.off;
    return WR_OK;
}

static int
table_find(struct wr_table t, struct wr_bytes key, struct wr_value *val)
{
    struct wr_table_iter it;
    struct wr_bytes k;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, val) == WR_OK)
        if (wr_bytes_eq(k, key))
            return WR_OK;
    return WR_ERR_NOT_FOUND;
}

int
wr_table_get(struct wr_table t, const char *key, struct wr_value *val)
{
    return table_find(t, wr_bytes_str(key), val);
}

size_t
wr_table_count(struct wr_table t)
{
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    size_t n = 0;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, &v) == WR_OK)
        n++;
    return n;
}

static size_t
array_count(struct wr_array a)
{
    struct wr_array_iter it;
    struct wr_value v;
    size_t n = 0;

    wr_array_iter_init(&it, a);
    while (wr_array_next(&it, &v) == WR_OK)
        n++;
    return n;
}

int
wr_value_int(const struct wr_value *v, int64_t *out)
{
    switch (v->type) {
    case WR_FT_I8:
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
    case WR_FT_I32:
    case WR_FT_I64:
        *out = v->v.i;
        return WR_OK;
    case WR_FT_U8:
    case WR_FT_U16:
    case WR_FT_U32:
        *out = (int64_t)v->v.u;
        return WR_OK;
    case WR_FT_U64:
        /* RabbitMQ reads 'L' as signed 64 (rabbit_binary_parser). */
        *out = (int64_t)v->v.u;
        return WR_OK;
    case WR_FT_TIMESTAMP:
        if (v->v.u > INT64_MAX)
            return WR_ERR_INVALID;
        *out = (int64_t)v->v.u;
        return WR_OK;
    }
    return WR_ERR_INVALID;
}

/* Type classes as RabbitMQ's rabbit_misc:type_class/1: integers of any width
 * compare by value, so do the two float widths. */
enum type_class { TC_OTHER, TC_INT, TC_FLOAT };

static enum type_class
type_class(uint8_t t)
{
    switch (t) {
    case WR_FT_I8:
    case WR_FT_U8:
    case WR_FT_I16:
    case WR_FT_SPEC_I16:
    case WR_FT_U16:
    case WR_FT_I32:
    case WR_FT_U32:
    case WR_FT_I64:
    case WR_FT_U64:
        return TC_INT;
    case WR_FT_FLOAT:
    case WR_FT_DOUBLE:
        return TC_FLOAT;
    }
    return TC_OTHER;
}

static double
float_value(const struct wr_value *v)
{
    return v->type == WR_FT_FLOAT ? (double)v->v.f : v->v.d;
}

static bool tables_equal(struct wr_table a, struct wr_table b, int levels);
static bool arrays_equal(struct wr_array a, struct wr_array b, int levels);

static bool
values_equal(const struct wr_value *a, const struct wr_value *b, int levels)
{
    enum type_class ca = type_class(a->type), cb = type_class(b->type);

    if (ca != cb)
        return false;
    if (ca == TC_INT) {
        int64_t x = 0, y = 0;
        wr_value_int(a, &x);
        wr_value_int(b, &y);
        return x == y;
    }
    if (ca == TC_FLOAT) {
        double x = float_value(a), y = float_value(b);
        return x == y || (isnan(x) && isnan(y));
    }
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case WR_FT_BOOL:
        return a->v.b == b->v.b;
    case WR_FT_TIMESTAMP:
        return a->v.u == b->v.u;
    case WR_FT_DECIMAL:
        return a->v.decimal.scale == b->v.decimal.scale &&
               a->v.decimal.value == b->v.decimal.value;
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return wr_bytes_eq(a->v.str, b->v.str);
    case WR_FT_TABLE:
        return levels > 1 && tables_equal(a->v.table, b->v.table, levels - 1);
    case WR_FT_ARRAY:
        return levels > 1 && arrays_equal(a->v.array, b->v.array, levels - 1);
    case WR_FT_VOID:
        return true;
    }
    return false;
}

static bool
bytes_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* How many entries of t[0..end) are named key. */
static size_t
count_named(struct wr_table t, size_t end, struct wr_bytes key)
{
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    size_t n = 0;

    wr_table_iter_init(&it, t);
    while (it.off < end && wr_table_next(&it, &k, &v) == WR_OK)
        n += wr_bytes_eq(k, key);
    return n;
}

/* The n-th (from 0) entry of t named key, or false. */
static bool
find_nth(struct wr_table t, struct wr_bytes key, size_t n, struct wr_value *val)
{
    struct wr_table_iter it;
    struct wr_bytes k;

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, val) == WR_OK)
        if (wr_bytes_eq(k, key) && n-- == 0)
            return true;
    return false;
}

/* Entries with the same name are matched in order of appearance: the n-th
 * "x" of a with the n-th "x" of b. With equal counts that pairs every entry
 * of a with a distinct entry of b, so one direction is enough. */
static bool
table_covered(struct wr_table a, struct wr_table b, int levels)
{
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value va, vb;
    size_t at = 0;
    int rc;

    wr_table_iter_init(&it, a);
    while ((rc = wr_table_next(&it, &k, &va)) == WR_OK) {
        if (!find_nth(b, k, count_named(a, at, k), &vb) ||
            !values_equal(&va, &vb, levels))
            return false;
        at = it.off;
    }
    return rc == WR_AGAIN;
}

static bool
tables_equal(struct wr_table a, struct wr_table b, int levels)
{
    size_t n;

    if (bytes_same(a.ptr, a.len, b.ptr, b.len))
        return true;
    n = wr_table_count(a);
    if (n != wr_table_count(b) || n > EQUAL_MAX_ENTRIES)
        return false;
    return table_covered(a, b, levels);
}

static bool
arrays_equal(struct wr_array a, struct wr_array b, int levels)
{
    struct wr_array_iter ia, ib;
    struct wr_value va, vb;
    int ra, rb;

    if (bytes_same(a.ptr, a.len, b.ptr, b.len))
        return true;
    if (array_count(a) != array_count(b))
        return false;
    wr_array_iter_init(&ia, a);
    wr_array_iter_init(&ib, b);
    for (;;) {
        ra = wr_array_next(&ia, &va);
        rb = wr_array_next(&ib, &vb);
        if (ra != WR_OK || rb != WR_OK)
            return ra == WR_AGAIN && rb == WR_AGAIN;
        if (!values_equal(&va, &vb, levels))
            return false;
    }
}

bool
wr_table_equal(struct wr_table a, struct wr_table b)
{
    return tables_equal(a, b, WR_TABLE_MAX_DEPTH);
}
