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
    memcpy(wr_msg_body(m), body, blen);
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
    /* Every queued message pays for the header (MEMORY.md). */
    ck_assert_uint_le(sizeof(struct wr_msg), 48);
    m = wr_msg_new(WR_BYTES_LIT("amq.topic"), WR_BYTES_LIT("a.b.c"), props,
                   (uint32_t)plen, 5);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->refcount, 1);
    ck_assert_uint_eq(m->priority, 7);
    ck_assert_uint_eq(m->persistent, 1);
    ck_assert_uint_eq(m->body_size, 5);
    ck_assert(wr_bytes_eq_str(wr_msg_exchange(m), "amq.topic"));
    ck_assert(wr_bytes_eq_str(wr_msg_rkey(m), "a.b.c"));
    /* One block: exchange, routing key, props, body back to back. */
    ck_assert_ptr_eq(wr_msg_props_data(m), m->data + 9 + 5);
    ck_assert_ptr_eq(wr_msg_body(m), wr_msg_props_data(m) + plen);
    ck_assert_mem_eq(wr_msg_props_data(m), props, plen);
    ck_assert_uint_eq(wr_msg_mem(m), sizeof(*m) + 9 + 5 + plen + 5);
    memcpy(wr_msg_body(m), "hello", 5);
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

/* A publish hands its decoded header in: wr_msg_build reads priority,
 * delivery mode and expiration from it and does not decode the bytes
 * again (these bytes would not decode). */
