/* SPDX-License-Identifier: MIT */
/* Test case "limits" of the queues suite: length limits (drop-head,
 * reject-publish) and the delivery limit. */
#include "cases.h"

/* ---- length limits ----------------------------------------------------- */

START_TEST(overflow_drop_head)
{
    struct wr_queue_args a = {.has_max_length = true, .max_length = 2};
    struct wr_queue *q = mk_queue_args(&a);

    for (uint64_t i = 1; i <= 4; i++)
        push_ttl(q, i, -1, NULL, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_int_eq(ndead, 2);
    ck_assert_int_eq(dead_why[0], WR_DEAD_MAXLEN);
    ck_assert_uint_eq(tid(dead_msgs[0]), 1);
    ck_assert_uint_eq(tid(dead_msgs[1]), 2);
    ck_assert_uint_eq(wr_queue_counts(q)->dropped, 2);
    pop_at(q, 0, 3);
    reset_dead();
    wr_queue_unref(&q);

    /* RabbitMQ applies drop-head after a requeue too: the requeued message
     * is the head and goes. */
    a = (struct wr_queue_args){.has_max_length = true, .max_length = 1};
    q = mk_queue_args(&a);
    {
        struct wr_delivery e;
        push_ttl(q, 1, -1, NULL, 0);
        ck_assert(get_unacked(q, 0, &e));
        push_ttl(q, 2, -1, NULL, 0); /* #1 is unacked: #2 fits */
        ck_assert_int_eq(ndead, 0);
        settle(q, &e, WR_SETTLE_REQUEUE, 0);
        ck_assert_int_eq(ndead, 1);
        ck_assert_uint_eq(tid(dead_msgs[0]), 1);
        ck_assert_uint_eq(wr_queue_counts(q)->ready, 1);
        pop_at(q, 0, 2);
    }
    reset_dead();
    wr_queue_unref(&q);

    /* bytes: 4 bytes each, 10 allowed */
    a = (struct wr_queue_args){.has_max_bytes = true, .max_bytes = 10};
    q = mk_queue_args(&a);
    for (uint64_t i = 1; i <= 3; i++)
        push_ttl(q, i, -1, NULL, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 8);
    ck_assert_uint_eq(tid(dead_msgs[0]), 1);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

START_TEST(overflow_reject_publish)
{
    struct wr_queue_args a = {.has_max_length = true,
                              .max_length = 2,
                              .overflow = WR_OVERFLOW_REJECT};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_msg *m = mk_msg_ttl(3, -1, NULL);

    push_ttl(q, 1, -1, NULL, 0);
    push_ttl(q, 2, -1, NULL, 0);
    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_ERR_FULL);
    ck_assert_uint_eq(m->refcount, 1); /* not kept */
    ck_assert_int_eq(ndead, 0);        /* not dead-lettered */
    ck_assert_uint_eq(wr_queue_counts(q)->rejected, 1);
    pop_at(q, 0, 1); /* room again */
    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_OK);
    wr_msg_unref(&m);
    pop_at(q, 0, 2);
    pop_at(q, 0, 3);
    wr_queue_unref(&q);

    a.overflow = WR_OVERFLOW_REJECT_DLX;
    a.max_length = 0;
    q = mk_queue_args(&a);
    m = mk_msg_ttl(9, -1, NULL);
    ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_ERR_FULL);
    ck_assert_int_eq(ndead, 1); /* refused and dead-lettered */
    ck_assert_int_eq(dead_why[0], WR_DEAD_MAXLEN);
    ck_assert_ptr_eq(dead_msgs[0], m);
    wr_msg_unref(&m);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* ---- the delivery limit -------------------------------------------------- */

static int64_t
delivery_count_header(const struct wr_msg *m)
{
    struct wr_props p;
    struct wr_value v;
    int64_t n;

    ck_assert_int_eq(wr_msg_props(m, &p), WR_OK);
    if (!(p.flags & WR_PROP_HEADERS) ||
        wr_table_get(p.headers, "x-delivery-count", &v) != WR_OK)
        return -1;
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    return n;
}

START_TEST(delivery_limit_counts_returns)
{
    struct wr_queue_args a = {.has_delivery_limit = true, .delivery_limit = 2};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_msg *orig = mk_msg_ttl(7, -1, NULL), *m;
    struct wr_delivery e;

    ck_assert_int_eq(wr_queue_enqueue(q, orig, 0), WR_OK);
    ck_assert(get_unacked(q, 0, &e));
    ck_assert_int_eq(delivery_count_header(e.msg), -1); /* first delivery */
    for (int64_t n = 1; n <= 2; n++) {
        settle(q, &e, WR_SETTLE_REQUEUE, 0);
        ck_assert_int_eq(ndead, 0);
        ck_assert(get_unacked(q, 0, &e));
        ck_assert(e.redelivered);
        ck_assert_uint_eq(e.id, 1); /* the same entry, a new message */
        ck_assert_int_eq(delivery_count_header(e.msg), n);
        ck_assert_uint_eq(e.msg->delivery_count, (uint64_t)n);
        /* a new message around the same body, not a copy */
        ck_assert_ptr_eq(wr_msg_body(e.msg), wr_msg_body(orig));
        ck_assert_ptr_eq(e.msg->body_owner, orig);
    }
    /* the third return passes the limit: dead, not redelivered */
    settle(q, &e, WR_SETTLE_REQUEUE, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_int_eq(ndead, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_DELIVERY_LIMIT);
    m = dead_msgs[0];
    ck_assert_int_eq(delivery_count_header(m), 3);
    ck_assert(wr_bytes_eq_str(wr_msg_rkey(m), "rk"));
    ck_assert_uint_eq(tid(m), 7);
    /* other queues holding the original see nothing of this */
    ck_assert_int_eq(delivery_count_header(orig), -1);
    wr_msg_unref(&orig);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* Without a limit, requeue keeps the very same message. */
START_TEST(delivery_limit_absent)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_msg *orig = mk_msg_ttl(1, -1, NULL);
    struct wr_delivery e;

    ck_assert_int_eq(wr_queue_enqueue(q, orig, 0), WR_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert(get_unacked(q, 0, &e));
        ck_assert_ptr_eq(e.msg, orig);
        settle(q, &e, WR_SETTLE_REQUEUE, 0);
    }
    ck_assert_uint_eq(wr_queue_counts(q)->redelivered, 5);
    ck_assert_int_eq(delivery_count_header(orig), -1);
    wr_msg_unref(&orig);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_limits_tcase(void)
{
    TCase *tc = tcase_create("limits");

    tcase_add_test(tc, overflow_drop_head);
    tcase_add_test(tc, overflow_reject_publish);
    tcase_add_test(tc, delivery_limit_counts_returns);
    tcase_add_test(tc, delivery_limit_absent);
    return tc;
}
