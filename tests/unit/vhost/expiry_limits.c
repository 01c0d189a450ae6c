/* SPDX-License-Identifier: MIT */
/* The vhost suite: expiry and limits. */
#include "cases.h"

START_TEST(expiry_message_ttl)
{
    int64_t now = wr_now_ms();
    int64_t at = 0;

    qdecl("q", args("x-message-ttl", "100", NULL));
    publish_at("", "q", NULL, now);
    publish_at("", "q", "30", now); /* per-message: the smaller */
    ck_assert_uint_eq(nready("q"), 2);
    ck_assert(wr_queue_next_deadline(qget("q"), &at));
    ck_assert_int_eq(at, now + 30);
    ck_assert_uint_eq(wr_queue_expire(qget("q"), now + 29), 0);
    ck_assert_uint_eq(wr_queue_expire(qget("q"), now + 30), 1);
    ck_assert_uint_eq(nready("q"), 1);
    ck_assert_uint_eq(wr_queue_expire(qget("q"), now + 100), 1);
    ck_assert_uint_eq(nready("q"), 0);
    ck_assert(!wr_queue_next_deadline(qget("q"), &at));
}
END_TEST

/* TTL 0: handed to a consumer at once or expired at once. */
START_TEST(expiry_ttl_zero)
{
    qdecl("q", args("x-message-ttl", "0", NULL));
    publish_at("", "q", NULL, wr_now_ms());
    ck_assert_uint_eq(nready("q"), 0);
}
END_TEST

START_TEST(limits_max_queues)
{
    struct wr_queue *q = NULL;

    vh->max_queues = 2;
    qdecl("a", no_args());
    qdecl("b", no_args());
    ck_assert_int_eq(qdecl_rc("c", no_args(), &q), WR_ERR_INVALID);
    ck_assert_uint_eq(oe.code, WR_REPLY_PRECONDITION_FAILED);
    ck_assert_str_eq(oe.text, "cannot declare queue 'c': queue limit in vhost "
                              "'/' (2) is reached");
    ck_assert_ptr_null(qget("c"));
    /* redeclaring an existing one is still fine */
    ck_assert_int_eq(qdecl_rc("a", no_args(), &q), WR_OK);
    vh->max_queues = 0;
    ck_assert_int_eq(qdecl_rc("d", no_args(), &q), WR_ERR_INVALID);
    vh->max_queues = -1; /* unlimited */
    qdecl("d", no_args());
}
END_TEST

TCase *
vhost_expiry_limits_tcase(void)
{
    TCase *tc = tcase_create("expiry_limits");

    tcase_add_test(tc, expiry_message_ttl);
    tcase_add_test(tc, expiry_ttl_zero);
    tcase_add_test(tc, limits_max_queues);
    return tc;
}