START_TEST(msg_build_with_decoded_props)
{
    static const uint8_t undecodable[] = {0xff, 0xff};
    struct wr_props p;
    struct wr_msg_spec sp = {.exchange = WR_BYTES_LIT("x"),
                             .rkey = WR_BYTES_LIT("k"),
                             .props = undecodable,
                             .props_len = sizeof(undecodable),
                             .body_size = 1};
    struct wr_msg *m;

    ck_assert_ptr_null(wr_msg_build(&sp));
    memset(&p, 0, sizeof(p));
    p.flags = WR_PROP_PRIORITY | WR_PROP_DELIVERY_MODE | WR_PROP_EXPIRATION;
    p.priority = 3;
    p.delivery_mode = 2;
    p.expiration = WR_BYTES_LIT("1500");
    sp.decoded = &p;
    ck_assert_ptr_nonnull(m = wr_msg_build(&sp));
    ck_assert_uint_eq(m->priority, 3);
    ck_assert_uint_eq(m->persistent, 1);
    ck_assert_int_eq(m->ttl, 1500);
    ck_assert_mem_eq(wr_msg_props_data(m), undecodable, sizeof(undecodable));
    wr_msg_unref(&m);
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

/* Issue 7: a content header announcing a huge body must not make the
 * broker reserve it; with body_grows, room grows with the bytes. */
static struct wr_msg *
mk_growing(uint64_t size)
{
    struct wr_msg_spec sp = {.exchange = WR_BYTES_LIT("x"),
                             .rkey = WR_BYTES_LIT("k"),
                             .body_size = size,
                             .body_grows = true};
    struct wr_msg *m = wr_msg_build(&sp);

    ck_assert_ptr_nonnull(m);
    return m;
}

START_TEST(msg_body_grows_with_bytes)
{
    uint8_t chunk[4096];
    size_t base = wr_alloc_used();
    struct wr_msg *m = mk_growing(128u << 20);
    uint64_t got = 0;

    ck_assert_uint_lt(wr_alloc_used() - base, WR_MSG_BODY_PREALLOC + 1024);
    for (uint64_t i = 0; i < 100; i++) {
        memset(chunk, (int)i, sizeof(chunk));
        ck_assert_int_eq(wr_msg_body_append(&m, &got, chunk, sizeof(chunk)),
                         WR_OK);
    }
    ck_assert_uint_eq(got, 100 * sizeof(chunk));
    /* doubling: at most twice what arrived */
    ck_assert_uint_lt(wr_alloc_used() - base, 2 * 100 * sizeof(chunk) + 1024);
    for (uint64_t i = 0; i < 100; i++)
        ck_assert_uint_eq(wr_msg_body(m)[i * sizeof(chunk) + 7], (uint8_t)i);
    ck_assert(wr_bytes_eq_str(wr_msg_rkey(m), "k"));
    ck_assert_ptr_eq(wr_msg_body(m), wr_msg_props_data(m) + m->props_len);
    wr_msg_unref(&m);
}
END_TEST

START_TEST(msg_body_append_limits)
{
    static uint8_t big[100000];
    struct wr_msg *m = mk_growing(200000), *small, *before;
    uint64_t got = 0;

    /* more than announced */
    ck_assert_int_eq(wr_msg_body_append(&m, &got, NULL, 200001),
                     WR_ERR_INVALID);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(wr_msg_body_append(&m, &got, (const uint8_t *)"ab", 2),
                     WR_OK);
    /* growing fails: the message is unchanged */
    wr_alloc_fail_after(1);
    ck_assert_int_eq(wr_msg_body_append(&m, &got, big, sizeof(big)),
                     WR_ERR_NOMEM);
    wr_alloc_fail_after(0);
    ck_assert_uint_eq(got, 2);
    ck_assert_mem_eq(wr_msg_body(m), "ab", 2);
    wr_msg_unref(&m);
    /* a body that fits the first room, or a message built whole, never
     * moves */
    small = mk_growing(10);
    before = small;
    got = 0;
    ck_assert_int_eq(
        wr_msg_body_append(&small, &got, (const uint8_t *)"0123456789", 10),
        WR_OK);
    ck_assert_ptr_eq(small, before);
    ck_assert_int_eq(wr_msg_body_append(&small, &got, (const uint8_t *)"x", 1),
                     WR_ERR_INVALID);
    wr_msg_unref(&small);
    small =
        wr_msg_new(WR_BYTES_LIT(""), WR_BYTES_LIT(""), NULL, 0, sizeof(big));
    before = small;
    got = 0;
    ck_assert_int_eq(wr_msg_body_append(&small, &got, big, sizeof(big)), WR_OK);
    ck_assert_ptr_eq(small, before);
    wr_msg_unref(&small);
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

/* ---- issue 9: TTL, limits, dead messages, priorities, peek ------------- */

/* What the owner heard: dead messages (references held) and deadlines. */
static struct wr_msg *dead_msgs[2000];
static int dead_why[2000];
static int ndead;
static int64_t last_deadline;
static int ndeadlines;

static void
rec_dead(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why)
{
    (void)q;
    ck_assert_int_lt(ndead, 2000);
    dead_why[ndead] = (int)why;
    dead_msgs[ndead++] = m;
}

static void
rec_deadline(struct wr_queue *q, int64_t at)
{
    (void)q;
    last_deadline = at;
    ndeadlines++;
}

static const struct wr_queue_hooks rec_hooks = {rec_dead, rec_deadline};

static void
reset_dead(void)
{
    for (int i = 0; i < ndead; i++)
        wr_msg_unref(&dead_msgs[i]);
    ndead = 0;
    ndeadlines = 0;
    last_deadline = 0;
}

/* A queue with the given arguments that reports to rec_hooks. */
static struct wr_queue *
mk_queue_args(const struct wr_queue_args *a)
{
    struct wr_queue *q =
        wr_queue_new(WR_BYTES_LIT("q"), a, (struct wr_table){NULL, 0});

    ck_assert_ptr_nonnull(q);
    q->hooks = &rec_hooks;
    reset_dead();
    return q;
}

/* A message with an expiration property (ms, as text) and a body. */
static struct wr_msg *
mk_msg_ttl(uint64_t id, int priority, const char *expiration)
{
    struct wr_props p;
    uint8_t props[64];
    size_t plen;
    struct wr_msg *m;

    memset(&p, 0, sizeof(p));
    if (priority >= 0) {
        p.flags |= WR_PROP_PRIORITY;
        p.priority = (uint8_t)priority;
    }
    if (expiration) {
        p.flags |= WR_PROP_EXPIRATION;
        p.expiration = wr_bytes_str(expiration);
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &plen), WR_OK);
    m = wr_msg_new(WR_BYTES_LIT("ex"), WR_BYTES_LIT("rk"), props,
                   (uint32_t)plen, 4);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), "body", 4);
    m->seq = id;
    return m;
}

