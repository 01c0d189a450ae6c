/* SPDX-License-Identifier: MIT */
/* Test case "tables" of the protocol suite: field tables, golden bytes,
 * every type round trip, depth and length limits, the builder. */
#include "cases.h"

/* ==== field tables (AMQP 0-9-1 section 4.2.5.5, RabbitMQ types) ========= */

/* One entry of every value type RabbitMQ reads, written from the errata's
 * field-value grammar, plus the spec's 'U' (short-int). */
/* clang-format off */
static const char all_types_golden[] =
    "\x01" "t" "t\x01"                             /* true */
    "\x01" "b" "b\xFE"                             /* -2 */
    "\x01" "B" "B\xFE"                             /* 254 */
    "\x01" "s" "s\xFF\xFD"                         /* -3 */
    "\x01" "u" "u\xFF\xFD"                         /* 65533 */
    "\x01" "U" "U\xFF\xFC"                         /* -4 */
    "\x01" "I" "I\xFF\xFF\xFF\xFB"                 /* -5 */
    "\x01" "i" "i\xFF\xFF\xFF\xFB"                 /* 4294967291 */
    "\x01" "l" "l\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFA" /* -6 */
    "\x01" "L" "L\x80\x00\x00\x00\x00\x00\x00\x01" /* 2^63 + 1 */
    "\x01" "f" "f\x3F\xC0\x00\x00"                 /* 1.5f */
    "\x01" "d" "d\xC0\x04\x00\x00\x00\x00\x00\x00" /* -2.5 */
    "\x01" "D" "D\x02\x00\x00\x30\x39"             /* 123.45 */
    "\x01" "S" "S\x00\x00\x00\x02" "hi"
    "\x01" "x" "x\x00\x00\x00\x03\x00\xFF\x01"
    "\x01" "A" "A\x00\x00\x00\x0B"                 /* [I 7, S "", V] */
        "I\x00\x00\x00\x07" "S\x00\x00\x00\x00" "V"
    "\x01" "T" "T\x00\x00\x00\x00\x65\x00\x00\x00"
    "\x01" "F" "F\x00\x00\x00\x04"                 /* {k: b 7} */
        "\x01" "k" "b\x07"
    "\x01" "V" "V";
/* clang-format on */

/* The same table through the builder (length prefix included). */
struct wr_table
build_all_types(uint8_t *buf, size_t cap, struct wr_tb *b)
{
    wr_tb_init(b, buf, cap);
    wr_tb_add_bool(b, "t", true);
    wr_tb_add_int(b, "b", WR_FT_I8, -2);
    wr_tb_add_int(b, "B", WR_FT_U8, 254);
    wr_tb_add_int(b, "s", WR_FT_I16, -3);
    wr_tb_add_int(b, "u", WR_FT_U16, 65533);
    wr_tb_add_int(b, "U", 'U', -4);
    wr_tb_add_int(b, "I", WR_FT_I32, -5);
    wr_tb_add_int(b, "i", WR_FT_U32, 4294967291LL);
    wr_tb_add_int(b, "l", WR_FT_I64, -6);
    wr_tb_add_u64(b, "L", WR_FT_U64, 0x8000000000000001ULL);
    wr_tb_add_float(b, "f", 1.5f);
    wr_tb_add_double(b, "d", -2.5);
    wr_tb_add_decimal(b, "D", 2, 12345);
    wr_tb_add_str(b, "S", WR_BYTES_LIT("hi"));
    wr_tb_add_bytes(b, "x", WR_BYTES_LIT("\x00\xFF\x01"));
    wr_tb_begin_array(b, "A");
    wr_tb_add_int(b, NULL, WR_FT_I32, 7);
    wr_tb_elem_str(b, WR_BYTES_LIT(""));
    wr_tb_add_void(b, NULL);
    wr_tb_end(b);
    wr_tb_add_u64(b, "T", WR_FT_TIMESTAMP, 0x65000000);
    wr_tb_begin_table(b, "F");
    wr_tb_add_int(b, "k", WR_FT_I8, 7);
    wr_tb_end(b);
    wr_tb_add_void(b, "V");
    wr_tb_end(b);
    return wr_tb_table(b);
}

