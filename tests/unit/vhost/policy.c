/* SPDX-License-Identifier: MIT */
/* The vhost suite: policies. */
#include "cases.h"

static struct wr_policy *
policy(const char *name, const char *json, bool op)
{
    json_error_t je;
    json_t *o = json_loads(json, 0, &je);
    struct wr_policy *p = NULL;
    char err[256];

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(wr_policy_parse(name, o, op, &p, err, sizeof(err)) == WR_OK,
                  "%s", err);
    json_decref(o);
    return p;
}

static void
set_policy(const char *name, const char *json)
{
    wr_vhost_set_policy(vh, false, policy(name, json, false));
}

static void
set_op_policy(const char *name, const char *json)
{
    wr_vhost_set_policy(vh, true, policy(name, json, true));
}

START_TEST(policy_pattern_and_priority)
{
    set_policy("low", "{\"pattern\": \"^q\", \"priority\": 1, "
                      "\"definition\": {\"max-length\": 10}}");
    set_policy("high", "{\"pattern\": \"^q1\", \"priority\": 5, "
                       "\"definition\": {\"max-length\": 20}}");
    qdecl("q1", no_args());
    qdecl("q2", no_args());
    qdecl("other", no_args());
    ck_assert(qget("q1")->eff.has_max_length);
    ck_assert_uint_eq(qget("q1")->eff.max_length, 20);
    ck_assert_uint_eq(qget("q2")->eff.max_length, 10);
    ck_assert(!qget("other")->eff.has_max_length);
    /* a tie on priority: the name that sorts first */
    set_policy("a-tie", "{\"pattern\": \"q2\", \"priority\": 1, "
                        "\"definition\": {\"max-length\": 7}}");
    ck_assert_uint_eq(qget("q2")->eff.max_length, 7);
    ck_assert_str_eq(
        wr_policy_name(wr_policy_match(&vh->policies, true, "q2", 2)), "a-tie");
}
END_TEST

START_TEST(policy_apply_to)
{
    xdecl("ae", "fanout", no_args());
    xdecl("xq", "direct", no_args());
    qdecl("xq", no_args());
    qdecl("lost", no_args());
    qbind("ae", "lost", "");
    set_policy("ex", "{\"pattern\": \"^xq$\", \"apply-to\": \"exchanges\", "
                     "\"definition\": {\"alternate-exchange\": \"ae\"}}");
    set_policy("qs", "{\"pattern\": \"^xq$\", \"apply-to\": \"queues\", "
                     "\"definition\": {\"max-length\": 3}}");
    ck_assert_str_eq(
        wr_policy_name(wr_policy_match(&vh->policies, false, "xq", 2)), "ex");
    ck_assert_str_eq(
        wr_policy_name(wr_policy_match(&vh->policies, true, "xq", 2)), "qs");
    /* the exchange got its alternate, the queue its length */
    ck_assert_str_eq(route("xq", "unbound"), "lost");
    ck_assert_uint_eq(qget("xq")->eff.max_length, 3);
    /* quorum_queues matches nothing here */
    set_policy("qq", "{\"pattern\": \".*\", \"apply-to\": \"quorum_queues\", "
                     "\"priority\": 99, \"definition\": {\"max-length\": 1}}");
    ck_assert_uint_eq(qget("xq")->eff.max_length, 3);
}
END_TEST

