/* SPDX-License-Identifier: MIT */
/* Test case "priority" of the queues suite: priority order, every
 * level, and requeue to the front of a level. */
#include "cases.h"

START_TEST(prio_order)
{
    struct wr_queue *q = mk_queue(10);

    ck_assert_ptr_eq(q->kind, &wr_queue_prio);
    push_new(q, 1, 0);
    push_new(q, 2, 5);
    push_new(q, 3, -1); /* no priority property: 0 */
    push_new(q, 4, 10);
    push_new(q, 5, 255); /* capped at x-max-priority 10 */
    push_new(q, 6, 5);
    push_new(q, 7, 11); /* capped */
    push_new(q, 8, 3);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 8);
    /* Higher first; FIFO within a level (capped ones join level 10). */
    pop_expect(q, 4, false);
    pop_expect(q, 5, false);
    pop_expect(q, 7, false);
    pop_expect(q, 2, false);
    pop_expect(q, 6, false);
    pop_expect(q, 8, false);
    pop_expect(q, 1, false);
    pop_expect(q, 3, false);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(prio_all_levels)
{
    struct wr_queue *q = mk_queue(255);

    /* One message per level, pushed lowest first, across all four words of
     * the level bitmap; they come out highest first. */
    for (int p = 0; p <= 255; p++)
        push_new(q, (uint64_t)p, p);
    for (int p = 255; p >= 0; p--)
        pop_expect(q, (uint64_t)p, false);
    /* Interleave: a new high one overtakes waiting low ones. */
    push_new(q, 1000, 1);
    push_new(q, 1001, 64);
    pop_expect(q, 1001, false);
    push_new(q, 1002, 63);
    push_new(q, 1003, 200);
    pop_expect(q, 1003, false);
    pop_expect(q, 1002, false);
    pop_expect(q, 1000, false);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(prio_requeue_front_of_level)
{
    struct wr_queue *q = mk_queue(5);
    struct wr_msg *m;
    struct wr_delivery d;
    bool r;

    push_new(q, 1, 2);
    push_new(q, 2, 2);
    push_new(q, 3, 4);
    ck_assert(pop_msg(q, &m, &r)); /* 3 */
    ck_assert_uint_eq(tid(m), 3);
    wr_msg_unref(&m);
    ck_assert(get_unacked(q, 0, &d)); /* 1, delivered */
    ck_assert_uint_eq(tid(d.msg), 1);
    push_new(q, 4, 4);
    settle(q, &d, WR_SETTLE_REQUEUE, 0); /* front of level 2, behind 4 */
    pop_expect(q, 4, false);
    pop_expect(q, 1, true);
    pop_expect(q, 2, false);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_priority_tcase(void)
{
    TCase *tc = tcase_create("priority");

    tcase_add_test(tc, prio_order);
    tcase_add_test(tc, prio_all_levels);
    tcase_add_test(tc, prio_requeue_front_of_level);
    return tc;
}
