/* SPDX-License-Identifier: MIT */
/* Test case "message" of the queues suite: the refcounted message
 * (layout, building from decoded properties, one allocation, a body
 * that grows with the bytes, limits, unref past zero, headers sorted as
 * RabbitMQ sorts them). */
#include "cases.h"

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
    /* Every queued message pays for the header (MEMORY.md): 48 bytes and
     * the offset of its record in the store (STORE.md). */
    ck_assert_uint_le(sizeof(struct wr_msg), 56);
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

    /* This child dies on purpose: its "assertion failed" line would read
     * like a failure in make test's output. */
    CHECK_QUIET_STDERR();
    m->refcount = 0;  /* as if one unref too many had happened */
    wr_msg_unref(&m); /* SIGABRT */
}
END_TEST

/* RabbitMQ sorts the headers it rewrites (rabbit_misc:sort_field_table):
 * by key octet by octet, a prefix first; equal keys keep their order. */
START_TEST(headers_copy_sorted_like_rabbitmq)
{
    static const char *const keys[] = {"b", "a", "ab", "\xff", "a", "A"};
    static const char *const want_keys[] = {"A", "a", "a", "ab", "b", "\xff"};
    static const int64_t want_vals[] = {6, 2, 5, 3, 1, 4};
    uint8_t in[256], out[256], small[16];
    struct wr_tb b, o;
    struct wr_table_iter it;
    struct wr_bytes key;
    struct wr_value v;
    int64_t n;
    size_t i = 0;

    wr_tb_init(&b, in, sizeof(in));
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        wr_tb_add_int(&b, keys[k], WR_FT_I8, (int64_t)k + 1);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);

    wr_tb_init(&o, out, sizeof(out));
    wr_headers_copy_sorted(&o, wr_tb_table(&b));
    wr_tb_end(&o);
    ck_assert_int_eq(o.err, WR_OK);
    ck_assert_uint_eq(o.len, b.len); /* the same entries, byte for byte */
    wr_table_iter_init(&it, wr_tb_table(&o));
    while (wr_table_next(&it, &key, &v) == WR_OK) {
        ck_assert_uint_lt(i, 6);
        ck_assert(wr_bytes_eq_str(key, want_keys[i]));
        ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
        ck_assert_int_eq(n, want_vals[i]);
        i++;
    }
    ck_assert_uint_eq(i, 6);

    /* an empty table adds nothing; no room is b's sticky error */
    wr_tb_init(&o, out, sizeof(out));
    wr_headers_copy_sorted(&o, (struct wr_table){NULL, 0});
    ck_assert_uint_eq(o.len, 4);
    wr_tb_init(&o, small, sizeof(small));
    wr_headers_copy_sorted(&o, wr_tb_table(&b));
    ck_assert_int_eq(o.err, WR_ERR_NOSPACE);
}
END_TEST

TCase *
queues_message_tcase(void)
{
    TCase *tc = tcase_create("message");

    tcase_add_test(tc, msg_layout);
    tcase_add_test(tc, msg_build_with_decoded_props);
    tcase_add_test(tc, msg_one_allocation);
    tcase_add_test(tc, msg_defaults_and_errors);
    tcase_add_test(tc, msg_body_grows_with_bytes);
    tcase_add_test(tc, msg_body_append_limits);
    tcase_add_test(tc, headers_copy_sorted_like_rabbitmq);
    if (forking()) /* an abort needs its own process */
        tcase_add_test_raise_signal(tc, msg_unref_zero_aborts, SIGABRT);
    return tc;
}
