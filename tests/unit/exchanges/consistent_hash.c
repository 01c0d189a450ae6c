/* SPDX-License-Identifier: MIT */
/* Test case "consistent_hash" of the exchanges suite: x-consistent-hash
 * weights, one target per message, stability, refused weights and
 * arguments. */
#include "cases.h"

START_TEST(one_target_spread_by_weight)
{
    struct wr_exchange *x = mk_x("c", "x-consistent-hash");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2");
    size_t n1 = 0, n2 = 0;
    char key[32];

    ck_assert_uint_eq(route(x, "k"), 0); /* no bindings: nowhere */
    bind_q(x, q1, "1", no_args);
    bind_q(x, q2, "3", no_args);
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        ck_assert_uint_eq(route(x, key), 1);
        n1 += routed_to(q1);
        n2 += routed_to(q2);
    }
    ck_assert_uint_eq(n1 + n2, 4000);
    ck_assert(n1 > 800 && n1 < 1200); /* 1/4 of the keys, give or take */
    /* the same key: the same queue */
    route(x, "stable");
    {
        bool first = routed_to(q1);
        for (int i = 0; i < 10; i++) {
            route(x, "stable");
            ck_assert(routed_to(q1) == first);
        }
    }
    /* unbinding q1 hands its keys to q2 */
    ck_assert_int_eq(
        wr_exchange_unbind(x, WR_DEST_QUEUE, q1, WR_BYTES_LIT("1"), no_args),
        WR_OK);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        ck_assert_uint_eq(route(x, key), 1);
        ck_assert(routed_to(q2));
    }
    free_q(q1);
    free_q(q2);
    wr_exchange_free(x);
}
END_TEST

START_TEST(refused_weights)
{
    struct wr_exchange *x = mk_x("c", "x-consistent-hash");
    struct wr_queue *q = mk_q("q");
    const char *bad[] = {"abc", "0", "-1", "", "1.5", "+"};
    const char *why;

    for (size_t i = 0; i < WR_ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(
            wr_exchange_bind(
                x, WR_DEST_QUEUE, q,
                (struct wr_bytes){(const uint8_t *)bad[i], strlen(bad[i])},
                no_args, &why),
            WR_ERR_INVALID);
        ck_assert_ptr_nonnull(why);
    }
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q,
                                      WR_BYTES_LIT("99999999999"), no_args,
                                      &why),
                     WR_ERR_INVALID);
    ck_assert_uint_eq(x->binding_count, 0);
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT("+2"),
                                      no_args, &why),
                     WR_OK);
    ck_assert_uint_eq(route(x, "k"), 1);
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

START_TEST(validate_args)
{
    uint8_t buf[128];
    struct wr_tb b;
    char why[200];

    ck_assert_int_eq(
        wr_exch_consistent_hash.validate(no_args, why, sizeof(why)), 0);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "hash-property", WR_BYTES_LIT("app_id"));
    wr_tb_end(&b);
    ck_assert_int_eq(
        wr_exch_consistent_hash.validate(wr_tb_table(&b), why, sizeof(why)),
        406);
    ck_assert_str_eq(why, "Unsupported property: app_id");
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "hash-property", WR_BYTES_LIT("message_id"));
    wr_tb_add_str(&b, "hash-header", WR_BYTES_LIT("h"));
    wr_tb_end(&b);
    ck_assert_int_eq(
        wr_exch_consistent_hash.validate(wr_tb_table(&b), why, sizeof(why)),
        406);
}
END_TEST

TCase *
exchanges_consistent_hash_tcase(void)
{
    TCase *tc = tcase_create("consistent_hash");

    tcase_add_test(tc, one_target_spread_by_weight);
    tcase_add_test(tc, refused_weights);
    tcase_add_test(tc, validate_args);
    return tc;
}
