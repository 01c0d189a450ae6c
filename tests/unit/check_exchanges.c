/* SPDX-License-Identifier: MIT */
/* Unit tests for exchanges/: topic matching (table-driven, RabbitMQ
 * semantics), direct, fanout, headers, exchange-to-exchange routing with
 * cycles, several routing keys (CC/BCC), alternate exchanges, bind dedup,
 * unbind, unbind_all with auto-delete. */
#include "../../exchanges/exchanges.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t alloc_base;
static struct wr_route_set rs;

static void
setup(void)
{
    alloc_base = wr_alloc_used();
    memset(&rs, 0, sizeof(rs));
}

static void
teardown(void)
{
    wr_alloc_fail_after(0);
    wr_route_set_cleanup(&rs);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

static const struct wr_table no_args = {NULL, 0};

static struct wr_exchange *
mk_x(const char *name, const char *type)
{
    const struct wr_exch_type *t = wr_exch_type_find(wr_bytes_str(type));
    struct wr_exchange *x;

    ck_assert_ptr_nonnull(t);
    x = wr_exchange_new(wr_bytes_str(name), t, no_args);
    ck_assert_ptr_nonnull(x);
    return x;
}

static struct wr_queue *
mk_q(const char *name)
{
    struct wr_queue_args a = {0};
    struct wr_queue *q = wr_queue_new(wr_bytes_str(name), &a, no_args);

    ck_assert_ptr_nonnull(q);
    return q;
}

static void
bind_q(struct wr_exchange *x, struct wr_queue *q, const char *key,
       struct wr_table args)
{
    const char *err = NULL;

    ck_assert_int_eq(
        wr_exchange_bind(x, WR_DEST_QUEUE, q, wr_bytes_str(key), args, &err),
        WR_OK);
    ck_assert_ptr_null(err);
}

static void
bind_x(struct wr_exchange *x, struct wr_exchange *dest, const char *key)
{
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_EXCHANGE, dest,
                                      wr_bytes_str(key), no_args, NULL),
                     WR_OK);
}

/* Routes key (and headers) from x into rs; returns the count. */
static size_t
route_h(struct wr_exchange *x, const char *key, struct wr_table headers)
{
    struct wr_route_req req = {.rkey = wr_bytes_str(key), .headers = headers};

    ck_assert_int_eq(wr_exchange_route(x, &req, &rs), WR_OK);
    return rs.count;
}

static size_t
route(struct wr_exchange *x, const char *key)
{
    return route_h(x, key, no_args);
}

static bool
routed_to(const struct wr_queue *q)
{
    for (size_t i = 0; i < rs.count; i++)
        if (rs.queues[i] == q)
            return true;
    return false;
}

/* Each queue of the last route at most once. */
static void
assert_unique(void)
{
    for (size_t i = 0; i < rs.count; i++)
        for (size_t j = i + 1; j < rs.count; j++)
            ck_assert_ptr_ne(rs.queues[i], rs.queues[j]);
}

static void
free_q(struct wr_queue *q)
{
    wr_queue_unbind_all(q, NULL, NULL);
    wr_queue_unref(&q);
}

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

/* ---- direct and fanout ------------------------------------------------- */

