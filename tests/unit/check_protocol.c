/* SPDX-License-Identifier: MIT */
/* Unit tests of the AMQP 0-9-1 codec (protocol/): golden bytes written by
 * hand from the spec, round trips of every method and field type, and
 * truncation at every offset. Suite "protocol". */
#include "../../protocol/protocol.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_XML                                                               \
    "/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml"

/* A golden byte string given as a C string literal (without its NUL). */
#define G(arr) ((const uint8_t *)(arr)), (sizeof(arr) - 1)

/* A copy of p[0..n) in an allocation of exactly n bytes, so that ASan sees
 * any read past the end. */
static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = wr_malloc(n ? n : 1);

    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

static void
ck_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
         size_t want_len)
{
    ck_assert_uint_eq(got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        ck_assert_msg(got[i] == want[i], "byte %zu: got 0x%02x, want 0x%02x", i,
                      got[i], want[i]);
}

/* ==== frames (AMQP 0-9-1 section 4.2.3, General Frame Format) ========== */

/* 4.2.7: heartbeat frames are type 8 on channel 0 with no payload. */
static const char heartbeat_golden[] = "\x08\x00\x00\x00\x00\x00\x00\xCE";

/* connection.tune (10, 30): channel-max 2047, frame-max 131072,
 * heartbeat 60, as a method frame on channel 0. */
static const char tune_frame_golden[] = "\x01\x00\x00\x00\x00\x00\x0C"
                                        "\x00\x0A\x00\x1E"
                                        "\x07\xFF"
                                        "\x00\x02\x00\x00"
                                        "\x00\x3C"
                                        "\xCE";

START_TEST(frame_heartbeat_golden)
{
    struct wr_frame f;
    size_t used = 0;

    ck_bytes(wr_heartbeat_frame, sizeof(wr_heartbeat_frame),
             G(heartbeat_golden));
    ck_assert_int_eq(wr_frame_decode(G(heartbeat_golden), 0, &f, &used), WR_OK);
    ck_assert_uint_eq(f.type, WR_FRAME_HEARTBEAT);
    ck_assert_uint_eq(f.channel, 0);
    ck_assert_uint_eq(f.size, 0);
    ck_assert_uint_eq(used, 8);
}
END_TEST

START_TEST(frame_encode_decode_golden)
{
    static const uint8_t payload[] = {0x00, 0x0A, 0x00, 0x1E, 0x07, 0xFF,
                                      0x00, 0x02, 0x00, 0x00, 0x00, 0x3C};
    uint8_t out[64];
    struct wr_frame f;
    size_t len = 0, used = 0;

    ck_assert_int_eq(wr_frame_encode(out, sizeof(out), WR_FRAME_METHOD, 0,
                                     payload, sizeof(payload), &len),
                     WR_OK);
    ck_bytes(out, len, G(tune_frame_golden));
    ck_assert_int_eq(
        wr_frame_decode(G(tune_frame_golden), WR_FRAME_MIN_SIZE, &f, &used),
        WR_OK);
    ck_assert_uint_eq(f.type, WR_FRAME_METHOD);
    ck_assert_uint_eq(f.size, sizeof(payload));
    ck_assert_uint_eq(used, sizeof(tune_frame_golden) - 1);
    ck_assert_mem_eq(f.payload, payload, sizeof(payload));
    /* Every smaller output buffer is refused. */
    for (size_t cap = 0; cap < len; cap++)
        ck_assert_int_eq(wr_frame_encode(out, cap, WR_FRAME_METHOD, 0, payload,
                                         sizeof(payload), &len),
                         WR_ERR_NOSPACE);
}
END_TEST

START_TEST(frame_header_encode_golden)
{
    uint8_t out[7];

    wr_frame_header_encode(out, WR_FRAME_BODY, 0x0102, 0x0A0B0C0D);
    ck_bytes(out, 7, G("\x03\x01\x02\x0A\x0B\x0C\x0D"));
}
END_TEST

/* Every strict prefix of a frame is "need more bytes". */
START_TEST(frame_truncated_is_again)
{
    const uint8_t *full = (const uint8_t *)tune_frame_golden;
    size_t n = sizeof(tune_frame_golden) - 1;
    struct wr_frame f;
    size_t used = 12345;

    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = dup_exact(full, cut);
        ck_assert_int_eq(wr_frame_decode(p, cut, 0, &f, &used), WR_AGAIN);
        ck_assert_uint_eq(used, 12345); /* untouched */
        wr_free(p);
    }
}
END_TEST

/* General Frame Format: "frame-end" must be %xCE, else a frame error. */
START_TEST(frame_bad_end)
{
    static const char bad[] = "\x08\x00\x00\x00\x00\x00\x00\xCF";
    struct wr_frame f;
    size_t used;

    ck_assert_int_eq(wr_frame_decode(G(bad), 0, &f, &used), WR_ERR_FRAME_END);
}
END_TEST

/* 4.2.3: frame-max bounds the whole frame; decided from the 7-byte header
 * before the payload has arrived. */
START_TEST(frame_too_large_from_header)
{
    static const char hdr_big[] = "\x01\x00\x01\x00\x00\x0F\xF9"; /* 4089 */
    static const char hdr_max[] = "\x01\x00\x01\x00\x00\x0F\xF8"; /* 4088 */
    static const char hdr_huge[] = "\x03\x00\x01\xFF\xFF\xFF\xFF";
    struct wr_frame f;
    size_t used;

    ck_assert_int_eq(wr_frame_decode(G(hdr_big), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_ERR_FRAME_SIZE);
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_ERR_FRAME_SIZE);
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), 131072, &f, &used),
                     WR_ERR_FRAME_SIZE);
    /* Exactly frame-max in total is fine: wait for the payload. */
    ck_assert_int_eq(wr_frame_decode(G(hdr_max), WR_FRAME_MIN_SIZE, &f, &used),
                     WR_AGAIN);
    /* frame_max 0: no limit. */
    ck_assert_int_eq(wr_frame_decode(G(hdr_huge), 0, &f, &used), WR_AGAIN);
}
END_TEST

