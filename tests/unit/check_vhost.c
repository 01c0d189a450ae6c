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
 * argument, clearing); expiry (x-message-ttl, x-expires) and the
 * max-queues limit. Suite "vhost". */
#include "../../broker/broker.h"

#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct wr_config cfg;
static struct wr_server srv;
static struct wr_vhost *vh;
static struct wr_route_set rs;
static size_t alloc_base;
static struct wr_op_err oe;

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

static struct wr_table
no_args(void)
{
    return (struct wr_table){NULL, 0};
}

static struct wr_exchange *
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

static int
qdecl_rc(const char *name, struct wr_table args, struct wr_queue **out)
{
    struct wr_queue_decl d = {.name = wr_bytes_str(name), .args = args};
    bool created = false;

    return wr_vhost_declare_queue(vh, &d, NULL, out, &created, &oe);
}

static struct wr_queue *
qdecl(const char *name, struct wr_table args)
{
    struct wr_queue *q = NULL;

    ck_assert_int_eq(qdecl_rc(name, args, &q), WR_OK);
    return q;
}

static void
bind_to(enum wr_dest_kind kind, const char *src, const char *dest,
        const char *key, struct wr_table args)
{
    ck_assert_int_eq(wr_vhost_bind(vh, kind, wr_bytes_str(src),
                                   wr_bytes_str(dest), wr_bytes_str(key), args,
                                   NULL, &oe),
                     WR_OK);
}

static void
qbind(const char *x, const char *q, const char *key)
{
    bind_to(WR_DEST_QUEUE, x, q, key, no_args());
}

/* Queue arguments: "x-dead-letter-exchange" etc. as long strings, the
 * others as signed 64-bit integers; a NULL key ends the list. */
static uint8_t args_buf[8][512];
static int args_next;

static struct wr_table
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
static struct wr_msg *
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
static const char *
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

static struct wr_exchange *
xget(const char *name)
{
    struct wr_exchange *x = wr_vhost_exchange(vh, wr_bytes_str(name));

    ck_assert_ptr_nonnull(x);
    return x;
}

static struct wr_queue *
qget(const char *name)
{
    return wr_vhost_queue(vh, wr_bytes_str(name));
}

/* Routes a message from exchange x with rkey and headers; returns the
 * queues it reached (see routed). */
static const char *
route_h(const char *x, const char *rkey, struct wr_table headers)
{
    struct wr_msg *m = mk_msg(x, rkey, headers, NULL);

    rs.count = 0;
    ck_assert_int_eq(wr_vhost_route_msg(vh, xget(x), m, &rs), WR_OK);
    wr_msg_unref(&m);
    return routed();
}

static const char *
route(const char *x, const char *rkey)
{
    return route_h(x, rkey, no_args());
}

/* Publishes into the queues it routes to, at time now. */
static void
publish_at(const char *x, const char *rkey, const char *expiration, int64_t now)
{
    struct wr_msg *m = mk_msg(x, rkey, no_args(), expiration);

    rs.count = 0;
    ck_assert_int_eq(wr_vhost_route_msg(vh, xget(x), m, &rs), WR_OK);
    wr_vhost_enqueue(vh, m, &rs, now);
    wr_msg_unref(&m);
}

static uint64_t
nready(const char *q)
{
    return wr_queue_counts(qget(q))->ready;
}

/* ==== routing ============================================================ */

START_TEST(route_default_exchange)
{
    qdecl("q1", no_args());
    qdecl("q2", no_args());
    ck_assert_str_eq(route("", "q1"), "q1");
    ck_assert_str_eq(route("", "q2"), "q2");
    ck_assert_str_eq(route("", "nope"), "");
    /* a binding to the default exchange is refused: 403 */
    ck_assert_int_eq(wr_vhost_bind(vh, WR_DEST_QUEUE, wr_bytes_str(""),
                                   wr_bytes_str("q1"), wr_bytes_str("x"),
                                   no_args(), NULL, &oe),
                     WR_ERR_INVALID);
    ck_assert_uint_eq(oe.code, WR_REPLY_ACCESS_REFUSED);
}
END_TEST

