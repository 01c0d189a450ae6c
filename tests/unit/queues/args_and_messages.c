/* SPDX-License-Identifier: MIT */
/* Test case "args_and_messages" of the queues suite: the issue 9 queue
 * arguments, expiration parsing, and BCC with a shared body. */
#include "cases.h"

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
        {"x-consumer-timeout", WR_FT_I32, -1, NULL, "{value_negative,-1}"},
        {"x-consumer-timeout", WR_FT_I64, INT64_C(4294967296), NULL,
         "{value_too_large,4294967296}"},
        {"x-consumer-timeout", WR_FT_LONGSTR, 0, "60000",
         "\"expected integer, got longstr\""},
        {"x-consumer-timeout", WR_FT_I32, 60000, NULL, NULL},
        {"x-queue-type", WR_FT_LONGSTR, 0, "classic", NULL},
        {"x-queue-type", WR_FT_LONGSTR, 0, "quorum",
         "queue type 'quorum' is not supported by warren yet; declare a "
         "classic queue"},
        {"x-queue-type", WR_FT_LONGSTR, 0, "stream", NULL},
        {"x-max-age", WR_FT_LONGSTR, 0, "7D", NULL},
        {"x-max-age", WR_FT_LONGSTR, 0, "10", "invalid_max_age"},
        {"x-max-age", WR_FT_LONGSTR, 0, "0s", "invalid_max_age"},
        {"x-max-age", WR_FT_LONGSTR, 0, "3x", "invalid_max_age"},
        {"x-max-age", WR_FT_I32, 10, NULL, "{unacceptable_type,signedint}"},
        {"x-stream-max-segment-size-bytes", WR_FT_I32, -1, NULL,
         "{value_negative,-1}"},
        {"x-queue-leader-locator", WR_FT_LONGSTR, 0, "balanced", NULL},
        {"x-queue-leader-locator", WR_FT_LONGSTR, 0, "random",
         "invalid_queue_locator_arg"},
        {"x-queue-type", WR_FT_LONGSTR, 0, "lazy",
         "\"unsupported queue type 'lazy'\""},
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
    wr_tb_add_int(&b, "x-consumer-timeout", WR_FT_I32, 60000);
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
    ck_assert(a.has_consumer_timeout && a.consumer_timeout == 60000);
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

TCase *
queues_args_and_messages_tcase(void)
{
    TCase *tc = tcase_create("args_and_messages");

    tcase_add_test(tc, args_issue9);
    tcase_add_test(tc, expiration_parse);
    tcase_add_test(tc, msg_bcc_and_shared_body);
    return tc;
}
