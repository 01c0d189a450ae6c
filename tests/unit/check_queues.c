/* SPDX-License-Identifier: MIT */
/* Unit tests for queues/: messages, FIFO and priority storage, requeue,
 * purge, round-robin dispatch with credit, queue arguments, lifetimes. */
#include "../../queues/queues_internal.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Every test must give back all it allocated (checked in the teardown). */
static size_t alloc_base;

static void
setup(void)
{
    alloc_base = wr_alloc_used();
}

static void
teardown(void)
{
    wr_alloc_fail_after(0);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

/* A message with an optional priority property, tagged with id in seq. */
static struct wr_msg *
mk_msg(uint64_t id, int priority, const char *body)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg *m;
    size_t blen = strlen(body);

    memset(&p, 0, sizeof(p));
    if (priority >= 0) {
        p.flags |= WR_PROP_PRIORITY;
        p.priority = (uint8_t)priority;
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    m = wr_msg_new(WR_BYTES_LIT("ex"), WR_BYTES_LIT("rk"), props,
                   (uint32_t)plen, blen);
    ck_assert_ptr_nonnull(m);
    memcpy(m->body, body, blen);
    m->body_received = blen;
    m->seq = id;
    return m;
}

static struct wr_queue *
mk_queue(uint8_t max_priority)
{
    struct wr_queue_args a = {.max_priority = max_priority};
    struct wr_queue *q =
        wr_queue_new(WR_BYTES_LIT("q"), &a, (struct wr_table){NULL, 0});

    ck_assert_ptr_nonnull(q);
    return q;
}

/* basic.get-style pop at time 0: the message and its redelivered flag. */
static bool
pop_msg(struct wr_queue *q, struct wr_msg **m, bool *redelivered)
{
    struct wr_qentry e;

    if (!wr_queue_pop(q, 0, &e))
        return false;
    *m = e.msg;
    *redelivered = e.redelivered;
    return true;
}

/* Pushes a new message and drops the test's own reference. */
static void
push_new(struct wr_queue *q, uint64_t id, int priority)
{
    struct wr_msg *m = mk_msg(id, priority, "body");

    ck_assert_int_eq(wr_queue_push(q, m, 0), WR_OK);
    wr_msg_unref(&m);
}

/* Pops one message, checks its id and redelivered flag, releases it. */
static void
pop_expect(struct wr_queue *q, uint64_t id, bool redelivered)
{
    struct wr_msg *m = NULL;
    bool r = !redelivered;

    ck_assert_msg(pop_msg(q, &m, &r), "queue empty, expected %llu",
                  (unsigned long long)id);
    ck_assert_uint_eq(m->seq, id);
    ck_assert(r == redelivered);
    wr_msg_unref(&m);
}

static struct wr_table
int_arg(struct wr_tb *b, uint8_t *buf, size_t cap, const char *key,
        uint8_t type, int64_t v)
{
    wr_tb_init(b, buf, cap);
    if (type == WR_FT_U64 || type == WR_FT_TIMESTAMP)
        wr_tb_add_u64(b, key, type, (uint64_t)v);
    else
        wr_tb_add_int(b, key, type, v);
    wr_tb_end(b);
    ck_assert_int_eq(b->err, WR_OK);
    return wr_tb_table(b);
}

/* ---- messages ---------------------------------------------------------- */

START_TEST(msg_layout)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg *m, *m2;
    struct wr_props got;

    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_PRIORITY | WR_PROP_DELIVERY_MODE | WR_PROP_CONTENT_TYPE;
    p.priority = 7;
    p.delivery_mode = 2;
    p.content_type = WR_BYTES_LIT("text/plain");
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    m = wr_msg_new(WR_BYTES_LIT("amq.topic"), WR_BYTES_LIT("a.b.c"), props,
                   (uint32_t)plen, 5);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->refcount, 1);
    ck_assert_uint_eq(m->priority, 7);
    ck_assert_uint_eq(m->persistent, 1);
    ck_assert_uint_eq(m->body_size, 5);
    ck_assert_uint_eq(m->body_received, 0);
    ck_assert(wr_bytes_eq_str(wr_msg_exchange(m), "amq.topic"));
    ck_assert(wr_bytes_eq_str(wr_msg_rkey(m), "a.b.c"));
    /* One block: exchange, routing key, props, body back to back. */
    ck_assert_ptr_eq(m->props, m->data + 9 + 5);
    ck_assert_ptr_eq(m->body, m->props + plen);
    ck_assert_mem_eq(m->props, props, plen);
    ck_assert_uint_eq(wr_msg_mem(m), sizeof(*m) + 9 + 5 + plen + 5);
    memcpy(m->body, "hello", 5);
    ck_assert_int_eq(wr_msg_props(m, &got), WR_OK);
    ck_assert_uint_eq(got.priority, 7);
    ck_assert(wr_bytes_eq_str(got.content_type, "text/plain"));

    m2 = wr_msg_ref(m);
    ck_assert_ptr_eq(m2, m);
    ck_assert_uint_eq(m->refcount, 2);
    wr_msg_unref(&m2);
    ck_assert_ptr_null(m2);
    ck_assert_uint_eq(m->refcount, 1);
    wr_msg_unref(&m);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(msg_one_allocation)
{
    struct wr_msg *m;
    void *probe;

    /* The first allocation failing makes wr_msg_new fail... */
    wr_alloc_fail_after(1);
    ck_assert_ptr_null(
        wr_msg_new(WR_BYTES_LIT("x"), WR_BYTES_LIT("k"), NULL, 0, 1000));
    /* ...and with the second armed, it succeeds without reaching it. */
    wr_alloc_fail_after(2);
    m = wr_msg_new(WR_BYTES_LIT("x"), WR_BYTES_LIT("k"), NULL, 0, 1000);
    ck_assert_ptr_nonnull(m);
    probe = wr_malloc(1);
    ck_assert_ptr_null(probe); /* the armed second allocation */
    wr_alloc_fail_after(0);
    wr_msg_unref(&m);
}
END_TEST

