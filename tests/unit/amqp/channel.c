/* SPDX-License-Identifier: MIT */
/* The amqp suite: channel states. */
#include "cases.h"

START_TEST(chan_second_open)
{
    connect_open(1);
    send_id(1, WR_CHANNEL_OPEN);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_CHANNEL_OPEN);
}
END_TEST

START_TEST(chan_not_open)
{
    connect_open(1);
    send_id(2, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_BASIC_RECOVER);
}
END_TEST

START_TEST(chan_close_and_reopen)
{
    struct wr_method m = {.id = WR_CHANNEL_CLOSE};

    connect_open(1);
    m.u.channel_close.reply_code = 200;
    send_method(1, &m);
    expect(1, WR_CHANNEL_CLOSE_OK);
    /* the number is free again */
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
    expect_nothing();
}
END_TEST

/* After the broker closed a channel, everything but close / close-ok is
 * dropped; close-ok frees the number. */
START_TEST(chan_closing_discards)
{
    connect_open(1);
    send_id(1, WR_TX_COMMIT); /* not transactional: 406 */
    expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_TX_COMMIT);
    send_id(1, WR_TX_SELECT);
    publish(1, "q", "x");
    expect_nothing();
    send_id(1, WR_CHANNEL_CLOSE_OK);
    expect_nothing();
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
}
END_TEST

START_TEST(chan_method_on_channel_zero)
{
    connect_open(1);
    send_id(0, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_BASIC_RECOVER);
}
END_TEST

TCase *
amqp_channel_tcase(void)
{
    TCase *tc = tcase_create("channel");

    tcase_add_test(tc, chan_second_open);
    tcase_add_test(tc, chan_not_open);
    tcase_add_test(tc, chan_close_and_reopen);
    tcase_add_test(tc, chan_closing_discards);
    tcase_add_test(tc, chan_method_on_channel_zero);
    return tc;
}
