/* SPDX-License-Identifier: MIT */
/* The amqp suite: confirm and tx. */
#include "cases.h"

START_TEST(mode_confirm_then_tx)
{
    connect_open(1);
    send_id(1, WR_CONFIRM_SELECT);
    expect(1, WR_CONFIRM_SELECT_OK);
    send_id(1, WR_TX_SELECT);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_TX_SELECT),
        "PRECONDITION_FAILED - cannot switch from confirm to tx "
        "mode");
}
END_TEST

START_TEST(mode_tx_then_confirm)
{
    connect_open(1);
    send_id(1, WR_TX_SELECT);
    expect(1, WR_TX_SELECT_OK);
    send_id(1, WR_CONFIRM_SELECT);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_CONFIRM_SELECT),
        "PRECONDITION_FAILED - cannot switch from tx to confirm "
        "mode");
}
END_TEST

START_TEST(mode_confirm_tags)
{
    connect_open(1);
    declare_queue(1, "q");
    send_id(1, WR_CONFIRM_SELECT);
    expect(1, WR_CONFIRM_SELECT_OK);
    for (uint64_t i = 1; i <= 3; i++) {
        publish(1, i == 2 ? "nowhere" : "q", "m");
        const struct wr_method *m = expect(1, WR_BASIC_ACK);
        /* an unroutable message is confirmed too */
        ck_assert_uint_eq(m->u.basic_ack.delivery_tag, i);
        ck_assert(!m->u.basic_ack.multiple);
    }
    ck_assert_uint_eq(ready("q"), 2);
}
END_TEST

START_TEST(mode_tx_commit_and_rollback)
{
    connect_open(1);
    declare_queue(1, "q");
    send_id(1, WR_TX_SELECT);
    expect(1, WR_TX_SELECT_OK);
    publish(1, "q", "a");
    ck_assert_uint_eq(ready("q"), 0); /* held until commit */
    send_id(1, WR_TX_ROLLBACK);
    expect(1, WR_TX_ROLLBACK_OK);
    send_id(1, WR_TX_COMMIT);
    expect(1, WR_TX_COMMIT_OK);
    ck_assert_uint_eq(ready("q"), 0);
    publish(1, "q", "b");
    send_id(1, WR_TX_COMMIT);
    expect(1, WR_TX_COMMIT_OK);
    ck_assert_uint_eq(ready("q"), 1);
    get(1, "q", "b");
}
END_TEST

TCase *
amqp_modes_tcase(void)
{
    TCase *tc = tcase_create("modes");

    tcase_add_test(tc, mode_confirm_then_tx);
    tcase_add_test(tc, mode_tx_then_confirm);
    tcase_add_test(tc, mode_confirm_tags);
    tcase_add_test(tc, mode_tx_commit_and_rollback);
    return tc;
}