START_TEST(direct_routes_by_key)
{
    struct wr_exchange *x = mk_x("d", "direct");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2"), *q3 = mk_q("q3");
    struct wr_route_req empty = {.rkey = {NULL, 0}};

    bind_q(x, q1, "a", no_args);
    bind_q(x, q2, "a", no_args);
    bind_q(x, q3, "b", no_args);
    bind_q(x, q3, "", no_args);
    ck_assert_uint_eq(route(x, "a"), 2);
    ck_assert(routed_to(q1) && routed_to(q2));
    ck_assert_uint_eq(route(x, "b"), 1);
    ck_assert(routed_to(q3));
    ck_assert_uint_eq(route(x, "c"), 0);
    ck_assert_uint_eq(route(x, "A"), 0);
    ck_assert_uint_eq(route(x, ""), 1);
    ck_assert_int_eq(wr_exchange_route(x, &empty, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 1);
    ck_assert_int_eq(
        wr_exchange_unbind(x, WR_DEST_QUEUE, q1, WR_BYTES_LIT("a"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(x, "a"), 1);
    ck_assert(routed_to(q2));
    ck_assert_int_eq(
        wr_exchange_unbind(x, WR_DEST_QUEUE, q2, WR_BYTES_LIT("a"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(x, "a"), 0);
    free_q(q1);
    free_q(q2);
    free_q(q3);
    wr_exchange_free(x);
}
END_TEST

START_TEST(route_dedups_queue_hit_twice)
{
    struct wr_exchange *d = mk_x("d", "direct"), *f = mk_x("f", "fanout"),
                       *t = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");
    uint8_t buf[64];
    struct wr_tb b;

    /* Two bindings of one exchange hitting the same queue: once. */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "k", WR_BYTES_LIT("v"));
    wr_tb_end(&b);
    bind_q(d, q, "a", no_args);
    bind_q(d, q, "a", wr_tb_table(&b));
    ck_assert_uint_eq(d->binding_count, 2);
    ck_assert_uint_eq(route(d, "a"), 1);

    bind_q(f, q, "x", no_args);
    bind_q(f, q, "y", no_args);
    bind_q(f, q2, "", no_args);
    ck_assert_uint_eq(route(f, "anything"), 2);
    assert_unique();

    bind_q(t, q, "a.*", no_args);
    bind_q(t, q, "#", no_args);
    bind_q(t, q, "*.b", no_args);
    ck_assert_uint_eq(route(t, "a.b"), 1);
    ck_assert_ptr_eq(rs.queues[0], q);

    /* A deleted queue is never a target. */
    q->deleted = true;
    ck_assert_uint_eq(route(f, "z"), 1);
    ck_assert(routed_to(q2));
    q->deleted = false;

    free_q(q);
    free_q(q2);
    wr_exchange_free(d);
    wr_exchange_free(f);
    wr_exchange_free(t);
}
END_TEST

START_TEST(fanout_ignores_key)
{
    struct wr_exchange *x = mk_x("f", "fanout");
    struct wr_queue *q[5];
    char name[8];

    ck_assert_uint_eq(route(x, "k"), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "q%d", i);
        q[i] = mk_q(name);
        bind_q(x, q[i], i % 2 ? "odd" : "", no_args);
    }
    ck_assert_uint_eq(route(x, ""), 5);
    ck_assert_uint_eq(route(x, "whatever.key"), 5);
    for (int i = 0; i < 5; i++)
        ck_assert(routed_to(q[i]));
    free_q(q[2]);
    ck_assert_uint_eq(route(x, "k"), 4);
    for (int i = 0; i < 5; i++)
        if (i != 2)
            free_q(q[i]);
    ck_assert_uint_eq(route(x, "k"), 0);
    wr_exchange_free(x);
}
END_TEST

START_TEST(type_registry)
{
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("direct")),
                     &wr_exch_direct);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("fanout")),
                     &wr_exch_fanout);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("topic")), &wr_exch_topic);
    ck_assert_ptr_eq(wr_exch_type_find(WR_BYTES_LIT("headers")),
                     &wr_exch_headers);
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("x-consistent-hash")));
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("Direct")));
    ck_assert_ptr_null(wr_exch_type_find(WR_BYTES_LIT("")));
}
END_TEST

/* ---- headers ------------------------------------------------------------ */

