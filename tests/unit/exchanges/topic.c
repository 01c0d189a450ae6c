/* SPDX-License-Identifier: MIT */
/* Test case "topic" of the exchanges suite: topic matching from a table
 * of RabbitMQ's rules, routing, the shared trie and its cache. */
#include "cases.h"

/* ---- topic: the table --------------------------------------------------- */

/* RabbitMQ's rules (rabbit_exchange_type_topic, split_topic_key + the trie
 * walk): the empty key has no words, otherwise each '.' separates words
 * which may be empty; '*' is exactly one word, '#' zero or more; '*' and
 * '#' are wildcards only as whole words. */
static const struct topic_case {
    const char *pattern, *key;
    bool match;
} topic_cases[] = {
    {"#", "", true},
    {"#", "a", true},
    {"#", "a.b.c", true},
    {"#", ".", true},
    {"#", "a..b", true},
    {"#.#", "", true},
    {"#.#", "a.b", true},
    {"*", "", false}, /* "" is zero words */
    {"*", "a", true},
    {"*", "a.b", false},
    {"*", ".", false}, /* "." is two empty words */
    {"*.*", ".", true},
    {"*.*.*", "..", true},
    {"*.*.*", "a.b", false},
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {".", ".", true},
    {"..", "..", true},
    {"..", ".", false},
    {"a.#", "a", true},
    {"a.#", "a.b", true},
    {"a.#", "a.b.c", true},
    {"a.#", "a.", true},
    {"a.#", "b", false},
    {"a.#", "ab", false},
    {"#.a", "a", true},
    {"#.a", "b.a", true},
    {"#.a", "x.y.a", true},
    {"#.a", "a.b", false},
    {"a.*", "a", false},
    {"a.*", "a.b", true},
    {"a.*", "a.", true},
    {"a.*", "a.b.c", false},
    {"*.b", "a.b", true},
    {"*.a", ".a", true},
    {".a", "a", false},
    {"a.", "a", false},
    {"a.", "a.", true},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a.c", false},
    {"a.*.b", "a..b", true},
    {"a..b", "a..b", true},
    {"a.b", "a..b", false},
    {"a.#.c", "a.c", true},
    {"a.#.c", "a.b.b.c", true},
    {"a.#.c", "a.b.b.d", false},
    {"a.#.#.b", "a.b", true},
    {"#.*", "", false},
    {"#.*", "a", true},
    {"#.*", "a.b.c", true},
    {"*.#", "a", true},
    {"*.#", "", false},
    {"#.*.#", "", false},
    {"#.*.#", "a.b.c", true},
    {"*.#.*", "a", false},
    {"*.#.*", "a.b", true},
    {"#.b.#", "a.b.c", true},
    {"#.b.#", "b", true},
    {"#.b.#", "a.c", false},
    {"#.#.#.#.a", "a", true},
    {"#.a.#.a", "a.a", true},
    {"#.a.#.a", "a.x.y.a", true},
    {"#.a.#.a", "a", false},
    {"a.b.c", "a.b.c", true},
    {"a.b.c", "a.b", false},
    {"a.b", "a.b.c", false},
    {"A", "a", false},   /* case-sensitive */
    {"a*", "ab", false}, /* a wildcard only as a whole word */
    {"a*", "a*", true},
    {"a#", "a", false},
    {"#a", "#a", true},
    {"*", "*", true},
    {"#", "#", true},
    {"a", "*", false}, /* a '*' in the routing key is a plain word */
    {"a.#", "a.#", true},
    {"stock.*.nyse", "stock.usd.nyse", true},
    {"stock.*.nyse", "stock.nyse", false},
    {"*.orange.*", "quick.orange.rabbit", true},
    {"*.*.rabbit", "lazy.orange.elephant", false},
    {"lazy.#", "lazy.orange.male.rabbit", true},
    {"*.orange.*", "quick.orange.male.rabbit", false},
};

START_TEST(topic_match_table)
{
    for (size_t i = 0; i < WR_ARRAY_LEN(topic_cases); i++) {
        const struct topic_case *c = &topic_cases[i];
        bool got =
            wr_topic_match(wr_bytes_str(c->pattern), wr_bytes_str(c->key));

        ck_assert_msg(got == c->match, "wr_topic_match(\"%s\", \"%s\") = %d",
                      c->pattern, c->key, got);
    }
}
END_TEST

