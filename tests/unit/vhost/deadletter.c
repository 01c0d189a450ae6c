/* SPDX-License-Identifier: MIT */
/* The vhost suite: dead-lettering. */
#include "cases.h"

/* The headers of the message at the head of q (borrowed: valid until the
 * queue changes). */
static struct wr_props head_props;

static struct wr_table
head_headers(const char *q)
{
    struct wr_qentry e;

    ck_assert_uint_eq(wr_queue_peek(qget(q), wr_now_ms(), &e, 1), 1);
    ck_assert_int_eq(wr_msg_props(e.msg, &head_props), WR_OK);
    ck_assert(head_props.flags & WR_PROP_HEADERS);
    return head_props.headers;
}

static struct wr_bytes
head_rkey(const char *q)
{
    struct wr_qentry e;

    ck_assert_uint_eq(wr_queue_peek(qget(q), wr_now_ms(), &e, 1), 1);
    return wr_msg_rkey(e.msg);
}

static void
ck_str_field(struct wr_table t, const char *key, const char *want)
{
    struct wr_value v;

    ck_assert_msg(wr_table_get(t, key, &v) == WR_OK, "no %s", key);
    ck_assert_int_eq(v.type, WR_FT_LONGSTR);
    ck_assert_msg(wr_bytes_eq(v.v.str, wr_bytes_str(want)),
                  "%s is '%.*s', want '%s'", key, (int)v.v.str.len, v.v.str.ptr,
                  want);
}

/* x-death entry i (0 = newest) of t. */
static struct wr_table
death(struct wr_table t, int i)
{
    struct wr_value xd, e;
    struct wr_array_iter it;

    ck_assert_int_eq(wr_table_get(t, "x-death", &xd), WR_OK);
    ck_assert_int_eq(xd.type, WR_FT_ARRAY);
    wr_array_iter_init(&it, xd.v.array);
    for (int k = 0; k <= i; k++)
        ck_assert_int_eq(wr_array_next(&it, &e), WR_OK);
    ck_assert_int_eq(e.type, WR_FT_TABLE);
    return e.v.table;
}

static size_t
ndeaths(struct wr_table t)
{
    struct wr_value xd, e;
    struct wr_array_iter it;
    size_t n = 0;

    ck_assert_int_eq(wr_table_get(t, "x-death", &xd), WR_OK);
    wr_array_iter_init(&it, xd.v.array);
    while (wr_array_next(&it, &e) == WR_OK)
        n++;
    return n;
}

