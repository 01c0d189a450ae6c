/* SPDX-License-Identifier: MIT */
/* Test case "cc_and_alternates" of the exchanges suite: several routing
 * keys (CC / BCC) and alternate exchanges. */
#include "cases.h"

/* ---- CC / BCC keys and alternate exchanges (issue 9) ------------------ */

START_TEST(route_more_keys)
{
    struct wr_exchange *d = mk_x("d", "direct"), *t = mk_x("t", "topic");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2"), *q3 = mk_q("q3");
    struct wr_bytes more[] = {WR_BYTES_LIT("b"), WR_BYTES_LIT("a"),
                              WR_BYTES_LIT("zzz")};
    struct wr_route_req req = {
        .rkey = WR_BYTES_LIT("a"), .more_keys = more, .n_more = 3};

    bind_q(d, q1, "a", no_args);
    bind_q(d, q2, "b", no_args);
    bind_q(d, q3, "c", no_args);
    ck_assert_int_eq(wr_exchange_route(d, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 2); /* a twice: once */
    ck_assert(routed_to(q1) && routed_to(q2) && !routed_to(q3));
    /* through an exchange-to-exchange binding, every key again */
    bind_x(d, t, "zzz");
    bind_q(t, q3, "#", no_args);
    ck_assert_int_eq(wr_exchange_route(d, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 3);
    assert_unique();
    wr_exchange_free(d);
    wr_exchange_free(t);
    free_q(q1);
    free_q(q2);
    free_q(q3);
}
END_TEST

static struct wr_exchange *lookup_pool[4];
static int lookups;

static struct wr_exchange *
lookup(void *ctx, struct wr_bytes name)
{
    (void)ctx;
    lookups++;
    for (int i = 0; i < 4; i++)
        if (lookup_pool[i] && wr_bytes_eq_str(name, lookup_pool[i]->name))
            return lookup_pool[i];
    return NULL;
}

static struct wr_exchange *
mk_x_ae(const char *name, const char *type, const char *ae)
{
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_exchange *x;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "alternate-exchange", wr_bytes_str(ae));
    wr_tb_end(&b);
    x = wr_exchange_new(wr_bytes_str(name),
                        wr_exch_type_find(wr_bytes_str(type)), wr_tb_table(&b));
    ck_assert_ptr_nonnull(x);
    memset(buf, 0, sizeof(buf)); /* the exchange kept its own copy */
    ck_assert(x->has_alternate);
    ck_assert(wr_bytes_eq_str(x->alternate, ae));
    return x;
}

START_TEST(route_alternate_exchanges)
{
    /* a --AE--> b --AE--> c; c --AE--> a closes a cycle */
    struct wr_exchange *a = mk_x_ae("a", "direct", "b");
    struct wr_exchange *b = mk_x_ae("b", "topic", "c");
    struct wr_exchange *c = mk_x_ae("c", "direct", "a");
    struct wr_queue *qa = mk_q("qa"), *qb = mk_q("qb"), *qc = mk_q("qc");
    struct wr_route_req req = {.rkey = WR_BYTES_LIT("k"), .lookup = lookup};

    lookup_pool[0] = a;
    lookup_pool[1] = b;
    lookup_pool[2] = c;
    bind_q(a, qa, "k", no_args);
    bind_q(b, qb, "x.*", no_args);
    bind_q(c, qc, "other", no_args);
    /* routable: no alternate consulted */
    lookups = 0;
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qa));
    ck_assert_int_eq(lookups, 0);
    /* a misses, b matches */
    req.rkey = WR_BYTES_LIT("x.y");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qb));
    /* down the chain to c */
    req.rkey = WR_BYTES_LIT("other");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qc));
    /* nothing anywhere: the cycle a -> b -> c -> a ends */
    req.rkey = WR_BYTES_LIT("none");
    lookups = 0;
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    ck_assert_int_eq(lookups, 3);
    /* no lookup: no alternates */
    req.lookup = NULL;
    req.rkey = WR_BYTES_LIT("x.y");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    /* a CC key that matches counts: no alternate */
    {
        struct wr_bytes more[] = {WR_BYTES_LIT("k")};
        req.lookup = lookup;
        req.rkey = WR_BYTES_LIT("x.y");
        req.more_keys = more;
        req.n_more = 1;
        ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
        ck_assert(rs.count == 1 && routed_to(qa));
    }
    memset(lookup_pool, 0, sizeof(lookup_pool));
    wr_exchange_free(a);
    wr_exchange_free(b);
    wr_exchange_free(c);
    free_q(qa);
    free_q(qb);
    free_q(qc);
}
END_TEST

/* A policy's alternate-exchange: used when the argument is not given,
 * overridden by it, cleared with NULL. */
START_TEST(route_policy_alternate)
{
    struct wr_exchange *a = wr_exchange_new(WR_BYTES_LIT("a"), &wr_exch_direct,
                                            (struct wr_table){NULL, 0});
    struct wr_exchange *b = mk_x_ae("b", "direct", "c");
    struct wr_exchange *c = wr_exchange_new(WR_BYTES_LIT("c"), &wr_exch_fanout,
                                            (struct wr_table){NULL, 0});
    struct wr_exchange *d = wr_exchange_new(WR_BYTES_LIT("d"), &wr_exch_fanout,
                                            (struct wr_table){NULL, 0});
    struct wr_queue *qc = mk_q("qc"), *qd = mk_q("qd");
    struct wr_route_req req = {.rkey = WR_BYTES_LIT("k"), .lookup = lookup};
    char name[2] = "c";
    struct wr_bytes n = {(const uint8_t *)name, 1}, got;

    lookup_pool[0] = c;
    lookup_pool[1] = d;
    bind_q(c, qc, "", no_args);
    bind_q(d, qd, "", no_args);
    ck_assert(!wr_exchange_alternate(a, &got));
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    /* from a policy (the name is copied) */
    ck_assert_int_eq(wr_exchange_set_policy_alternate(a, &n), WR_OK);
    name[0] = 'x';
    ck_assert(wr_exchange_alternate(a, &got) && wr_bytes_eq_str(got, "c"));
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qc));
    /* replaced, then cleared */
    n = WR_BYTES_LIT("d");
    ck_assert_int_eq(wr_exchange_set_policy_alternate(a, &n), WR_OK);
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qd));
    ck_assert_int_eq(wr_exchange_set_policy_alternate(a, NULL), WR_OK);
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    /* the argument wins over the policy */
    ck_assert_int_eq(wr_exchange_set_policy_alternate(b, &n), WR_OK);
    ck_assert_int_eq(wr_exchange_route(b, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qc));
    memset(lookup_pool, 0, sizeof(lookup_pool));
    wr_exchange_free(a);
    wr_exchange_free(b);
    wr_exchange_free(c);
    wr_exchange_free(d);
    free_q(qc);
    free_q(qd);
}
END_TEST

TCase *
exchanges_cc_and_alternates_tcase(void)
{
    TCase *tc = tcase_create("cc_and_alternates");

    tcase_add_test(tc, route_more_keys);
    tcase_add_test(tc, route_alternate_exchanges);
    tcase_add_test(tc, route_policy_alternate);
    return tc;
}