START_TEST(msg_defaults_and_errors)
{
    uint8_t bad[] = {0x08, 0x00}; /* priority flag, field missing */
    uint8_t long_name[256];
    struct wr_msg *m;
    struct wr_props p;

    m = wr_msg_new(WR_BYTES_LIT(""), WR_BYTES_LIT(""), NULL, 0, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->priority, 0);
    ck_assert_uint_eq(m->persistent, 0);
    ck_assert_uint_eq(wr_msg_exchange(m).len, 0);
    ck_assert_int_eq(wr_msg_props(m, &p), WR_OK);
    ck_assert_uint_eq(p.flags, 0);
    wr_msg_unref(&m);

    ck_assert_ptr_null(
        wr_msg_new(WR_BYTES_LIT("x"), WR_BYTES_LIT("k"), bad, sizeof(bad), 0));
    memset(long_name, 'a', sizeof(long_name));
    ck_assert_ptr_null(wr_msg_new((struct wr_bytes){long_name, 256},
                                  WR_BYTES_LIT("k"), NULL, 0, 0));
    ck_assert_ptr_nonnull(m = wr_msg_new((struct wr_bytes){long_name, 255},
                                         WR_BYTES_LIT("k"), NULL, 0, 0));
    wr_msg_unref(&m);
}
END_TEST

START_TEST(msg_unref_zero_aborts)
{
    struct wr_msg *m = mk_msg(1, -1, "x");

    m->refcount = 0;  /* as if one unref too many had happened */
    wr_msg_unref(&m); /* SIGABRT */
}
END_TEST

/* ---- FIFO --------------------------------------------------------------- */