static void
push_ttl(struct wr_queue *q, uint64_t id, int priority, const char *exp,
         int64_t now)
{
    struct wr_msg *m = mk_msg_ttl(id, priority, exp);

    ck_assert_int_eq(wr_queue_push(q, m, now), WR_OK);
    wr_msg_unref(&m);
}

/* Pops at now and checks the id. */
static void
pop_at(struct wr_queue *q, int64_t now, uint64_t id)
{
    struct wr_qentry e;

    ck_assert_msg(wr_queue_pop(q, now, &e), "empty, expected %llu",
                  (unsigned long long)id);
    ck_assert_uint_eq(e.msg->seq, id);
    wr_msg_unref(&e.msg);
}

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
    ck_assert_uint_eq(q->ready, 4);
    ck_assert_uint_eq(wr_queue_expire(q, 1060), 1);
    ck_assert_int_eq(ndead, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_EXPIRED);
    ck_assert_uint_eq(dead_msgs[0]->seq, 4);
    ck_assert_uint_eq(wr_queue_expire(q, 1200), 1);
    ck_assert_uint_eq(dead_msgs[1]->seq, 2);
    ck_assert_uint_eq(q->ready, 2);
    ck_assert_uint_eq(q->ready_bytes, 8);
    ck_assert_uint_eq(q->n_expired, 2);
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
    ck_assert_uint_eq(sizeof(struct wr_qslot), sizeof(void *) + 8);
    struct wr_queue_args a = {.has_message_ttl = true, .message_ttl = 200};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_qentry e;

    push_ttl(q, 1, -1, NULL, 0);   /* 200 */
    push_ttl(q, 2, -1, "500", 0);  /* still 200 */
    push_ttl(q, 3, -1, "20", 100); /* 120 */
    ck_assert_int_eq(last_deadline, 120);
    /* The entry a consumer gets carries its deadline. */
    ck_assert(wr_queue_pop(q, 110, &e));
    ck_assert_uint_eq(e.msg->seq, 1);
    ck_assert_int_eq(e.expires, 200);
    wr_msg_unref(&e.msg);
    ck_assert_uint_eq(wr_queue_expire(q, 150), 1); /* #3 */
    ck_assert_uint_eq(wr_queue_expire(q, 200), 1); /* #2 */
    ck_assert_uint_eq(q->ready, 0);
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
    ck_assert_uint_eq(q->ready, 2);
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
        f = q->kind->ring(q, 0);
        /* dead slots never outnumber live ones (plus a little slack) */
        ck_assert_uint_le(f->dead, 32 + wr_fifo_live(f));
        ck_assert_uint_eq(wr_fifo_live(f), q->ready);
        reset_dead();
    }
    ck_assert_uint_eq(q->ready, 601);
    pop_at(q, 1000, 1);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 600; i += 3)
            pop_at(q, 1000, 2 + (uint64_t)round * 600 + (uint64_t)i);
    ck_assert_uint_eq(q->ready, 0);
    wr_queue_unref(&q);
}
END_TEST

/* Requeue keeps the deadline (RabbitMQ): a passed one kills the message,
 * a future one still expires it on time at its place. */
