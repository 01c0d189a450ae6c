/* SPDX-License-Identifier: MIT */
/* The amqp suite: the reply-code table. */
#include "cases.h"

START_TEST(reply_names)
{
    ck_assert_str_eq(wr_reply_name(200), "OK");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_FOUND), "NOT_FOUND");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_ACCESS_REFUSED), "ACCESS_REFUSED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_RESOURCE_LOCKED),
                     "RESOURCE_LOCKED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_PRECONDITION_FAILED),
                     "PRECONDITION_FAILED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_FRAME_ERROR), "FRAME_ERROR");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_COMMAND_INVALID),
                     "COMMAND_INVALID");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_CHANNEL_ERROR), "CHANNEL_ERROR");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_UNEXPECTED_FRAME),
                     "UNEXPECTED_FRAME");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_ALLOWED), "NOT_ALLOWED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_IMPLEMENTED),
                     "NOT_IMPLEMENTED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_INTERNAL_ERROR), "INTERNAL_ERROR");
    ck_assert_str_eq(wr_reply_name(999), "ERROR");
}
END_TEST

TCase *
amqp_reply_tcase(void)
{
    TCase *tc = tcase_create("reply");

    tcase_add_test(tc, reply_names);
    return tc;
}