struct wr_table
golden_table(void)
{
    return (struct wr_table){(const uint8_t *)all_types_golden,
                             sizeof(all_types_golden) - 1};
}

START_TEST(table_builder_golden)
{
    uint8_t buf[512];
    struct wr_tb b;
    struct wr_table t = build_all_types(buf, sizeof(buf), &b);

    ck_assert_int_eq(b.err, WR_OK);
    ck_assert_int_eq(b.depth, 0);
    ck_bytes(t.ptr, t.len, G(all_types_golden));
    /* The length prefix. */
    ck_assert_uint_eq(((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
                          ((uint32_t)buf[2] << 8) | buf[3],
                      t.len);
}
END_TEST

START_TEST(table_decode_golden)
{
    struct wr_table t = golden_table();
    struct wr_table_iter it;
    struct wr_array_iter ai;
    struct wr_bytes k;
    struct wr_value v;
    int64_t n;
    size_t count = 0;

    ck_assert_int_eq(wr_table_validate(t.ptr, t.len, WR_TABLE_MAX_DEPTH),
                     WR_OK);
    ck_assert_uint_eq(wr_table_count(t), 19);
    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, &v) == WR_OK) {
        /* Each key names its own type octet. */
        ck_assert_uint_eq(k.len, 1);
        ck_assert_uint_eq(k.ptr[0], v.type);
        count++;
    }
    ck_assert_uint_eq(count, 19);

    ck_assert_int_eq(wr_table_get(t, "t", &v), WR_OK);
    ck_assert(v.v.b);
    ck_assert_int_eq(wr_table_get(t, "b", &v), WR_OK);
    ck_assert_int_eq(v.v.i, -2);
    ck_assert_int_eq(wr_table_get(t, "B", &v), WR_OK);
    ck_assert_uint_eq(v.v.u, 254);
    ck_assert_int_eq(wr_table_get(t, "s", &v), WR_OK);
    ck_assert_int_eq(v.v.i, -3);
    ck_assert_int_eq(wr_table_get(t, "u", &v), WR_OK);
    ck_assert_uint_eq(v.v.u, 65533);
    ck_assert_int_eq(wr_table_get(t, "U", &v), WR_OK);
    ck_assert_int_eq(v.v.i, -4);
    ck_assert_int_eq(wr_table_get(t, "I", &v), WR_OK);
    ck_assert_int_eq(v.v.i, -5);
    ck_assert_int_eq(wr_table_get(t, "i", &v), WR_OK);
    ck_assert_uint_eq(v.v.u, 4294967291ULL);
    ck_assert_int_eq(wr_table_get(t, "l", &v), WR_OK);
    ck_assert_int_eq(v.v.i, -6);
    ck_assert_int_eq(wr_table_get(t, "L", &v), WR_OK);
    ck_assert_uint_eq(v.v.u, 0x8000000000000001ULL);
    ck_assert_int_eq(wr_table_get(t, "f", &v), WR_OK);
    ck_assert(v.v.f == 1.5f);
    ck_assert_int_eq(wr_table_get(t, "d", &v), WR_OK);
    ck_assert(v.v.d == -2.5);
    ck_assert_int_eq(wr_table_get(t, "D", &v), WR_OK);
    ck_assert_uint_eq(v.v.decimal.scale, 2);
    ck_assert_uint_eq(v.v.decimal.value, 12345);
    ck_assert_int_eq(wr_table_get(t, "S", &v), WR_OK);
    ck_assert(wr_bytes_eq_str(v.v.str, "hi"));
    ck_assert_int_eq(wr_table_get(t, "x", &v), WR_OK);
    ck_assert(wr_bytes_eq(v.v.str, WR_BYTES_LIT("\x00\xFF\x01")));
    ck_assert_int_eq(wr_table_get(t, "T", &v), WR_OK);
    ck_assert_uint_eq(v.v.u, 0x65000000);
    ck_assert_int_eq(wr_table_get(t, "V", &v), WR_OK);
    ck_assert_uint_eq(v.type, WR_FT_VOID);

    ck_assert_int_eq(wr_table_get(t, "F", &v), WR_OK);
    ck_assert_uint_eq(wr_table_count(v.v.table), 1);
    ck_assert_int_eq(wr_table_get(v.v.table, "k", &v), WR_OK);
    ck_assert_int_eq(v.v.i, 7);

    ck_assert_int_eq(wr_table_get(t, "A", &v), WR_OK);
    wr_array_iter_init(&ai, v.v.array);
    ck_assert_int_eq(wr_array_next(&ai, &v), WR_OK);
    ck_assert_uint_eq(v.type, WR_FT_I32);
    ck_assert_int_eq(v.v.i, 7);
    ck_assert_int_eq(wr_array_next(&ai, &v), WR_OK);
    ck_assert_uint_eq(v.type, WR_FT_LONGSTR);
    ck_assert_uint_eq(v.v.str.len, 0);
    ck_assert_int_eq(wr_array_next(&ai, &v), WR_OK);
    ck_assert_uint_eq(v.type, WR_FT_VOID);
    ck_assert_int_eq(wr_array_next(&ai, &v), WR_AGAIN);

    ck_assert_int_eq(wr_table_get(t, "nope", &v), WR_ERR_NOT_FOUND);
    ck_assert_int_eq(wr_table_get(t, "", &v), WR_ERR_NOT_FOUND);

    /* Integers of every width, and 'L' read as signed as RabbitMQ does. */
    ck_assert_int_eq(wr_table_get(t, "i", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    ck_assert_int_eq(n, 4294967291LL);
    ck_assert_int_eq(wr_table_get(t, "U", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    ck_assert_int_eq(n, -4);
    ck_assert_int_eq(wr_table_get(t, "L", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    ck_assert_int_eq(n, INT64_MIN + 1);
    ck_assert_int_eq(wr_table_get(t, "T", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    ck_assert_int_eq(n, 0x65000000);
    ck_assert_int_eq(wr_table_get(t, "S", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_ERR_INVALID);
    ck_assert_int_eq(wr_table_get(t, "d", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_ERR_INVALID);
    ck_assert_int_eq(wr_table_get(t, "t", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_ERR_INVALID);
}
END_TEST

START_TEST(table_empty)
{
    struct wr_table t = {(const uint8_t *)"", 0};
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;

    ck_assert_int_eq(wr_table_validate(t.ptr, 0, WR_TABLE_MAX_DEPTH), WR_OK);
    ck_assert_uint_eq(wr_table_count(t), 0);
    wr_table_iter_init(&it, t);
    ck_assert_int_eq(wr_table_next(&it, &k, &v), WR_AGAIN);
    ck_assert_int_eq(wr_table_get(t, "a", &v), WR_ERR_NOT_FOUND);
}
END_TEST

/* A value of each type, alone in a table and alone in an array: validate,
 * read back, and re-encode with wr_tb_add_value to the same bytes. */
struct typed_case {
    const char *name;
    const char *bytes; /* the value: type octet + payload */
    size_t len;
};

/* A byte string given as a literal, with its length. */
struct lit {
    const char *p;
    size_t n;
};
#define LIT(s)                                                                 \
    {                                                                          \
        s, sizeof(s) - 1                                                       \
    }

#define TC(name, lit)                                                          \
    {                                                                          \
        name, lit, sizeof(lit) - 1                                             \
    }
/* clang-format off */
static const struct typed_case typed_cases[] = {
    TC("bool false", "t\x00"),
    TC("bool true", "t\x01"),
    TC("i8 min", "b\x80"),
    TC("u8 max", "B\xFF"),
    TC("i16 min", "s\x80\x00"),
    TC("u16 max", "u\xFF\xFF"),
    TC("spec i16", "U\x7F\xFF"),
    TC("i32 min", "I\x80\x00\x00\x00"),
    TC("u32 max", "i\xFF\xFF\xFF\xFF"),
    TC("i64 min", "l\x80\x00\x00\x00\x00\x00\x00\x00"),
    TC("u64 max", "L\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"),
    TC("float", "f\xC2\xF6\xE9\x79"),
    TC("float nan", "f\x7F\xC0\x00\x00"),
    TC("double", "d\x40\x09\x21\xFB\x54\x44\x2D\x18"),
    TC("double -0", "d\x80\x00\x00\x00\x00\x00\x00\x00"),
    TC("decimal", "D\xFF\xFF\xFF\xFF\xFF"),
    TC("longstr", "S\x00\x00\x00\x03" "a\x00" "b"),
    TC("longstr empty", "S\x00\x00\x00\x00"),
    TC("bytes", "x\x00\x00\x00\x02\xCE\x01"),
    TC("timestamp", "T\x00\x00\x00\x00\x5F\x5E\x10\x00"),
    TC("void", "V"),
    TC("table empty", "F\x00\x00\x00\x00"),
    TC("table nested", "F\x00\x00\x00\x0E" "\x01" "a" "F\x00\x00\x00\x07"
                       "\x01" "b" "A\x00\x00\x00\x00"),
    TC("array empty", "A\x00\x00\x00\x00"),
    TC("array mixed", "A\x00\x00\x00\x0E" "t\x01" "A\x00\x00\x00\x02" "B\x09"
                      "F\x00\x00\x00\x00"),
};
/* clang-format on */

START_TEST(table_roundtrip_type)
{
    const struct typed_case *c = &typed_cases[_i];
    uint8_t enc[64], out[128];
    struct wr_table t, t2;
    struct wr_array a;
    struct wr_table_iter it;
    struct wr_array_iter ai;
    struct wr_bytes k;
    struct wr_value v, v2;
    struct wr_tb b;

    /* As a table entry named "k". */
    enc[0] = 1;
    enc[1] = 'k';
    memcpy(enc + 2, c->bytes, c->len);
    t = (struct wr_table){enc, (uint32_t)(c->len + 2)};
    ck_assert_msg(wr_table_validate(t.ptr, t.len, WR_TABLE_MAX_DEPTH) == WR_OK,
                  "%s", c->name);
    wr_table_iter_init(&it, t);
    ck_assert_int_eq(wr_table_next(&it, &k, &v), WR_OK);
    ck_assert(wr_bytes_eq_str(k, "k"));
    ck_assert_uint_eq(v.type, (uint8_t)c->bytes[0]);
    ck_assert_int_eq(wr_table_next(&it, &k, &v2), WR_AGAIN);
    wr_tb_init(&b, out, sizeof(out));
    wr_tb_add_value(&b, "k", &v);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    t2 = wr_tb_table(&b);
    ck_bytes(t2.ptr, t2.len, t.ptr, t.len);
    ck_assert(wr_table_equal(t, t2));

    /* As the element of an array. */
    a = (struct wr_array){(const uint8_t *)c->bytes, (uint32_t)c->len};
    wr_array_iter_init(&ai, a);
    ck_assert_int_eq(wr_array_next(&ai, &v2), WR_OK);
    ck_assert_int_eq(wr_array_next(&ai, &v2), WR_AGAIN);
    wr_tb_init(&b, out, sizeof(out));
    wr_tb_begin_array(&b, "a");
    wr_tb_elem_value(&b, &v);
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    ck_assert_uint_eq(b.len, 4 + 2 + 1 + 4 + c->len);
    ck_assert_mem_eq(out + 11, c->bytes, c->len);
    t2 = wr_tb_table(&b);
    ck_assert_int_eq(wr_table_validate(t2.ptr, t2.len, WR_TABLE_MAX_DEPTH),
                     WR_OK);
}
END_TEST

START_TEST(table_roundtrip_all_types)
{
    uint8_t buf[512], out[512];
    struct wr_tb b, b2;
    struct wr_table t = build_all_types(buf, sizeof(buf), &b), t2;
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    char key[2] = {0, 0};

    /* Decode every entry, re-encode it, and get the same bytes. */
    wr_tb_init(&b2, out, sizeof(out));
    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, &v) == WR_OK) {
        key[0] = (char)k.ptr[0];
        wr_tb_add_value(&b2, key, &v);
    }
    wr_tb_end(&b2);
    ck_assert_int_eq(b2.err, WR_OK);
    t2 = wr_tb_table(&b2);
    ck_bytes(t2.ptr, t2.len, t.ptr, t.len);
}
END_TEST

/* Nested 1,000 deep: 7 bytes per level ("\x01" "a" 'F' + length). */
uint8_t *
nested(size_t levels, uint8_t type, size_t *len)
{
    size_t n = levels * 7;
    uint8_t *p = wr_malloc(n ? n : 1), *q = p;

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < levels; i++) {
        uint32_t inner = (uint32_t)((levels - i - 1) * 7);
        *q++ = 1;
        *q++ = 'a';
        *q++ = type;
        *q++ = (uint8_t)(inner >> 24);
        *q++ = (uint8_t)(inner >> 16);
        *q++ = (uint8_t)(inner >> 8);
        *q++ = (uint8_t)inner;
    }
    *len = n;
    return p;
}

START_TEST(table_too_deep)
{
    size_t len;
    uint8_t *p = nested(1000, WR_FT_TABLE, &len);

    uint8_t *q = dup_exact(p, len);

    ck_assert_int_eq(wr_table_validate(p, len, WR_TABLE_MAX_DEPTH),
                     WR_ERR_TOO_DEEP);
    /* Equality of unvalidated tables stays bounded too (they differ only
     * in the innermost name). */
    q[len - 6] = 'b';
    ck_assert(!wr_table_equal((struct wr_table){p, (uint32_t)len},
                              (struct wr_table){q, (uint32_t)len}));
    wr_free(q);
    wr_free(p);
}
END_TEST

START_TEST(table_depth_limit_exact)
{
    size_t len;
    uint8_t *p;

    /* The top-level table is level 1: 63 nested tables make 64 levels. */
    p = nested(WR_TABLE_MAX_DEPTH - 1, WR_FT_TABLE, &len);
    ck_assert_int_eq(wr_table_validate(p, len, WR_TABLE_MAX_DEPTH), WR_OK);
    wr_free(p);
    p = nested(WR_TABLE_MAX_DEPTH, WR_FT_TABLE, &len);
    ck_assert_int_eq(wr_table_validate(p, len, WR_TABLE_MAX_DEPTH),
                     WR_ERR_TOO_DEEP);
    ck_assert_int_eq(wr_table_validate(p, len, WR_TABLE_MAX_DEPTH + 1), WR_OK);
    wr_free(p);
    ck_assert_int_eq(wr_table_validate(NULL, 0, 0), WR_ERR_TOO_DEEP);
    ck_assert_int_eq(wr_table_validate(G("\x01"
                                         "aV"),
                                       1),
                     WR_OK);
}
END_TEST

/* Arrays count as levels too: a table holding an array of arrays ... */
START_TEST(table_array_too_deep)
{
    size_t n = 1000, len = 3 + 4 + n * 5;
    uint8_t *p = wr_malloc(len), *q = p;

    ck_assert_ptr_nonnull(p);
    *q++ = 1;
    *q++ = 'a';
    for (size_t i = 0; i <= n; i++) {
        uint32_t inner = (uint32_t)((n - i) * 5);
        *q++ = 'A';
        *q++ = (uint8_t)(inner >> 24);
        *q++ = (uint8_t)(inner >> 16);
        *q++ = (uint8_t)(inner >> 8);
        *q++ = (uint8_t)inner;
    }
    ck_assert_uint_eq((size_t)(q - p), len);
    ck_assert_int_eq(wr_table_validate(p, len, WR_TABLE_MAX_DEPTH),
                     WR_ERR_TOO_DEEP);
    wr_free(p);
}
END_TEST

/* Declared lengths past the end, up to 0xFFFFFFFF, never read out of
 * bounds and are a syntax error. */
/* clang-format off */
START_TEST(table_huge_lengths)
{
    static const struct lit bad[] = {
        LIT("\x01" "a" "S\xFF\xFF\xFF\xFF"),
        LIT("\x01" "a" "S\x7F\xFF\xFF\xFF" "abc"),
        LIT("\x01" "a" "x\xFF\xFF\xFF\xFF"),
        LIT("\x01" "a" "F\xFF\xFF\xFF\xFF"),
        LIT("\x01" "a" "A\xFF\xFF\xFF\xFF"),
        LIT("\x01" "a" "A\x00\x00\x00\x05" "S\xFF\xFF\xFF\xFF"),
        LIT("\x01" "a" "F\x00\x00\x00\x07" "\x01" "b" "S\x00\x00\x00\x09"),
        LIT("\x01" "a" "S\x00\x00\x00\x04" "abc"),
    };
    /* clang-format on */

    for (size_t i = 0; i < WR_ARRAY_LEN(bad); i++) {
        uint8_t *p = dup_exact((const uint8_t *)bad[i].p, bad[i].n);
        ck_assert_msg(wr_table_validate(p, bad[i].n, WR_TABLE_MAX_DEPTH) ==
                          WR_ERR_SYNTAX,
                      "case %zu", i);
        wr_free(p);
    }
}
END_TEST

/* Field names are short strings (4.2.5.3): a length past the end, a name
 * with no value after it. */
/* clang-format off */
START_TEST(table_bad_short_strings)
{
    static const struct lit bad[] = {
        LIT("\xFF" "ab"),
        LIT("\x05" "abcd"),
        LIT("\x01" "a"),
        LIT("\x01"),
        LIT("\x01" "a" "t"),
        LIT("\x01" "a" "I\x00\x00"),
    };
    /* clang-format on */

    for (size_t i = 0; i < WR_ARRAY_LEN(bad); i++) {
        uint8_t *p = dup_exact((const uint8_t *)bad[i].p, bad[i].n);
        struct wr_table_iter it;
        struct wr_bytes k;
        struct wr_value v;

        ck_assert_msg(wr_table_validate(p, bad[i].n, WR_TABLE_MAX_DEPTH) ==
                          WR_ERR_SYNTAX,
                      "case %zu", i);
        /* Iterating unvalidated bytes is safe and reports the error. */
        wr_table_iter_init(&it, (struct wr_table){p, (uint32_t)bad[i].n});
        ck_assert_int_eq(wr_table_next(&it, &k, &v), WR_ERR_SYNTAX);
        wr_free(p);
    }
    /* An empty name is allowed (RabbitMQ does not check names). */
    ck_assert_int_eq(wr_table_validate(G("\x00V"), WR_TABLE_MAX_DEPTH), WR_OK);
}
END_TEST

/* clang-format off */
START_TEST(table_unknown_type)
{
    static const struct lit bad[] = {
        LIT("\x01" "a" "Z"),
        LIT("\x01" "a" "\x00"),
        LIT("\x01" "a" "A\x00\x00\x00\x01" "?"),
    };
    /* clang-format on */

    for (size_t i = 0; i < WR_ARRAY_LEN(bad); i++)
        ck_assert_int_eq(wr_table_validate((const uint8_t *)bad[i].p, bad[i].n,
                                           WR_TABLE_MAX_DEPTH),
                         WR_ERR_FIELD_TYPE);
}
END_TEST

/* Every prefix of a table body is either a whole number of entries (valid)
 * or a syntax error, and never read past. */
START_TEST(table_truncated)
{
    struct wr_table t = golden_table();
    struct wr_table_iter it;
    struct wr_bytes k;
    struct wr_value v;
    bool boundary[sizeof(all_types_golden)] = {false};

    boundary[0] = true;
    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &k, &v) == WR_OK)
        boundary[it.off] = true;
    for (size_t cut = 0; cut <= t.len; cut++) {
        uint8_t *p = dup_exact(t.ptr, cut);
        int rc = wr_table_validate(p, cut, WR_TABLE_MAX_DEPTH);
        ck_assert_msg(rc == (boundary[cut] ? WR_OK : WR_ERR_SYNTAX),
                      "cut %zu: %d", cut, rc);
        wr_free(p);
    }
}
END_TEST

struct wr_table
tbl(const char *lit, size_t len)
{
    return (struct wr_table){(const uint8_t *)lit, (uint32_t)len};
}

START_TEST(table_equal)
{
    /* clang-format off */
    struct wr_table ab = T("\x01" "a" "I\x00\x00\x00\x01" "\x01" "b" "S\x00\x00\x00\x01" "x");
    struct wr_table ba = T("\x01" "b" "S\x00\x00\x00\x01" "x" "\x01" "a" "I\x00\x00\x00\x01");
    struct wr_table ab_long = T("\x01" "a" "l\x00\x00\x00\x00\x00\x00\x00\x01"
                                "\x01" "b" "S\x00\x00\x00\x01" "x");
    struct wr_table ab2 = T("\x01" "a" "I\x00\x00\x00\x02" "\x01" "b" "S\x00\x00\x00\x01" "x");
    struct wr_table ab_bytes = T("\x01" "a" "I\x00\x00\x00\x01" "\x01" "b" "x\x00\x00\x00\x01" "x");
    struct wr_table ac = T("\x01" "a" "I\x00\x00\x00\x01" "\x01" "c" "S\x00\x00\x00\x01" "x");
    struct wr_table a = T("\x01" "a" "I\x00\x00\x00\x01");
    struct wr_table empty = T("");
    struct wr_table fl = T("\x01" "a" "f\x3F\xC0\x00\x00");
    struct wr_table db = T("\x01" "a" "d\x3F\xF8\x00\x00\x00\x00\x00\x00");
    /* Nested tables compare in any order; arrays element by element. */
    struct wr_table n1 = T("\x01" "n" "F\x00\x00\x00\x07" "\x01" "x" "t\x01" "\x01" "y" "V");
    struct wr_table n2 = T("\x01" "n" "F\x00\x00\x00\x07" "\x01" "y" "V" "\x01" "x" "t\x01");
    struct wr_table r1 = T("\x01" "r" "A\x00\x00\x00\x03" "t\x01" "V");
    struct wr_table r2 = T("\x01" "r" "A\x00\x00\x00\x03" "V" "t\x01");
    /* any non-zero octet is true */
    struct wr_table r3 = T("\x01" "r" "A\x00\x00\x00\x03" "t\x02" "V");
    struct wr_table dup1 = T("\x01" "x" "b\x01" "\x01" "x" "b\x01");
    struct wr_table dup2 = T("\x01" "x" "b\x01" "\x01" "x" "b\x02");
    /* Same names are paired in order: n-th "x" with n-th "x". */
    struct wr_table dup3 = T("\x01" "x" "b\x01" "\x01" "y" "V" "\x01" "x" "t\x07");
    struct wr_table dup4 = T("\x01" "y" "V" "\x01" "x" "b\x01" "\x01" "x" "t\x01");
    struct wr_table dup5 = T("\x01" "x" "t\x01" "\x01" "y" "V" "\x01" "x" "b\x01");
    /* clang-format on */

    ck_assert(wr_table_equal(ab, ab));
    ck_assert(wr_table_equal(ab, ba));
    ck_assert(wr_table_equal(ba, ab));
    /* Integer widths are one class, as RabbitMQ's type_class/1. */
    ck_assert(wr_table_equal(ab, ab_long));
    ck_assert(wr_table_equal(fl, db));
    ck_assert(!wr_table_equal(ab, ab2));
    ck_assert(!wr_table_equal(ab, ab_bytes));
    ck_assert(!wr_table_equal(ab, ac));
    ck_assert(!wr_table_equal(ab, a));
    ck_assert(!wr_table_equal(a, ab));
    ck_assert(!wr_table_equal(a, empty));
    ck_assert(wr_table_equal(empty, empty));
    ck_assert(!wr_table_equal(a, fl));
    ck_assert(wr_table_equal(n1, n2));
    ck_assert(!wr_table_equal(r1, r2));
    ck_assert(wr_table_equal(r1, r3));
    ck_assert(!wr_table_equal(dup1, dup2));
    ck_assert(!wr_table_equal(dup2, dup1));
    ck_assert(wr_table_equal(dup3, dup4));
    ck_assert(wr_table_equal(dup4, dup3));
    ck_assert(!wr_table_equal(dup3, dup5));
    ck_assert(!wr_table_equal(dup5, dup4));
    ck_assert(wr_table_equal(golden_table(), golden_table()));
}
END_TEST

START_TEST(table_builder_errors)
{
    uint8_t buf[512];
    struct wr_tb b;
    char longkey[300];
    size_t full;

    /* Every buffer smaller than the result fails, and the error sticks. */
    build_all_types(buf, sizeof(buf), &b);
    full = b.len;
    for (size_t cap = 0; cap < full; cap++) {
        uint8_t *small = wr_malloc(cap ? cap : 1);
        build_all_types(small, cap, &b);
        ck_assert_int_eq(b.err, WR_ERR_NOSPACE);
        ck_assert_uint_le(b.len, cap);
        wr_free(small);
    }

    memset(longkey, 'k', 256);
    longkey[256] = '\0';
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_bool(&b, longkey, true);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    longkey[255] = '\0';
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_bool(&b, longkey, true);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);

    /* Out of range for the type, or not an integer type. */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "a", WR_FT_U8, 256);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "a", WR_FT_I16, -32769);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "a", WR_FT_U32, -1);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "a", WR_FT_LONGSTR, 1);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_u64(&b, "a", WR_FT_I64, 1);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);

    /* Names in tables, none in arrays. */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_void(&b, NULL);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_begin_array(&b, "a");
    wr_tb_add_void(&b, "x");
    ck_assert_int_eq(b.err, WR_ERR_INVALID);

    /* One end too many. */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_ERR_INVALID);

    /* WR_TABLE_MAX_DEPTH levels, the top one included. */
    wr_tb_init(&b, buf, sizeof(buf));
    for (int i = 1; i < WR_TABLE_MAX_DEPTH; i++)
        wr_tb_begin_table(&b, "n");
    ck_assert_int_eq(b.err, WR_OK);
    for (int i = 0; i < WR_TABLE_MAX_DEPTH; i++)
        wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    {
        struct wr_table t = wr_tb_table(&b);
        ck_assert_int_eq(wr_table_validate(t.ptr, t.len, WR_TABLE_MAX_DEPTH),
                         WR_OK);
    }
    wr_tb_init(&b, buf, sizeof(buf));
    for (int i = 0; i < WR_TABLE_MAX_DEPTH; i++)
        wr_tb_begin_table(&b, "n");
    ck_assert_int_eq(b.err, WR_ERR_TOO_DEEP);
}
END_TEST