START_TEST(route_direct_fanout_topic)
{
    qdecl("a", no_args());
    qdecl("b", no_args());
    qdecl("c", no_args());
    qbind("amq.direct", "a", "k1");
    qbind("amq.direct", "b", "k1");
    qbind("amq.direct", "c", "k2");
    ck_assert_str_eq(route("amq.direct", "k1"), "a,b");
    ck_assert_str_eq(route("amq.direct", "k2"), "c");
    ck_assert_str_eq(route("amq.direct", "k3"), "");
    qbind("amq.fanout", "a", "ignored");
    qbind("amq.fanout", "c", "");
    ck_assert_str_eq(route("amq.fanout", "anything"), "a,c");
    qbind("amq.topic", "a", "stock.*.nyse");
    qbind("amq.topic", "b", "stock.#");
    qbind("amq.topic", "c", "#.eur");
    ck_assert_str_eq(route("amq.topic", "stock.ibm.nyse"), "a,b");
    ck_assert_str_eq(route("amq.topic", "stock"), "b");
    ck_assert_str_eq(route("amq.topic", "stock.x.y.eur"), "b,c");
    ck_assert_str_eq(route("amq.topic", "bond.eur"), "c");
    ck_assert_str_eq(route("amq.topic", "bond.usd"), "");
}
END_TEST

START_TEST(route_headers)
{
    qdecl("all", no_args());
    qdecl("any", no_args());
    bind_to(WR_DEST_QUEUE, "amq.headers", "all", "",
            args("x-match", "all", "a", "1", "b", "2", NULL));
    bind_to(WR_DEST_QUEUE, "amq.headers", "any", "",
            args("x-match", "any", "a", "1", "b", "2", NULL));
    ck_assert_str_eq(route_h("amq.headers", "", args("a", "1", "b", "2", NULL)),
                     "all,any");
    ck_assert_str_eq(route_h("amq.headers", "", args("a", "1", NULL)), "any");
    ck_assert_str_eq(route_h("amq.headers", "", args("a", "9", NULL)), "");
    ck_assert_str_eq(route("amq.headers", ""), "");
}
END_TEST

START_TEST(route_exchange_to_exchange)
{
    xdecl("up", "fanout", no_args());
    xdecl("mid", "direct", no_args());
    xdecl("down", "topic", no_args());
    qdecl("qm", no_args());
    qdecl("qd", no_args());
    bind_to(WR_DEST_EXCHANGE, "up", "mid", "", no_args());
    bind_to(WR_DEST_EXCHANGE, "mid", "down", "k.x", no_args());
    qbind("mid", "qm", "k.x");
    qbind("down", "qd", "k.*");
    ck_assert_str_eq(route("up", "k.x"), "qd,qm");
    ck_assert_str_eq(route("up", "k.y"), "");
    /* a queue reached twice is routed to once */
    qbind("up", "qd", "");
    ck_assert_str_eq(route("up", "k.x"), "qd,qm");
    /* a binding to a missing destination: 404 */
    ck_assert_int_eq(wr_vhost_bind(vh, WR_DEST_EXCHANGE, wr_bytes_str("up"),
                                   wr_bytes_str("nope"), wr_bytes_str(""),
                                   no_args(), NULL, &oe),
                     WR_ERR_NOT_FOUND);
    ck_assert_uint_eq(oe.code, WR_REPLY_NOT_FOUND);
}
END_TEST

START_TEST(route_exchange_cycle)
{
    xdecl("e1", "fanout", no_args());
    xdecl("e2", "fanout", no_args());
    qdecl("q1", no_args());
    qdecl("q2", no_args());
    bind_to(WR_DEST_EXCHANGE, "e1", "e2", "", no_args());
    bind_to(WR_DEST_EXCHANGE, "e2", "e1", "", no_args());
    qbind("e1", "q1", "");
    qbind("e2", "q2", "");
    ck_assert_str_eq(route("e1", "x"), "q1,q2");
    ck_assert_str_eq(route("e2", "x"), "q1,q2");
    /* an exchange bound to itself */
    bind_to(WR_DEST_EXCHANGE, "e1", "e1", "", no_args());
    ck_assert_str_eq(route("e1", "x"), "q1,q2");
}
END_TEST

START_TEST(route_alternate_exchange)
{
    xdecl("ae", "fanout", no_args());
    xdecl("main", "direct", args("alternate-exchange", "ae", NULL));
    qdecl("hit", no_args());
    qdecl("lost", no_args());
    qbind("main", "hit", "k");
    qbind("ae", "lost", "");
    ck_assert_str_eq(route("main", "k"), "hit");
    ck_assert_str_eq(route("main", "other"), "lost");
    /* an alternate exchange that does not exist: unroutable */
    xdecl("main2", "direct", args("alternate-exchange", "missing", NULL));
    ck_assert_str_eq(route("main2", "k"), "");
}
END_TEST