/* Message headers used by the headers tests. */
static struct wr_table
msg_headers(struct wr_tb *b, uint8_t *buf, size_t cap)
{
    wr_tb_init(b, buf, cap);
    wr_tb_add_str(b, "format", WR_BYTES_LIT("pdf"));
    wr_tb_add_int(b, "type", WR_FT_I32, 42);        /* signed 32 */
    wr_tb_add_u64(b, "big", WR_FT_U64, 1000);       /* unsigned 64 */
    wr_tb_add_double(b, "ratio", 0.5);              /* double */
    wr_tb_add_bool(b, "urgent", true);              /* boolean */
    wr_tb_add_bytes(b, "blob", WR_BYTES_LIT("ab")); /* byte array */
    wr_tb_add_void(b, "nothing");                   /* void */
    wr_tb_add_str(b, "x-tenant", WR_BYTES_LIT("t1"));
    wr_tb_end(b);
    ck_assert_int_eq(b->err, WR_OK);
    return wr_tb_table(b);
}

enum hk { HSTR, HINT, HU64, HDBL, HBOOL, HBYTES, HVOID, HDEC };

struct hkv {
    const char *key;
    enum hk kind;
    const char *s;
    int64_t i;
    double d;
};

struct header_case {
    const char *name;
    const char *x_match; /* NULL: absent */
    struct hkv kv[4];
    bool match;
};

/* Binding argument makers for the table below. */
/* clang-format off */
#define S(k, v) {k, HSTR, v, 0, 0.0}
#define X(k, v) {k, HBYTES, v, 0, 0.0}
#define I(k, v) {k, HINT, NULL, v, 0.0}
#define U(k, v) {k, HU64, NULL, v, 0.0}
#define B(k, v) {k, HBOOL, NULL, v, 0.0}
#define DEC(k, v) {k, HDEC, NULL, v, 0.0}
#define D(k, v) {k, HDBL, NULL, 0, v}
#define V(k) {k, HVOID, NULL, 0, 0.0}
/* clang-format on */

static const struct header_case header_cases[] = {
    {"all one string", "all", {S("format", "pdf")}, true},
    {"all default (no x-match)", NULL, {S("format", "pdf")}, true},
    {"all wrong value", "all", {S("format", "zip")}, false},
    {"all two keys", "all", {S("format", "pdf"), I("type", 42)}, true},
    {"all one of two wrong", "all", {S("format", "pdf"), I("type", 43)}, false},
    {"all missing key", "all", {S("format", "pdf"), V("nope")}, false},
    {"any one of two", "any", {S("format", "zip"), I("type", 42)}, true},
    {"any none", "any", {S("format", "zip"), I("type", 1)}, false},
    {"all empty matches all", "all", {V(NULL)}, true},
    {"default empty matches all", NULL, {V(NULL)}, true},
    {"any empty matches nothing", "any", {V(NULL)}, false},
    /* void binding value: presence only */
    {"void present", "all", {V("format")}, true},
    {"void present (void header)", "all", {V("nothing")}, true},
    {"void absent", "all", {V("missing")}, false},
    {"void absent any", "any", {V("missing"), V("format")}, true},
    {"value vs void header", "all", {S("nothing", "")}, false},
    /* numbers compare by value across integer widths and floats */
    {"I 42 vs long 42", "all", {I("type", 42)}, true},
    {"u64 1000 vs int", "all", {I("big", 1000)}, true},
    {"int 42 vs u64", "all", {U("type", 42)}, true},
    {"int 42 vs u64 43", "all", {U("type", 43)}, false},
    {"int vs double 42.0", "all", {D("type", 42.0)}, true},
    {"int vs double 42.5", "all", {D("type", 42.5)}, false},
    {"double 0.5", "all", {D("ratio", 0.5)}, true},
    /* type mismatches */
    {"string 42 vs int 42", "all", {S("type", "42")}, false},
    {"int vs string", "all", {I("format", 1)}, false},
    {"bool true vs int 1", "all", {I("urgent", 1)}, false},
    {"bool true", "all", {B("urgent", 1)}, true},
    {"bool false", "all", {B("urgent", 0)}, false},
    {"bytes vs same longstr", "all", {S("blob", "ab")}, true},
    {"longstr vs same bytes", "all", {X("format", "pdf")}, true},
    {"decimal vs int", "all", {DEC("type", 42)}, false},
    /* x- keys: ignored by all/any, considered by the -with-x modes */
    {"all ignores x- key", "all", {S("x-tenant", "other")}, true},
    {"all ignores x- key, rest matches",
     "all",
     {S("x-tenant", "other"), S("format", "pdf")},
     true},
    {"any ignores x- key", "any", {S("x-tenant", "t1")}, false},
    {"all-with-x wrong x-", "all-with-x", {S("x-tenant", "other")}, false},
    {"all-with-x right x-",
     "all-with-x",
     {S("x-tenant", "t1"), S("format", "pdf")},
     true},
    {"any-with-x by x- key",
     "any-with-x",
     {S("x-tenant", "t1"), S("format", "zip")},
     true},
    {"any-with-x none",
     "any-with-x",
     {S("x-tenant", "t2"), S("format", "zip")},
     false},
    {"all-with-x empty", "all-with-x", {V(NULL)}, true},
    {"any-with-x empty", "any-with-x", {V(NULL)}, false},
};
#undef S
#undef X
#undef I
#undef B
#undef DEC
#undef D
#undef V
#undef U

