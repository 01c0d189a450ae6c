/* SPDX-License-Identifier: MIT */
/* Test case "requeue_purge" of the queues suite: requeued entries come
 * back in entry id order (whatever order they are settled in, past 2^32,
 * per queue), requeue and reject on a deleted queue drop, purge drops
 * only ready entries, delete with unacked entries. */
#include "cases.h"

START_TEST(requeue_restores_order)
{
    /* Settled newest first (what a channel does), oldest first, mixed. */
    static const int orders[][3] = {{2, 1, 0}, {0, 1, 2}, {1, 2, 0}};

    for (size_t k = 0; k < WR_ARRAY_LEN(orders); k++) {
        struct wr_queue *q = mk_queue(0);
        struct wr_delivery d[3];

        for (uint64_t i = 1; i <= 5; i++)
            push_new(q, i, -1);
        for (int i = 0; i < 3; i++) {
            ck_assert(get_unacked(q, 0, &d[i]));
            ck_assert(!d[i].redelivered);
            ck_assert_uint_eq(d[i].id, (uint64_t)i + 1);
        }
        ck_assert_uint_eq(wr_queue_counts(q)->unacked, 3);
        push_new(q, 6, -1);
        for (int i = 0; i < 3; i++)
            settle(q, &d[orders[k][i]], WR_SETTLE_REQUEUE, 0);
        ck_assert_uint_eq(wr_queue_counts(q)->ready, 6);
        ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 24);
        ck_assert_uint_eq(wr_queue_counts(q)->redelivered, 3);
        ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
        /* at the head, before the older ready ones */
        pop_expect(q, 1, true);
        pop_expect(q, 2, true);
        pop_expect(q, 3, true);
        pop_expect(q, 4, false);
        pop_expect(q, 5, false);
        pop_expect(q, 6, false);
        wr_queue_unref(&q);
    }
}
END_TEST

/* Entry ids are 64 bits: past 2^32 (where the old 32-bit publish sequence
 * wrapped) requeued entries still come back in order. */
START_TEST(requeue_order_past_32_bits)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_delivery d[4];

    q->next_id = UINT32_MAX - 1; /* as after 4 billion enqueues */
    for (uint64_t i = 1; i <= 4; i++)
        push_new(q, i, -1);
    for (int i = 0; i < 4; i++)
        ck_assert(get_unacked(q, 0, &d[i]));
    ck_assert_uint_eq(d[0].id, UINT32_MAX - 1);
    ck_assert_uint_eq(d[3].id, (uint64_t)UINT32_MAX + 2);
    settle(q, &d[0], WR_SETTLE_REQUEUE, 0);
    settle(q, &d[3], WR_SETTLE_REQUEUE, 0);
    settle(q, &d[1], WR_SETTLE_REQUEUE, 0);
    settle(q, &d[2], WR_SETTLE_REQUEUE, 0);
    for (uint64_t i = 1; i <= 4; i++)
        pop_expect(q, i, true);
    wr_queue_unref(&q);
}
END_TEST

/* The order is the queue's own: the same messages enqueued in another
 * order in another queue come back in that queue's order. */
START_TEST(requeue_order_is_per_queue)
{
    struct wr_queue *q1 = mk_queue(0), *q2 = mk_queue(0);
    struct wr_msg *a = mk_msg(1, -1, "a"), *b = mk_msg(2, -1, "b");
    struct wr_delivery d1[2], d2[2];

    ck_assert_int_eq(wr_queue_enqueue(q1, a, 0), WR_OK);
    ck_assert_int_eq(wr_queue_enqueue(q1, b, 0), WR_OK);
    ck_assert_int_eq(wr_queue_enqueue(q2, b, 0), WR_OK);
    ck_assert_int_eq(wr_queue_enqueue(q2, a, 0), WR_OK);
    wr_msg_unref(&a);
    wr_msg_unref(&b);
    for (int i = 0; i < 2; i++) {
        ck_assert(get_unacked(q1, 0, &d1[i]));
        ck_assert(get_unacked(q2, 0, &d2[i]));
    }
    for (int i = 0; i < 2; i++) {
        settle(q1, &d1[i], WR_SETTLE_REQUEUE, 0);
        settle(q2, &d2[i], WR_SETTLE_REQUEUE, 0);
    }
    pop_expect(q1, 1, true);
    pop_expect(q1, 2, true);
    pop_expect(q2, 2, true);
    pop_expect(q2, 1, true);
    wr_queue_unref(&q1);
    wr_queue_unref(&q2);
}
END_TEST

START_TEST(purge_drops_ready_only)
{
    struct wr_queue *q = mk_queue(3);
    struct wr_msg *none = NULL;
    struct wr_delivery delivered;
    bool r;

    for (uint64_t i = 1; i <= 5; i++)
        push_new(q, i, (int)i % 4);
    ck_assert(get_unacked(q, 0, &delivered)); /* #3, unacked, kept */
    ck_assert_uint_eq(tid(delivered.msg), 3);
    ck_assert_uint_eq(wr_queue_purge(q), 4);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 1);
    ck_assert(!pop_msg(q, &none, &r));
    ck_assert_uint_eq(wr_queue_purge(q), 0);
    /* The delivered one lives on and can come back. */
    settle(q, &delivered, WR_SETTLE_REQUEUE, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 1);
    pop_expect(q, 3, true);
    /* ids go on after a purge */
    push_new(q, 6, -1);
    ck_assert(get_unacked(q, 0, &delivered));
    ck_assert_uint_eq(delivered.id, 6);
    settle(q, &delivered, WR_SETTLE_ACK, 0);
    wr_queue_unref(&q);
}
END_TEST

/* A deleted queue drops what is ready at once and each unacked entry as it
 * is settled, whichever way: nothing is requeued or dead-lettered. */
START_TEST(delete_with_unacked)
{
    struct wr_queue_args a = {.has_dlx = true};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_msg *m = mk_msg_ttl(1, -1, NULL), *mine = wr_msg_ref(m);
    struct wr_delivery d[3];

    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
    for (uint64_t i = 2; i <= 5; i++)
        push_ttl(q, i, -1, NULL, 0);
    for (int i = 0; i < 3; i++)
        ck_assert(get_unacked(q, 0, &d[i]));
    ck_assert_uint_eq(mine->refcount, 2); /* the queue's, unacked */
    ck_assert_uint_eq(wr_queue_delete(q), 2);
    ck_assert(q->deleted);
    ck_assert_ptr_null(q->hooks);
    ck_assert_uint_eq(wr_queue_delete(q), 0); /* once */
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 3);
    settle(q, &d[0], WR_SETTLE_REQUEUE, 0);
    ck_assert_uint_eq(mine->refcount, 1); /* dropped */
    settle(q, &d[1], WR_SETTLE_REJECT, 0);
    settle(q, &d[2], WR_SETTLE_ACK, 0);
    ck_assert_int_eq(ndead, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->redelivered, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->dead_lettered, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->acked, 1);
    ck_assert_uint_eq(q->unacked.live, 0);
    wr_msg_unref(&mine);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_requeue_purge_tcase(void)
{
    TCase *tc = tcase_create("requeue_purge");

    tcase_add_test(tc, requeue_restores_order);
    tcase_add_test(tc, requeue_order_past_32_bits);
    tcase_add_test(tc, requeue_order_is_per_queue);
    tcase_add_test(tc, purge_drops_ready_only);
    tcase_add_test(tc, delete_with_unacked);
    return tc;
}