START_TEST(expire_requeue_keeps_deadline)
{
    struct wr_queue_args a = {.has_message_ttl = true, .message_ttl = 100};
    struct wr_queue *q = mk_queue_args(&a);
    struct wr_qentry e1, e2;

    push_ttl(q, 1, -1, NULL, 0);
    push_ttl(q, 2, -1, NULL, 50);
    ck_assert(wr_queue_pop(q, 10, &e1));
    ck_assert(wr_queue_pop(q, 60, &e2));
    wr_queue_requeue(q, e2.msg, e2.expires, 120); /* 150: still alive */
    wr_queue_requeue(q, e1.msg, e1.expires, 120); /* 100: dies now */
    ck_assert_int_eq(ndead, 1);
    ck_assert_uint_eq(dead_msgs[0]->seq, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_EXPIRED);
    ck_assert_uint_eq(q->ready, 1);
    ck_assert_uint_eq(wr_queue_expire(q, 149), 0);
    ck_assert_uint_eq(wr_queue_expire(q, 150), 1);
    ck_assert_uint_eq(dead_msgs[1]->seq, 2);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* TTL 0: delivered to a consumer that can take it at once (the publish
 * path dispatches with 1 ms of grace), expired otherwise. */
static struct wr_msg *got_msg;

static bool
yes_take(struct wr_consumer *c)
{
    (void)c;
    return got_msg == NULL;
}

static void
keep_deliver(struct wr_consumer *c, struct wr_queue *q,
             const struct wr_qentry *e)
{
    (void)c;
    (void)q;
    got_msg = e->msg;
}

static const struct wr_consumer_ops keep_ops = {yes_take, keep_deliver};

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
    ck_assert_uint_eq(q->ready, 0);
    wr_msg_unref(&got_msg);
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
    struct wr_msg *m;
    bool r;

    push_ttl(q, 1, 0, NULL, 0);
    push_ttl(q, 2, 3, NULL, 0);
    push_ttl(q, 3, 0, "10", 0);
    push_ttl(q, 4, 1, NULL, 0);
    ck_assert(pop_msg(q, &m, &r)); /* #2, back as redelivered */
    wr_queue_requeue(q, m, WR_NEVER, 0);
    ck_assert_uint_eq(wr_queue_peek(q, 0, out, 8), 4);
    ck_assert_uint_eq(out[0].msg->seq, 2);
    ck_assert(out[0].redelivered);
    ck_assert_uint_eq(out[1].msg->seq, 4);
    ck_assert_uint_eq(out[2].msg->seq, 1);
    ck_assert_uint_eq(out[3].msg->seq, 3);
    /* deadlines come from the expiry index, not the slots */
    ck_assert_int_eq(out[3].expires, 10);
    ck_assert_int_eq(out[2].expires, WR_NEVER);
    ck_assert_uint_eq(wr_queue_peek(q, 0, out, 2), 2);
    ck_assert_uint_eq(out[1].msg->seq, 4);
    /* expired (not yet reaped) ones are not shown */
    ck_assert_uint_eq(wr_queue_peek(q, 10, out, 8), 3);
    ck_assert_uint_eq(out[2].msg->seq, 1);
    /* nothing moved */
    ck_assert_uint_eq(q->ready, 4);
    ck_assert_uint_eq(q->n_delivered, 0);
    pop_at(q, 0, 2);
    pop_at(q, 0, 4);
    pop_at(q, 0, 1);
    pop_at(q, 0, 3);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* ---- length limits ----------------------------------------------------- */

START_TEST(overflow_drop_head)
{
    struct wr_queue_args a = {.has_max_length = true, .max_length = 2};
    struct wr_queue *q = mk_queue_args(&a);

    for (uint64_t i = 1; i <= 4; i++)
        push_ttl(q, i, -1, NULL, 0);
    ck_assert_uint_eq(q->ready, 2);
    ck_assert_int_eq(ndead, 2);
    ck_assert_int_eq(dead_why[0], WR_DEAD_MAXLEN);
    ck_assert_uint_eq(dead_msgs[0]->seq, 1);
    ck_assert_uint_eq(dead_msgs[1]->seq, 2);
    ck_assert_uint_eq(q->n_dropped, 2);
    pop_at(q, 0, 3);
    reset_dead();
    wr_queue_unref(&q);

    /* RabbitMQ applies drop-head after a requeue too: the requeued message
     * is the head and goes. */
    a = (struct wr_queue_args){.has_max_length = true, .max_length = 1};
    q = mk_queue_args(&a);
    {
        struct wr_qentry e;
        push_ttl(q, 1, -1, NULL, 0);
        ck_assert(wr_queue_pop(q, 0, &e));
        push_ttl(q, 2, -1, NULL, 0); /* #1 is unacked: #2 fits */
        ck_assert_int_eq(ndead, 0);
        wr_queue_requeue(q, e.msg, e.expires, 0);
        ck_assert_int_eq(ndead, 1);
        ck_assert_uint_eq(dead_msgs[0]->seq, 1);
        ck_assert_uint_eq(q->ready, 1);
        pop_at(q, 0, 2);
    }
    reset_dead();
    wr_queue_unref(&q);

    /* bytes: 4 bytes each, 10 allowed */
    a = (struct wr_queue_args){.has_max_bytes = true, .max_bytes = 10};
    q = mk_queue_args(&a);
    for (uint64_t i = 1; i <= 3; i++)
        push_ttl(q, i, -1, NULL, 0);
    ck_assert_uint_eq(q->ready, 2);
    ck_assert_uint_eq(q->ready_bytes, 8);
    ck_assert_uint_eq(dead_msgs[0]->seq, 1);
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
    ck_assert_int_eq(wr_queue_push(q, m, 0), WR_ERR_FULL);
    ck_assert_uint_eq(m->refcount, 1); /* not kept */
    ck_assert_int_eq(ndead, 0);        /* not dead-lettered */
    ck_assert_uint_eq(q->n_rejected, 1);
    pop_at(q, 0, 1); /* room again */
    ck_assert_int_eq(wr_queue_push(q, m, 0), WR_OK);
    wr_msg_unref(&m);
    pop_at(q, 0, 2);
    pop_at(q, 0, 3);
    wr_queue_unref(&q);

    a.overflow = WR_OVERFLOW_REJECT_DLX;
    a.max_length = 0;
    q = mk_queue_args(&a);
    m = mk_msg_ttl(9, -1, NULL);
    ck_assert_int_eq(wr_queue_push(q, m, 0), WR_ERR_FULL);
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
    struct wr_qentry e;

    ck_assert_int_eq(wr_queue_push(q, orig, 0), WR_OK);
    ck_assert(wr_queue_pop(q, 0, &e));
    ck_assert_int_eq(delivery_count_header(e.msg), -1); /* first delivery */
    for (int64_t n = 1; n <= 2; n++) {
        wr_queue_requeue(q, e.msg, e.expires, 0);
        ck_assert_int_eq(ndead, 0);
        ck_assert(wr_queue_pop(q, 0, &e));
        ck_assert(e.redelivered);
        ck_assert_int_eq(delivery_count_header(e.msg), n);
        ck_assert_uint_eq(e.msg->delivery_count, (uint64_t)n);
        /* a new message around the same body, not a copy */
        ck_assert_ptr_eq(wr_msg_body(e.msg), wr_msg_body(orig));
        ck_assert_ptr_eq(e.msg->body_owner, orig);
    }
    /* the third return passes the limit: dead, not redelivered */
    wr_queue_requeue(q, e.msg, e.expires, 0);
    ck_assert_uint_eq(q->ready, 0);
    ck_assert_int_eq(ndead, 1);
    ck_assert_int_eq(dead_why[0], WR_DEAD_DELIVERY_LIMIT);
    m = dead_msgs[0];
    ck_assert_int_eq(delivery_count_header(m), 3);
    ck_assert(wr_bytes_eq_str(wr_msg_rkey(m), "rk"));
    ck_assert_uint_eq(m->seq, 7);
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
    struct wr_qentry e;

    ck_assert_int_eq(wr_queue_push(q, orig, 0), WR_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert(wr_queue_pop(q, 0, &e));
        ck_assert_ptr_eq(e.msg, orig);
        wr_queue_requeue(q, e.msg, e.expires, 0);
    }
    ck_assert_int_eq(delivery_count_header(orig), -1);
    wr_msg_unref(&orig);
    wr_queue_unref(&q);
}
END_TEST

/* ---- consumer priorities and single active consumer --------------------- */

START_TEST(consumer_priorities)
{
    struct wr_queue *q = mk_queue(0);
    struct fake f[4];
    int prio[] = {0, 10, 10, -5};

    for (int i = 0; i < 4; i++) {
        fake_init(&f[i], i, 3);
        f[i].c.priority = prio[i];
        ck_assert_int_eq(wr_queue_consumer_add(q, &f[i].c), WR_OK);
    }
    /* groups by priority, highest first */
    ck_assert_int_eq(
        WR_CONTAINER_OF(q->groups.next, struct wr_cgroup, link)->priority, 10);
    for (uint64_t i = 1; i <= 12; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 12);
    /* the two priority-10 consumers alternate until both are full, then 0,
     * then -5 */
    {
        int want[] = {1, 2, 1, 2, 1, 2, 0, 0, 0, 3, 3, 3};
        for (int i = 0; i < 12; i++)
            ck_assert_int_eq(log_who[i], want[i]);
    }
    /* credit back to the low one only: it gets the next */
    push_new(q, 13, -1);
    f[3].credit = 1;
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(log_who[0], 3);
    /* a high one with credit wins again */
    push_new(q, 14, -1);
    f[3].credit = 1;
    f[2].credit = 1;
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(log_who[0], 2);
    for (int i = 0; i < 4; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    ck_assert(wr_list_empty(&q->groups));
    wr_queue_unref(&q);
}
END_TEST

START_TEST(single_active_consumer)
{
    struct wr_queue_args a = {.single_active = true};
    struct wr_queue *q = mk_queue_args(&a);
    struct fake f[3];

    for (int i = 0; i < 3; i++) {
        fake_init(&f[i], i, 100);
        f[i].c.priority = i; /* ignored: registration order decides */
        wr_queue_consumer_add(q, &f[i].c);
    }
    ck_assert_ptr_eq(wr_queue_active_consumer(q), &f[0].c);
    for (uint64_t i = 1; i <= 5; i++)
        push_new(q, i, -1);
    reset_log();
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 5);
    ck_assert_int_eq(f[0].got, 5);
    /* the active one is blocked: nobody else takes over */
    f[0].credit = 0;
    push_new(q, 6, -1);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 0);
    /* it goes: the next in registration order is active */
    fake_ack_all(&f[0], q);
    wr_queue_consumer_remove(q, &f[0].c);
    ck_assert_ptr_eq(wr_queue_active_consumer(q), &f[1].c);
    ck_assert_uint_eq(wr_queue_dispatch(q, 0), 1);
    ck_assert_int_eq(f[1].got, 1);
    ck_assert_int_eq(f[2].got, 0);
    for (int i = 1; i < 3; i++) {
        fake_ack_all(&f[i], q);
        wr_queue_consumer_remove(q, &f[i].c);
    }
    ck_assert_ptr_null(wr_queue_active_consumer(q));
    wr_queue_unref(&q);
}
END_TEST