START_TEST(frame_max_exact)
{
    size_t n = WR_FRAME_MIN_SIZE;
    uint8_t *buf = wr_calloc(1, n);
    struct wr_frame f;
    size_t used = 0;

    ck_assert_ptr_nonnull(buf);
    wr_frame_header_encode(buf, WR_FRAME_BODY, 1, (uint32_t)(n - 8));
    buf[n - 1] = WR_FRAME_END;
    ck_assert_int_eq(wr_frame_decode(buf, n, WR_FRAME_MIN_SIZE, &f, &used),
                     WR_OK);
    ck_assert_uint_eq(used, n);
    ck_assert_uint_eq(f.size, n - 8);
    wr_free(buf);
}
END_TEST

/* 4.2.3: types are 1 method, 2 header, 3 body, 8 heartbeat. */
START_TEST(frame_unknown_type)
{
    static const uint8_t bad_types[] = {0, 4, 5, 6, 7, 9, 0x41, 0xCE, 0xFF};
    uint8_t buf[8] = {0, 0, 0, 0, 0, 0, 0, WR_FRAME_END};
    struct wr_frame f;
    size_t used;

    for (size_t i = 0; i < sizeof(bad_types); i++) {
        buf[0] = bad_types[i];
        ck_assert_int_eq(wr_frame_decode(buf, 8, 0, &f, &used),
                         WR_ERR_FRAME_TYPE);
        /* The header alone is enough to tell. */
        ck_assert_int_eq(wr_frame_decode(buf, 7, 0, &f, &used),
                         WR_ERR_FRAME_TYPE);
    }
}
END_TEST

/* Frames back to back, fed one byte at a time: each is found exactly when
 * its last byte arrives. */
START_TEST(frame_stream_bytewise)
{
    uint8_t stream[64];
    size_t n = 0, have = 0, start = 0, frames = 0;
    struct wr_frame f;
    size_t used;

    memcpy(stream + n, tune_frame_golden, sizeof(tune_frame_golden) - 1);
    n += sizeof(tune_frame_golden) - 1;
    memcpy(stream + n, wr_heartbeat_frame, 8);
    n += 8;
    memcpy(stream + n, tune_frame_golden, sizeof(tune_frame_golden) - 1);
    n += sizeof(tune_frame_golden) - 1;
    while (have < n) {
        int rc;
        have++;
        rc = wr_frame_decode(stream + start, have - start, 0, &f, &used);
        if (rc == WR_AGAIN)
            continue;
        ck_assert_int_eq(rc, WR_OK);
        start += used;
        ck_assert_uint_eq(start, have);
        frames++;
    }
    ck_assert_uint_eq(frames, 3);
}
END_TEST

/* ==== protocol header (AMQP 0-9-1 section 4.2.2) ======================== */

START_TEST(proto_header_exact)
{
    ck_assert_int_eq(wr_proto_header_check(G("AMQP\x00\x00\x09\x01")), WR_OK);
    /* Bytes after the header belong to the first frame. */
    ck_assert_int_eq(wr_proto_header_check(G("AMQP\x00\x00\x09\x01\x01")),
                     WR_OK);
}
END_TEST

START_TEST(proto_header_prefix_again)
{
    for (size_t n = 0; n < WR_PROTO_HEADER_LEN; n++) {
        uint8_t *p = dup_exact((const uint8_t *)WR_PROTO_HEADER, n);
        ck_assert_int_eq(wr_proto_header_check(p, n), WR_AGAIN);
        wr_free(p);
    }
}
END_TEST

START_TEST(proto_header_rejected)
{
    static const char *const bad[] = {
        "AMQP\x00\x00\x09\x00", /* 0-9-0 */
        "AMQP\x01\x01\x00\x09", /* 0-9 as 0-8 peers write it */
        "AMQP\x00\x01\x00\x00", /* AMQP 1.0 */
        "AMQP\x03\x01\x00\x00", /* AMQP 1.0 SASL */
        "HTTP/1.1",
        "GET / HT",
        "\x16\x03\x01\x02\x00\x01\x00\x01", /* a TLS ClientHello */
    };

    for (size_t i = 0; i < WR_ARRAY_LEN(bad); i++)
        ck_assert_int_eq(wr_proto_header_check((const uint8_t *)bad[i], 8),
                         WR_ERR_PROTO_HEADER);
    /* A wrong byte is refused as soon as it is seen. */
    ck_assert_int_eq(wr_proto_header_check(G("AMQX")), WR_ERR_PROTO_HEADER);
    ck_assert_int_eq(wr_proto_header_check(G("H")), WR_ERR_PROTO_HEADER);
}
END_TEST

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
static struct wr_table
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

static struct wr_table
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
static uint8_t *
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

static struct wr_table
tbl(const char *lit, size_t len)
{
    return (struct wr_table){(const uint8_t *)lit, (uint32_t)len};
}
#define T(lit) tbl(lit, sizeof(lit) - 1)

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

/* ==== methods (AMQP 0-9-1 section 4.2.4, class and method ids) ========== */

/* connection.start as a server sends it: version 0-9, server-properties
 * {product: "warren", capabilities: {publisher_confirms: true}},
 * mechanisms "PLAIN AMQPLAIN", locales "en_US". */
/* clang-format off */
static const char start_golden[] =
    "\x00\x0A\x00\x0A"                       /* class 10, method 10 */
    "\x00" "\x09"                            /* version-major, -minor */
    "\x00\x00\x00\x3A"                       /* server-properties: 58 */
        "\x07" "product" "S\x00\x00\x00\x06" "warren"
        "\x0C" "capabilities" "F\x00\x00\x00\x15"
            "\x12" "publisher_confirms" "t\x01"
    "\x00\x00\x00\x0E" "PLAIN AMQPLAIN"      /* mechanisms */
    "\x00\x00\x00\x05" "en_US";              /* locales */
/* clang-format on */

