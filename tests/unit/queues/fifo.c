/* SPDX-License-Identifier: MIT */
/* Test case "fifo" of the queues suite: FIFO order and the ring
 * buffer wrapping around. */
#include "cases.h"

START_TEST(fifo_order)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *m;
    bool r;

    ck_assert_ptr_eq(q->kind, &wr_queue_fifo);
    ck_assert(!pop_msg(q, &m, &r));
    for (uint64_t i = 1; i <= 100; i++)
        push_new(q, i, (int)(i % 7)); /* priorities ignored by a FIFO */
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 100);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 400);
    ck_assert_uint_eq(wr_queue_counts(q)->published, 100);
    for (uint64_t i = 1; i <= 100; i++)
        pop_expect(q, i, false);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 0);
    ck_assert(!pop_msg(q, &m, &r));
    wr_queue_unref(&q);
    ck_assert_ptr_null(q);
}
END_TEST

START_TEST(fifo_wraparound)
{
    struct wr_queue *q = mk_queue(0);
    uint64_t next_in = 1, next_out = 1;

    /* Keep the ring part-full while head and tail wrap many times, growing
     * and shrinking on the way. */
    for (int round = 0; round < 50; round++) {
        int in = 3 + round % 11, out = 2 + round % 7;

        for (int i = 0; i < in; i++)
            push_new(q, next_in++, -1);
        for (int i = 0; i < out && next_out < next_in; i++)
            pop_expect(q, next_out++, false);
    }
    for (int i = 0; i < 1000; i++)
        push_new(q, next_in++, -1);
    while (next_out < next_in - 10)
        pop_expect(q, next_out++, false);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 10);
    wr_queue_unref(&q); /* frees the 10 left */
}
END_TEST

TCase *
queues_fifo_tcase(void)
{
    TCase *tc = tcase_create("fifo");

    tcase_add_test(tc, fifo_order);
    tcase_add_test(tc, fifo_wraparound);
    return tc;
}