START_TEST(table_builder_nested_arrays)
{
    uint8_t buf[256];
    struct wr_tb b;
    struct wr_table t;
    struct wr_value v;
    struct wr_array_iter ai;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_begin_array(&b, "arr");
    wr_tb_elem_begin_table(&b);
    wr_tb_add_str(&b, "k", WR_BYTES_LIT("v"));
    wr_tb_end(&b);
    wr_tb_begin_array(&b, NULL);
    wr_tb_add_int(&b, NULL, WR_FT_U8, 1);
    wr_tb_end(&b);
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    t = wr_tb_table(&b);
    /* clang-format off */
    ck_bytes(t.ptr, t.len,
             G("\x03" "arr" "A\x00\x00\x00\x14"
                   "F\x00\x00\x00\x08" "\x01" "k" "S\x00\x00\x00\x01" "v"
                   "A\x00\x00\x00\x02" "B\x01"));
    /* clang-format on */
    ck_assert_int_eq(wr_table_validate(t.ptr, t.len, WR_TABLE_MAX_DEPTH),
                     WR_OK);
    ck_assert_int_eq(wr_table_get(t, "arr", &v), WR_OK);
    wr_array_iter_init(&ai, v.v.array);
    ck_assert_int_eq(wr_array_next(&ai, &v), WR_OK);
    ck_assert_uint_eq(v.type, WR_FT_TABLE);
    ck_assert_int_eq(wr_table_get(v.v.table, "k", &v), WR_OK);
    ck_assert(wr_bytes_eq_str(v.v.str, "v"));
}
END_TEST

TCase *
protocol_tables_tcase(void)
{
    TCase *tc = tcase_create("tables");

    tcase_add_test(tc, table_builder_golden);
    tcase_add_test(tc, table_decode_golden);
    tcase_add_test(tc, table_empty);
    tcase_add_loop_test(tc, table_roundtrip_type, 0,
                        (int)WR_ARRAY_LEN(typed_cases));
    tcase_add_test(tc, table_roundtrip_all_types);
    tcase_add_test(tc, table_too_deep);
    tcase_add_test(tc, table_depth_limit_exact);
    tcase_add_test(tc, table_array_too_deep);
    tcase_add_test(tc, table_huge_lengths);
    tcase_add_test(tc, table_bad_short_strings);
    tcase_add_test(tc, table_unknown_type);
    tcase_add_test(tc, table_truncated);
    tcase_add_test(tc, table_equal);
    tcase_add_test(tc, table_builder_errors);
    tcase_add_test(tc, table_builder_nested_arrays);
    return tc;
}
