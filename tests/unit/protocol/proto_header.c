/* SPDX-License-Identifier: MIT */
/* Test case "proto_header" of the protocol suite: the protocol header a
 * client opens with. */
#include "cases.h"

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

TCase *
protocol_proto_header_tcase(void)
{
    TCase *tc = tcase_create("proto_header");

    tcase_add_test(tc, proto_header_exact);
    tcase_add_test(tc, proto_header_prefix_again);
    tcase_add_test(tc, proto_header_rejected);
    return tc;
}