START_TEST(method_connection_start_golden)
{
    uint8_t tbuf[128], out[256];
    struct wr_tb b;
    struct wr_method m = {.id = WR_CONNECTION_START}, d;
    struct wr_value v;
    size_t len;

    wr_tb_init(&b, tbuf, sizeof(tbuf));
    wr_tb_add_str(&b, "product", WR_BYTES_LIT("warren"));
    wr_tb_begin_table(&b, "capabilities");
    wr_tb_add_bool(&b, "publisher_confirms", true);
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    m.u.connection_start.version_major = 0;
    m.u.connection_start.version_minor = 9;
    m.u.connection_start.server_properties = wr_tb_table(&b);
    m.u.connection_start.mechanisms = WR_BYTES_LIT("PLAIN AMQPLAIN");
    m.u.connection_start.locales = WR_BYTES_LIT("en_US");
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(start_golden));

    ck_assert_int_eq(wr_method_decode(G(start_golden), &d), WR_OK);
    ck_assert_uint_eq(d.id, WR_CONNECTION_START);
    ck_assert_str_eq(wr_method_name(d.id), "connection.start");
    ck_assert_uint_eq(d.u.connection_start.version_minor, 9);
    ck_assert(wr_bytes_eq_str(d.u.connection_start.locales, "en_US"));
    ck_assert_int_eq(wr_table_get(d.u.connection_start.server_properties,
                                  "capabilities", &v),
                     WR_OK);
    ck_assert_int_eq(wr_table_get(v.v.table, "publisher_confirms", &v), WR_OK);
    ck_assert(v.v.b);
}
END_TEST

START_TEST(method_connection_tune_golden)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE}, d;
    uint8_t out[64];
    size_t len;
    struct wr_frame f;

    m.u.connection_tune.channel_max = 2047;
    m.u.connection_tune.frame_max = 131072;
    m.u.connection_tune.heartbeat = 60;
    ck_assert_int_eq(wr_method_frame_encode(0, &m, out, sizeof(out), &len),
                     WR_OK);
    ck_bytes(out, len, G(tune_frame_golden));
    ck_assert_int_eq(wr_frame_decode(out, len, WR_FRAME_MIN_SIZE, &f, &len),
                     WR_OK);
    ck_assert_int_eq(wr_method_decode(f.payload, f.size, &d), WR_OK);
    ck_assert_uint_eq(d.u.connection_tune.frame_max, 131072);
    ck_assert_uint_eq(d.u.connection_tune.channel_max, 2047);
    ck_assert_uint_eq(d.u.connection_tune.heartbeat, 60);
}
END_TEST

/* basic.publish on channel 1: exchange "amq.direct", routing key "rk",
 * mandatory set, immediate clear (4.2.5.2: bits pack from bit 0). */
/* clang-format off */
static const char publish_frame_golden[] =
    "\x01" "\x00\x01" "\x00\x00\x00\x15"     /* method frame, channel 1 */
    "\x00\x3C\x00\x28"                       /* class 60, method 40 */
    "\x00\x00"                               /* reserved-1 */
    "\x0A" "amq.direct"                      /* exchange */
    "\x02" "rk"                              /* routing-key */
    "\x01"                                   /* mandatory=1 immediate=0 */
    "\xCE";
/* clang-format on */

START_TEST(method_basic_publish_golden)
{
    struct wr_method m = {.id = WR_BASIC_PUBLISH}, d;
    uint8_t out[64];
    size_t len;
    struct wr_frame f;

    m.u.basic_publish.exchange = WR_BYTES_LIT("amq.direct");
    m.u.basic_publish.routing_key = WR_BYTES_LIT("rk");
    m.u.basic_publish.mandatory = true;
    ck_assert_int_eq(wr_method_frame_encode(1, &m, out, sizeof(out), &len),
                     WR_OK);
    ck_bytes(out, len, G(publish_frame_golden));
    ck_assert_int_eq(
        wr_frame_decode(G(publish_frame_golden), WR_FRAME_MIN_SIZE, &f, &len),
        WR_OK);
    ck_assert_uint_eq(f.channel, 1);
    ck_assert_int_eq(wr_method_decode(f.payload, f.size, &d), WR_OK);
    ck_assert_uint_eq(d.id, WR_BASIC_PUBLISH);
    ck_assert(wr_bytes_eq_str(d.u.basic_publish.exchange, "amq.direct"));
    ck_assert(wr_bytes_eq_str(d.u.basic_publish.routing_key, "rk"));
    ck_assert(d.u.basic_publish.mandatory);
    ck_assert(!d.u.basic_publish.immediate);
    ck_assert(wr_method_has_content(d.id));
    ck_assert(!wr_method_is_sync(d.id));
}
END_TEST

/* basic.deliver: consumer-tag "ctag", delivery-tag 0x0102030405060708,
 * redelivered, exchange "", routing key "q". */
/* clang-format off */
static const char deliver_golden[] =
    "\x00\x3C\x00\x3C"                       /* class 60, method 60 */
    "\x04" "ctag"                            /* consumer-tag */
    "\x01\x02\x03\x04\x05\x06\x07\x08"       /* delivery-tag */
    "\x01"                                   /* redelivered */
    "\x00"                                   /* exchange "" */
    "\x01" "q";                              /* routing-key */
/* clang-format on */

START_TEST(method_basic_deliver_golden)
{
    struct wr_method m = {.id = WR_BASIC_DELIVER}, d;
    uint8_t out[64];
    size_t len;

    m.u.basic_deliver.consumer_tag = WR_BYTES_LIT("ctag");
    m.u.basic_deliver.delivery_tag = 0x0102030405060708ULL;
    m.u.basic_deliver.redelivered = true;
    m.u.basic_deliver.exchange = WR_BYTES_LIT("");
    m.u.basic_deliver.routing_key = WR_BYTES_LIT("q");
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(deliver_golden));
    ck_assert_int_eq(wr_method_decode(G(deliver_golden), &d), WR_OK);
    ck_assert_uint_eq(d.u.basic_deliver.delivery_tag, 0x0102030405060708ULL);
    ck_assert(d.u.basic_deliver.redelivered);
    ck_assert_uint_eq(d.u.basic_deliver.exchange.len, 0);
    ck_assert(wr_bytes_eq_str(d.u.basic_deliver.routing_key, "q"));
}
END_TEST

/* clang-format off */
/* basic.ack (60, 80) delivery-tag 42 with multiple; basic.nack (60, 120)
 * delivery-tag 7: multiple is bit 0, requeue bit 1 of one octet. */