static int64_t
count_of(struct wr_table entry)
{
    struct wr_value v;
    int64_t n = -1;

    ck_assert_int_eq(wr_table_get(entry, "count", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    return n;
}

/* basic.get and reject (no requeue) of q's head, then the dead letters
 * routed. */
static void
reject_head(const char *q)
{
    struct wr_delivery d;
    int64_t now = wr_now_ms();

    ck_assert(wr_queue_get(qget(q), now, false, &d));
    wr_queue_settle(qget(q), d.id, d.handle, WR_SETTLE_REJECT, now);
    wr_vhost_drain_dead_letters(vh);
}

START_TEST(dlx_rejected_x_death)
{
    struct wr_table h, d;

    xdecl("dlx", "fanout", no_args());
    qdecl("src", args("x-dead-letter-exchange", "dlx", NULL));
    qdecl("dead", no_args());
    qbind("dlx", "dead", "");
    publish_at("", "src", NULL, wr_now_ms());
    ck_assert_uint_eq(nready("src"), 1);
    reject_head("src");
    ck_assert_uint_eq(nready("src"), 0);
    ck_assert_uint_eq(nready("dead"), 1);
    h = head_headers("dead");
    ck_str_field(h, "x-first-death-reason", "rejected");
    ck_str_field(h, "x-first-death-queue", "src");
    ck_str_field(h, "x-first-death-exchange", "");
    ck_assert_uint_eq(ndeaths(h), 1);
    d = death(h, 0);
    ck_assert_int_eq(count_of(d), 1);
    ck_str_field(d, "reason", "rejected");
    ck_str_field(d, "queue", "src");
    ck_str_field(d, "exchange", "");
    /* no dead-letter routing key: the original one */
    ck_assert(wr_bytes_eq(head_rkey("dead"), wr_bytes_str("src")));
}
END_TEST

/* A queue without a dead-letter exchange drops what it rejects. */
START_TEST(dlx_none_drops)
{
    qdecl("src", no_args());
    publish_at("", "src", NULL, wr_now_ms());
    reject_head("src");
    ck_assert_uint_eq(nready("src"), 0);
    ck_assert(wr_list_empty(&vh->dead_letters));
}
END_TEST

START_TEST(dlx_routing_key)
{
    struct wr_table h;

    qdecl("src", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                      "target", NULL));
    qdecl("target", no_args());
    publish_at("", "src", NULL, wr_now_ms());
    reject_head("src");
    ck_assert_uint_eq(nready("target"), 1);
    ck_assert(wr_bytes_eq(head_rkey("target"), wr_bytes_str("target")));
    h = head_headers("target");
    /* x-death keeps the routing key the message had */
    struct wr_value rk;
    ck_assert_int_eq(wr_table_get(death(h, 0), "routing-keys", &rk), WR_OK);
    ck_assert_int_eq(rk.type, WR_FT_ARRAY);
    struct wr_array_iter it;
    struct wr_value k;
    wr_array_iter_init(&it, rk.v.array);
    ck_assert_int_eq(wr_array_next(&it, &k), WR_OK);
    ck_assert(wr_bytes_eq(k.v.str, wr_bytes_str("src")));
    ck_assert_int_ne(wr_array_next(&it, &k), WR_OK);
}
END_TEST

/* Rejected back into the same queue: allowed (a client was involved), and
 * the matching x-death entry is counted, not repeated. */
START_TEST(dlx_reject_cycle_allowed_and_counted)
{
    struct wr_table h;

    qdecl("loop", args("x-dead-letter-exchange", "", NULL));
    publish_at("", "loop", NULL, wr_now_ms());
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    h = head_headers("loop");
    ck_assert_uint_eq(ndeaths(h), 1);
    ck_assert_int_eq(count_of(death(h, 0)), 3);
    ck_str_field(h, "x-first-death-reason", "rejected");
}
END_TEST

/* Expired into itself: a fully automatic cycle, dropped. */
START_TEST(dlx_automatic_cycle_dropped)
{
    int64_t now = wr_now_ms();

    qdecl("self",
          args("x-dead-letter-exchange", "", "x-message-ttl", "10", NULL));
    publish_at("", "self", NULL, now);
    ck_assert_uint_eq(nready("self"), 1);
    ck_assert_uint_eq(wr_queue_expire(qget("self"), now + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("self"), 0);
}
END_TEST

/* Two queues expiring into each other: the message goes a -> b, then the
 * way back into a is cut. */
START_TEST(dlx_two_queue_cycle)
{
    int64_t now = wr_now_ms();
    struct wr_table h;

    qdecl("a", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "b", "x-message-ttl", "10", NULL));
    qdecl("b", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "a", "x-message-ttl", "10", NULL));
    publish_at("", "a", NULL, now);
    ck_assert_uint_eq(wr_queue_expire(qget("a"), now + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("b"), 1);
    h = head_headers("b");
    ck_str_field(h, "x-first-death-reason", "expired");
    ck_str_field(death(h, 0), "reason", "expired");
    ck_str_field(death(h, 0), "queue", "a");
    ck_assert_uint_eq(wr_queue_expire(qget("b"), wr_now_ms() + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("a"), 0);
    ck_assert_uint_eq(nready("b"), 0);
}
END_TEST

/* Expired, then rejected elsewhere: x-death grows, newest first, and the
 * original expiration is kept. */
START_TEST(dlx_history_and_original_expiration)
{
    int64_t now = wr_now_ms();
    struct wr_table h;

    qdecl("t", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "r", NULL));
    qdecl("r", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "end", NULL));
    qdecl("end", no_args());
    publish_at("", "t", "20", now);
    ck_assert_uint_eq(wr_queue_expire(qget("t"), now + 100), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("r"), 1);
    reject_head("r");
    ck_assert_uint_eq(nready("end"), 1);
    h = head_headers("end");
    ck_assert(!(head_props.flags & WR_PROP_EXPIRATION));
    ck_assert_uint_eq(ndeaths(h), 2);
    ck_str_field(death(h, 0), "queue", "r");
    ck_str_field(death(h, 0), "reason", "rejected");
    ck_str_field(death(h, 1), "queue", "t");
    ck_str_field(death(h, 1), "reason", "expired");
    ck_str_field(death(h, 1), "original-expiration", "20");
    /* x-first-death-* stay those of the first death */
    ck_str_field(h, "x-first-death-queue", "t");
    ck_str_field(h, "x-first-death-reason", "expired");
}
END_TEST

/* x-max-length with the default overflow drops the head: "maxlen". */
START_TEST(dlx_maxlen)
{
    qdecl("small", args("x-max-length", "1", "x-dead-letter-exchange", "",
                        "x-dead-letter-routing-key", "over", NULL));
    qdecl("over", no_args());
    publish_at("", "small", NULL, wr_now_ms());
    publish_at("", "small", NULL, wr_now_ms());
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("small"), 1);
    ck_assert_uint_eq(nready("over"), 1);
    ck_str_field(head_headers("over"), "x-first-death-reason", "maxlen");
}
END_TEST

TCase *
vhost_deadletter_tcase(void)
{
    TCase *tc = tcase_create("deadletter");

    tcase_add_test(tc, dlx_rejected_x_death);
    tcase_add_test(tc, dlx_none_drops);
    tcase_add_test(tc, dlx_routing_key);
    tcase_add_test(tc, dlx_reject_cycle_allowed_and_counted);
    tcase_add_test(tc, dlx_automatic_cycle_dropped);
    tcase_add_test(tc, dlx_two_queue_cycle);
    tcase_add_test(tc, dlx_history_and_original_expiration);
    tcase_add_test(tc, dlx_maxlen);
    return tc;
}
