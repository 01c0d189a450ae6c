/* SPDX-License-Identifier: MIT */
/* Test case "expiry" of the queues suite (issue 9): the deadline heap,
 * per-queue and per-message TTL, the deadline hook, priorities,
 * compaction, requeue, TTL 0, and peek. */
#include "cases.h"

/* The heap gives deadlines back in order whatever the insertion and
 * deletion order, and reuses freed nodes. */
START_TEST(xindex_order)
{
    struct wr_xindex x;
    uint32_t ids[500];
    int64_t prev = INT64_MIN;
    uint64_t state = 88172645463325252ULL;
    size_t left = 0;

    wr_xindex_init(&x);
    for (int i = 0; i < 500; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ck_assert_int_eq(
            wr_xindex_add(&x, (int64_t)(state % 1000), 0, (uint64_t)i, &ids[i]),
            WR_OK);
    }
    /* Delete every third from anywhere in the heap. */
    for (int i = 0; i < 500; i += 3)
        wr_xindex_del(&x, ids[i]);
    for (int i = 0; i < 500; i++)
        left += i % 3 != 0;
    ck_assert_uint_eq(x.hlen, left);
    /* Freed nodes are reused before the pool grows. */
    {
        uint32_t ncap = x.ncap, id;
        ck_assert_int_eq(wr_xindex_add(&x, 5, 1, 7, &id), WR_OK);
        ck_assert_uint_eq(x.ncap, ncap);
        ck_assert_uint_eq(wr_xindex_node(&x, id)->pos, 7);
        ck_assert_uint_eq(wr_xindex_node(&x, id)->level, 1);
        left++;
    }
    while (left-- > 0) {
        uint32_t top = wr_xindex_top(&x);
        ck_assert_uint_ne(top, 0);
        ck_assert_int_ge(wr_xindex_node(&x, top)->at, prev);
        prev = wr_xindex_node(&x, top)->at;
        wr_xindex_del(&x, top);
    }
    ck_assert_uint_eq(wr_xindex_top(&x), 0);
    wr_xindex_cleanup(&x);
}
END_TEST

/* A message expires on time wherever it is: not only at the head. */
START_TEST(expire_in_the_middle)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);
    int64_t at;

    push_ttl(q, 1, -1, NULL, 1000);  /* never expires, stays at the head */
    push_ttl(q, 2, -1, "100", 1000); /* expires at 1100 */
    push_ttl(q, 3, -1, NULL, 1000);
    push_ttl(q, 4, -1, "50", 1010); /* expires at 1060: earlier */
    ck_assert(wr_queue_next_deadline(q, &at));
    ck_assert_int_eq(at, 1060);
    ck_assert_uint_eq(wr_queue_expire(q, 1059), 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 4);
    ck_assert_uint_eq(wr_queue_expire(q, 1060), 1);
    ck_assert_int_eq(ndead, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_EXPIRED);
    ck_assert_uint_eq(tid(dead_msgs[0]), 4);
    ck_assert_uint_eq(wr_queue_expire(q, 1200), 1);
    ck_assert_uint_eq(tid(dead_msgs[1]), 2);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 8);
    ck_assert_uint_eq(wr_queue_counts(q)->expired, 2);
    ck_assert(!wr_queue_next_deadline(q, &at));
    pop_at(q, 1200, 1);
    pop_at(q, 1200, 3);
    ck_assert(!pop_msg(q, &(struct wr_msg *){NULL}, &(bool){false}));
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* x-message-ttl and the expiration property: the smaller wins; TTL is
 * counted from the push into this queue. */
START_TEST(expire_queue_and_message_ttl)
{
    /* Every queued message pays for its slot: the deadline is kept by the
     * expiry index, not there (MEMORY.md). */
    ck_assert_uint_eq(sizeof(struct wr_rslot), sizeof(void *) + 8);
    struct wr_queue_args a = {.has_message_ttl = true, .message_ttl = 200};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_delivery e;

    push_ttl(q, 1, -1, NULL, 0);   /* 200 */
    push_ttl(q, 2, -1, "500", 0);  /* still 200 */
    push_ttl(q, 3, -1, "20", 100); /* 120 */
    ck_assert_int_eq(last_deadline, 120);
    /* The queue keeps the deadline of an entry it handed out. */
    ck_assert(get_unacked(q, 110, &e));
    ck_assert_uint_eq(tid(e.msg), 1);
    ck_assert_uint_eq(wr_queue_expire(q, 150), 1); /* #3 */
    settle(q, &e, WR_SETTLE_REQUEUE, 199);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_uint_eq(wr_queue_expire(q, 200), 2); /* #1 and #2 */
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* The deadline hook fires only when the earliest deadline moves earlier. */
START_TEST(expire_deadline_hook)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);

    push_ttl(q, 1, -1, NULL, 0);
    ck_assert_int_eq(ndeadlines, 0);
    push_ttl(q, 2, -1, "100", 0);
    ck_assert_int_eq(ndeadlines, 1);
    ck_assert_int_eq(last_deadline, 100);
    push_ttl(q, 3, -1, "300", 0);
    ck_assert_int_eq(ndeadlines, 1);
    push_ttl(q, 4, -1, "30", 10);
    ck_assert_int_eq(ndeadlines, 2);
    ck_assert_int_eq(last_deadline, 40);
    wr_queue_unref(&q); /* stored messages with deadlines freed too */
    reset_dead();
}
END_TEST