static const char ack_golden[] =
    "\x00\x3C\x00\x50" "\x00\x00\x00\x00\x00\x00\x00\x2A" "\x01";
static const char nack_golden[] =
    "\x00\x3C\x00\x78" "\x00\x00\x00\x00\x00\x00\x00\x07" "\x02";
/* queue.declare (50, 10) "q1", durable and auto-delete: bits 1 and 3. */
static const char declare_golden[] =
    "\x00\x32\x00\x0A" "\x00\x00" "\x02" "q1" "\x0A" "\x00\x00\x00\x00";
/* clang-format on */

START_TEST(method_basic_ack_nack_golden)
{
    struct wr_method m = {.id = WR_BASIC_ACK}, d;
    uint8_t out[64];
    size_t len;

    m.u.basic_ack.delivery_tag = 42;
    m.u.basic_ack.multiple = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(ack_golden));
    m.u.basic_ack.multiple = false;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(out[len - 1], 0);
    ck_assert_int_eq(wr_method_decode(G(ack_golden), &d), WR_OK);
    ck_assert(d.u.basic_ack.multiple);
    ck_assert_uint_eq(d.u.basic_ack.delivery_tag, 42);

    memset(&m, 0, sizeof(m));
    m.id = WR_BASIC_NACK;
    m.u.basic_nack.delivery_tag = 7;
    m.u.basic_nack.requeue = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(nack_golden));
    m.u.basic_nack.multiple = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(out[len - 1], 3);
    ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
    ck_assert(d.u.basic_nack.multiple && d.u.basic_nack.requeue);
}
END_TEST

/* queue.declare: five consecutive bits share one octet, passive in bit 0
 * up to no-wait in bit 4 (4.2.5.2). */
START_TEST(method_queue_declare_bits_golden)
{
    struct wr_method m = {.id = WR_QUEUE_DECLARE}, d;
    struct wr_queue_declare *q = &m.u.queue_declare;
    bool *bits[] = {&q->passive, &q->durable, &q->exclusive, &q->auto_delete,
                    &q->no_wait};
    uint8_t out[64];
    size_t len;

    q->queue = WR_BYTES_LIT("q1");
    q->durable = true;
    q->auto_delete = true;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(declare_golden));
    for (size_t i = 0; i < WR_ARRAY_LEN(bits); i++) {
        memset(q, 0, sizeof(*q));
        q->queue = WR_BYTES_LIT("q1");
        *bits[i] = true;
        ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
        ck_assert_uint_eq(len, 4 + 2 + 3 + 1 + 4);
        ck_assert_uint_eq(out[9], 1u << i);
        ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
        ck_assert(d.u.queue_declare.passive == (i == 0));
        ck_assert(d.u.queue_declare.durable == (i == 1));
        ck_assert(d.u.queue_declare.exclusive == (i == 2));
        ck_assert(d.u.queue_declare.auto_delete == (i == 3));
        ck_assert(d.u.queue_declare.no_wait == (i == 4));
    }
}
END_TEST

/* clang-format off */
static const char close_ok_trailing[] = "\x00\x14\x00\x29" "\x00";
static const char declare_bad_arg[] =
    "\x00\x32\x00\x0A" "\x00\x00" "\x01" "q" "\x00"
    "\x00\x00\x00\x03" "\x01" "a" "Z";      /* arguments {a: 'Z'?} */
/* clang-format on */

START_TEST(method_errors)
{
    struct wr_method m = {.id = WR_BASIC_ACK}, d;
    uint8_t out[300];
    char big[256];
    size_t len;

    /* Unknown class or method id. */
    ck_assert_int_eq(wr_method_decode(G("\x00\x3C\x00\x01"), &d),
                     WR_ERR_UNKNOWN_METHOD);
    ck_assert_int_eq(wr_method_decode(G("\x00\x1E\x00\x0A"), &d),
                     WR_ERR_UNKNOWN_METHOD); /* access.request, 0-8 only */
    ck_assert_int_eq(wr_method_decode(G("\xFF\xFF\xFF\xFF"), &d),
                     WR_ERR_UNKNOWN_METHOD);
    ck_assert_ptr_null(wr_method_name(WR_METHOD_ID(60, 1)));
    m.id = WR_METHOD_ID(60, 1);
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len),
                     WR_ERR_UNKNOWN_METHOD);
    /* 4.2.3: trailing bytes after the arguments. */
    ck_assert_int_eq(wr_method_decode(G(close_ok_trailing), &d), WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_method_decode(G("\x00\x14\x00\x29"), &d), WR_OK);
    /* A short string over 255 octets cannot be encoded. */
    memset(big, 'x', sizeof(big));
    memset(&m, 0, sizeof(m));
    m.id = WR_BASIC_CONSUME_OK;
    m.u.basic_consume_ok.consumer_tag =
        (struct wr_bytes){(const uint8_t *)big, 256};
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len),
                     WR_ERR_INVALID);
    m.u.basic_consume_ok.consumer_tag.len = 255;
    ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
    ck_assert_uint_eq(len, 4 + 1 + 255);
    /* Table arguments are validated. */
    ck_assert_int_eq(wr_method_decode(G(declare_bad_arg), &d),
                     WR_ERR_FIELD_TYPE);
}
END_TEST

START_TEST(method_deep_arguments)
{
    size_t tlen;
    uint8_t *t = nested(1000, WR_FT_TABLE, &tlen);
    uint8_t *p = wr_malloc(tlen + 64);
    size_t n = 0;
    struct wr_method d;

    ck_assert_ptr_nonnull(p);
    memcpy(p, "\x00\x32\x00\x0A\x00\x00\x01q\x00", 9);
    n = 9;
    p[n++] = (uint8_t)(tlen >> 24);
    p[n++] = (uint8_t)(tlen >> 16);
    p[n++] = (uint8_t)(tlen >> 8);
    p[n++] = (uint8_t)tlen;
    memcpy(p + n, t, tlen);
    n += tlen;
    ck_assert_int_eq(wr_method_decode(p, n, &d), WR_ERR_TOO_DEEP);
    wr_free(p);
    wr_free(t);
}
END_TEST