START_TEST(fifo_order)
{
    struct wr_queue *q = mk_queue(0);
    struct wr_msg *m;
    bool r;

    ck_assert_ptr_eq(q->kind, &wr_queue_fifo);
    ck_assert(!pop_msg(q, &m, &r));
    for (uint64_t i = 1; i <= 100; i++)
        push_new(q, i, (int)(i % 7)); /* priorities ignored by a FIFO */
    ck_assert_uint_eq(q->ready, 100);
    ck_assert_uint_eq(q->ready_bytes, 400);
    ck_assert_uint_eq(q->n_published, 0); /* the broker counts those */
    for (uint64_t i = 1; i <= 100; i++)
        pop_expect(q, i, false);
    ck_assert_uint_eq(q->ready, 0);
    ck_assert_uint_eq(q->ready_bytes, 0);
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
    ck_assert_uint_eq(q->ready, 10);
    wr_queue_unref(&q); /* frees the 10 left */
}
END_TEST

/* ---- priority ---------------------------------------------------------- */

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
    ck_assert_uint_eq(q->ready, 8);
    /* Higher first; FIFO within a level (capped ones join level 10). */
    pop_expect(q, 4, false);
    pop_expect(q, 5, false);
    pop_expect(q, 7, false);
    pop_expect(q, 2, false);
    pop_expect(q, 6, false);
    pop_expect(q, 8, false);
    pop_expect(q, 1, false);
    pop_expect(q, 3, false);
    ck_assert_uint_eq(q->ready, 0);
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
    bool r;

    push_new(q, 1, 2);
    push_new(q, 2, 2);
    push_new(q, 3, 4);
    ck_assert(pop_msg(q, &m, &r)); /* 3 */
    ck_assert_uint_eq(m->seq, 3);
    wr_msg_unref(&m);
    ck_assert(pop_msg(q, &m, &r)); /* 1, delivered */
    ck_assert_uint_eq(m->seq, 1);
    push_new(q, 4, 4);
    wr_queue_requeue(q, m, WR_NEVER, 0); /* front of level 2, behind level 4 */
    pop_expect(q, 4, false);
    pop_expect(q, 1, true);
    pop_expect(q, 2, false);
    wr_queue_unref(&q);
}
END_TEST

/* ---- requeue and purge -------------------------------------------------- */

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

/* ---- dispatch ----------------------------------------------------------- */

struct fake {
    struct wr_consumer c;
    int id;
    int credit; /* prefetch left */
    int got;
    struct wr_msg *held[300]; /* unacked deliveries, references held */
    int nheld;
    void (*hook)(struct fake *f, struct wr_queue *q);
};

static int log_who[600];
static uint64_t log_seq[600];
static int nlog;

static bool
fake_can_take(struct wr_consumer *c)
{
    return WR_CONTAINER_OF(c, struct fake, c)->credit > 0;
}

static void
fake_deliver(struct wr_consumer *c, struct wr_queue *q,
             const struct wr_qentry *e)
{
    struct fake *f = WR_CONTAINER_OF(c, struct fake, c);
    struct wr_msg *m = e->msg;

    ck_assert_int_gt(f->credit, 0);
    ck_assert_int_lt(nlog, 600);
    f->credit--;
    f->got++;
    log_who[nlog] = f->id;
    log_seq[nlog++] = m->seq;
    f->held[f->nheld++] = m;
    q->unacked++;
    if (f->hook)
        f->hook(f, q);
}

static const struct wr_consumer_ops fake_ops = {fake_can_take, fake_deliver};

static void
fake_init(struct fake *f, int id, int credit)
{
    memset(f, 0, sizeof(*f));
    f->c.ops = &fake_ops;
    f->id = id;
    f->credit = credit;
}

/* Acks everything f holds. */
static void
fake_ack_all(struct fake *f, struct wr_queue *q)
{
    for (int i = 0; i < f->nheld; i++) {
        wr_msg_unref(&f->held[i]);
        if (q)
            q->unacked--;
    }
    f->nheld = 0;
}

static void
reset_log(void)
{
    nlog = 0;
}

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
    ck_assert_uint_eq(q->ready, 2);
    ck_assert_uint_eq(q->ready_bytes, 8);
    ck_assert_uint_eq(q->n_delivered, 10);
    ck_assert_uint_eq(q->unacked, 10);
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
    ck_assert_uint_eq(q->ready, 0);

    for (int i = 0; i < 3; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
        ck_assert_ptr_null(f[i].c.queue);
    }
    ck_assert_uint_eq(q->consumer_count, 0);
    ck_assert(wr_list_empty(&q->groups));
    ck_assert_uint_eq(q->unacked, 0);
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
    ck_assert_uint_eq(q->ready, 0);
    ck_assert_uint_eq(q->n_delivered, 6);
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
    fake_ack_all(&f, NULL);
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