/* ---- arguments and messages ------------------------------------------------
 */

static int
parse_one(struct wr_tb *b, uint8_t *buf, size_t cap, const char *key,
          const struct wr_value *v, struct wr_queue_args *a,
          struct wr_args_error *err)
{
    wr_tb_init(b, buf, cap);
    wr_tb_add_value(b, key, v);
    wr_tb_end(b);
    ck_assert_int_eq(b->err, WR_OK);
    return wr_queue_args_parse(wr_tb_table(b), a, err);
}

START_TEST(args_issue9)
{
    uint8_t buf[256];
    struct wr_tb b;
    struct wr_queue_args a;
    struct wr_args_error err;
    struct wr_value v;
    static const struct {
        const char *key;
        uint8_t type;
        int64_t i;
        const char *s;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {"x-message-ttl", WR_FT_I32, 0, NULL, NULL},
        {"x-message-ttl", WR_FT_I32, -1, NULL, "{value_negative,-1}"},
        {"x-message-ttl", WR_FT_LONGSTR, 0, "5",
         "\"expected integer, got longstr\""},
        {"x-message-ttl", WR_FT_I64, INT64_C(1) << 40, NULL,
         "{value_too_large,1099511627776}"},
        {"x-expires", WR_FT_I32, 0, NULL, "{value_zero,0}"},
        {"x-expires", WR_FT_I32, -3, NULL, "{value_negative,-3}"},
        {"x-expires", WR_FT_U16, 100, NULL, NULL},
        {"x-max-length", WR_FT_I32, -1, NULL, "{value_negative,-1}"},
        {"x-overflow", WR_FT_LONGSTR, 0, "drop-tail", "invalid_overflow"},
        {"x-overflow", WR_FT_I32, 1, NULL, "{unacceptable_type,signedint}"},
        {"x-overflow", WR_FT_LONGSTR, 0, "reject-publish-dlx", NULL},
        {"x-dead-letter-exchange", WR_FT_LONGSTR, 0, "", NULL},
        {"x-dead-letter-exchange", WR_FT_I8, 1, NULL,
         "{unacceptable_type,byte}"},
        {"x-dead-letter-routing-key", WR_FT_LONGSTR, 0, "k",
         "routing_key_but_no_dlx_defined"},
        {"x-single-active-consumer", WR_FT_I32, 1, NULL,
         "{unacceptable_type,signedint}"},
        {"x-delivery-limit", WR_FT_I32, -1, NULL, "{value_negative,-1}"},
        {"x-delivery-limit", WR_FT_U8, 0, NULL, NULL},
        {"x-queue-type", WR_FT_LONGSTR, 0, "classic", NULL},
        {"x-queue-type", WR_FT_LONGSTR, 0, "quorum",
         "queue type 'quorum' is not supported by warren yet; declare a "
         "classic queue"},
        {"x-queue-type", WR_FT_LONGSTR, 0, "stream",
         "queue type 'stream' is not supported by warren yet; declare a "
         "classic queue"},
        {"x-queue-type", WR_FT_LONGSTR, 0, "lazy",
         "unsupported queue type 'lazy'"},
    };

    for (size_t i = 0; i < WR_ARRAY_LEN(cases); i++) {
        memset(&v, 0, sizeof(v));
        v.type = cases[i].type;
        if (v.type == WR_FT_LONGSTR)
            v.v.str = wr_bytes_str(cases[i].s);
        else if (v.type == WR_FT_U8 || v.type == WR_FT_U16)
            v.v.u = (uint64_t)cases[i].i;
        else
            v.v.i = cases[i].i;
        int rc = parse_one(&b, buf, sizeof(buf), cases[i].key, &v, &a, &err);
        if (cases[i].why == NULL) {
            ck_assert_msg(rc == WR_OK, "%s refused: %s", cases[i].key, err.why);
        } else {
            ck_assert_msg(rc == WR_ERR_INVALID, "%s accepted", cases[i].key);
            ck_assert_str_eq(err.arg, cases[i].key);
            ck_assert_str_eq(err.why, cases[i].why);
        }
    }

    /* values land where the queue reads them */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "x-message-ttl", WR_FT_I32, 250);
    wr_tb_add_int(&b, "x-expires", WR_FT_I32, 1000);
    wr_tb_add_str(&b, "x-dead-letter-exchange", WR_BYTES_LIT("dlx"));
    wr_tb_add_str(&b, "x-dead-letter-routing-key", WR_BYTES_LIT("dead"));
    wr_tb_add_str(&b, "x-overflow", WR_BYTES_LIT("reject-publish"));
    wr_tb_add_int(&b, "x-max-length-bytes", WR_FT_I64, 4096);
    wr_tb_add_bool(&b, "x-single-active-consumer", true);
    wr_tb_add_int(&b, "x-delivery-limit", WR_FT_I8, 3);
    wr_tb_end(&b);
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, &err), WR_OK);
    ck_assert(a.has_message_ttl);
    ck_assert_int_eq(a.message_ttl, 250);
    ck_assert_int_eq(a.expires, 1000);
    ck_assert(a.has_dlx && wr_bytes_eq_str(a.dlx, "dlx"));
    ck_assert(a.has_dlrk && wr_bytes_eq_str(a.dlrk, "dead"));
    ck_assert_int_eq(a.overflow, WR_OVERFLOW_REJECT);
    ck_assert(a.has_max_bytes && a.max_bytes == 4096);
    ck_assert(!a.has_max_length);
    ck_assert(a.single_active);
    ck_assert(a.has_delivery_limit && a.delivery_limit == 3);
    /* the queue's views point into its own copy */
    {
        struct wr_queue *q =
            wr_queue_new(WR_BYTES_LIT("q"), &a, wr_tb_table(&b));
        memset(buf, 0, sizeof(buf));
        ck_assert(wr_bytes_eq_str(q->args.dlx, "dlx"));
        ck_assert(wr_bytes_eq_str(q->args.dlrk, "dead"));
        wr_queue_unref(&q);
    }
}
END_TEST

