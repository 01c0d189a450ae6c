/* SPDX-License-Identifier: MIT */
/* Test case "lifetimes" of the queues suite: queue references, and
 * unref past zero. */
#include "cases.h"

START_TEST(lifetimes)
{
    struct wr_queue *q1 = mk_queue(0), *q2 = mk_queue(4), *extra;
    struct wr_msg *shared = mk_msg(1, 3, "shared body");
    struct wr_delivery out;

    ck_assert_int_eq(wr_queue_enqueue(q1, shared, 0), WR_OK);
    ck_assert_int_eq(wr_queue_enqueue(q2, shared, 0), WR_OK);
    ck_assert_uint_eq(shared->refcount, 3);
    wr_msg_unref(&shared);

    /* A queue outlives its registry reference while a delivery holds it. */
    extra = wr_queue_ref(q1);
    ck_assert_uint_eq(q1->refcount, 2);
    ck_assert(get_unacked(q1, 0, &out));
    wr_queue_unref(&q1);
    ck_assert_ptr_null(q1);
    ck_assert_uint_eq(extra->refcount, 1);
    settle(extra, &out, WR_SETTLE_REQUEUE, 0); /* allowed: not deleted */
    ck_assert_uint_eq(wr_queue_counts(extra)->ready, 1);
    wr_queue_unref(&extra); /* frees it and its message ref */

    /* Freeing a queue with messages in it releases them. */
    for (uint64_t i = 0; i < 20; i++)
        push_new(q2, 10 + i, (int)(i % 6));
    wr_queue_unref(&q2); /* the last reference to "shared" too */
}
END_TEST

START_TEST(queue_unref_zero_aborts)
{
    struct wr_queue *q = mk_queue(0);

    /* This child dies on purpose: its "assertion failed" line would read
     * like a failure in make test's output. */
    CHECK_QUIET_STDERR();
    q->refcount = 0;    /* as if one unref too many had happened */
    wr_queue_unref(&q); /* SIGABRT */
}
END_TEST

TCase *
queues_lifetimes_tcase(void)
{
    TCase *tc = tcase_create("lifetimes");

    tcase_add_test(tc, lifetimes);
    if (forking()) /* an abort needs its own process */
        tcase_add_test_raise_signal(tc, queue_unref_zero_aborts, SIGABRT);
    return tc;
}