/* Priority queues: deadlines in any level; a level left with dead slots
 * only is skipped. */
START_TEST(expire_priority_levels)
{
    struct wr_queue_args a = {.max_priority = 5};
    struct wr_queue *q = mk_queue_args(&a);

    push_ttl(q, 1, 5, "10", 0);
    push_ttl(q, 2, 5, "10", 0);
    push_ttl(q, 3, 1, NULL, 0);
    push_ttl(q, 4, 3, "1000", 0);
    push_ttl(q, 5, 3, "20", 0);
    ck_assert_uint_eq(wr_queue_expire(q, 20), 3);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    pop_at(q, 20, 4);
    pop_at(q, 20, 3);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* Many expiries behind a head that never expires: dead slots are
 * compacted away (bounded memory) and order is kept. */
START_TEST(expire_compaction)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_fifo *f;
    uint64_t id = 1;

    push_ttl(q, id++, -1, NULL, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 600; i++)
            push_ttl(q, id++, -1, i % 3 == 0 ? NULL : "5",
                     (int64_t)round * 100);
        ck_assert_uint_eq(wr_queue_expire(q, (int64_t)round * 100 + 5), 400);
        f = q->kind->rings->ring(q, 0);
        /* dead slots never outnumber live ones (plus a little slack) */
        ck_assert_uint_le(f->dead, 32 + wr_fifo_live(f));
        ck_assert_uint_eq(wr_fifo_live(f), wr_queue_counts(q)->ready);
        reset_dead();
    }
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 601);
    pop_at(q, 1000, 1);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 600; i += 3)
            pop_at(q, 1000, 2 + (uint64_t)round * 600 + (uint64_t)i);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    wr_queue_unref(&q);
}
END_TEST

/* Requeue keeps the deadline (RabbitMQ): a passed one kills the message,
 * a future one still expires it on time at its place. */
START_TEST(expire_requeue_keeps_deadline)
{
    struct wr_queue_args a = {.has_message_ttl = true, .message_ttl = 100};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_delivery e1, e2;

    push_ttl(q, 1, -1, NULL, 0);
    push_ttl(q, 2, -1, NULL, 50);
    ck_assert(get_unacked(q, 10, &e1));
    ck_assert(get_unacked(q, 60, &e2));
    settle(q, &e2, WR_SETTLE_REQUEUE, 120); /* 150: still alive */
    settle(q, &e1, WR_SETTLE_REQUEUE, 120); /* 100: dies now */
    ck_assert_int_eq(ndead, 1);
    ck_assert_uint_eq(tid(dead_msgs[0]), 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_EXPIRED);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 1);
    ck_assert_uint_eq(wr_queue_expire(q, 149), 0);
    ck_assert_uint_eq(wr_queue_expire(q, 150), 1);
    ck_assert_uint_eq(tid(dead_msgs[1]), 2);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* TTL 0: delivered to a consumer that can take it at once (the publish
 * path dispatches with 1 ms of grace), expired otherwise. */
static struct wr_msg *got_msg;
static struct wr_delivery got;

static bool
yes_take(struct wr_consumer *c)
{
    (void)c;
    return got_msg == NULL;
}

static void
keep_deliver(struct wr_consumer *c, struct wr_queue *q,
             const struct wr_delivery *d)
{
    (void)c;
    (void)q;
    got = *d;
    got_msg = d->msg;
}

static const struct wr_consumer_ops keep_ops = {yes_take, keep_deliver, NULL};

