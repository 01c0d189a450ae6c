/* SPDX-License-Identifier: MIT */
/* Test case "dispatch" of the queues suite: round-robin dispatch with
 * credit, and consumers or the queue going away, or pushes, inside
 * deliver. The fake consumer is in check_queues.c. */
#include "cases.h"

START_TEST(dispatch_round_robin_credit)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[3];
    int expect_who[] = {0, 1, 2, 0, 1, 2, 1, 2, 2, 2};

    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0); /* no consumers */
    fake_init(&f[0], 0, 2);
    fake_init(&f[1], 1, 3);
    fake_init(&f[2], 2, 5);
    for (int i = 0; i < 3; i++)
        wr_queue_consumer_add(q, &f[i].c);
    ck_assert_uint_eq(q->consumer_count, 3);
    ck_assert(q->had_consumer);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0); /* nothing ready */
    for (uint64_t i = 1; i <= 12; i++)
        push_new(q, i, -1);
    /* Total credit 10: exactly 10 go, each consumer gets its credit. */
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 10);
    ck_assert_int_eq(nlog, 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(log_who[i], expect_who[i]);
        ck_assert_uint_eq(log_seq[i], (uint64_t)i + 1); /* in order */
    }
    ck_assert_int_eq(f[0].got, 2);
    ck_assert_int_eq(f[1].got, 3);
    ck_assert_int_eq(f[2].got, 5);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_uint_eq(wr_queue_counts(q)->ready_bytes, 8);
    ck_assert_uint_eq(wr_queue_counts(q)->delivered, 10);
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 10);
    /* Nobody can take: a further dispatch is a no-op. */
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0);

    /* Credit back: the cursor continues after the last receiver (2). */
    reset_log();
    f[1].credit = 1;
    f[0].credit = 1;
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 2);
    ck_assert_int_eq(log_who[0], 0);
    ck_assert_int_eq(log_who[1], 1);
    ck_assert_uint_eq(log_seq[0], 11);
    ck_assert_uint_eq(log_seq[1], 12);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);

    for (int i = 0; i < 3; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
        ck_assert_ptr_null(f[i].c.queue);
    }
    ck_assert_uint_eq(q->consumer_count, 0);
    ck_assert(wr_list_empty(&q->groups));
    ck_assert_uint_eq(wr_queue_counts(q)->unacked, 0);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(dispatch_even_spread)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[3];

    for (int i = 0; i < 3; i++) {
        fake_init(&f[i], i, 1000);
        wr_queue_consumer_add(q, &f[i].c);
    }
    for (uint64_t i = 1; i <= 300; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 300);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(f[i].got, 100);
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    wr_queue_unref(&q);
}
END_TEST

static struct fake *victim;

/* Cancels itself after its first delivery. */
static void
hook_remove_self(struct fake *f, struct wr_queue *q)
{
    wr_queue_consumer_remove(q, &f->c);
}

/* Cancels another consumer (the one under the cursor). */
static void
hook_remove_victim(struct fake *f, struct wr_queue *q)
{
    (void)f;
    if (victim != NULL && victim->c.queue == q) {
        wr_queue_consumer_remove(q, &victim->c);
        victim = NULL;
    }
}

START_TEST(dispatch_consumer_removed_inside_deliver)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[3];

    fake_init(&f[0], 0, 100);
    fake_init(&f[1], 1, 100);
    fake_init(&f[2], 2, 100);
    f[0].hook = hook_remove_self;
    f[1].hook = hook_remove_victim;
    victim = &f[2];
    for (int i = 0; i < 3; i++)
        wr_queue_consumer_add(q, &f[i].c);
    for (uint64_t i = 1; i <= 6; i++)
        push_new(q, i, -1);
    reset_log();
    /* 0 takes #1 and leaves; 1 takes #2 and removes 2, which the cursor
     * pointed at: the cursor moves on to 1, which takes the rest. */
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 6);
    ck_assert_int_eq(f[0].got, 1);
    ck_assert_int_eq(f[2].got, 0);
    ck_assert_int_eq(f[1].got, 5);
    ck_assert_uint_eq(q->consumer_count, 1);
    ck_assert_ptr_eq(f[1].c.group->cursor, &f[1].c);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(log_seq[i], (uint64_t)i + 1);
    /* Removing the last consumer drops its priority group. */
    wr_queue_consumer_remove(q, &f[1].c);
    ck_assert(wr_list_empty(&q->groups));
    for (int i = 0; i < 3; i++)
        fake_ack_all(&f[i], q);
    wr_queue_unref(&q);
}
END_TEST

static int pushes_left;

/* Publishes into the queue from inside deliver, then dispatches again. */
static void
hook_push_and_dispatch(struct fake *f, struct wr_queue *q)
{
    (void)f;
    if (pushes_left > 0) {
        pushes_left--;
        push_new(q, 100 + (uint64_t)pushes_left, -1);
        wr_queue_dispatch(q, 0);
    }
}

START_TEST(dispatch_reentrant_push)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[2];

    fake_init(&f[0], 0, 4);
    fake_init(&f[1], 1, 4);
    f[0].hook = hook_push_and_dispatch;
    f[1].hook = hook_push_and_dispatch;
    wr_queue_consumer_add(q, &f[0].c);
    wr_queue_consumer_add(q, &f[1].c);
    push_new(q, 1, -1);
    pushes_left = 5;
    reset_log();
    wr_queue_dispatch(q, 0);
    ck_assert_int_eq(nlog, 6); /* the original plus five pushed inside */
    ck_assert_int_eq(f[0].got + f[1].got, 6);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->delivered, 6);
    for (int i = 0; i < 2; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    wr_queue_unref(&q);
}
END_TEST

static struct wr_queue *owner_ref;

/* Drops the last outside reference to the queue from inside deliver. */
static void
hook_drop_queue(struct fake *f, struct wr_queue *q)
{
    (void)q;
    if (owner_ref != NULL) {
        wr_queue_consumer_remove(owner_ref, &f->c);
        wr_queue_unref(&owner_ref);
    }
}

START_TEST(dispatch_queue_released_inside_deliver)
{
    struct fake f;

    owner_ref = mk_queue(0);
    fake_init(&f, 0, 10);
    f.hook = hook_drop_queue;
    wr_queue_consumer_add(owner_ref, &f.c);
    push_new(owner_ref, 1, -1);
    push_new(owner_ref, 2, -1);
    /* The queue survives until dispatch returns, then goes with its
     * remaining message (the teardown checks that all was freed). */
    ck_assert_uint_eq(wr_queue_dispatch(owner_ref, 0), 1);
    ck_assert_ptr_null(owner_ref);
    f.nheld = 0; /* the queue freed its unacked entry too */
}
END_TEST

START_TEST(dispatch_deleted_queue)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f;

    fake_init(&f, 0, 10);
    wr_queue_consumer_add(q, &f.c);
    push_new(q, 1, -1);
    q->deleted = true;
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0);
    wr_queue_consumer_remove(q, &f.c);
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_dispatch_tcase(void)
{
    TCase *tc = tcase_create("dispatch");

    tcase_add_test(tc, dispatch_round_robin_credit);
    tcase_add_test(tc, dispatch_even_spread);
    tcase_add_test(tc, dispatch_consumer_removed_inside_deliver);
    tcase_add_test(tc, dispatch_reentrant_push);
    tcase_add_test(tc, dispatch_queue_released_inside_deliver);
    tcase_add_test(tc, dispatch_deleted_queue);
    return tc;
}
