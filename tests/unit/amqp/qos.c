/* SPDX-License-Identifier: MIT */
/* The amqp suite: basic.qos prefetch. */
#include "cases.h"

static void
consume(uint16_t ch, const char *q, const char *tag)
{
    struct wr_method m = {.id = WR_BASIC_CONSUME};

    m.u.basic_consume.queue = wr_bytes_str(q);
    m.u.basic_consume.consumer_tag = wr_bytes_str(tag);
    send_method(ch, &m);
    expect(ch, WR_BASIC_CONSUME_OK);
}

/* Reads one basic.deliver with its header and body; returns its tag. */
static uint64_t
expect_deliver(uint16_t ch)
{
    uint64_t tag = expect(ch, WR_BASIC_DELIVER)->u.basic_deliver.delivery_tag;

    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_HEADER);
    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_BODY);
    return tag;
}

START_TEST(qos_prefetch_count)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 0; i < 5; i++)
        publish(1, "q", "x");
    m.u.basic_qos.prefetch_count = 2;
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    consume(1, "q", "c");
    ck_assert_uint_eq(expect_deliver(1), 1);
    ck_assert_uint_eq(expect_deliver(1), 2);
    expect_nothing();
    ck_assert_uint_eq(ready("q"), 3);
    settle(1, WR_BASIC_ACK, 1, false, false);
    ck_assert_uint_eq(expect_deliver(1), 3);
    expect_nothing();
    /* multiple frees two slots */
    settle(1, WR_BASIC_ACK, 3, true, false);
    ck_assert_uint_eq(expect_deliver(1), 4);
    ck_assert_uint_eq(expect_deliver(1), 5);
    expect_nothing();
    /* a requeued message takes the slot it frees */
    settle(1, WR_BASIC_NACK, 4, false, true);
    ck_assert_uint_eq(expect_deliver(1), 6);
    expect_nothing();
    ck_assert_uint_eq(unacked("q"), 2);
}
END_TEST

/* As in RabbitMQ, basic.qos with global=false sets the prefetch of the
 * consumers started after it; the one started before keeps its own. */
START_TEST(qos_applies_to_new_consumers)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 0; i < 3; i++)
        publish(1, "q", "x");
    m.u.basic_qos.prefetch_count = 1;
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    consume(1, "q", "c1");
    ck_assert_uint_eq(expect_deliver(1), 1);
    expect_nothing();
    m.u.basic_qos.prefetch_count = 0; /* unlimited */
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    expect_nothing();
    consume(1, "q", "c2");
    ck_assert_uint_eq(expect_deliver(1), 2);
    ck_assert_uint_eq(expect_deliver(1), 3);
    expect_nothing();
    ck_assert_uint_eq(unacked("q"), 3);
}
END_TEST

START_TEST(qos_prefetch_size_refused)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    m.u.basic_qos.prefetch_size = 1000;
    send_method(1, &m);
    expect_close(0, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_QOS);
}
END_TEST

TCase *
amqp_qos_tcase(void)
{
    TCase *tc = tcase_create("qos");

    tcase_add_test(tc, qos_prefetch_count);
    tcase_add_test(tc, qos_applies_to_new_consumers);
    tcase_add_test(tc, qos_prefetch_size_refused);
    return tc;
}
