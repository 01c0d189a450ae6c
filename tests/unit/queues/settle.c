/* SPDX-License-Identifier: MIT */
/* Test case "settle" of the queues suite: the kind interface (kinds by
 * name), entry ids, the three ways to settle an unacked entry and the
 * counters they move, no-ack deliveries, the unacked pool. */
#include "cases.h"

START_TEST(kinds_by_name)
{
    struct wr_queue *q0 = mk_queue(0), *q9 = mk_queue(9);

    ck_assert_ptr_eq(wr_queue_kind_find("fifo"), &wr_queue_fifo);
    ck_assert_ptr_eq(wr_queue_kind_find("priority"), &wr_queue_prio);
    ck_assert_ptr_eq(wr_queue_kind_find("stream"), &wr_queue_stream);
    ck_assert_ptr_null(wr_queue_kind_find("quorum"));
    ck_assert_ptr_eq(q0->kind, &wr_queue_fifo);
    ck_assert_ptr_eq(q9->kind, &wr_queue_prio);
    wr_queue_unref(&q0);
    wr_queue_unref(&q9);
}
END_TEST

/* Ids: from 1, one per enqueue, in enqueue order whatever the priority,
 * kept through requeues, never reused (not even after a purge). */
START_TEST(ids_monotonic)
{
    for (uint8_t maxp = 0; maxp <= 5; maxp += 5) {
        struct wr_queue *q = mk_queue(maxp);
        struct wr_delivery d;
        uint64_t last = 0;

        for (uint64_t i = 1; i <= 10; i++)
            push_new(q, i, (int)(i % 6));
        /* priority order out, but each id is the enqueue number */
        for (int i = 0; i < 10; i++) {
            ck_assert(get_unacked(q, 0, &d));
            ck_assert_uint_eq(d.id, tid(d.msg));
            if (maxp == 0)
                ck_assert_uint_gt(d.id, last);
            last = d.id;
            settle(q, &d, WR_SETTLE_REQUEUE, 0);
            ck_assert(get_unacked(q, 0, &d));
            ck_assert_uint_eq(d.id, last); /* the same entry back */
            ck_assert(d.redelivered);
            settle(q, &d, WR_SETTLE_ACK, 0);
        }
        ck_assert_uint_eq(wr_queue_purge(q), 0);
        push_new(q, 11, -1);
        push_new(q, 12, -1);
        ck_assert_uint_eq(wr_queue_purge(q), 2);
        push_new(q, 13, -1);
        ck_assert(get_unacked(q, 0, &d));
        ck_assert_uint_eq(d.id, 13); /* 11 and 12 are not reused */
        settle(q, &d, WR_SETTLE_ACK, 0);
        ck_assert_uint_eq(wr_queue_counts(q)->published, 13);
        ck_assert_uint_eq(wr_queue_counts(q)->acked, 11);
        wr_queue_unref(&q);
    }
}
END_TEST

/* Requeued entries of a priority queue go back to the head of their own
 * level, in id order. */
START_TEST(ids_order_requeue_within_level)
{
    struct wr_queue *q = mk_queue(5);
    struct wr_delivery d[4];

    push_new(q, 1, 1);
    push_new(q, 2, 3);
    push_new(q, 3, 1);
    push_new(q, 4, 3);
    for (int i = 0; i < 4; i++)
        ck_assert(get_unacked(q, 0, &d[i])); /* 2 4 1 3 */
    for (int i = 0; i < 4; i++)
        settle(q, &d[i], WR_SETTLE_REQUEUE, 0); /* oldest first */
    push_new(q, 5, 3);
    pop_expect(q, 2, true);
    pop_expect(q, 4, true);
    pop_expect(q, 5, false);
    pop_expect(q, 1, true);
    pop_expect(q, 3, true);
    wr_queue_unref(&q);
}
END_TEST

/* Each way to settle, and the counters: ack (gone), requeue (ready again,
 * redelivered), reject (dies as rejected, dead-lettered by the owner). */
START_TEST(settle_paths_and_counts)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_msg *m = mk_msg_ttl(1, -1, NULL), *mine = wr_msg_ref(m);
    struct wr_delivery d[3];
    const struct wr_queue_counts *n = wr_queue_counts(q);

    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
    push_ttl(q, 2, -1, NULL, 0);
    push_ttl(q, 3, -1, NULL, 0);
    ck_assert_uint_eq(n->published, 3);
    ck_assert_uint_eq(n->ready, 3);
    ck_assert_uint_eq(n->ready_bytes, 12);
    for (int i = 0; i < 3; i++)
        ck_assert(get_unacked(q, 0, &d[i]));
    ck_assert_uint_eq(n->ready, 0);
    ck_assert_uint_eq(n->ready_bytes, 0);
    ck_assert_uint_eq(n->unacked, 3);
    ck_assert_uint_eq(n->delivered, 3);
    ck_assert_uint_eq(mine->refcount, 2); /* the queue keeps it unacked */

    settle(q, &d[0], WR_SETTLE_ACK, 0);
    ck_assert_uint_eq(mine->refcount, 1); /* gone from the queue */
    ck_assert_uint_eq(n->acked, 1);
    ck_assert_uint_eq(n->unacked, 2);

    settle(q, &d[1], WR_SETTLE_REJECT, 0);
    ck_assert_int_eq(ndead, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_REJECTED);
    ck_assert_uint_eq(tid(dead_msgs[0]), 2);
    ck_assert_uint_eq(n->dead_lettered, 1); /* the owner said so */
    ck_assert_uint_eq(n->unacked, 1);
    ck_assert_uint_eq(n->ready, 0);

    settle(q, &d[2], WR_SETTLE_REQUEUE, 0);
    ck_assert_uint_eq(n->unacked, 0);
    ck_assert_uint_eq(n->ready, 1);
    ck_assert_uint_eq(n->ready_bytes, 4);
    ck_assert_uint_eq(n->redelivered, 1);
    ck_assert_uint_eq(n->acked, 1);
    ck_assert_uint_eq(q->unacked.live, 0);
    pop_at(q, 0, 3);
    ck_assert_uint_eq(n->delivered, 4);
    wr_msg_unref(&mine);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* A no-ack consumer keeps nothing: the queue lets go of the message once
 * deliver returns, and nothing is unacked. */
