/* SPDX-License-Identifier: MIT */
/* The broker suite's shovels test case: shovel definitions (vhost/shovel.c)
 * parsed with RabbitMQ's defaults, and what they refuse. */
#include "cases.h"

static int
parse_shovel(const char *text, struct wr_shovel_def *d, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    int rc;

    ck_assert_ptr_nonnull(v);
    rc = wr_shovel_parse("s", v, d, why, cap);
    json_decref(v);
    return rc;
}

START_TEST(shovel_parse_defaults_and_uris)
{
    struct wr_shovel_def d;
    char why[512];

    ck_assert_int_eq(parse_shovel("{\"src-uri\": \"amqp://\", \"src-queue\": "
                                  "\"a\", \"dest-uri\": \"amqp:///v%2Fx\"}",
                                  &d, why, sizeof(why)),
                     WR_OK);
    ck_assert_str_eq(d.src_vhost, "/");
    ck_assert_str_eq(d.dest_vhost, "v/x");
    ck_assert_int_eq(d.ack_mode, WR_SHOVEL_ON_CONFIRM);
    ck_assert_int_eq(d.delete_after, -1);
    ck_assert(!d.queue_length);
    ck_assert_uint_eq(d.prefetch, 1000);
    ck_assert_ptr_null(d.dest_queue);
    ck_assert_int_eq(
        parse_shovel("{\"src-uri\": [\"amqp:///\"], \"src-exchange\": \"x\", "
                     "\"dest-uri\": \"amqp://\", \"ack-mode\": \"no-ack\", "
                     "\"src-delete-after\": \"queue-length\", "
                     "\"prefetch-count\": 7}",
                     &d, why, sizeof(why)),
        WR_OK);
    ck_assert_int_eq(d.ack_mode, WR_SHOVEL_NO_ACK);
    ck_assert(d.queue_length);
    ck_assert_uint_eq(d.prefetch, 7);
}
END_TEST

START_TEST(shovel_parse_refusals)
{
    static const char *const bad[] = {
        "[]",
        "{\"src-uri\": \"amqp://\", \"dest-uri\": \"amqp://\"}",
        "{\"src-uri\": \"amqp://h\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\"}",
        "{\"src-uri\": \"amqp:///%zz\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\"}",
        "{\"src-uri\": \"amqp:///%00\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\"}",
        "{\"src-uri\": \"amqp://\", \"src-queue\": 5, \"dest-uri\": "
        "\"amqp://\"}",
        "{\"src-uri\": \"amqp://\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\", \"prefetch-count\": 0}",
        "{\"src-uri\": \"amqp://\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\", \"src-delete-after\": -1}",
        "{\"src-uri\": \"amqp://\", \"src-queue\": \"a\", \"dest-uri\": "
        "\"amqp://\", \"add-forward-headers\": true}",
        "{\"src-uri\": [], \"src-queue\": \"a\", \"dest-uri\": \"amqp://\"}",
    };
    struct wr_shovel_def d;
    char why[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_error_t jerr;
        json_t *v = json_loads(bad[i], 0, &jerr);
        why[0] = '\0';
        ck_assert_int_eq(wr_shovel_parse("s", v, &d, why, sizeof(why)),
                         WR_ERR_INVALID);
        ck_assert_msg(why[0] != '\0', "no reason for %s", bad[i]);
        json_decref(v);
    }
}
END_TEST

TCase *
broker_shovels_tcase(void)
{
    TCase *tc = tcase_create("shovels");

    tcase_add_test(tc, shovel_parse_defaults_and_uris);
    tcase_add_test(tc, shovel_parse_refusals);
    return tc;
}