START_TEST(expire_ttl_zero)
{
    struct wr_queue_args a = {.has_message_ttl = true, .message_ttl = 0};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_consumer c = {.ops = &keep_ops};

    got_msg = NULL;
    wr_queue_consumer_add(q, &c);
    push_ttl(q, 1, -1, NULL, 500);
    ck_assert_uint_eq(wr_queue_dispatch(q, 499), 1);
    ck_assert_ptr_nonnull(got_msg);
    push_ttl(q, 2, -1, NULL, 500); /* the consumer is busy now */
    ck_assert_uint_eq(wr_queue_dispatch(q, 499), 0);
    ck_assert_uint_eq(wr_queue_expire(q, 500), 1);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    settle(q, &got, WR_SETTLE_ACK, 500);
    got_msg = NULL;
    wr_queue_consumer_remove(q, &c);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* Peek shows the first N in delivery order and changes nothing. */
START_TEST(peek_non_destructive)
{
    struct wr_queue_args a = {.max_priority = 3};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_qentry out[8];
    struct wr_delivery d;

    push_ttl(q, 1, 0, NULL, 0);
    push_ttl(q, 2, 3, NULL, 0);
    push_ttl(q, 3, 0, "10", 0);
    push_ttl(q, 4, 1, NULL, 0);
    ck_assert(get_unacked(q, 0, &d)); /* #2, back as redelivered */
    settle(q, &d, WR_SETTLE_REQUEUE, 0);
    ck_assert_uint_eq(wr_queue_peek(q, 0, out, 8), 4);
    ck_assert_uint_eq(tid(out[0].msg), 2);
    ck_assert_uint_eq(out[0].id, 2); /* ids in enqueue order */
    ck_assert_uint_eq(out[1].id, 4);
    ck_assert(out[0].redelivered);
    ck_assert_uint_eq(tid(out[1].msg), 4);
    ck_assert_uint_eq(tid(out[2].msg), 1);
    ck_assert_uint_eq(tid(out[3].msg), 3);
    /* deadlines come from the expiry index, not the slots */
    ck_assert_int_eq(out[3].expires, 10);
    ck_assert_int_eq(out[2].expires, WR_NEVER);
    ck_assert_uint_eq(wr_queue_peek(q, 0, out, 2), 2);
    ck_assert_uint_eq(tid(out[1].msg), 4);
    /* expired (not yet reaped) ones are not shown */
    ck_assert_uint_eq(wr_queue_peek(q, 10, out, 8), 3);
    ck_assert_uint_eq(tid(out[2].msg), 1);
    /* nothing moved */
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 4);
    ck_assert_uint_eq(wr_queue_counts(q)->delivered, 1); /* the get only */
    pop_at(q, 0, 2);
    pop_at(q, 0, 4);
    pop_at(q, 0, 1);
    pop_at(q, 0, 3);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* A ring keeps expiry node ids beside its slots only while one of its
 * entries has a deadline; requeued entries keep theirs. */
START_TEST(expire_node_ids_only_when_needed)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_fifo *f = q->kind->rings->ring(q, 0);
    struct wr_delivery d;

    for (uint64_t i = 1; i <= 100; i++)
        push_ttl(q, i, -1, NULL, 0);
    ck_assert_ptr_null(f->xn); /* no deadlines, no array */
    push_ttl(q, 101, -1, "50", 0);
    ck_assert_ptr_nonnull(f->xn);
    ck_assert(get_unacked(q, 0, &d)); /* #1, no deadline */
    settle(q, &d, WR_SETTLE_REQUEUE, 0);
    for (uint64_t i = 1; i <= 100; i++)
        pop_at(q, 0, i);
    ck_assert(get_unacked(q, 10, &d)); /* #101 keeps its deadline */
    ck_assert_ptr_null(f->xn);         /* emptied: forgotten */
    settle(q, &d, WR_SETTLE_REQUEUE, 20);
    ck_assert_ptr_nonnull(f->xn);
    ck_assert_uint_eq(wr_queue_expire(q, 49), 0);
    ck_assert_uint_eq(wr_queue_expire(q, 50), 1);
    ck_assert_int_eq(ndead, 1);
    ck_assert_uint_eq(tid(dead_msgs[0]), 101);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_expiry_tcase(void)
{
    TCase *tc = tcase_create("expiry");

    tcase_add_test(tc, xindex_order);
    tcase_add_test(tc, expire_in_the_middle);
    tcase_add_test(tc, expire_queue_and_message_ttl);
    tcase_add_test(tc, expire_deadline_hook);
    tcase_add_test(tc, expire_priority_levels);
    tcase_add_test(tc, expire_compaction);
    tcase_add_test(tc, expire_requeue_keeps_deadline);
    tcase_add_test(tc, expire_ttl_zero);
    tcase_add_test(tc, peek_non_destructive);
    tcase_add_test(tc, expire_node_ids_only_when_needed);
    return tc;
}