START_TEST(expiration_parse)
{
    static const struct {
        const char *in;
        int64_t ms;
        const char *why;
    } cases[] = {
        {"0", 0, NULL},
        {"60000", 60000, NULL},
        {"+5", 5, NULL},
        {"-0", 0, NULL},
        {"-5", 0, "{value_negative,-5}"},
        {"abc", 0, "no_integer"},
        {"", 0, "no_integer"},
        {"1.5", 0, "{leftover_string,\".5\"}"},
        {"99999999999999999999999", INT64_C(1) << 53, NULL},
    };
    char why[64];
    int64_t ms;

    for (size_t i = 0; i < WR_ARRAY_LEN(cases); i++) {
        int rc = wr_expiration_parse(wr_bytes_str(cases[i].in), &ms, why,
                                     sizeof(why));
        if (cases[i].why) {
            ck_assert_int_eq(rc, WR_ERR_INVALID);
            ck_assert_str_eq(why, cases[i].why);
        } else {
            ck_assert_int_eq(rc, WR_OK);
            ck_assert_int_eq(ms, cases[i].ms);
        }
    }
}
END_TEST

/* BCC keys ride along for routing; a shared body lives as long as any
 * message using it. */
START_TEST(msg_bcc_and_shared_body)
{
    uint8_t arr[64];
    struct wr_tb b;
    struct wr_value v;
    struct wr_msg *m, *d;
    struct wr_msg_spec sp = {0};
    struct wr_array_iter it;
    int n = 0;

    wr_tb_init(&b, arr, sizeof(arr));
    wr_tb_begin_array(&b, "BCC");
    wr_tb_elem_str(&b, WR_BYTES_LIT("q1"));
    wr_tb_elem_str(&b, WR_BYTES_LIT("q2"));
    wr_tb_end(&b);
    wr_tb_end(&b);
    ck_assert_int_eq(wr_table_get(wr_tb_table(&b), "BCC", &v), WR_OK);
    sp.exchange = WR_BYTES_LIT("x");
    sp.rkey = WR_BYTES_LIT("k");
    sp.bcc = (struct wr_bytes){v.v.array.ptr, v.v.array.len};
    sp.body_size = 3;
    m = wr_msg_build(&sp);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), "abc", 3);
    wr_array_iter_init(&it, wr_msg_bcc(m));
    while (wr_array_next(&it, &v) == WR_OK)
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_eq(wr_msg_body(m),
                     wr_msg_props_data(m) + m->props_len + m->bcc_len);

    sp = (struct wr_msg_spec){.exchange = WR_BYTES_LIT("dlx"),
                              .rkey = WR_BYTES_LIT("dead"),
                              .share_body = m};
    d = wr_msg_build(&sp);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(wr_msg_body(d), wr_msg_body(m));
    ck_assert_uint_eq(d->body_size, 3);
    ck_assert_uint_eq(m->refcount, 2);
    ck_assert_uint_eq(wr_msg_mem(d), sizeof(*d) + 3 + 4);
    wr_msg_unref(&m); /* the body stays with d */
    ck_assert_mem_eq(wr_msg_body(d), "abc", 3);
    /* deriving from a derived message references the owner directly */
    sp.share_body = d;
    m = wr_msg_build(&sp);
    ck_assert_ptr_eq(m->body_owner, d->body_owner);
    wr_msg_unref(&d);
    wr_msg_unref(&m); /* teardown checks everything went */
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
    tcase_add_test(tc, msg_build_with_decoded_props);
    tcase_add_test(tc, msg_one_allocation);
    tcase_add_test(tc, msg_defaults_and_errors);
    tcase_add_test(tc, msg_body_grows_with_bytes);
    tcase_add_test(tc, msg_body_append_limits);
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
    tcase_add_test(tc, requeue_order_across_seq_wrap);
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

    tc = tcase_create("expiry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xindex_order);
    tcase_add_test(tc, expire_in_the_middle);
    tcase_add_test(tc, expire_queue_and_message_ttl);
    tcase_add_test(tc, expire_deadline_hook);
    tcase_add_test(tc, expire_priority_levels);
    tcase_add_test(tc, expire_compaction);
    tcase_add_test(tc, expire_requeue_keeps_deadline);
    tcase_add_test(tc, expire_ttl_zero);
    tcase_add_test(tc, peek_non_destructive);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, overflow_drop_head);
    tcase_add_test(tc, overflow_reject_publish);
    tcase_add_test(tc, delivery_limit_counts_returns);
    tcase_add_test(tc, delivery_limit_absent);
    suite_add_tcase(s, tc);

    tc = tcase_create("consumer_selection");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, consumer_priorities);
    tcase_add_test(tc, single_active_consumer);
    suite_add_tcase(s, tc);

    tc = tcase_create("args_and_messages");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, args_issue9);
    tcase_add_test(tc, expiration_parse);
    tcase_add_test(tc, msg_bcc_and_shared_body);
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
