/* SPDX-License-Identifier: MIT */
/* Test case "bindings" of the exchanges suite: bind dedup, unbind,
 * unbind_all with auto-delete, freeing, out of memory. */
#include "cases.h"

/* ---- bind / unbind bookkeeping ---------------------------------------- */

START_TEST(bind_dedup)
{
    struct wr_exchange *x = mk_x("d", "direct");
    struct wr_queue *q = mk_q("q");
    uint8_t b1buf[64], b2buf[64], b3buf[64];
    struct wr_tb b1, b2, b3;

    bind_q(x, q, "k", no_args);
    bind_q(x, q, "k", no_args);
    ck_assert_uint_eq(x->binding_count, 1);
    /* Same arguments in another order are the same binding. */
    wr_tb_init(&b1, b1buf, sizeof(b1buf));
    wr_tb_add_str(&b1, "a", WR_BYTES_LIT("1"));
    wr_tb_add_int(&b1, "b", WR_FT_I32, 2);
    wr_tb_end(&b1);
    wr_tb_init(&b2, b2buf, sizeof(b2buf));
    wr_tb_add_int(&b2, "b", WR_FT_I32, 2);
    wr_tb_add_str(&b2, "a", WR_BYTES_LIT("1"));
    wr_tb_end(&b2);
    wr_tb_init(&b3, b3buf, sizeof(b3buf));
    wr_tb_add_str(&b3, "a", WR_BYTES_LIT("2"));
    wr_tb_end(&b3);
    bind_q(x, q, "k", wr_tb_table(&b1));
    ck_assert_uint_eq(x->binding_count, 2);
    bind_q(x, q, "k", wr_tb_table(&b2));
    ck_assert_uint_eq(x->binding_count, 2);
    bind_q(x, q, "k", wr_tb_table(&b3));
    bind_q(x, q, "other", no_args);
    ck_assert_uint_eq(x->binding_count, 4);
    /* Unbind picks the binding by its arguments, in any order. */
    ck_assert_int_eq(wr_exchange_unbind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT("k"),
                                        wr_tb_table(&b2)),
                     WR_OK);
    ck_assert_int_eq(wr_exchange_unbind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT("k"),
                                        wr_tb_table(&b1)),
                     WR_ERR_NOT_FOUND);
    ck_assert_uint_eq(x->binding_count, 3);
    ck_assert_uint_eq(route(x, "k"), 1);
    free_q(q);
    ck_assert_uint_eq(x->binding_count, 0);
    wr_exchange_free(x);
}
END_TEST

/* wr_exchange_find_binding looks up without removing (the broker's
 * unbind checks exclusive access only when the binding is there). */
START_TEST(find_binding)
{
    struct wr_exchange *x = mk_x("f", "topic");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");
    struct wr_binding *b;
    char long_key[300];

    ck_assert_ptr_null(wr_exchange_find_binding(x, WR_DEST_QUEUE, q,
                                                WR_BYTES_LIT("a.*"), no_args));
    bind_q(x, q, "a.*", no_args);
    b = wr_exchange_find_binding(x, WR_DEST_QUEUE, q, WR_BYTES_LIT("a.*"),
                                 no_args);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(b->source, x);
    ck_assert_ptr_eq(b->dest.queue, q);
    ck_assert_str_eq(b->key, "a.*");
    ck_assert_uint_eq(x->binding_count, 1); /* still bound */
    ck_assert_ptr_null(wr_exchange_find_binding(x, WR_DEST_QUEUE, q2,
                                                WR_BYTES_LIT("a.*"), no_args));
    ck_assert_ptr_null(wr_exchange_find_binding(x, WR_DEST_QUEUE, q,
                                                WR_BYTES_LIT("a.#"), no_args));
    memset(long_key, 'k', sizeof(long_key));
    ck_assert_ptr_null(wr_exchange_find_binding(
        x, WR_DEST_QUEUE, q,
        (struct wr_bytes){(const uint8_t *)long_key, sizeof(long_key)},
        no_args));
    wr_binding_free(b);
    ck_assert_uint_eq(x->binding_count, 0);
    ck_assert_uint_eq(route(x, "a.b"), 0);
    free_q(q);
    free_q(q2);
    wr_exchange_free(x);
}
END_TEST

START_TEST(unbind_and_rebind)
{
    const char *types[] = {"direct", "fanout", "topic", "headers"};

    for (size_t i = 0; i < WR_ARRAY_LEN(types); i++) {
        struct wr_exchange *x = mk_x("x", types[i]);
        struct wr_queue *q = mk_q("q");

        ck_assert_int_eq(wr_exchange_unbind(x, WR_DEST_QUEUE, q,
                                            WR_BYTES_LIT("a.b"), no_args),
                         WR_ERR_NOT_FOUND);
        bind_q(x, q, "a.b", no_args);
        ck_assert_uint_eq(route(x, "a.b"), 1);
        ck_assert_int_eq(wr_exchange_unbind(x, WR_DEST_QUEUE, q,
                                            WR_BYTES_LIT("a.b"), no_args),
                         WR_OK);
        ck_assert_uint_eq(x->binding_count, 0);
        ck_assert(wr_list_empty(&q->bindings_in));
        ck_assert_uint_eq(route(x, "a.b"), 0);
        ck_assert_int_eq(wr_exchange_unbind(x, WR_DEST_QUEUE, q,
                                            WR_BYTES_LIT("a.b"), no_args),
                         WR_ERR_NOT_FOUND);
        bind_q(x, q, "a.b", no_args); /* rebinding after unbind */
        ck_assert_uint_eq(route(x, "a.b"), 1);
        free_q(q);
        wr_exchange_free(x);
    }
}
END_TEST