START_TEST(settle_no_ack_dispatch)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *m = mk_msg(1, -1, "x");
    struct fake f;

    fake_init(&f, 0, 5);
    f.c.no_ack = true;
    wr_queue_consumer_add(q, &f.c);
    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    push_new(q, 2, -1);
    ck_assert_uint_eq(m->refcount, 2);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 2);
    ck_assert_uint_eq(m->refcount, 1);
    ck_assert_int_eq(f.nheld, 0);
    ck_assert_uint_eq(log_id[0], 1);
    ck_assert_uint_eq(log_id[1], 2);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->delivered, 2);
    ck_assert_uint_eq(q->unacked.live, 0);
    wr_queue_consumer_remove(q, &f.c);
    wr_msg_unref(&m);
    wr_queue_unref(&q);
}
END_TEST

/* Dispatch hands ids to consumers; they come back by (id, handle). */
START_TEST(settle_after_dispatch)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[2];

    for (int i = 0; i < 2; i++) {
        fake_init(&f[i], i, 3);
        wr_queue_consumer_add(q, &f[i].c);
    }
    for (uint64_t i = 1; i <= 6; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 6);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(log_id[i], (uint64_t)i + 1);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 6);
    /* consumer 0 had 1, 3, 5: requeue them; 1 acks 2, 4, 6 */
    for (int i = f[0].nheld; i-- > 0;)
        settle(q, &f[0].held[i], WR_SETTLE_REQUEUE, 0);
    f[0].nheld = 0;
    fake_ack_all(&f[1], q);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->acked, 3);
    wr_queue_consumer_remove(q, &f[1].c);
    reset_log();
    f[0].credit = 10;
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 3);
    ck_assert_uint_eq(log_seq[0], 1);
    ck_assert_uint_eq(log_seq[1], 3);
    ck_assert_uint_eq(log_seq[2], 5);
    fake_ack_all(&f[0], q);
    wr_queue_consumer_remove(q, &f[0].c);
    wr_queue_unref(&q);
}
END_TEST

/* Records are recycled: the pool holds at most the most entries unacked
 * at once, and gives big memory back when it empties. */
START_TEST(settle_pool_recycles)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_delivery d[40];

    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 40; i++)
            push_new(q, (uint64_t)(round * 40 + i + 1), -1);
        for (int i = 0; i < 40; i++)
            ck_assert(get_unacked(q, 0, &d[i]));
        ck_assert_uint_le(q->unacked.used, 40);
        for (int i = 0; i < 40; i++) /* out of order */
            settle(q, &d[(i * 7) % 40], WR_SETTLE_ACK, 0);
    }
    ck_assert_uint_le(q->unacked.cap, 64);
    ck_assert_uint_eq(q->unacked.live, 0);
    for (uint64_t i = 1; i <= 3000; i++)
        push_new(q, i, -1);
    for (uint64_t i = 1; i <= 3000; i++)
        ck_assert(get_unacked(q, 0, &d[0]));
    ck_assert_uint_ge(q->unacked.cap, 3000);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 3000);
    wr_queue_unref(&q); /* frees the unacked ones */
}
END_TEST

/* Settling what the queue did not hand out is a bug: abort. */
START_TEST(settle_unknown_aborts)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_delivery d;

    CHECK_QUIET_STDERR(); /* the abort is the expected outcome */
    push_new(q, 1, -1);
    ck_assert(get_unacked(q, 0, &d));
    d.id++;
    settle(q, &d, WR_SETTLE_ACK, 0); /* SIGABRT */
}
END_TEST

START_TEST(settle_twice_aborts)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_delivery d;

    CHECK_QUIET_STDERR(); /* the abort is the expected outcome */
    push_new(q, 1, -1);
    push_new(q, 2, -1);
    ck_assert(get_unacked(q, 0, &d));
    settle(q, &d, WR_SETTLE_ACK, 0);
    settle(q, &d, WR_SETTLE_ACK, 0); /* SIGABRT */
}
END_TEST

TCase *
queues_settle_tcase(void)
{
    TCase *tc = tcase_create("settle");

    tcase_add_test(tc, kinds_by_name);
    tcase_add_test(tc, ids_monotonic);
    tcase_add_test(tc, ids_order_requeue_within_level);
    tcase_add_test(tc, settle_paths_and_counts);
    tcase_add_test(tc, settle_no_ack_dispatch);
    tcase_add_test(tc, settle_after_dispatch);
    tcase_add_test(tc, settle_pool_recycles);
    if (forking()) { /* an abort needs its own process */
        tcase_add_test_raise_signal(tc, settle_unknown_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, settle_twice_aborts, SIGABRT);
    }
    return tc;
}
