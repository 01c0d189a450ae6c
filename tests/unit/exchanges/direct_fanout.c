/* SPDX-License-Identifier: MIT */
/* Test case "direct_fanout" of the exchanges suite: direct and fanout
 * routing, deduplicated targets, the type registry. */
#include "cases.h"

/* ---- direct and fanout ------------------------------------------------- */

START_TEST(direct_routes_by_key)
{
    struct wr_exchange *x = mk_x("d", "direct");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2"), *q3 = mk_q("q3");
    struct wr_route_req empty = {.rkey = {NULL, 0}};

    bind_q(x, q1, "a", no_args);
    bind_q(x, q2, "a", no_args);
    bind_q(x, q3, "b", no_args);
    bind_q(x, q3, "", no_args);
    ck_assert_uint_eq(route(x, "a"), 2);
    ck_assert(routed_to(q1) && routed_to(q2));
    ck_assert_uint_eq(route(x, "b"), 1);
    ck_assert(routed_to(q3));
    ck_assert_uint_eq(route(x, "c"), 0);
    ck_assert_uint_eq(route(x, "A"), 0);
    ck_assert_uint_eq(route(x, ""), 1);
    ck_assert_int_eq(wr_exchange_route(x, &empty, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 1);
    ck_assert_int_eq(
        wr_exchange_unbind(x, WR_DEST_QUEUE, q1, WR_BYTES_LIT("a"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(x, "a"), 1);
    ck_assert(routed_to(q2));
    ck_assert_int_eq(
        wr_exchange_unbind(x, WR_DEST_QUEUE, q2, WR_BYTES_LIT("a"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(x, "a"), 0);
    free_q(q1);
    free_q(q2);
    free_q(q3);
    wr_exchange_free(x);
}
END_TEST

START_TEST(route_dedups_queue_hit_twice)
{
    struct wr_exchange *d = mk_x("d", "direct"), *f = mk_x("f", "fanout"),
                       *t = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");
    uint8_t buf[64];
    struct wr_tb b;

    /* Two bindings of one exchange hitting the same queue: once. */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "k", WR_BYTES_LIT("v"));
    wr_tb_end(&b);
    bind_q(d, q, "a", no_args);
    bind_q(d, q, "a", wr_tb_table(&b));
    ck_assert_uint_eq(d->binding_count, 2);
    ck_assert_uint_eq(route(d, "a"), 1);

    bind_q(f, q, "x", no_args);
    bind_q(f, q, "y", no_args);
    bind_q(f, q2, "", no_args);
    ck_assert_uint_eq(route(f, "anything"), 2);
    assert_unique();

    bind_q(t, q, "a.*", no_args);
    bind_q(t, q, "#", no_args);
    bind_q(t, q, "*.b", no_args);
    ck_assert_uint_eq(route(t, "a.b"), 1);
    ck_assert_ptr_eq(rs.queues[0], q);

    /* A deleted queue is never a target. */
    q->deleted = true;
    ck_assert_uint_eq(route(f, "z"), 1);
    ck_assert(routed_to(q2));
    q->deleted = false;

    free_q(q);
    free_q(q2);
    wr_exchange_free(d);
    wr_exchange_free(f);
    wr_exchange_free(t);
}
END_TEST

START_TEST(fanout_ignores_key)
{
    struct wr_exchange *x = mk_x("f", "fanout");
    struct wr_queue *q[5];
    char name[8];

    ck_assert_uint_eq(route(x, "k"), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "q%d", i);
        q[i] = mk_q(name);
        bind_q(x, q[i], i % 2 ? "odd" : "", no_args);
    }
    ck_assert_uint_eq(route(x, ""), 5);
    ck_assert_uint_eq(route(x, "whatever.key"), 5);
    for (int i = 0; i < 5; i++)
        ck_assert(routed_to(q[i]));
    free_q(q[2]);
    ck_assert_uint_eq(route(x, "k"), 4);
    for (int i = 0; i < 5; i++)
        if (i != 2)
            free_q(q[i]);
    ck_assert_uint_eq(route(x, "k"), 0);
    wr_exchange_free(x);
}
END_TEST

START_TEST(type_registry)
{
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("direct")),
                     &wr_exch_direct);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("fanout")),
                     &wr_exch_fanout);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("topic")), &wr_exch_topic);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("headers")),
                     &wr_exch_headers);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("x-consistent-hash")),
                     &wr_exch_consistent_hash);
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("x-no-such-type")));
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("Direct")));
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("")));
}
END_TEST

TCase *
exchanges_direct_fanout_tcase(void)
{
    TCase *tc = tcase_create("direct_fanout");

    tcase_add_test(tc, direct_routes_by_key);
    tcase_add_test(tc, route_dedups_queue_hit_twice);
    tcase_add_test(tc, fanout_ignores_key);
    tcase_add_test(tc, type_registry);
    return tc;
}