/* ---- every method: fill generically from the descriptors -------------- */

static const struct wr_method_desc *
desc_of(uint32_t id)
{
    for (size_t i = 0; i < WR_METHOD_COUNT; i++)
        if (wr_method_descs[i].id == id)
            return &wr_method_descs[i];
    return NULL;
}

static uint8_t filler[300];
static uint8_t fill_table_buf[512];

/* Non-zero values derived from the field index; bit patterns: 0 all set,
 * 1 even bits, 2 odd bits. Strings have distinct lengths (the last
 * short string of pattern 0 is 255 long). */
static void
fill_method(struct wr_method *m, uint32_t id, int pattern)
{
    const struct wr_method_desc *d = desc_of(id);
    struct wr_tb b;
    struct wr_table t =
        build_all_types(fill_table_buf, sizeof(fill_table_buf), &b);

    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < sizeof(filler); i++)
        filler[i] = (uint8_t)(i * 7 + 1);
    memset(m, 0, sizeof(*m));
    m->id = id;
    for (unsigned i = 0; i < d->nfields; i++) {
        void *at = (char *)&m->u + d->fields[i].offset;
        switch (d->fields[i].kind) {
        case WR_FD_OCTET:
            *(uint8_t *)at = (uint8_t)(0x81 + i);
            break;
        case WR_FD_SHORT:
            *(uint16_t *)at = (uint16_t)(0x8123 + i);
            break;
        case WR_FD_LONG:
            *(uint32_t *)at = 0x81234567u + i;
            break;
        case WR_FD_LONGLONG:
            *(uint64_t *)at = 0x8123456789ABCDEFULL + i;
            break;
        case WR_FD_BIT:
            *(bool *)at = pattern == 0 || (int)(i % 2) == pattern - 1;
            break;
        case WR_FD_SHORTSTR:
            *(struct wr_bytes *)at =
                (struct wr_bytes){filler, pattern == 0 ? 255 - i : 1 + i * 3};
            break;
        case WR_FD_LONGSTR:
            *(struct wr_bytes *)at = (struct wr_bytes){filler, 260 + i};
            break;
        case WR_FD_TABLE:
            *(struct wr_table *)at = t;
            break;
        }
    }
}

static void
assert_methods_equal(const struct wr_method *a, const struct wr_method *b)
{
    const struct wr_method_desc *d = desc_of(a->id);

    ck_assert_uint_eq(a->id, b->id);
    for (unsigned i = 0; i < d->nfields; i++) {
        const void *x = (const char *)&a->u + d->fields[i].offset;
        const void *y = (const char *)&b->u + d->fields[i].offset;
        switch (d->fields[i].kind) {
        case WR_FD_OCTET:
            ck_assert_uint_eq(*(const uint8_t *)x, *(const uint8_t *)y);
            break;
        case WR_FD_SHORT:
            ck_assert_uint_eq(*(const uint16_t *)x, *(const uint16_t *)y);
            break;
        case WR_FD_LONG:
            ck_assert_uint_eq(*(const uint32_t *)x, *(const uint32_t *)y);
            break;
        case WR_FD_LONGLONG:
            ck_assert_uint_eq(*(const uint64_t *)x, *(const uint64_t *)y);
            break;
        case WR_FD_BIT:
            ck_assert_msg(*(const bool *)x == *(const bool *)y, "%s field %u",
                          d->name, i);
            break;
        case WR_FD_SHORTSTR:
        case WR_FD_LONGSTR:
            ck_assert_msg(wr_bytes_eq(*(const struct wr_bytes *)x,
                                      *(const struct wr_bytes *)y),
                          "%s field %u", d->name, i);
            break;
        case WR_FD_TABLE: {
            const struct wr_table *tx = x, *ty = y;
            ck_assert_uint_eq(tx->len, ty->len);
            ck_assert_mem_eq(tx->ptr, ty->ptr, tx->len);
            ck_assert(wr_table_equal(*tx, *ty));
            break;
        }
        }
    }
}

/* Encode -> decode -> compare, for every method and bit pattern; the
 * decoded method re-encodes to the same bytes. */
START_TEST(method_roundtrip_every)
{
    uint32_t id = wr_method_ids[_i];
    static uint8_t out[2048], out2[2048];

    ck_assert_ptr_nonnull(wr_method_name(id));
    for (int pattern = 0; pattern < 3; pattern++) {
        struct wr_method m, d;
        size_t len, len2;

        fill_method(&m, id, pattern);
        ck_assert_int_eq(wr_method_encode(&m, out, sizeof(out), &len), WR_OK);
        ck_assert_uint_eq(out[0] << 8 | out[1], WR_METHOD_CLASS(id));
        ck_assert_uint_eq(out[2] << 8 | out[3], WR_METHOD_INDEX(id));
        ck_assert_int_eq(wr_method_decode(out, len, &d), WR_OK);
        assert_methods_equal(&m, &d);
        ck_assert_int_eq(wr_method_encode(&d, out2, sizeof(out2), &len2),
                         WR_OK);
        ck_bytes(out2, len2, out, len);
        /* Every smaller output buffer is refused. */
        for (size_t cap = 0; cap < len; cap++)
            ck_assert_int_eq(wr_method_encode(&m, out2, cap, &len2),
                             WR_ERR_NOSPACE);
    }
}
END_TEST

/* ---- the spec XML: every class and method has a descriptor ------------ */