START_TEST(policy_operator_smaller_wins)
{
    set_policy("p", "{\"pattern\": \".*\", \"definition\": "
                    "{\"max-length\": 10, \"message-ttl\": 1000}}");
    set_op_policy("op", "{\"pattern\": \".*\", \"definition\": "
                        "{\"max-length\": 5, \"message-ttl\": 5000}}");
    qdecl("q", no_args());
    qdecl("argq", args("x-max-length", "3", "x-message-ttl", "99999", NULL));
    ck_assert_uint_eq(qget("q")->eff.max_length, 5);
    ck_assert_int_eq(qget("q")->eff.message_ttl, 1000);
    ck_assert_uint_eq(qget("argq")->eff.max_length, 3);
    ck_assert_int_eq(qget("argq")->eff.message_ttl, 1000);
    /* a smaller max-length trims the backlog at once */
    for (int i = 0; i < 5; i++)
        publish_at("", "q", NULL, wr_now_ms());
    ck_assert_uint_eq(nready("q"), 5);
    set_op_policy("op", "{\"pattern\": \".*\", \"definition\": "
                        "{\"max-length\": 2}}");
    ck_assert_uint_eq(nready("q"), 2);
    /* clearing restores: the policy's 10, then nothing */
    ck_assert(wr_vhost_clear_policy(vh, true, "op"));
    ck_assert_uint_eq(qget("q")->eff.max_length, 10);
    ck_assert(wr_vhost_clear_policy(vh, false, "p"));
    ck_assert(!qget("q")->eff.has_max_length);
    ck_assert(!qget("q")->eff.has_message_ttl);
    ck_assert_uint_eq(qget("argq")->eff.max_length, 3);
    ck_assert(!wr_vhost_clear_policy(vh, false, "p"));
}
END_TEST

START_TEST(policy_argument_wins_for_dlx)
{
    set_policy("p", "{\"pattern\": \".*\", \"definition\": "
                    "{\"dead-letter-exchange\": \"from-policy\", "
                    "\"dead-letter-routing-key\": \"prk\"}}");
    qdecl("plain", no_args());
    qdecl("argq", args("x-dead-letter-exchange", "from-arg", NULL));
    ck_assert(qget("plain")->eff.has_dlx);
    ck_assert(wr_bytes_eq(qget("plain")->eff.dlx, wr_bytes_str("from-policy")));
    ck_assert(wr_bytes_eq(qget("argq")->eff.dlx, wr_bytes_str("from-arg")));
    /* each key on its own: the routing key still comes from the policy */
    ck_assert(qget("argq")->eff.has_dlrk);
    ck_assert(wr_bytes_eq(qget("argq")->eff.dlrk, wr_bytes_str("prk")));
    ck_assert(wr_vhost_clear_policy(vh, false, "p"));
    ck_assert(!qget("plain")->eff.has_dlx);
    ck_assert(!qget("argq")->eff.has_dlrk);
    ck_assert(wr_bytes_eq(qget("argq")->eff.dlx, wr_bytes_str("from-arg")));
}
END_TEST

START_TEST(policy_parse_refusals)
{
    json_t *o;
    struct wr_policy *p = NULL;
    char err[256];

    o = json_loads("{\"pattern\": \"x\", \"definition\": {\"message-ttl\": "
                   "\"a\"}}",
                   0, NULL);
    ck_assert_int_eq(wr_policy_parse("p", o, false, &p, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_str_eq(err, "<<\"a\">> is not a valid message TTL");
    json_decref(o);
    /* operator policies take a few keys only */
    o = json_loads("{\"pattern\": \"x\", \"definition\": "
                   "{\"dead-letter-exchange\": \"d\"}}",
                   0, NULL);
    ck_assert_int_eq(wr_policy_parse("p", o, true, &p, err, sizeof(err)),
                     WR_ERR_INVALID);
    json_decref(o);
    o = json_loads("{\"definition\": {}}", 0, NULL);
    ck_assert_int_eq(wr_policy_parse("p", o, false, &p, err, sizeof(err)),
                     WR_ERR_INVALID);
    ck_assert_str_eq(err, "[{key_missing,pattern}]");
    json_decref(o);
}
END_TEST

TCase *
vhost_policy_tcase(void)
{
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, policy_pattern_and_priority);
    tcase_add_test(tc, policy_apply_to);
    tcase_add_test(tc, policy_operator_smaller_wins);
    tcase_add_test(tc, policy_argument_wins_for_dlx);
    tcase_add_test(tc, policy_parse_refusals);
    return tc;
}