static struct wr_table
binding_args(struct wr_tb *b, uint8_t *buf, size_t cap,
             const struct header_case *c)
{
    wr_tb_init(b, buf, cap);
    if (c->x_match)
        wr_tb_add_str(b, "x-match", wr_bytes_str(c->x_match));
    for (int i = 0; i < 4 && c->kv[i].key; i++) {
        const struct hkv *kv = &c->kv[i];

        switch (kv->kind) {
        case HSTR:
            wr_tb_add_str(b, kv->key, wr_bytes_str(kv->s));
            break;
        case HINT:
            wr_tb_add_int(b, kv->key, WR_FT_I64, kv->i);
            break;
        case HU64:
            wr_tb_add_u64(b, kv->key, WR_FT_U64, (uint64_t)kv->i);
            break;
        case HDBL:
            wr_tb_add_double(b, kv->key, kv->d);
            break;
        case HBOOL:
            wr_tb_add_bool(b, kv->key, kv->i != 0);
            break;
        case HBYTES:
            wr_tb_add_bytes(b, kv->key, wr_bytes_str(kv->s));
            break;
        case HVOID:
            wr_tb_add_void(b, kv->key);
            break;
        case HDEC:
            wr_tb_add_decimal(b, kv->key, 0, (uint32_t)kv->i);
            break;
        }
    }
    wr_tb_end(b);
    ck_assert_int_eq(b->err, WR_OK);
    return wr_tb_table(b);
}

START_TEST(headers_table)
{
    uint8_t hbuf[512], abuf[512];
    struct wr_tb hb, ab;
    struct wr_table headers = msg_headers(&hb, hbuf, sizeof(hbuf));

    for (size_t i = 0; i < WR_ARRAY_LEN(header_cases); i++) {
        const struct header_case *c = &header_cases[i];
        struct wr_exchange *x = mk_x("h", "headers");
        struct wr_queue *q = mk_q("q");
        size_t n;

        bind_q(x, q, "ignored", binding_args(&ab, abuf, sizeof(abuf), c));
        memset(abuf, 0, sizeof(abuf)); /* the binding has its own copy */
        n = route_h(x, "rk", headers);
        ck_assert_msg(n == (c->match ? 1u : 0u), "headers case \"%s\": %zu",
                      c->name, n);
        free_q(q);
        wr_exchange_free(x);
    }
}
END_TEST

START_TEST(headers_no_message_headers)
{
    struct wr_exchange *x = mk_x("h", "headers");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2"), *q3 = mk_q("q3");
    uint8_t buf[128];
    struct wr_tb b;

    bind_q(x, q1, "", no_args); /* all, nothing required */
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_void(&b, "k");
    wr_tb_end(&b);
    bind_q(x, q2, "", wr_tb_table(&b));
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-match", WR_BYTES_LIT("any"));
    wr_tb_add_void(&b, "k");
    wr_tb_end(&b);
    bind_q(x, q3, "", wr_tb_table(&b));
    ck_assert_uint_eq(route(x, ""), 1);
    ck_assert(routed_to(q1));
    free_q(q1);
    free_q(q2);
    free_q(q3);
    wr_exchange_free(x);
}
END_TEST

