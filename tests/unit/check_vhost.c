/* SPDX-License-Identifier: MIT */
/* Unit tests of vhost/ without sockets or the event loop: a wr_server
 * with its default vhost "/", exchanges, queues and bindings declared
 * through the registry's own operations (wr_vhost_declare_*, wr_vhost_bind)
 * and messages routed with wr_vhost_route_msg: direct, fanout, topic and
 * headers exchanges, exchange-to-exchange bindings and cycles, alternate
 * exchanges, CC / BCC (sender-selected distribution), the default
 * exchange; dead-lettering (x-death built and counted, x-first-death-*,
 * RabbitMQ's cycle detection, the dead-letter routing key); policy
 * resolution (pattern, priority, apply-to, operator policy vs policy vs
 * argument, clearing); expiry (x-message-ttl, a message's expiration,
 * TTL 0) and the max-queues limit. Suite "vhost"; its test cases are in
 * tests/unit/vhost/, one file each, and share the fixture and helpers
 * here. */
#include "vhost/cases.h"

static struct wr_config cfg;
struct wr_server srv;
struct wr_vhost *vh;
struct wr_route_set rs;
static size_t alloc_base;
struct wr_op_err oe;

static void
setup(void)
{
    alloc_base = wr_alloc_used();
    wr_config_defaults(&cfg);
    ck_assert_int_eq(wr_server_init(&srv, &cfg), WR_OK);
    vh = wr_hmap_get(&srv.vhosts, "/", 1);
    ck_assert_ptr_nonnull(vh);
    memset(&rs, 0, sizeof(rs));
    memset(&oe, 0, sizeof(oe));
}

static void
teardown(void)
{
    wr_route_set_cleanup(&rs);
    wr_server_cleanup(&srv);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

/* ---- declaring ---------------------------------------------------------- */

struct wr_table
no_args(void)
{
    return (struct wr_table){NULL, 0};
}

struct wr_exchange *
xdecl(const char *name, const char *type, struct wr_table args)
{
    struct wr_exchange_decl d = {
        .name = wr_bytes_str(name), .type = wr_bytes_str(type), .args = args};
    struct wr_exchange *x = NULL;
    bool created = false;

    ck_assert_int_eq(wr_vhost_declare_exchange(vh, &d, &x, &created, &oe),
                     WR_OK);
    ck_assert(created);
    return x;
}

int
qdecl_rc(const char *name, struct wr_table args, struct wr_queue **out)
{
    struct wr_queue_decl d = {.name = wr_bytes_str(name), .args = args};
    bool created = false;

    return wr_vhost_declare_queue(vh, &d, NULL, out, &created, &oe);
}

struct wr_queue *
qdecl(const char *name, struct wr_table args)
{
    struct wr_queue *q = NULL;

    ck_assert_int_eq(qdecl_rc(name, args, &q), WR_OK);
    return q;
}

void
bind_to(enum wr_dest_kind kind, const char *src, const char *dest,
        const char *key, struct wr_table args)
{
    ck_assert_int_eq(wr_vhost_bind(vh, kind, wr_bytes_str(src),
                                   wr_bytes_str(dest), wr_bytes_str(key), args,
                                   NULL, &oe),
                     WR_OK);
}

void
qbind(const char *x, const char *q, const char *key)
{
    bind_to(WR_DEST_QUEUE, x, q, key, no_args());
}

/* Queue arguments: "x-dead-letter-exchange" etc. as long strings, the
 * others as signed 64-bit integers; a NULL key ends the list. */
static uint8_t args_buf[8][512];
static int args_next;

struct wr_table
args(const char *k1, const char *v1, ...)
{
    struct wr_tb b;
    va_list ap;
    const char *k = k1, *v = v1;

    uint8_t *buf = args_buf[args_next++ % 8];
    wr_tb_init(&b, buf, sizeof(args_buf[0]));
    va_start(ap, v1);
    while (k != NULL) {
        if (strncmp(k, "x-dead-letter", 13) == 0 ||
            strcmp(k, "x-overflow") == 0 || strcmp(k, "x-match") == 0 ||
            strncmp(k, "x-", 2) != 0)
            wr_tb_add_str(&b, k, wr_bytes_str(v));
        else
            wr_tb_add_int(&b, k, WR_FT_I64, atoll(v));
        k = va_arg(ap, const char *);
        if (k != NULL)
            v = va_arg(ap, const char *);
    }
    va_end(ap);
    wr_tb_end(&b);
    ck_assert_int_eq(b.err, WR_OK);
    return wr_tb_table(&b);
}

/* ---- messages ----------------------------------------------------------- */

/* A message published to exchange with rkey; headers may be empty,
 * expiration NULL. */
struct wr_msg *
mk_msg(const char *exchange, const char *rkey, struct wr_table headers,
       const char *expiration)
{
    struct wr_props p = {0};
    uint8_t props[1024];
    size_t n;
    struct wr_msg *m;

    if (headers.len) {
        p.flags |= WR_PROP_HEADERS;
        p.headers = headers;
    }
    if (expiration) {
        p.flags |= WR_PROP_EXPIRATION;
        p.expiration = wr_bytes_str(expiration);
    }
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &n), WR_OK);
    m = wr_msg_new(wr_bytes_str(exchange), wr_bytes_str(rkey), props,
                   (uint32_t)n, 4);
    ck_assert_ptr_nonnull(m);
    memcpy(wr_msg_body(m), "body", 4);
    return m;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the queues in rs, sorted, comma-separated ("" for none). */
