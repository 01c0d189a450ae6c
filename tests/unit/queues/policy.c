/* SPDX-License-Identifier: MIT */
/* Test case "policy" of the queues suite: how declared arguments, a
 * policy and an operator policy resolve into a queue's effective settings
 * (wr_queue_args_merge, RabbitMQ's classic-queue rules), and what a queue
 * does when its effective settings change (wr_queue_set_effective). */
#include "cases.h"

static struct wr_bytes
str(const char *s)
{
    return wr_bytes_str(s);
}

/* message-ttl, expires, max-length, max-length-bytes, delivery-limit:
 * the smallest given wins, wherever it comes from. */
START_TEST(policy_merge_smaller_wins)
{
    struct wr_queue_args arg = {.has_max_length = true,
                                .max_length = 10,
                                .has_message_ttl = true,
                                .message_ttl = 500,
                                .expires = 9000};
    struct wr_queue_args pol = {.has_max_length = true,
                                .max_length = 5,
                                .has_message_ttl = true,
                                .message_ttl = 800,
                                .has_max_bytes = true,
                                .max_bytes = 100,
                                .expires = 4000,
                                .has_delivery_limit = true,
                                .delivery_limit = 3,
                                .has_consumer_timeout = true,
                                .consumer_timeout = 60000};
    struct wr_queue_args op = {.has_max_length = true,
                               .max_length = 7,
                               .has_max_bytes = true,
                               .max_bytes = 50,
                               .has_delivery_limit = true,
                               .delivery_limit = 9};
    struct wr_queue_args out;

    wr_queue_args_merge(&arg, &pol, &op, &out);
    ck_assert(out.has_max_length);
    ck_assert_uint_eq(out.max_length, 5);   /* policy < op < argument */
    ck_assert_int_eq(out.message_ttl, 500); /* argument < policy */
    ck_assert(out.has_max_bytes);
    ck_assert_uint_eq(out.max_bytes, 50); /* op < policy */
    ck_assert_int_eq(out.expires, 4000);  /* policy < argument */
    ck_assert_uint_eq(out.delivery_limit, 3);
    ck_assert(out.has_consumer_timeout); /* the policy's: the only one */
    ck_assert_uint_eq(out.consumer_timeout, 60000);
    arg.has_consumer_timeout = true;
    arg.consumer_timeout = 90000;
    wr_queue_args_merge(&arg, &pol, &op, &out);
    ck_assert_uint_eq(out.consumer_timeout, 60000); /* policy < argument */
    arg.consumer_timeout = 1000;
    wr_queue_args_merge(&arg, &pol, &op, &out);
    ck_assert_uint_eq(out.consumer_timeout, 1000); /* argument < policy */
    arg.has_consumer_timeout = false;

    /* a message TTL of 0 is a value, not "unset" */
    pol = (struct wr_queue_args){.has_message_ttl = true, .message_ttl = 0};
    wr_queue_args_merge(&arg, &pol, NULL, &out);
    ck_assert(out.has_message_ttl);
    ck_assert_int_eq(out.message_ttl, 0);

    /* nothing given anywhere: nothing set */
    memset(&arg, 0, sizeof(arg));
    wr_queue_args_merge(&arg, NULL, NULL, &out);
    ck_assert(!out.has_max_length && !out.has_message_ttl &&
              !out.has_max_bytes && !out.has_delivery_limit);
    ck_assert_int_eq(out.expires, 0);

    /* only an operator policy */
    op = (struct wr_queue_args){
        .has_max_length = true, .max_length = 2, .expires = 100};
    wr_queue_args_merge(&arg, NULL, &op, &out);
    ck_assert_uint_eq(out.max_length, 2);
    ck_assert_int_eq(out.expires, 100);
}
END_TEST

/* dead-letter-exchange, dead-letter-routing-key, overflow: the argument
 * when given, else the policy; each key on its own. */
START_TEST(policy_merge_argument_wins)
{
    struct wr_queue_args arg = {.has_dlx = true, .dlx = str("arg-dlx")};
    struct wr_queue_args pol = {.has_dlx = true,
                                .dlx = str("pol-dlx"),
                                .has_dlrk = true,
                                .dlrk = str("pol-rk"),
                                .has_overflow = true,
                                .overflow = WR_OVERFLOW_REJECT};
    struct wr_queue_args out;

    wr_queue_args_merge(&arg, &pol, NULL, &out);
    ck_assert(wr_bytes_eq_str(out.dlx, "arg-dlx"));
    ck_assert(out.has_dlrk && wr_bytes_eq_str(out.dlrk, "pol-rk"));
    ck_assert(out.has_overflow);
    ck_assert_int_eq(out.overflow, WR_OVERFLOW_REJECT);

    /* the empty name is a given dead-letter exchange (the default one) */
    arg = (struct wr_queue_args){.has_dlx = true,
                                 .dlx = str(""),
                                 .has_overflow = true,
                                 .overflow = WR_OVERFLOW_DROP_HEAD};
    wr_queue_args_merge(&arg, &pol, NULL, &out);
    ck_assert(out.has_dlx && out.dlx.len == 0);
    ck_assert_int_eq(out.overflow, WR_OVERFLOW_DROP_HEAD);

    /* no argument: the policy's */
    memset(&arg, 0, sizeof(arg));
    wr_queue_args_merge(&arg, &pol, NULL, &out);
    ck_assert(wr_bytes_eq_str(out.dlx, "pol-dlx"));
    ck_assert_int_eq(out.overflow, WR_OVERFLOW_REJECT);
}
END_TEST

