/* SPDX-License-Identifier: MIT */
/* Test case "headers" of the exchanges suite: x-match all / any over
 * every field type. */
#include "cases.h"

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

TCase *
exchanges_headers_tcase(void)
{
    TCase *tc = tcase_create("headers");

    tcase_add_test(tc, headers_table);
    tcase_add_test(tc, headers_no_message_headers);
    tcase_add_test(tc, headers_bad_x_match);
    return tc;
}
