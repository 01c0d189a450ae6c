/* SPDX-License-Identifier: MIT */
/* Test case "consumer_selection" of the queues suite: consumer
 * priorities and single active consumer. */
#include "cases.h"

START_TEST(consumer_priorities)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[4];
    int prio[] = {0, 10, 10, -5};

    for (int i = 0; i < 4; i++) {
        fake_init(&f[i], i, 3);
        f[i].c.priority = prio[i];
        ck_assert_int_eq(wr_queue_consumer_add(q, &f[i].c), WR_OK);
    }
    /* groups by priority, highest first */
    ck_assert_int_eq(
        WR_CONTAINER_OF(q->groups.next, struct wr_cgroup, link)->priority, 10);
    for (uint64_t i = 1; i <= 12; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 12);
    /* the two priority-10 consumers alternate until both are full, then 0,
     * then -5 */
    {
        int want[] = {1, 2, 1, 2, 1, 2, 0, 0, 0, 3, 3, 3};
        for (int i = 0; i < 12; i++)
            ck_assert_int_eq(log_who[i], want[i]);
    }
    /* credit back to the low one only: it gets the next */
    push_new(q, 13, -1);
    f[3].credit = 1;
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(log_who[0], 3);
    /* a high one with credit wins again */
    push_new(q, 14, -1);
    f[3].credit = 1;
    f[2].credit = 1;
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(log_who[0], 2);
    for (int i = 0; i < 4; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    ck_assert(wr_list_empty(&q->groups));
    wr_queue_unref(&q);
}
END_TEST

START_TEST(single_active_consumer)
{
    struct wr_queue_args a = {.single_active = true};
    struct wr_queue *q = mk_queue_args(&a);
    struct fake f[3];

    for (int i = 0; i < 3; i++) {
        fake_init(&f[i], i, 100);
        f[i].c.priority = i; /* ignored: registration order decides */
        wr_queue_consumer_add(q, &f[i].c);
    }
    ck_assert_ptr_eq(wr_queue_active_consumer(q), &f[0].c);
    for (uint64_t i = 1; i <= 5; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 5);
    ck_assert_int_eq(f[0].got, 5);
    /* the active one is blocked: nobody else takes over */
    f[0].credit = 0;
    push_new(q, 6, -1);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0);
    /* it goes: the next in registration order is active */
    fake_ack_all(&f[0], q);
    wr_queue_consumer_remove(q, &f[0].c);
    ck_assert_ptr_eq(wr_queue_active_consumer(q), &f[1].c);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(f[1].got, 1);
    ck_assert_int_eq(f[2].got, 0);
    for (int i = 1; i < 3; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    ck_assert_ptr_null(wr_queue_active_consumer(q));
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_consumer_selection_tcase(void)
{
    TCase *tc = tcase_create("consumer_selection");

    tcase_add_test(tc, consumer_priorities);
    tcase_add_test(tc, single_active_consumer);
    return tc;
}