/* Policies never change the queue kind or single active consumer. */
START_TEST(policy_merge_keeps_declared_kind)
{
    struct wr_queue_args arg = {.max_priority = 5, .single_active = true};
    struct wr_queue_args pol = {.max_priority = 9};
    struct wr_queue_args out;

    wr_queue_args_merge(&arg, &pol, &pol, &out);
    ck_assert_uint_eq(out.max_priority, 5);
    ck_assert(out.single_active);
}
END_TEST

/* x-overflow parsed: has_overflow tells an absent argument from an
 * explicit drop-head. */
START_TEST(policy_overflow_given)
{
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_queue_args a;

    ck_assert_int_eq(wr_queue_args_parse((struct wr_table){NULL, 0}, &a, NULL),
                     WR_OK);
    ck_assert(!a.has_overflow);
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-overflow", str("drop-head"));
    ck_assert_int_eq(wr_queue_args_parse(wr_tb_table(&b), &a, NULL), WR_OK);
    ck_assert(a.has_overflow);
    ck_assert_int_eq(a.overflow, WR_OVERFLOW_DROP_HEAD);
}
END_TEST

/* A smaller max-length trims the backlog at once (drop-head), dead
 * messages go through the hook; the declared args stay as declared. */
START_TEST(policy_set_effective_trims)
{
    struct wr_queue_args a = {0}, eff;
    struct wr_queue *q = mk_queue_args(&a);

    for (uint64_t i = 1; i <= 5; i++)
        push_ttl(q, i, -1, NULL, 0);
    eff = (struct wr_queue_args){.has_max_length = true, .max_length = 2};
    ck_assert_int_eq(wr_queue_set_effective(q, &eff), WR_OK);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    ck_assert_int_eq(ndead, 3);
    ck_assert_int_eq(dead_why[0], WR_DEAD_MAXLEN);
    ck_assert_uint_eq(tid(dead_msgs[0]), 1);
    ck_assert(!q->args.has_max_length);
    /* the limit holds for new messages too */
    push_ttl(q, 6, -1, NULL, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    pop_at(q, 0, 5);
    reset_dead();

    /* reject-publish: nothing dropped, new messages refused */
    eff.has_overflow = true;
    eff.overflow = WR_OVERFLOW_REJECT;
    eff.max_length = 0;
    ck_assert_int_eq(wr_queue_set_effective(q, &eff), WR_OK);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 1);
    ck_assert_int_eq(ndead, 0);
    {
        struct wr_msg *m = mk_msg(7, -1, "body");
        ck_assert_int_eq(wr_queue_enqueue(q, m, 0), WR_ERR_FULL);
        wr_msg_unref(&m);
    }
    /* cleared: back to no limit */
    memset(&eff, 0, sizeof(eff));
    ck_assert_int_eq(wr_queue_set_effective(q, &eff), WR_OK);
    push_ttl(q, 8, -1, NULL, 0);
    ck_assert_uint_eq(wr_queue_counts(q)->ready, 2);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

/* The effective dead-letter names are the queue's own copies; a TTL
 * change applies to messages pushed after it. */
START_TEST(policy_set_effective_copies_and_ttl)
{
    struct wr_queue_args a = {0}, eff;
    struct wr_queue *q = mk_queue_args(&a);
    char dlx[8] = "dlx-one", rk[4] = "rk1";

    push_ttl(q, 1, -1, NULL, 0);
    eff = (struct wr_queue_args){.has_dlx = true,
                                 .dlx = str(dlx),
                                 .has_dlrk = true,
                                 .dlrk = str(rk),
                                 .has_message_ttl = true,
                                 .message_ttl = 100};
    ck_assert_int_eq(wr_queue_set_effective(q, &eff), WR_OK);
    memset(dlx, 'x', sizeof(dlx) - 1);
    memset(rk, 'y', sizeof(rk) - 1);
    ck_assert(wr_bytes_eq_str(q->eff.dlx, "dlx-one"));
    ck_assert(wr_bytes_eq_str(q->eff.dlrk, "rk1"));
    /* setting it again from its own views is safe */
    eff = q->eff;
    ck_assert_int_eq(wr_queue_set_effective(q, &eff), WR_OK);
    ck_assert(wr_bytes_eq_str(q->eff.dlx, "dlx-one"));
    push_ttl(q, 2, -1, NULL, 10);
    ck_assert_uint_eq(wr_queue_expire(q, 200), 1); /* #2 only */
    ck_assert_int_eq(ndead, 1);
    ck_assert_uint_eq(tid(dead_msgs[0]), 2);
    pop_at(q, 200, 1);
    reset_dead();
    wr_queue_unref(&q);
}
END_TEST

TCase *
queues_policy_tcase(void)
{
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, policy_merge_smaller_wins);
    tcase_add_test(tc, policy_merge_argument_wins);
    tcase_add_test(tc, policy_merge_keeps_declared_kind);
    tcase_add_test(tc, policy_overflow_given);
    tcase_add_test(tc, policy_set_effective_trims);
    tcase_add_test(tc, policy_set_effective_copies_and_ttl);
    return tc;
}