/* CC and BCC: more routing keys, routed as the routing key is. */
START_TEST(route_cc_bcc)
{
    uint8_t hbuf[256], bbuf[64];
    struct wr_tb h, bcc;
    struct wr_msg_spec sp = {0};
    struct wr_props p = {0};
    uint8_t props[512];
    size_t n;
    struct wr_msg *m;

    qdecl("a", no_args());
    qdecl("b", no_args());
    qdecl("c", no_args());
    qbind("amq.direct", "a", "ka");
    qbind("amq.direct", "b", "kb");
    qbind("amq.direct", "c", "kc");
    wr_tb_init(&h, hbuf, sizeof(hbuf));
    wr_tb_begin_array(&h, "CC");
    wr_tb_elem_str(&h, wr_bytes_str("kb"));
    wr_tb_end(&h);
    wr_tb_end(&h);
    ck_assert_str_eq(route_h("amq.direct", "ka", wr_tb_table(&h)), "a,b");
    /* the default exchange routes CC keys to queues by name */
    ck_assert_str_eq(route_h("", "c", wr_tb_table(&h)), "c");
    qdecl("kb", no_args());
    ck_assert_str_eq(route_h("", "c", wr_tb_table(&h)), "c,kb");

    /* BCC: kept apart from the headers (basic.publish strips it) */
    wr_tb_init(&bcc, bbuf, sizeof(bbuf));
    wr_tb_begin_array(&bcc, "BCC");
    wr_tb_elem_str(&bcc, wr_bytes_str("kc"));
    wr_tb_end(&bcc);
    wr_tb_end(&bcc);
    struct wr_value v;
    ck_assert_int_eq(wr_table_get(wr_tb_table(&bcc), "BCC", &v), WR_OK);
    p.flags = WR_PROP_HEADERS;
    p.headers = wr_tb_table(&h);
    ck_assert_int_eq(wr_props_encode(&p, props, sizeof(props), &n), WR_OK);
    sp.exchange = wr_bytes_str("amq.direct");
    sp.rkey = wr_bytes_str("ka");
    sp.props = props;
    sp.props_len = (uint32_t)n;
    sp.bcc = (struct wr_bytes){v.v.array.ptr, v.v.array.len};
    sp.body_size = 0;
    m = wr_msg_build(&sp);
    ck_assert_ptr_nonnull(m);
    rs.count = 0;
    ck_assert_int_eq(wr_vhost_route_msg(vh, xget("amq.direct"), m, &rs), WR_OK);
    wr_msg_unref(&m);
    ck_assert_str_eq(routed(), "a,b,c");
}
END_TEST

/* ==== dead-lettering ==================================================== */

/* The headers of the message at the head of q (borrowed: valid until the
 * queue changes). */
static struct wr_props head_props;

static struct wr_table
head_headers(const char *q)
{
    struct wr_qentry e;

    ck_assert_uint_eq(wr_queue_peek(qget(q), wr_now_ms(), &e, 1), 1);
    ck_assert_int_eq(wr_msg_props(e.msg, &head_props), WR_OK);
    ck_assert(head_props.flags & WR_PROP_HEADERS);
    return head_props.headers;
}

static struct wr_bytes
head_rkey(const char *q)
{
    struct wr_qentry e;

    ck_assert_uint_eq(wr_queue_peek(qget(q), wr_now_ms(), &e, 1), 1);
    return wr_msg_rkey(e.msg);
}

static void
ck_str_field(struct wr_table t, const char *key, const char *want)
{
    struct wr_value v;

    ck_assert_msg(wr_table_get(t, key, &v) == WR_OK, "no %s", key);
    ck_assert_int_eq(v.type, WR_FT_LONGSTR);
    ck_assert_msg(wr_bytes_eq(v.v.str, wr_bytes_str(want)),
                  "%s is '%.*s', want '%s'", key, (int)v.v.str.len, v.v.str.ptr,
                  want);
}

/* x-death entry i (0 = newest) of t. */
static struct wr_table
death(struct wr_table t, int i)
{
    struct wr_value xd, e;
    struct wr_array_iter it;

    ck_assert_int_eq(wr_table_get(t, "x-death", &xd), WR_OK);
    ck_assert_int_eq(xd.type, WR_FT_ARRAY);
    wr_array_iter_init(&it, xd.v.array);
    for (int k = 0; k <= i; k++)
        ck_assert_int_eq(wr_array_next(&it, &e), WR_OK);
    ck_assert_int_eq(e.type, WR_FT_TABLE);
    return e.v.table;
}

static size_t
ndeaths(struct wr_table t)
{
    struct wr_value xd, e;
    struct wr_array_iter it;
    size_t n = 0;

    ck_assert_int_eq(wr_table_get(t, "x-death", &xd), WR_OK);
    wr_array_iter_init(&it, xd.v.array);
    while (wr_array_next(&it, &e) == WR_OK)
        n++;
    return n;
}

