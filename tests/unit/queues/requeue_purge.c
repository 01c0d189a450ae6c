/* SPDX-License-Identifier: MIT */
/* Test case "requeue_purge" of the queues suite: requeue restores
 * order (also across a sequence wrap), requeue on a deleted queue,
 * purge drops only ready messages. */
#include "cases.h"

START_TEST(requeue_restores_order)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *d[3];
    bool r;

    for (uint64_t i = 1; i <= 5; i++)
        push_new(q, i, -1);
    for (int i = 0; i < 3; i++) {
        ck_assert(pop_msg(q, &d[i], &r));
        ck_assert(!r);
    }
    q->unacked = 3; /* what the broker would count */
    push_new(q, 6, -1);
    /* Reverse delivery order restores the original order, at the head,
     * before the older ready ones. */
    wr_queue_requeue(q, d[2], WR_NEVER, 0);
    wr_queue_requeue(q, d[1], WR_NEVER, 0);
    wr_queue_requeue(q, d[0], WR_NEVER, 0);
    ck_assert_uint_eq(q->ready, 6);
    ck_assert_uint_eq(q->ready_bytes, 24);
    ck_assert_uint_eq(q->n_redelivered, 3);
    ck_assert_uint_eq(q->unacked, 3); /* the broker's to decrement */
    pop_expect(q, 1, true);
    pop_expect(q, 2, true);
    pop_expect(q, 3, true);
    pop_expect(q, 4, false);
    pop_expect(q, 5, false);
    pop_expect(q, 6, false);
    wr_queue_unref(&q);
}
END_TEST

/* The publish sequence is 32 bits and wraps: requeue order compares it
 * with serial-number arithmetic, so messages published on both sides of
 * the wrap still come back in publish order. */
START_TEST(requeue_order_across_seq_wrap)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *d[3];
    bool r;

    push_new(q, 0xFFFFFFFEu, -1);
    push_new(q, 0xFFFFFFFFu, -1);
    push_new(q, 1, -1); /* published after the wrap */
    for (int i = 0; i < 3; i++)
        ck_assert(pop_msg(q, &d[i], &r));
    /* Oldest first this time: each must go after the earlier ones. */
    wr_queue_requeue(q, d[0], WR_NEVER, 0);
    wr_queue_requeue(q, d[1], WR_NEVER, 0);
    wr_queue_requeue(q, d[2], WR_NEVER, 0);
    pop_expect(q, 0xFFFFFFFEu, true);
    pop_expect(q, 0xFFFFFFFFu, true);
    pop_expect(q, 1, true);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(requeue_on_deleted_queue_drops)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *m = mk_msg(1, -1, "x"), *mine = wr_msg_ref(m);

    q->deleted = true;
    wr_queue_requeue(q, m, WR_NEVER, 0); /* takes the reference and drops it */
    ck_assert_uint_eq(mine->refcount, 1);
    ck_assert_uint_eq(q->ready, 0);
    ck_assert_uint_eq(q->n_redelivered, 0);
    wr_msg_unref(&mine);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(purge_drops_ready_only)
{
    struct wr_queue *q = mk_queue(3);
    struct wr_msg *delivered, *none = NULL;
    bool r;

    for (uint64_t i = 1; i <= 5; i++)
        push_new(q, i, (int)i % 4);
    ck_assert(pop_msg(q, &delivered, &r)); /* unacked, kept */
    ck_assert_uint_eq(wr_queue_purge(q), 4);
    ck_assert_uint_eq(q->ready, 0);
    ck_assert_uint_eq(q->ready_bytes, 0);
    ck_assert(!pop_msg(q, &none, &r));
    ck_assert_uint_eq(wr_queue_purge(q), 0);
    /* The delivered one lives on and can come back. */
    wr_queue_requeue(q, delivered, WR_NEVER, 0);
    ck_assert_uint_eq(q->ready, 1);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_requeue_purge_tcase(void)
{
    TCase *tc = tcase_create("requeue_purge");

    tcase_add_test(tc, requeue_restores_order);
    tcase_add_test(tc, requeue_order_across_seq_wrap);
    tcase_add_test(tc, requeue_on_deleted_queue_drops);
    tcase_add_test(tc, purge_drops_ready_only);
    return tc;
}
