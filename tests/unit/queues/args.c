/* SPDX-License-Identifier: MIT */
/* Test case "args" of the queues suite: x-max-priority of every
 * integer type and its errors; wr_queue_new copies what it keeps. */
#include "cases.h"

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
    /* RabbitMQ's reasons (check_max_priority_arg), as a Java client's
     * exception shows them */
    ck_assert_str_eq(err.why, "{max_value_exceeded,256}");
    err.arg = NULL;
    bad[1] = int_arg(&b, buf, sizeof(buf), "x-max-priority", WR_FT_I8, -1);
    ck_assert_int_eq(wr_queue_args_parse(bad[1], &a, &err), WR_ERR_INVALID);
    ck_assert_ptr_nonnull(err.arg);
    ck_assert_str_eq(err.why, "{value_negative,-1}");
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
    ck_assert_str_eq(err.why, "\"expected integer, got longstr\"");
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

TCase *
queues_args_tcase(void)
{
    TCase *tc = tcase_create("args");

    tcase_add_test(tc, args_max_priority_types);
    tcase_add_test(tc, args_max_priority_errors);
    tcase_add_test(tc, queue_new_copies);
    return tc;
}