static bool
xml_attr(const char *tag, const char *name, char *out, size_t cap)
{
    char pat[32];
    const char *p, *e;

    snprintf(pat, sizeof(pat), " %s=\"", name);
    p = strstr(tag, pat);
    if (p == NULL)
        return false;
    p += strlen(pat);
    e = strchr(p, '"');
    if (e == NULL || (size_t)(e - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return true;
}

START_TEST(method_spec_xml_coverage)
{
    FILE *fp = fopen(SPEC_XML, "r");
    char line[1024], cname[64] = "", mname[64] = "", idx[16], full[160];
    char flag[8];
    unsigned cls = 0, nmethods = 0, nfields = 0;
    uint32_t cur = 0;
    bool in_method = false;

    ck_assert_msg(fp != NULL, "cannot open %s (Debian package amqp-specs)",
                  SPEC_XML);
    while (fgets(line, sizeof(line), fp) != NULL) {
        const char *c = strstr(line, "<class ");
        const char *m = strstr(line, "<method ");

        if (c != NULL) {
            ck_assert(xml_attr(c, "name", cname, sizeof(cname)));
            ck_assert(xml_attr(c, "index", idx, sizeof(idx)));
            cls = (unsigned)atoi(idx);
        } else if (m != NULL) {
            const struct wr_method_desc *d;

            ck_assert(xml_attr(m, "name", mname, sizeof(mname)));
            ck_assert(xml_attr(m, "index", idx, sizeof(idx)));
            cur = WR_METHOD_ID(cls, atoi(idx));
            snprintf(full, sizeof(full), "%s.%s", cname, mname);
            ck_assert_msg(wr_method_name(cur) != NULL,
                          "no descriptor for %s (%u, %s)", full, cls, idx);
            ck_assert_str_eq(wr_method_name(cur), full);
            ck_assert_msg(wr_method_is_sync(cur) ==
                              (xml_attr(m, "synchronous", flag, sizeof(flag)) &&
                               flag[0] == '1'),
                          "%s: synchronous", full);
            ck_assert_msg(wr_method_has_content(cur) ==
                              (xml_attr(m, "content", flag, sizeof(flag)) &&
                               flag[0] == '1'),
                          "%s: content", full);
            d = desc_of(cur);
            ck_assert_ptr_nonnull(d);
            nmethods++;
            nfields = 0;
            in_method = strstr(m, "/>") == NULL;
            if (!in_method)
                ck_assert_uint_eq(d->nfields, 0);
        } else if (in_method && strstr(line, "<field ") != NULL) {
            nfields++;
        } else if (in_method && strstr(line, "</method>") != NULL) {
            ck_assert_msg(desc_of(cur)->nfields == nfields,
                          "%s: %u fields in the spec", wr_method_name(cur),
                          nfields);
            in_method = false;
        }
    }
    fclose(fp);
    ck_assert_uint_ge(nmethods, 60);
    /* RabbitMQ's extensions, not in the XML. */
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 60)),
                     "connection.blocked");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 61)),
                     "connection.unblocked");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 70)),
                     "connection.update-secret");
    ck_assert_str_eq(wr_method_name(WR_METHOD_ID(10, 71)),
                     "connection.update-secret-ok");
    ck_assert_uint_eq(nmethods + 4, WR_METHOD_COUNT);
}
END_TEST

START_TEST(method_ids_sorted_and_unique)
{
    for (size_t i = 1; i < WR_METHOD_COUNT; i++)
        ck_assert_uint_lt(wr_method_descs[i - 1].id, wr_method_descs[i].id);
    for (size_t i = 0; i < WR_METHOD_COUNT; i++)
        ck_assert_ptr_nonnull(desc_of(wr_method_ids[i]));
}
END_TEST

/* ==== content header (AMQP 0-9-1 section 4.2.6.1) ======================= */

/* class 60, weight 0, body-size 5; content-type "text/plain", headers
 * {x: I 1}, delivery-mode 2, priority 5, timestamp 1600000000 (0x5F5E1000),
 * app-id "app": flags 0x8000|0x2000|0x1000|0x0800|0x0040|0x0008. */
/* clang-format off */
static const char header_golden[] =
    "\x00\x3C"                               /* class-id 60 */
    "\x00\x00"                               /* weight */
    "\x00\x00\x00\x00\x00\x00\x00\x05"       /* body-size */
    "\xB8\x48"                               /* property flags */
    "\x0A" "text/plain"                      /* content-type */
    "\x00\x00\x00\x07" "\x01" "x" "I\x00\x00\x00\x01" /* headers */
    "\x02"                                   /* delivery-mode */
    "\x05"                                   /* priority */
    "\x00\x00\x00\x00\x5F\x5E\x10\x00"       /* timestamp */
    "\x03" "app";                            /* app-id */
/* clang-format on */