START_TEST(headers_bad_x_match)
{
    struct wr_exchange *x = mk_x("h", "headers");
    struct wr_queue *q = mk_q("q");
    uint8_t buf[128];
    struct wr_tb b;
    const char *err = NULL;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "x-match", WR_BYTES_LIT("some"));
    wr_tb_end(&b);
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT(""),
                                      wr_tb_table(&b), &err),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "x-match"));
    ck_assert_uint_eq(x->binding_count, 0);
    ck_assert(wr_list_empty(&q->bindings_in));

    err = NULL;
    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_bytes(&b, "x-match", WR_BYTES_LIT("all")); /* not a longstr */
    wr_tb_end(&b);
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT(""),
                                      wr_tb_table(&b), &err),
                     WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "longstr"));

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_int(&b, "x-match", WR_FT_I32, 1);
    wr_tb_end(&b);
    ck_assert_int_eq(wr_exchange_bind(x, WR_DEST_QUEUE, q, WR_BYTES_LIT(""),
                                      wr_tb_table(&b), NULL),
                     WR_ERR_INVALID);
    ck_assert_uint_eq(route(x, ""), 0);
    free_q(q);
    wr_exchange_free(x);
}
END_TEST

/* ---- exchange-to-exchange ---------------------------------------------- */

START_TEST(e2e_cycle_terminates)
{
    struct wr_exchange *a = mk_x("A", "fanout"), *b = mk_x("B", "topic");
    struct wr_queue *qa = mk_q("qa"), *qb = mk_q("qb"), *qab = mk_q("qab");

    bind_x(a, b, "#");
    bind_x(b, a, "#"); /* A -> B -> A */
    bind_x(a, a, "");  /* and a self-loop */
    bind_q(a, qa, "", no_args);
    bind_q(b, qb, "#", no_args);
    bind_q(a, qab, "", no_args);
    bind_q(b, qab, "k", no_args);
    ck_assert_uint_eq(route(a, "k"), 3);
    assert_unique();
    ck_assert(routed_to(qa) && routed_to(qb) && routed_to(qab));
    ck_assert_uint_eq(route(b, "k"), 3);
    assert_unique();
    ck_assert_uint_eq(route(b, "other"), 3); /* via A's fanout */
    /* Routing again reuses the result array. */
    ck_assert_uint_ge(rs.cap, 3);
    free_q(qa);
    free_q(qb);
    free_q(qab);
    ck_assert_uint_eq(route(a, "k"), 0);
    wr_exchange_free(a); /* drops B -> A and A -> B too */
    ck_assert_uint_eq(b->binding_count, 0);
    ck_assert(wr_list_empty(&b->bindings_in));
    wr_exchange_free(b);
}
END_TEST

START_TEST(e2e_chain_and_dedup)
{
    struct wr_exchange *d = mk_x("d", "direct"), *f = mk_x("f", "fanout"),
                       *t = mk_x("t", "topic");
    struct wr_queue *q = mk_q("q"), *q2 = mk_q("q2");

    /* d --k--> q and d --k--> f --> t --#--> q, q2: q once. */
    bind_q(d, q, "k", no_args);
    bind_x(d, f, "k");
    bind_x(f, t, "");
    bind_q(t, q, "#", no_args);
    bind_q(t, q2, "k", no_args);
    ck_assert_uint_eq(route(d, "k"), 2);
    assert_unique();
    ck_assert(routed_to(q) && routed_to(q2));
    ck_assert_uint_eq(route(d, "j"), 0);
    /* Unbinding an exchange destination. */
    ck_assert_int_eq(
        wr_exchange_unbind(d, WR_DEST_EXCHANGE, f, WR_BYTES_LIT("k"), no_args),
        WR_OK);
    ck_assert_uint_eq(route(d, "k"), 1);
    free_q(q);
    free_q(q2);
    wr_exchange_free(t); /* f's binding to t goes with it */
    ck_assert_uint_eq(f->binding_count, 0);
    wr_exchange_free(f);
    wr_exchange_free(d);
}
END_TEST

