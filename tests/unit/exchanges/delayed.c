/* SPDX-License-Identifier: MIT */
/* Test case "delayed" of the exchanges suite: x-delayed-message routes
 * through its x-delayed-type, the x-delay header as the plugin reads it,
 * and the heap of held messages (due order, ties in arrival order). */
#include "cases.h"

static struct wr_exchange *
mk_delayed(const char *inner)
{
    static uint8_t buf[64];
    struct wr_tb b;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-delayed-type",
                  (struct wr_bytes){(const uint8_t *)inner, strlen(inner)});
    wr_tb_end(&b);
    return wr_exchange_new(WR_BYTES_LIT("d"), &wr_exch_delayed,
                           wr_tb_table(&b));
}

START_TEST(routes_through_inner_type)
{
    struct wr_exchange *x = mk_delayed("topic");
    struct wr_queue *q = mk_q("q");

    bind_q(x, q, "a.*", no_args);
    ck_assert_uint_eq(route(x, "a.b"), 1);
    ck_assert_uint_eq(route(x, "b.b"), 0);
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

START_TEST(validate)
{
    uint8_t buf[64];
    struct wr_tb b;
    char why[200];

    ck_assert_int_eq(wr_exch_delayed.validate(no_args, why, sizeof(why)), 406);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-delayed-type", WR_BYTES_LIT("nope"));
    wr_tb_end(&b);
    ck_assert_int_eq(
        wr_exch_delayed.validate(wr_tb_table(&b), why, sizeof(why)), 503);
    ck_assert_str_eq(why, "unknown exchange type 'nope'");
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-delayed-type", WR_BYTES_LIT("fanout"));
    wr_tb_end(&b);
    ck_assert_int_eq(
        wr_exch_delayed.validate(wr_tb_table(&b), why, sizeof(why)), 0);
}
END_TEST

static bool
delay_of(uint8_t type, int64_t v, const char *s, int64_t *ms)
{
    uint8_t buf[64];
    struct wr_tb b;

    wr_tb_init(&b, buf, sizeof(buf));
    if (s)
        wr_tb_add_str(&b, "x-delay",
                      (struct wr_bytes){(const uint8_t *)s, strlen(s)});
    else
        wr_tb_add_int(&b, "x-delay", type, v);
    wr_tb_end(&b);
    return wr_delay_header(wr_tb_table(&b), ms);
}

START_TEST(delay_header)
{
    int64_t ms = 0;

    ck_assert(delay_of('I', 1500, NULL, &ms) && ms == 1500);
    ck_assert(delay_of('l', 7, NULL, &ms) && ms == 7);
    ck_assert(delay_of(0, 0, "250", &ms) && ms == 250);
    ck_assert(!delay_of('I', 0, NULL, &ms));
    ck_assert(!delay_of('I', -5, NULL, &ms));
    ck_assert(!delay_of('l', 4294967296LL, NULL, &ms));
    ck_assert(delay_of('l', 4294967295LL, NULL, &ms));
    ck_assert(!delay_of(0, 0, "12x", &ms));
    ck_assert(!wr_delay_header(no_args, &ms));
}
END_TEST

START_TEST(heap_order)
{
    struct wr_exchange *x = mk_delayed("direct");
    struct wr_msg *m;
    int64_t due, last = -1;
    uint64_t seed = 12345, tag;
    size_t n = 0;

    for (int i = 0; i < 1000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        m = wr_msg_new(WR_BYTES_LIT("d"), WR_BYTES_LIT("k"), NULL, 0, 0);
        ck_assert_ptr_nonnull(m);
        /* the body size carries the due time, to check the order */
        m->body_size = (seed >> 33) % 500;
        ck_assert_int_eq(
            wr_delayed_hold(x, m, (int64_t)m->body_size, m->body_size + 1000),
            WR_OK);
        wr_msg_unref(&m);
    }
    ck_assert_uint_eq(wr_delayed_count(x), 1000);
    ck_assert(wr_delayed_next(x, &due));
    ck_assert_ptr_null(wr_delayed_take(x, due - 1, NULL));
    /* half now; the rest stay held for the exchange to free */
    while ((m = wr_delayed_take(x, 250, &tag)) != NULL) {
        ck_assert_uint_eq(tag, m->body_size + 1000); /* its own tag */
        ck_assert_int_ge((int64_t)m->body_size, last);
        ck_assert_int_le((int64_t)m->body_size, 250);
        last = (int64_t)m->body_size;
        m->body_size = 0;
        wr_msg_unref(&m);
        n++;
    }
    ck_assert_uint_eq(n + wr_delayed_count(x), 1000);
    ck_assert(wr_delayed_next(x, &due) && due > 250);
    wr_exchange_free(x);
}
END_TEST

TCase *
exchanges_delayed_tcase(void)
{
    TCase *tc = tcase_create("delayed");

    tcase_add_test(tc, routes_through_inner_type);
    tcase_add_test(tc, validate);
    tcase_add_test(tc, delay_header);
    tcase_add_test(tc, heap_order);
    return tc;
}