START_TEST(props_golden)
{
    struct wr_content_header h;
    struct wr_props p = {0};
    struct wr_value v;
    uint8_t out[128];
    size_t len;

    ck_assert_int_eq(wr_content_header_decode(G(header_golden), &h), WR_OK);
    ck_assert_uint_eq(h.class_id, 60);
    ck_assert_uint_eq(h.weight, 0);
    ck_assert_uint_eq(h.body_size, 5);
    ck_assert_uint_eq(h.props.flags, 0xB848);
    ck_assert(wr_bytes_eq_str(h.props.content_type, "text/plain"));
    ck_assert_uint_eq(h.props.delivery_mode, 2);
    ck_assert_uint_eq(h.props.priority, 5);
    ck_assert_uint_eq(h.props.timestamp, 1600000000);
    ck_assert(wr_bytes_eq_str(h.props.app_id, "app"));
    ck_assert_uint_eq(h.props.message_id.len, 0);
    ck_assert_int_eq(wr_table_get(h.props.headers, "x", &v), WR_OK);
    ck_assert_int_eq(v.v.i, 1);
    /* raw_props: the flag word and everything after it. */
    ck_assert_ptr_eq(h.raw_props, (const uint8_t *)header_golden + 12);
    ck_assert_uint_eq(h.raw_props_len, sizeof(header_golden) - 1 - 12);

    p.flags = WR_PROP_CONTENT_TYPE | WR_PROP_HEADERS | WR_PROP_DELIVERY_MODE |
              WR_PROP_PRIORITY | WR_PROP_TIMESTAMP | WR_PROP_APP_ID;
    p.content_type = WR_BYTES_LIT("text/plain");
    p.headers = T("\x01"
                  "xI\x00\x00\x00\x01");
    p.delivery_mode = 2;
    p.priority = 5;
    p.timestamp = 1600000000;
    p.app_id = WR_BYTES_LIT("app");
    ck_assert_int_eq(
        wr_content_header_encode(60, 5, &p, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, G(header_golden));
    ck_assert_int_eq(wr_props_encode(&p, out, sizeof(out), &len), WR_OK);
    ck_bytes(out, len, (const uint8_t *)header_golden + 12,
             sizeof(header_golden) - 1 - 12);
    for (size_t cap = 0; cap < sizeof(header_golden) - 1; cap++)
        ck_assert_int_eq(wr_content_header_encode(60, 5, &p, out, cap, &len),
                         WR_ERR_NOSPACE);
}
END_TEST

static void
fill_all_props(struct wr_props *p)
{
    memset(p, 0, sizeof(*p));
    p->flags = 0xFFFC;
    p->content_type = WR_BYTES_LIT("application/json");
    p->content_encoding = WR_BYTES_LIT("gzip");
    p->headers = golden_table();
    p->delivery_mode = 2;
    p->priority = 9;
    p->correlation_id = WR_BYTES_LIT("corr");
    p->reply_to = WR_BYTES_LIT("amq.rabbitmq.reply-to");
    p->expiration = WR_BYTES_LIT("60000");
    p->message_id = WR_BYTES_LIT("id-1");
    p->timestamp = 0x0102030405060708ULL;
    p->type = WR_BYTES_LIT("t");
    p->user_id = WR_BYTES_LIT("guest");
    p->app_id = WR_BYTES_LIT("warren");
    p->cluster_id = WR_BYTES_LIT("c");
}

static void
assert_props_equal(const struct wr_props *a, const struct wr_props *b)
{
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert(!(a->flags & WR_PROP_CONTENT_TYPE) ||
              wr_bytes_eq(a->content_type, b->content_type));
    ck_assert(!(a->flags & WR_PROP_CONTENT_ENCODING) ||
              wr_bytes_eq(a->content_encoding, b->content_encoding));
    ck_assert(!(a->flags & WR_PROP_HEADERS) ||
              wr_table_equal(a->headers, b->headers));
    ck_assert(!(a->flags & WR_PROP_DELIVERY_MODE) ||
              a->delivery_mode == b->delivery_mode);
    ck_assert(!(a->flags & WR_PROP_PRIORITY) || a->priority == b->priority);
    ck_assert(!(a->flags & WR_PROP_CORRELATION_ID) ||
              wr_bytes_eq(a->correlation_id, b->correlation_id));
    ck_assert(!(a->flags & WR_PROP_REPLY_TO) ||
              wr_bytes_eq(a->reply_to, b->reply_to));
    ck_assert(!(a->flags & WR_PROP_EXPIRATION) ||
              wr_bytes_eq(a->expiration, b->expiration));
    ck_assert(!(a->flags & WR_PROP_MESSAGE_ID) ||
              wr_bytes_eq(a->message_id, b->message_id));
    ck_assert(!(a->flags & WR_PROP_TIMESTAMP) || a->timestamp == b->timestamp);
    ck_assert(!(a->flags & WR_PROP_TYPE) || wr_bytes_eq(a->type, b->type));
    ck_assert(!(a->flags & WR_PROP_USER_ID) ||
              wr_bytes_eq(a->user_id, b->user_id));
    ck_assert(!(a->flags & WR_PROP_APP_ID) ||
              wr_bytes_eq(a->app_id, b->app_id));
    ck_assert(!(a->flags & WR_PROP_CLUSTER_ID) ||
              wr_bytes_eq(a->cluster_id, b->cluster_id));
}

/* All 14 properties together, then each alone (_i = flag bit 15..2). */
START_TEST(props_roundtrip)
{
    struct wr_props p, only;
    struct wr_content_header h;
    uint8_t out[1024];
    size_t len;

    fill_all_props(&p);
    if (_i < 16) {
        only = p;
        only.flags = (uint16_t)(1u << _i);
        p = only;
    }
    ck_assert_int_eq(
        wr_content_header_encode(60, 1u << 20, &p, out, sizeof(out), &len),
        WR_OK);
    ck_assert_int_eq(wr_content_header_decode(out, len, &h), WR_OK);
    ck_assert_uint_eq(h.body_size, 1u << 20);
    assert_props_equal(&p, &h.props);
    ck_assert_int_eq(wr_props_decode(h.raw_props, h.raw_props_len, &only),
                     WR_OK);
    assert_props_equal(&p, &only);
}
END_TEST

/* clang-format off */
static const char props_bad[][32] = {
    /* 0: class 60, weight 0, size 0, flags with bit 0 (continuation) */
    "\x00\x3C" "\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x01",
    /* 1: weight 1 */
    "\x00\x3C" "\x00\x01" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00",
    /* 2: no properties, one byte too many */
    "\x00\x3C" "\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00\x00" "\x00",
};
static const size_t props_bad_len[] = {14, 14, 15};
/* clang-format on */

START_TEST(props_errors)
{
    struct wr_content_header h;
    struct wr_props p;
    uint8_t out[600];
    char big[256];
    size_t len;

    /* 4.2.6.1: bit 0 announces another flag word; basic has 14 flags, so
     * it must be clear. The weight must be zero. No trailing bytes. */
    for (size_t i = 0; i < WR_ARRAY_LEN(props_bad_len); i++)
        ck_assert_int_eq(wr_content_header_decode((const uint8_t *)props_bad[i],
                                                  props_bad_len[i], &h),
                         WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_props_decode(G("\x80\x01\x00"), &p), WR_ERR_SYNTAX);
    /* No properties at all. */
    ck_assert_int_eq(
        wr_content_header_decode((const uint8_t *)props_bad[2], 14, &h), WR_OK);
    ck_assert_uint_eq(h.props.flags, 0);
    ck_assert_uint_eq(h.raw_props_len, 2);
    /* Flag bit 1 names no basic property: ignored. */
    ck_assert_int_eq(wr_props_decode(G("\x00\x02"), &p), WR_OK);
    ck_assert_uint_eq(p.flags, 0);
    /* A flag whose field is missing; a short string past the end. */
    ck_assert_int_eq(wr_props_decode(G("\x10\x00"), &p), WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_props_decode(G("\x80\x00\x05"
                                       "abc"),
                                     &p),
                     WR_ERR_SYNTAX);
    /* Headers: a bad value type, a huge length. */
    ck_assert_int_eq(wr_props_decode(G("\x20\x00\x00\x00\x00\x03\x01"
                                       "aZ"),
                                     &p),
                     WR_ERR_FIELD_TYPE);
    ck_assert_int_eq(wr_props_decode(G("\x20\x00\xFF\xFF\xFF\xFF"), &p),
                     WR_ERR_SYNTAX);
    /* Encoding a short string over 255 octets. */
    memset(big, 'a', sizeof(big));
    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_MESSAGE_ID;
    p.message_id = (struct wr_bytes){(const uint8_t *)big, 256};
    ck_assert_int_eq(wr_props_encode(&p, out, sizeof(out), &len),
                     WR_ERR_INVALID);
}
END_TEST

/* ==== truncation: every prefix of every encoding ======================== */

/* Method payloads: every prefix is a syntax error; method frames: every
 * prefix is "need more bytes". */
START_TEST(truncate_methods)
{
    uint32_t id = wr_method_ids[_i];
    static uint8_t payload[2048], frame[2048];
    struct wr_method m, d;
    struct wr_frame f;
    size_t len, flen, used;

    fill_method(&m, id, 0);
    ck_assert_int_eq(wr_method_encode(&m, payload, sizeof(payload), &len),
                     WR_OK);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *p = dup_exact(payload, cut);
        ck_assert_msg(wr_method_decode(p, cut, &d) == WR_ERR_SYNTAX,
                      "%s cut at %zu", wr_method_name(id), cut);
        wr_free(p);
    }
    ck_assert_int_eq(wr_method_frame_encode(7, &m, frame, sizeof(frame), &flen),
                     WR_OK);
    for (size_t cut = 0; cut < flen; cut++) {
        uint8_t *p = dup_exact(frame, cut);
        ck_assert_int_eq(wr_frame_decode(p, cut, 0, &f, &used), WR_AGAIN);
        wr_free(p);
    }
    {
        uint8_t *p = dup_exact(frame, flen);
        ck_assert_int_eq(wr_frame_decode(p, flen, 0, &f, &used), WR_OK);
        ck_assert_uint_eq(used, flen);
        ck_assert_uint_eq(f.channel, 7);
        ck_assert_int_eq(wr_method_decode(f.payload, f.size, &d), WR_OK);
        assert_methods_equal(&m, &d);
        wr_free(p);
    }
}
END_TEST