START_TEST(e2e_long_chain_and_wide_fan)
{
    enum { LEN = 5000, WIDE = 300 };
    struct wr_exchange **xs = wr_calloc(LEN, sizeof(*xs));
    struct wr_exchange *root = mk_x("root", "fanout");
    struct wr_queue *q = mk_q("end");
    char name[16];

    /* A chain far deeper than any recursion should go. */
    for (int i = 0; i < LEN; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        xs[i] = mk_x(name, i % 2 ? "fanout" : "topic");
        if (i > 0)
            bind_x(xs[i - 1], xs[i], "#");
    }
    bind_q(xs[LEN - 1], q, "#", no_args);
    ck_assert_uint_eq(route(xs[0], "a.b"), 1);
    /* And one exchange fanning out to many. */
    for (int i = 0; i < WIDE; i++)
        bind_x(root, xs[LEN - 1 - i], "");
    ck_assert_uint_eq(route(root, "a.b"), 1);
    free_q(q);
    for (int i = 0; i < LEN; i++)
        wr_exchange_free(xs[i]);
    ck_assert_uint_eq(root->binding_count, 0);
    wr_exchange_free(root);
    wr_free(xs);
}
END_TEST

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

/* ---- CC / BCC keys and alternate exchanges (issue 9) ------------------ */

START_TEST(route_more_keys)
{
    struct wr_exchange *d = mk_x("d", "direct"), *t = mk_x("t", "topic");
    struct wr_queue *q1 = mk_q("q1"), *q2 = mk_q("q2"), *q3 = mk_q("q3");
    struct wr_bytes more[] = {WR_BYTES_LIT("b"), WR_BYTES_LIT("a"),
                              WR_BYTES_LIT("zzz")};
    struct wr_route_req req = {
        .rkey = WR_BYTES_LIT("a"), .more_keys = more, .n_more = 3};

    bind_q(d, q1, "a", no_args);
    bind_q(d, q2, "b", no_args);
    bind_q(d, q3, "c", no_args);
    ck_assert_int_eq(wr_exchange_route(d, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 2); /* a twice: once */
    ck_assert(routed_to(q1) && routed_to(q2) && !routed_to(q3));
    /* through an exchange-to-exchange binding, every key again */
    bind_x(d, t, "zzz");
    bind_q(t, q3, "#", no_args);
    ck_assert_int_eq(wr_exchange_route(d, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 3);
    assert_unique();
    wr_exchange_free(d);
    wr_exchange_free(t);
    free_q(q1);
    free_q(q2);
    free_q(q3);
}
END_TEST

static struct wr_exchange *lookup_pool[4];
static int lookups;

static struct wr_exchange *
lookup(void *ctx, struct wr_bytes name)
{
    (void)ctx;
    lookups++;
    for (int i = 0; i < 4; i++)
        if (lookup_pool[i] && wr_bytes_eq_str(name, lookup_pool[i]->name))
            return lookup_pool[i];
    return NULL;
}

static struct wr_exchange *
mk_x_ae(const char *name, const char *type, const char *ae)
{
    uint8_t buf[128];
    struct wr_tb b;
    struct wr_exchange *x;

    wr_tb_init(&b, buf, sizeof(buf));
    wr_tb_add_str(&b, "alternate-exchange", wr_bytes_str(ae));
    wr_tb_end(&b);
    x = wr_exchange_new(wr_bytes_str(name),
                        wr_exch_type_find(wr_bytes_str(type)), wr_tb_table(&b));
    ck_assert_ptr_nonnull(x);
    memset(buf, 0, sizeof(buf)); /* the exchange kept its own copy */
    ck_assert(x->has_alternate);
    ck_assert(wr_bytes_eq_str(x->alternate, ae));
    return x;
}

START_TEST(route_alternate_exchanges)
{
    /* a --AE--> b --AE--> c; c --AE--> a closes a cycle */
    struct wr_exchange *a = mk_x_ae("a", "direct", "b");
    struct wr_exchange *b = mk_x_ae("b", "topic", "c");
    struct wr_exchange *c = mk_x_ae("c", "direct", "a");
    struct wr_queue *qa = mk_q("qa"), *qb = mk_q("qb"), *qc = mk_q("qc");
    struct wr_route_req req = {.rkey = WR_BYTES_LIT("k"), .lookup = lookup};

    lookup_pool[0] = a;
    lookup_pool[1] = b;
    lookup_pool[2] = c;
    bind_q(a, qa, "k", no_args);
    bind_q(b, qb, "x.*", no_args);
    bind_q(c, qc, "other", no_args);
    /* routable: no alternate consulted */
    lookups = 0;
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qa));
    ck_assert_int_eq(lookups, 0);
    /* a misses, b matches */
    req.rkey = WR_BYTES_LIT("x.y");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qb));
    /* down the chain to c */
    req.rkey = WR_BYTES_LIT("other");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert(rs.count == 1 && routed_to(qc));
    /* nothing anywhere: the cycle a -> b -> c -> a ends */
    req.rkey = WR_BYTES_LIT("none");
    lookups = 0;
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    ck_assert_int_eq(lookups, 3);
    /* no lookup: no alternates */
    req.lookup = NULL;
    req.rkey = WR_BYTES_LIT("x.y");
    ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
    ck_assert_uint_eq(rs.count, 0);
    /* a CC key that matches counts: no alternate */
    {
        struct wr_bytes more[] = {WR_BYTES_LIT("k")};
        req.lookup = lookup;
        req.rkey = WR_BYTES_LIT("x.y");
        req.more_keys = more;
        req.n_more = 1;
        ck_assert_int_eq(wr_exchange_route(a, &req, &rs), WR_OK);
        ck_assert(rs.count == 1 && routed_to(qa));
    }
    memset(lookup_pool, 0, sizeof(lookup_pool));
    wr_exchange_free(a);
    wr_exchange_free(b);
    wr_exchange_free(c);
    free_q(qa);
    free_q(qb);
    free_q(qc);
}
END_TEST