/* ---- queue arguments --------------------------------------------------- */

START_TEST(args_max_priority_types)
{
    const uint8_t types[] = {WR_FT_I8,  WR_FT_U8,  WR_FT_I16, WR_FT_U16,
                             WR_FT_I32, WR_FT_U32, WR_FT_I64, WR_FT_U64};
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_queue_args a;
    struct wr_args_error err = {.arg = "unset"};

    for (size_t i = 0; i < sizeof(types); i++) {
        int64_t v = types[i] == WR_FT_I8 ? 100 : 200;
        struct wr_table t =
            int_arg(&b, buf, sizeof(buf), "x-max-priority", types[i], v);
        ck_assert_int_eq(wr_queue_args_parse(t, &a, &err), WR_OK);
        ck_assert_uint_eq(a.max_priority, (uint64_t)v);
        ck_assert_ptr_null(err.arg);
    }
    /* Bounds: 0 and 255 accepted, as RabbitMQ does. */
    ck_assert_int_eq(
        wr_queue_args_parse(
            int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_I32, 255), &a,
            &err),
        WR_OK);
    ck_assert_uint_eq(a.max_priority, 255);
    ck_assert_int_eq(wr_queue_args_parse(int_arg(&b, buf, sizeof(buf),
                                                 "x-max-priority", WR_FT_U8, 0),
                                         &a, &err),
                     WR_OK);
    ck_assert_uint_eq(a.max_priority, 0);
    /* Absent, and unknown arguments ignored. */
    ck_assert_int_eq(wr_queue_args_parse((struct wr_table){NULL, 0}, &a, &err),
                     WR_OK);
    ck_assert_uint_eq(a.max_priority, 0);
    ck_assert_int_eq(
        wr_queue_args_parse(
            int_arg(&b, buf, sizeof(buf), "x-custom-thing", WR_FT_I32, -5), &a,
            &err),
        WR_OK);
}
END_TEST

START_TEST(args_max_priority_errors)
{
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_queue_args a;
    struct wr_args_error err;
    struct wr_table bad[6];

    bad[0] = int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_I32, 256);
    ck_assert_int_eq(wr_queue_args_parse(bad[0], &a, &err), WR_ERR_INVALID);
    ck_assert_str_eq(err.arg, "x-max-priority");
    ck_assert_str_eq(err.why,
                     "x-max-priority must be an integer between 0 and 255");
    err.arg = NULL;
    bad[1] = int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_I8, -1);
    ck_assert_int_eq(wr_queue_args_parse(bad[1], &a, &err), WR_ERR_INVALID);
    ck_assert_ptr_nonnull(err.arg);
    bad[2] = int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_U64,
                     (int64_t)UINT64_C(0x8000000000000005));
    ck_assert_int_eq(wr_queue_args_parse(bad[2], &a, &err), WR_ERR_INVALID);
    bad[3] =
        int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_TIMESTAMP, 10);
    ck_assert_int_eq(wr_queue_args_parse(bad[3], &a, &err), WR_ERR_INVALID);

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-max-priority", WR_BYTES_LIT("10"));
    wr_tb_end(&b);
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, &err),
                     WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_double(&b, "x-max-priority", 10.0);
    wr_tb_end(&b);
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, &err),
                     WR_ERR_INVALID);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_bool(&b, "x-max-priority", true);
    wr_tb_end(&b);
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, &err),
                     WR_ERR_INVALID);
    /* err may be NULL */
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, NULL),
                     WR_ERR_INVALID);
}
END_TEST