START_TEST(bind_key_too_long)
{
    struct wr_exchange *x = mk_x("d", "direct");
    struct wr_queue *q = mk_q("q");
    uint8_t key[256];
    const char *err = NULL;

    memset(key, 'k', sizeof(key));
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q,
                                      (struct wr_bytes){key, 256}, no_args,
                                      &err),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q,
                                      (struct wr_bytes){key, 255}, no_args,
                                      &err),
                     WR_OK);
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

static struct wr_exchange *emptied[8];
static int nemptied;

static void
on_empty(void *ctx, struct wr_exchange *x)
{
    ck_assert_ptr_eq(ctx, &nemptied);
    /* Called after all removals: the queue has no bindings left. */
    ck_assert_uint_eq(x->binding_count, 0);
    emptied[nemptied++] = x;
}

START_TEST(unbind_all_auto_delete)
{
    struct wr_exchange *x1 = mk_x("x1", "direct"), *x2 = mk_x("x2", "topic"),
                       *x3 = mk_x("x3", "fanout");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");

    bind_q(x1, q, "a", no_args); /* x1 only to q */
    bind_q(x2, q, "a.#", no_args);
    bind_q(x2, q2, "b", no_args); /* x2 keeps a binding */
    bind_q(x3, q, "a", no_args);  /* x3 twice to q */
    bind_q(x3, q, "b", no_args);
    nemptied = 0;
    wr_queue_unbind_all(q, on_empty, &nemptied);
    ck_assert(wr_list_empty(&q->bindings_in));
    ck_assert_int_eq(nemptied, 2); /* x1 and x3, once each */
    ck_assert((emptied[0] == x1 && emptied[1] == x3) ||
              (emptied[0] == x3 && emptied[1] == x1));
    ck_assert_uint_eq(x2->binding_count, 1);
    ck_assert_uint_eq(route(x2, "a.b"), 0);
    ck_assert_uint_eq(route(x2, "b"), 1);
    /* A queue with no bindings: nothing happens; a NULL callback is fine. */
    wr_queue_unbind_all(q, on_empty, &nemptied);
    ck_assert_int_eq(nemptied, 2);
    wr_queue_unbind_all(q2, NULL, NULL);
    wr_queue_unref(&q);
    wr_queue_unref(&q2);
    wr_exchange_free(x1);
    wr_exchange_free(x2);
    wr_exchange_free(x3);
}
END_TEST

static void
on_empty_free(void *ctx, struct wr_exchange *x)
{
    (void)ctx;
    nemptied++;
    wr_exchange_free(x); /* what the broker does for auto-delete */
}

START_TEST(unbind_all_many_sources)
{
    enum { N = 40 }; /* more than the on-stack list holds */
    struct wr_exchange *xs[N];
    struct wr_queue *q = mk_q("q");
    char name[8];

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        xs[i] = mk_x(name, i % 2 ? "topic" : "direct");
        bind_q(xs[i], q, "k", no_args);
        bind_q(xs[i], q, "k2", no_args);
    }
    nemptied = 0;
    wr_queue_unbind_all(q, on_empty_free, NULL);
    ck_assert_int_eq(nemptied, N);
    wr_queue_unref(&q);
}
END_TEST

START_TEST(exchange_free_both_sides)
{
    struct wr_exchange *src = mk_x("src", "direct"), *x = mk_x("x", "topic");
    struct wr_queue *q = mk_q("q");

    bind_x(src, x, "k");
    bind_q(x, q, "#", no_args);
    ck_assert_uint_eq(route(src, "k"), 1);
    wr_exchange_free(x);
    ck_assert_uint_eq(src->binding_count, 0);
    ck_assert(wr_list_empty(&q->bindings_in));
    ck_assert_uint_eq(route(src, "k"), 0);
    wr_exchange_free(src);
    wr_exchange_free(NULL);
    wr_queue_unref(&q);
}
END_TEST

/* Out of memory at every allocation of a bind leaves no leak and a
 * consistent exchange. */
START_TEST(bind_out_of_memory)
{
    const char *types[] = {"direct", "topic", "headers", "fanout"};
    uint8_t buf[64];
    struct wr_tb b;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-match", WR_BYTES_LIT("any"));
    wr_tb_add_str(&b, "k", WR_BYTES_LIT("v"));
    wr_tb_end(&b);
    for (size_t t = 0; t < WR_ARRAY_LEN(types); t++) {
        for (uint64_t n = 1; n < 30; n++) {
            struct wr_exchange *x = mk_x("x", types[t]);
            struct wr_queue *q = mk_q("q");
            int rc;

            bind_q(x, q, "a.b", no_args);
            wr_alloc_fail_after(n);
            rc =
                wr_exchange_bind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT("a.new.key"),
                                 wr_tb_table(&b), NULL);
            wr_alloc_fail_after(0);
            ck_assert(rc == WR_OK || rc == WR_ERR_NOMEM);
            ck_assert_uint_eq(x->binding_count, rc == WR_OK ? 2 : 1);
            ck_assert_uint_ge(route(x, "a.b"), 1);
            free_q(q);
            wr_exchange_free(x);
        }
    }
}
END_TEST

TCase *
exchanges_bindings_tcase(void)
{
    TCase *tc = tcase_create("bindings");

    tcase_add_test(tc, bind_dedup);
    tcase_add_test(tc, unbind_and_rebind);
    tcase_add_test(tc, find_binding);
    tcase_add_test(tc, bind_key_too_long);
    tcase_add_test(tc, unbind_all_auto_delete);
    tcase_add_test(tc, unbind_all_many_sources);
    tcase_add_test(tc, exchange_free_both_sides);
    tcase_add_test(tc, bind_out_of_memory);
    return tc;
}
