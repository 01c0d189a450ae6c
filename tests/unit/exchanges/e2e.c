/* SPDX-License-Identifier: MIT */
/* Test case "e2e" of the exchanges suite: exchange-to-exchange routing,
 * cycles, chains and fan-out. */
#include "cases.h"

/* ---- exchange-to-exchange ---------------------------------------------- */

START_TEST(e2e_cycle_terminates)
{
    struct wr_exchange *a = mk_x("A", "fanout"), *b = mk_x("B", "topic");
    struct wr_queue *qa = mk_q("qa"), *qb = mk_q("qb"), *qab = mk_q("qab");

    bind_x(a, b, "#");
    bind_x(b, a, "#"); /* A -> B -> A */
    bind_x(a, a, "");  /* and a self-loop */
    bind_q(a, qa, "", no_args);
    bind_q(b, qb, "#", no_args);
    bind_q(a, qab, "", no_args);
    bind_q(b, qab, "k", no_args);
    ck_assert_uint_eq(route(a, "k"), 3);
    assert_unique();
    ck_assert(routed_to(qa) && routed_to(qb) && routed_to(qab));
    ck_assert_uint_eq(route(b, "k"), 3);
    assert_unique();
    ck_assert_uint_eq(route(b, "other"), 3); /* via A's fanout */
    /* Routing again reuses the result array. */
    ck_assert_uint_ge(rs.cap, 3);
    free_q(qa);
    free_q(qb);
    free_q(qab);
    ck_assert_uint_eq(route(a, "k"), 0);
    wr_exchange_free(a); /* drops B -> A and A -> B too */
    ck_assert_uint_eq(b->binding_count, 0);
    ck_assert(wr_list_empty(&b->bindings_in));
    wr_exchange_free(b);
}
END_TEST

START_TEST(e2e_chain_and_dedup)
{
    struct wr_exchange *d = mk_x("d", "direct"), *f = mk_x("f", "fanout"),
                       *t = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");

    /* d --k--> q and d --k--> f --> t --#--> q, q2: q once. */
    bind_q(d, q, "k", no_args);
    bind_x(d, f, "k");
    bind_x(f, t, "");
    bind_q(t, q, "#", no_args);
    bind_q(t, q2, "k", no_args);
    ck_assert_uint_eq(route(d, "k"), 2);
    assert_unique();
    ck_assert(routed_to(q) && routed_to(q2));
    ck_assert_uint_eq(route(d, "j"), 0);
    /* Unbinding an exchange destination. */
    ck_assert_int_eq(
        wr_exchange_unbind(d, WR_DEST_EXCHANGE, f, WR_BYTES_LIT("k"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(d, "k"), 1);
    free_q(q);
    free_q(q2);
    wr_exchange_free(t); /* f's binding to t goes with it */
    ck_assert_uint_eq(f->binding_count, 0);
    wr_exchange_free(f);
    wr_exchange_free(d);
}
END_TEST

START_TEST(e2e_long_chain_and_wide_fan)
{
    enum { LEN = 5000, WIDE = 300 };
    struct wr_exchange **xs = wr_calloc(LEN, sizeof(*xs));
    struct wr_exchange *root = mk_x("root", "fanout");
    struct wr_queue *q = mk_q("end");
    char name[16];

    /* A chain far deeper than any recursion should go. */
    for (int i = 0; i < LEN; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        xs[i] = mk_x(name, i % 2 ? "fanout" : "topic");
        if (i > 0)
            bind_x(xs[i - 1], xs[i], "#");
    }
    bind_q(xs[LEN - 1], q, "#", no_args);
    ck_assert_uint_eq(route(xs[0], "a.b"), 1);
    /* And one exchange fanning out to many. */
    for (int i = 0; i < WIDE; i++)
        bind_x(root, xs[LEN - 1 - i], "");
    ck_assert_uint_eq(route(root, "a.b"), 1);
    free_q(q);
    for (int i = 0; i < LEN; i++)
        wr_exchange_free(xs[i]);
    ck_assert_uint_eq(root->binding_count, 0);
    wr_exchange_free(root);
    wr_free(xs);
}
END_TEST

TCase *
exchanges_e2e_tcase(void)
{
    TCase *tc = tcase_create("e2e");

    tcase_add_test(tc, e2e_cycle_terminates);
    tcase_add_test(tc, e2e_chain_and_dedup);
    tcase_add_test(tc, e2e_long_chain_and_wide_fan);
    return tc;
}