static int64_t
count_of(struct wr_table entry)
{
    struct wr_value v;
    int64_t n = -1;

    ck_assert_int_eq(wr_table_get(entry, "count", &v), WR_OK);
    ck_assert_int_eq(wr_value_int(&v, &n), WR_OK);
    return n;
}

/* basic.get and reject (no requeue) of q's head, then the dead letters
 * routed. */
static void
reject_head(const char *q)
{
    struct wr_delivery d;
    int64_t now = wr_now_ms();

    ck_assert(wr_queue_get(qget(q), now, false, &d));
    wr_queue_settle(qget(q), d.id, d.handle, WR_SETTLE_REJECT, now);
    wr_vhost_drain_dead_letters(vh);
}

START_TEST(dlx_rejected_x_death)
{
    struct wr_table h, d;

    xdecl("dlx", "fanout", no_args());
    qdecl("src", args("x-dead-letter-exchange", "dlx", NULL));
    qdecl("dead", no_args());
    qbind("dlx", "dead", "");
    publish_at("", "src", NULL, wr_now_ms());
    ck_assert_uint_eq(nready("src"), 1);
    reject_head("src");
    ck_assert_uint_eq(nready("src"), 0);
    ck_assert_uint_eq(nready("dead"), 1);
    h = head_headers("dead");
    ck_str_field(h, "x-first-death-reason", "rejected");
    ck_str_field(h, "x-first-death-queue", "src");
    ck_str_field(h, "x-first-death-exchange", "");
    ck_assert_uint_eq(ndeaths(h), 1);
    d = death(h, 0);
    ck_assert_int_eq(count_of(d), 1);
    ck_str_field(d, "reason", "rejected");
    ck_str_field(d, "queue", "src");
    ck_str_field(d, "exchange", "");
    /* no dead-letter routing key: the original one */
    ck_assert(wr_bytes_eq(head_rkey("dead"), wr_bytes_str("src")));
}
END_TEST

/* A queue without a dead-letter exchange drops what it rejects. */
START_TEST(dlx_none_drops)
{
    qdecl("src", no_args());
    publish_at("", "src", NULL, wr_now_ms());
    reject_head("src");
    ck_assert_uint_eq(nready("src"), 0);
    ck_assert(wr_list_empty(&vh->dead_letters));
}
END_TEST

START_TEST(dlx_routing_key)
{
    struct wr_table h;

    qdecl("src", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                      "target", NULL));
    qdecl("target", no_args());
    publish_at("", "src", NULL, wr_now_ms());
    reject_head("src");
    ck_assert_uint_eq(nready("target"), 1);
    ck_assert(wr_bytes_eq(head_rkey("target"), wr_bytes_str("target")));
    h = head_headers("target");
    /* x-death keeps the routing key the message had */
    struct wr_value rk;
    ck_assert_int_eq(wr_table_get(death(h, 0), "routing-keys", &rk), WR_OK);
    ck_assert_int_eq(rk.type, WR_FT_ARRAY);
    struct wr_array_iter it;
    struct wr_value k;
    wr_array_iter_init(&it, rk.v.array);
    ck_assert_int_eq(wr_array_next(&it, &k), WR_OK);
    ck_assert(wr_bytes_eq(k.v.str, wr_bytes_str("src")));
    ck_assert_int_ne(wr_array_next(&it, &k), WR_OK);
}
END_TEST

/* Rejected back into the same queue: allowed (a client was involved), and
 * the matching x-death entry is counted, not repeated. */
START_TEST(dlx_reject_cycle_allowed_and_counted)
{
    struct wr_table h;

    qdecl("loop", args("x-dead-letter-exchange", "", NULL));
    publish_at("", "loop", NULL, wr_now_ms());
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    reject_head("loop");
    ck_assert_uint_eq(nready("loop"), 1);
    h = head_headers("loop");
    ck_assert_uint_eq(ndeaths(h), 1);
    ck_assert_int_eq(count_of(death(h, 0)), 3);
    ck_str_field(h, "x-first-death-reason", "rejected");
}
END_TEST