/* The same table through the trie of a topic exchange. */
START_TEST(topic_route_table)
{
    for (size_t i = 0; i < WR_ARRAY_LEN(topic_cases); i++) {
        const struct topic_case *c = &topic_cases[i];
        struct wr_exchange *x = mk_x("t", "topic");
        struct wr_queue *q = mk_q("q");
        size_t n;

        bind_q(x, q, c->pattern, no_args);
        n = route(x, c->key);
        ck_assert_msg(n == (c->match ? 1u : 0u),
                      "route pattern \"%s\" key \"%s\": %zu queues", c->pattern,
                      c->key, n);
        ck_assert_uint_eq(route(x, c->key), n); /* from the cache */
        free_q(q);
        wr_exchange_free(x);
    }
}
END_TEST

/* Every pattern of the table bound at once to one exchange, one queue each:
 * sharing trie nodes must not change any answer, nor must the cache, and
 * unbinding half must leave the others working. */
START_TEST(topic_shared_trie)
{
    enum { N = WR_ARRAY_LEN(topic_cases) };
    struct wr_exchange *x = mk_x("t", "topic");
    struct wr_queue *q[N];
    char name[16];

    for (size_t i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "q%zu", i);
        q[i] = mk_q(name);
        bind_q(x, q[i], topic_cases[i].pattern, no_args);
    }
    for (int pass = 0; pass < 3; pass++) {
        for (size_t k = 0; k < N; k++) {
            const char *key = topic_cases[k].key;

            route(x, key);
            assert_unique();
            for (size_t i = 0; i < N; i++) {
                bool want = (pass < 2 || i % 2 == 1) &&
                            wr_topic_match(wr_bytes_str(topic_cases[i].pattern),
                                           wr_bytes_str(key));
                ck_assert_msg(routed_to(q[i]) == want,
                              "pass %d pattern \"%s\" key \"%s\"", pass,
                              topic_cases[i].pattern, key);
            }
        }
        if (pass == 1) /* unbind the even ones: the cache must notice */
            for (size_t i = 0; i < N; i += 2)
                ck_assert_int_eq(
                    wr_exchange_unbind(x, WR_DEST_QUEUE, q[i],
                                       wr_bytes_str(topic_cases[i].pattern),
                                       no_args),
                    WR_OK);
    }
    for (size_t i = 0; i < N; i++)
        free_q(q[i]);
    ck_assert_uint_eq(x->binding_count, 0);
    wr_exchange_free(x);
}
END_TEST

START_TEST(topic_many_hashes_is_fast)
{
    struct wr_exchange *x = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q");
    char pat[256], key[256];

    /* "#.#.#...#.b" against "a.a.a...a": exponential for naive
     * backtracking, linear-ish here. */
    memset(pat, 0, sizeof(pat));
    memset(key, 0, sizeof(key));
    for (int i = 0; i < 60; i++)
        strcat(pat, "#.");
    strcat(pat, "b");
    for (int i = 0; i < 120; i++)
        strcat(key, i ? ".a" : "a");
    bind_q(x, q, pat, no_args);
    ck_assert_uint_eq(route(x, key), 0);
    ck_assert(!wr_topic_match(wr_bytes_str(pat), wr_bytes_str(key)));
    strcat(key, ".b");
    ck_assert_uint_eq(route(x, key), 1);
    ck_assert(wr_topic_match(wr_bytes_str(pat), wr_bytes_str(key)));
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

START_TEST(topic_cache_many_keys)
{
    struct wr_exchange *x = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q");
    char key[32];

    bind_q(x, q, "k.*", no_args);
    /* More distinct keys than the cache holds: it starts over, answers
     * stay right. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "k.%d", i);
        ck_assert_uint_eq(route(x, key), 1);
        snprintf(key, sizeof(key), "j.%d", i);
        ck_assert_uint_eq(route(x, key), 0);
    }
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

TCase *
exchanges_topic_tcase(void)
{
    TCase *tc = tcase_create("topic");

    tcase_add_test(tc, topic_match_table);
    tcase_add_test(tc, topic_route_table);
    tcase_add_test(tc, topic_shared_trie);
    tcase_add_test(tc, topic_many_hashes_is_fast);
    tcase_add_test(tc, topic_cache_many_keys);
    return tc;
}