const char *
routed(void)
{
    static char out[512];
    const char *names[32];

    ck_assert_uint_le(rs.count, 32);
    for (size_t i = 0; i < rs.count; i++)
        names[i] = rs.queues[i]->name;
    qsort(names, rs.count, sizeof(names[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < rs.count; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, names[i]);
    }
    return out;
}

struct wr_exchange *
xget(const char *name)
{
    struct wr_exchange *x = wr_vhost_exchange(vh, wr_bytes_str(name));

    ck_assert_ptr_nonnull(x);
    return x;
}

struct wr_queue *
qget(const char *name)
{
    return wr_vhost_queue(vh, wr_bytes_str(name));
}

/* Routes a message from exchange x with rkey and headers; returns the
 * queues it reached (see routed). */
const char *
route_h(const char *x, const char *rkey, struct wr_table headers)
{
    struct wr_msg *m = mk_msg(x, rkey, headers, NULL);

    rs.count = 0;
    ck_assert_int_eq(wr_vhost_route_msg(vh, xget(x), m, &rs), WR_OK);
    wr_msg_unref(&m);
    return routed();
}

const char *
route(const char *x, const char *rkey)
{
    return route_h(x, rkey, no_args());
}

/* Publishes into the queues it routes to, at time now. */
void
publish_at(const char *x, const char *rkey, const char *expiration, int64_t now)
{
    struct wr_msg *m = mk_msg(x, rkey, no_args(), expiration);

    rs.count = 0;
    ck_assert_int_eq(wr_vhost_route_msg(vh, xget(x), m, &rs), WR_OK);
    wr_vhost_enqueue(vh, m, &rs, now);
    wr_msg_unref(&m);
}

uint64_t
nready(const char *q)
{
    return wr_queue_counts(qget(q))->ready;
}

/* The cases; those with fixture=true run on a fresh server each test. */
static const struct {
    TCase *(*make)(void);
    bool fixture;
} cases[] = {
    {vhost_routing_tcase, true},
    {vhost_deadletter_tcase, true},
    {vhost_policy_tcase, true},
    {vhost_expiry_limits_tcase, true},
};

static Suite *
vhost_suite(void)
{
    Suite *s = suite_create("vhost");

    for (size_t i = 0; i < WR_ARRAY_LEN(cases); i++) {
        TCase *tc = cases[i].make();

        if (cases[i].fixture)
            tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(vhost_suite());
    int failed;

    wr_log_level = -1;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