/* Expired into itself: a fully automatic cycle, dropped. */
START_TEST(dlx_automatic_cycle_dropped)
{
    int64_t now = wr_now_ms();

    qdecl("self",
          args("x-dead-letter-exchange", "", "x-message-ttl", "10", NULL));
    publish_at("", "self", NULL, now);
    ck_assert_uint_eq(nready("self"), 1);
    ck_assert_uint_eq(wr_queue_expire(qget("self"), now + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("self"), 0);
}
END_TEST

/* Two queues expiring into each other: the message goes a -> b, then the
 * way back into a is cut. */
START_TEST(dlx_two_queue_cycle)
{
    int64_t now = wr_now_ms();
    struct wr_table h;

    qdecl("a", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "b", "x-message-ttl", "10", NULL));
    qdecl("b", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "a", "x-message-ttl", "10", NULL));
    publish_at("", "a", NULL, now);
    ck_assert_uint_eq(wr_queue_expire(qget("a"), now + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("b"), 1);
    h = head_headers("b");
    ck_str_field(h, "x-first-death-reason", "expired");
    ck_str_field(death(h, 0), "reason", "expired");
    ck_str_field(death(h, 0), "queue", "a");
    ck_assert_uint_eq(wr_queue_expire(qget("b"), wr_now_ms() + 50), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("a"), 0);
    ck_assert_uint_eq(nready("b"), 0);
}
END_TEST

/* Expired, then rejected elsewhere: x-death grows, newest first, and the
 * original expiration is kept. */
START_TEST(dlx_history_and_original_expiration)
{
    int64_t now = wr_now_ms();
    struct wr_table h;

    qdecl("t", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "r", NULL));
    qdecl("r", args("x-dead-letter-exchange", "", "x-dead-letter-routing-key",
                    "end", NULL));
    qdecl("end", no_args());
    publish_at("", "t", "20", now);
    ck_assert_uint_eq(wr_queue_expire(qget("t"), now + 100), 1);
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("r"), 1);
    reject_head("r");
    ck_assert_uint_eq(nready("end"), 1);
    h = head_headers("end");
    ck_assert(!(head_props.flags & WR_PROP_EXPIRATION));
    ck_assert_uint_eq(ndeaths(h), 2);
    ck_str_field(death(h, 0), "queue", "r");
    ck_str_field(death(h, 0), "reason", "rejected");
    ck_str_field(death(h, 1), "queue", "t");
    ck_str_field(death(h, 1), "reason", "expired");
    ck_str_field(death(h, 1), "original-expiration", "20");
    /* x-first-death-* stay those of the first death */
    ck_str_field(h, "x-first-death-queue", "t");
    ck_str_field(h, "x-first-death-reason", "expired");
}
END_TEST

/* x-max-length with the default overflow drops the head: "maxlen". */
START_TEST(dlx_maxlen)
{
    qdecl("small", args("x-max-length", "1", "x-dead-letter-exchange", "",
                        "x-dead-letter-routing-key", "over", NULL));
    qdecl("over", no_args());
    publish_at("", "small", NULL, wr_now_ms());
    publish_at("", "small", NULL, wr_now_ms());
    wr_vhost_drain_dead_letters(vh);
    ck_assert_uint_eq(nready("small"), 1);
    ck_assert_uint_eq(nready("over"), 1);
    ck_str_field(head_headers("over"), "x-first-death-reason", "maxlen");
}
END_TEST

/* ==== policies =========================================================== */

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

/* ==== expiry and limits ================================================== */

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

static Suite *
vhost_suite(void)
{
    Suite *s = suite_create("vhost");
    TCase *tc;

    tc = tcase_create("routing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, route_default_exchange);
    tcase_add_test(tc, route_direct_fanout_topic);
    tcase_add_test(tc, route_headers);
    tcase_add_test(tc, route_exchange_to_exchange);
    tcase_add_test(tc, route_exchange_cycle);
    tcase_add_test(tc, route_alternate_exchange);
    tcase_add_test(tc, route_cc_bcc);
    suite_add_tcase(s, tc);

    tc = tcase_create("deadletter");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dlx_rejected_x_death);
    tcase_add_test(tc, dlx_none_drops);
    tcase_add_test(tc, dlx_routing_key);
    tcase_add_test(tc, dlx_reject_cycle_allowed_and_counted);
    tcase_add_test(tc, dlx_automatic_cycle_dropped);
    tcase_add_test(tc, dlx_two_queue_cycle);
    tcase_add_test(tc, dlx_history_and_original_expiration);
    tcase_add_test(tc, dlx_maxlen);
    suite_add_tcase(s, tc);

    tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, policy_pattern_and_priority);
    tcase_add_test(tc, policy_apply_to);
    tcase_add_test(tc, policy_operator_smaller_wins);
    tcase_add_test(tc, policy_argument_wins_for_dlx);
    tcase_add_test(tc, policy_parse_refusals);
    suite_add_tcase(s, tc);

    tc = tcase_create("expiry_limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, expiry_message_ttl);
    tcase_add_test(tc, expiry_ttl_zero);
    tcase_add_test(tc, limits_max_queues);
    suite_add_tcase(s, tc);
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