static Suite *
exchanges_suite(void)
{
    Suite *s = suite_create("exchanges");
    TCase *tc;

    tc = tcase_create("topic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, topic_match_table);
    tcase_add_test(tc, topic_route_table);
    tcase_add_test(tc, topic_shared_trie);
    tcase_add_test(tc, topic_many_hashes_is_fast);
    tcase_add_test(tc, topic_cache_many_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("direct_fanout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, direct_routes_by_key);
    tcase_add_test(tc, route_dedups_queue_hit_twice);
    tcase_add_test(tc, fanout_ignores_key);
    tcase_add_test(tc, type_registry);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, headers_table);
    tcase_add_test(tc, headers_no_message_headers);
    tcase_add_test(tc, headers_bad_x_match);
    suite_add_tcase(s, tc);

    tc = tcase_create("e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, e2e_cycle_terminates);
    tcase_add_test(tc, e2e_chain_and_dedup);
    tcase_add_test(tc, e2e_long_chain_and_wide_fan);
    suite_add_tcase(s, tc);

    tc = tcase_create("cc_and_alternates");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, route_more_keys);
    tcase_add_test(tc, route_alternate_exchanges);
    suite_add_tcase(s, tc);

    tc = tcase_create("bindings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bind_dedup);
    tcase_add_test(tc, unbind_and_rebind);
    tcase_add_test(tc, bind_key_too_long);
    tcase_add_test(tc, unbind_all_auto_delete);
    tcase_add_test(tc, unbind_all_many_sources);
    tcase_add_test(tc, exchange_free_both_sides);
    tcase_add_test(tc, bind_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(exchanges_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
