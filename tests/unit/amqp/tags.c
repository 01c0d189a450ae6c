/* SPDX-License-Identifier: MIT */
/* The amqp suite: delivery tags and the unacked ring. */
#include "cases.h"

/* n messages "m1".."mN" in q, fetched with basic.get: tags 1..n. */
static void
fill_and_get(int n)
{
    char body[16]; /* "m" and any int */

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 1; i <= n; i++) {
        snprintf(body, sizeof(body), "m%d", i);
        publish(1, "q", body);
    }
    for (int i = 1; i <= n; i++) {
        snprintf(body, sizeof(body), "m%d", i);
        ck_assert_uint_eq(get(1, "q", body), (uint64_t)i);
    }
    ck_assert_uint_eq(unacked("q"), (uint32_t)n);
    ck_assert_uint_eq(ready("q"), 0);
}

START_TEST(tags_ack_multiple)
{
    fill_and_get(4);
    settle(1, WR_BASIC_ACK, 3, true, false);
    ck_assert_uint_eq(unacked("q"), 1);
    settle(1, WR_BASIC_ACK, 4, false, false);
    ck_assert_uint_eq(unacked("q"), 0);
    expect_nothing();
    /* tag 2 went with the multiple ack */
    settle(1, WR_BASIC_ACK, 2, false, false);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_ACK),
        "PRECONDITION_FAILED - unknown delivery tag 2");
}
END_TEST

START_TEST(tags_ack_unknown)
{
    fill_and_get(2);
    settle(1, WR_BASIC_ACK, 9, false, false);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_ACK),
        "PRECONDITION_FAILED - unknown delivery tag 9");
    /* the channel's unacked messages go back to the queue */
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 2);
}
END_TEST

/* ack multiple with tag 0: everything outstanding. */
START_TEST(tags_ack_all)
{
    fill_and_get(3);
    settle(1, WR_BASIC_ACK, 0, true, false);
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 0);
    expect_nothing();
}
END_TEST

START_TEST(tags_nack_multiple_requeue)
{
    fill_and_get(3);
    settle(1, WR_BASIC_NACK, 2, true, true);
    ck_assert_uint_eq(unacked("q"), 1);
    ck_assert_uint_eq(ready("q"), 2);
    expect_nothing();
    /* back in order, redelivered, with fresh tags */
    const struct wr_method *m;
    struct wr_method g = {.id = WR_BASIC_GET};
    g.u.basic_get.queue = wr_bytes_str("q");
    send_method(1, &g);
    m = expect(1, WR_BASIC_GET_OK);
    ck_assert_uint_eq(m->u.basic_get_ok.delivery_tag, 4);
    ck_assert(m->u.basic_get_ok.redelivered);
    recv_frame();
    recv_frame();
    ck_assert_int_eq(memcmp(rx.payload, "m1", 2), 0);
    settle(1, WR_BASIC_NACK, 1, false, true);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_NACK),
        "PRECONDITION_FAILED - unknown delivery tag 1");
}
END_TEST

START_TEST(tags_reject_drops)
{
    fill_and_get(2);
    settle(1, WR_BASIC_REJECT, 1, false, false);
    ck_assert_uint_eq(unacked("q"), 1);
    ck_assert_uint_eq(ready("q"), 0);
    settle(1, WR_BASIC_REJECT, 2, false, true);
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 1);
    expect_nothing();
    settle(1, WR_BASIC_REJECT, 2, false, true);
    expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_REJECT);
}
END_TEST

/* The ring grows past its first size and keeps its tags. */
START_TEST(tags_ring_grows)
{
    char body[16]; /* "m" and any int */

    fill_and_get(40);
    for (int i = 1; i <= 40; i += 2)
        settle(1, WR_BASIC_ACK, (uint64_t)i, false, false);
    ck_assert_uint_eq(unacked("q"), 20);
    publish(1, "q", "m41");
    snprintf(body, sizeof(body), "m41");
    ck_assert_uint_eq(get(1, "q", body), 41);
    settle(1, WR_BASIC_ACK, 40, true, false);
    ck_assert_uint_eq(unacked("q"), 1);
    settle(1, WR_BASIC_ACK, 41, false, false);
    ck_assert_uint_eq(unacked("q"), 0);
    expect_nothing();
}
END_TEST

TCase *
amqp_tags_tcase(void)
{
    TCase *tc = tcase_create("tags");

    tcase_add_test(tc, tags_ack_multiple);
    tcase_add_test(tc, tags_ack_unknown);
    tcase_add_test(tc, tags_ack_all);
    tcase_add_test(tc, tags_nack_multiple_requeue);
    tcase_add_test(tc, tags_reject_drops);
    tcase_add_test(tc, tags_ring_grows);
    return tc;
}
