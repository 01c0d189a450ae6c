/* SPDX-License-Identifier: MIT */
/* The amqp suite: content assembly. */
#include "cases.h"

START_TEST(content_whole_message)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 5);
    send_frame(WR_FRAME_BODY, 1, "he", 2);
    ck_assert_uint_eq(ready("q"), 0); /* not complete yet */
    send_frame(WR_FRAME_BODY, 1, "llo", 3);
    ck_assert_uint_eq(ready("q"), 1);
    expect_nothing();
    get(1, "q", "hello");
}
END_TEST

START_TEST(content_empty_body)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 0); /* complete without a body frame */
    ck_assert_uint_eq(ready("q"), 1);
    get(1, "q", "");
    expect_nothing();
}
END_TEST

START_TEST(content_method_instead_of_header)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_id(1, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_body_instead_of_header)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_frame(WR_FRAME_BODY, 1, "x", 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_method_instead_of_body)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_header(1, 4);
    send_frame(WR_FRAME_BODY, 1, "ab", 2);
    send_id(1, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_header_twice)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 4);
    send_header(1, 4);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
    ck_assert_uint_eq(ready("q"), 0);
}
END_TEST

START_TEST(content_header_without_publish)
{
    connect_open(1);
    send_header(1, 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

START_TEST(content_body_too_long)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 2);
    send_frame(WR_FRAME_BODY, 1, "abc", 3);
    expect_close(0, WR_REPLY_FRAME_ERROR, WR_BASIC_PUBLISH);
    ck_assert_uint_eq(ready("q"), 0);
}
END_TEST

/* Content on channel 0 after the handshake. */
START_TEST(content_on_channel_zero)
{
    connect_open(1);
    send_frame(WR_FRAME_BODY, 0, "x", 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

TCase *
amqp_content_tcase(void)
{
    TCase *tc = tcase_create("content");

    tcase_add_test(tc, content_whole_message);
    tcase_add_test(tc, content_empty_body);
    tcase_add_test(tc, content_method_instead_of_header);
    tcase_add_test(tc, content_body_instead_of_header);
    tcase_add_test(tc, content_method_instead_of_body);
    tcase_add_test(tc, content_header_twice);
    tcase_add_test(tc, content_header_without_publish);
    tcase_add_test(tc, content_body_too_long);
    tcase_add_test(tc, content_on_channel_zero);
    return tc;
}
