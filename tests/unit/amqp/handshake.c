/* SPDX-License-Identifier: MIT */
/* The amqp suite: the handshake. */
#include "cases.h"

START_TEST(handshake_opens)
{
    connect_open(0);
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
    expect_nothing();
}
END_TEST

START_TEST(handshake_bad_protocol_header)
{
    /* AMQP 0-8: the server answers with its own header and closes */
    send_bytes("AMQP\1\1\x08\x00", 8);
    ck_assert_uint_eq(pending(), 8);
    ck_assert_int_eq(memcmp(evbuffer_pullup(bufferevent_get_input(pair[1]), 8),
                            "AMQP\0\0\x09\x01", 8),
                     0);
}
END_TEST

START_TEST(handshake_method_out_of_order)
{
    start();
    /* connection.open where start-ok is due */
    open_vhost();
    expect_close(0, WR_REPLY_COMMAND_INVALID, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_tune_ok_skipped)
{
    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    open_vhost();
    expect_close(0, WR_REPLY_COMMAND_INVALID, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_channel_frame_early)
{
    start();
    send_id(1, WR_CHANNEL_OPEN);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

START_TEST(handshake_frame_max_too_small)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE_OK};

    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    m.u.connection_tune_ok.frame_max = 1024; /* below 4096 */
    send_method(0, &m);
    expect_close(0, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_TUNE_OK);
}
END_TEST

START_TEST(handshake_unknown_vhost)
{
    struct wr_method m = {.id = WR_CONNECTION_OPEN};

    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    tune_ok();
    m.u.connection_open.virtual_host = wr_bytes_str("nowhere");
    send_method(0, &m);
    expect_close(0, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_close_then_close_ok)
{
    struct wr_method m = {.id = WR_CONNECTION_CLOSE};

    connect_open(1);
    m.u.connection_close.reply_code = 200;
    send_method(0, &m);
    expect(0, WR_CONNECTION_CLOSE_OK);
    expect_nothing();
}
END_TEST

TCase *
amqp_handshake_tcase(void)
{
    TCase *tc = tcase_create("handshake");

    tcase_add_test(tc, handshake_opens);
    tcase_add_test(tc, handshake_bad_protocol_header);
    tcase_add_test(tc, handshake_method_out_of_order);
    tcase_add_test(tc, handshake_tune_ok_skipped);
    tcase_add_test(tc, handshake_channel_frame_early);
    tcase_add_test(tc, handshake_frame_max_too_small);
    tcase_add_test(tc, handshake_unknown_vhost);
    tcase_add_test(tc, handshake_close_then_close_ok);
    return tc;
}