START_TEST(queue_new_copies)
{
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_table t =
        int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_U8, 9);
    struct wr_queue_args a;
    struct wr_queue *q;

    ck_assert_int_eq(wr_queue_args_parse(t, &a, NULL), WR_OK);
    q = wr_queue_new(WR_BYTES_LIT("orders"), &a, t);
    ck_assert_ptr_nonnull(q);
    memset(buf, 0, sizeof(buf)); /* the queue kept its own copy */
    ck_assert_str_eq(q->name, "orders");
    ck_assert_uint_eq(q->name_len, 6);
    ck_assert_uint_eq(q->args.max_priority, 9);
    ck_assert_ptr_eq(q->kind, &wr_queue_prio);
    ck_assert_uint_eq(q->raw_args_len, t.len);
    ck_assert_uint_eq(q->refcount, 1);
    wr_queue_unref(&q);
    /* Out of memory at each step gives NULL and leaks nothing. */
    for (uint64_t n = 1; n <= 4; n++) {
        wr_alloc_fail_after(n);
        q = wr_queue_new(WR_BYTES_LIT("orders"), &a,
                         (struct wr_table){(const uint8_t *)"x", 1});
        wr_alloc_fail_after(0);
        ck_assert_ptr_null(q);
    }
}
END_TEST

/* ---- lifetimes ------------------------------------------------------- */

START_TEST(lifetimes)
{
    struct wr_queue *q1 = mk_queue(0), *q2 = mk_queue(4), *extra;
    struct wr_msg *shared = mk_msg(1, 3, "shared body"), *out;
    bool r;

    ck_assert_int_eq(wr_queue_push(q1, shared, 0), WR_OK);
    ck_assert_int_eq(wr_queue_push(q2, shared, 0), WR_OK);
    ck_assert_uint_eq(shared->refcount, 3);
    wr_msg_unref(&shared);

    /* A queue outlives its registry reference while a delivery holds it. */
    extra = wr_queue_ref(q1);
    ck_assert_uint_eq(q1->refcount, 2);
    ck_assert(pop_msg(q1, &out, &r));
    wr_queue_unref(&q1);
    ck_assert_ptr_null(q1);
    ck_assert_uint_eq(extra->refcount, 1);
    wr_queue_requeue(extra, out, WR_NEVER, 0); /* still allowed: not deleted */
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

    q->refcount = 0;    /* as if one unref too many had happened */
    wr_queue_unref(&q); /* SIGABRT */
}
END_TEST

static Suite *
queues_suite(void)
{
    Suite *s = suite_create("queues");
    TCase *tc;
    const char *fork = getenv("CK_FORK");
    bool forking = fork == NULL || strcmp(fork, "no") != 0;

    tc = tcase_create("message");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, msg_layout);
    tcase_add_test(tc, msg_one_allocation);
    tcase_add_test(tc, msg_defaults_and_errors);
    if (forking) /* an abort needs its own process */
        tcase_add_test_raise_signal(tc, msg_unref_zero_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("fifo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fifo_order);
    tcase_add_test(tc, fifo_wraparound);
    suite_add_tcase(s, tc);

    tc = tcase_create("priority");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, prio_order);
    tcase_add_test(tc, prio_all_levels);
    tcase_add_test(tc, prio_requeue_front_of_level);
    suite_add_tcase(s, tc);

    tc = tcase_create("requeue_purge");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, requeue_restores_order);
    tcase_add_test(tc, requeue_on_deleted_queue_drops);
    tcase_add_test(tc, purge_drops_ready_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dispatch_round_robin_credit);
    tcase_add_test(tc, dispatch_even_spread);
    tcase_add_test(tc, dispatch_consumer_removed_inside_deliver);
    tcase_add_test(tc, dispatch_reentrant_push);
    tcase_add_test(tc, dispatch_queue_released_inside_deliver);
    tcase_add_test(tc, dispatch_deleted_queue);
    suite_add_tcase(s, tc);

    tc = tcase_create("args");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, args_max_priority_types);
    tcase_add_test(tc, args_max_priority_errors);
    tcase_add_test(tc, queue_new_copies);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifetimes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lifetimes);
    if (forking)
        tcase_add_test_raise_signal(tc, queue_unref_zero_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(queues_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