START_TEST(truncate_content_header)
{
    struct wr_props p;
    struct wr_content_header h;
    uint8_t out[1024];
    size_t len;

    fill_all_props(&p);
    ck_assert_int_eq(
        wr_content_header_encode(60, 99, &p, out, sizeof(out), &len), WR_OK);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *c = dup_exact(out, cut);
        ck_assert_msg(wr_content_header_decode(c, cut, &h) == WR_ERR_SYNTAX,
                      "cut at %zu", cut);
        wr_free(c);
    }
    for (size_t cut = 0; cut < sizeof(header_golden) - 1; cut++) {
        uint8_t *c = dup_exact((const uint8_t *)header_golden, cut);
        ck_assert_int_eq(wr_content_header_decode(c, cut, &h), WR_ERR_SYNTAX);
        wr_free(c);
    }
}
END_TEST

/* A table inside a length prefix: every cut is a syntax error. */
START_TEST(truncate_prefixed_table)
{
    uint8_t buf[512];
    struct wr_tb b;
    struct wr_method d;
    uint8_t payload[600];
    size_t n;

    build_all_types(buf, sizeof(buf), &b);
    /* connection.start-ok with the table as client-properties. */
    memcpy(payload, "\x00\x0A\x00\x0B", 4);
    memcpy(payload + 4, buf, b.len);
    n = 4 + b.len;
    memcpy(payload + n,
           "\x05PLAIN\x00\x00\x00\x00\x05"
           "en_US",
           16);
    n += 16;
    ck_assert_int_eq(wr_method_decode(payload, n, &d), WR_OK);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *c = dup_exact(payload, cut);
        ck_assert_int_eq(wr_method_decode(c, cut, &d), WR_ERR_SYNTAX);
        wr_free(c);
    }
}
END_TEST

static Suite *
protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc;

    tc = tcase_create("frame");
    tcase_add_test(tc, frame_heartbeat_golden);
    tcase_add_test(tc, frame_encode_decode_golden);
    tcase_add_test(tc, frame_header_encode_golden);
    tcase_add_test(tc, frame_truncated_is_again);
    tcase_add_test(tc, frame_bad_end);
    tcase_add_test(tc, frame_too_large_from_header);
    tcase_add_test(tc, frame_max_exact);
    tcase_add_test(tc, frame_unknown_type);
    tcase_add_test(tc, frame_stream_bytewise);
    suite_add_tcase(s, tc);

    tc = tcase_create("proto_header");
    tcase_add_test(tc, proto_header_exact);
    tcase_add_test(tc, proto_header_prefix_again);
    tcase_add_test(tc, proto_header_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("methods");
    tcase_add_test(tc, method_connection_start_golden);
    tcase_add_test(tc, method_connection_tune_golden);
    tcase_add_test(tc, method_basic_publish_golden);
    tcase_add_test(tc, method_basic_deliver_golden);
    tcase_add_test(tc, method_basic_ack_nack_golden);
    tcase_add_test(tc, method_queue_declare_bits_golden);
    tcase_add_test(tc, method_errors);
    tcase_add_test(tc, method_deep_arguments);
    tcase_add_loop_test(tc, method_roundtrip_every, 0, WR_METHOD_COUNT);
    tcase_add_test(tc, method_spec_xml_coverage);
    tcase_add_test(tc, method_ids_sorted_and_unique);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
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
    suite_add_tcase(s, tc);

    tc = tcase_create("props");
    tcase_add_test(tc, props_golden);
    /* 16 = all properties, 2..15 = each flag alone */
    tcase_add_loop_test(tc, props_roundtrip, 2, 17);
    tcase_add_test(tc, props_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncation");
    tcase_add_loop_test(tc, truncate_methods, 0, WR_METHOD_COUNT);
    tcase_add_test(tc, truncate_content_header);
    tcase_add_test(tc, truncate_prefixed_table);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(protocol_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
