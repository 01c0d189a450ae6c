/* SPDX-License-Identifier: MIT */
/* Test case "truncation" of the protocol suite: every prefix of every
 * encoding is rejected or "need more bytes". */
#include "cases.h"

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

TCase *
protocol_truncation_tcase(void)
{
    TCase *tc = tcase_create("truncation");

    tcase_add_loop_test(tc, truncate_methods, 0, WR_METHOD_COUNT);
    tcase_add_test(tc, truncate_content_header);
    tcase_add_test(tc, truncate_prefixed_table);
    return tc;
}
