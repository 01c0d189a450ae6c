/* SPDX-License-Identifier: MIT */
/* The vhost suite: routing. */
#include "cases.h"

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

TCase *
vhost_routing_tcase(void)
{
    TCase *tc = tcase_create("routing");

    tcase_add_test(tc, route_default_exchange);
    tcase_add_test(tc, route_direct_fanout_topic);
    tcase_add_test(tc, route_headers);
    tcase_add_test(tc, route_exchange_to_exchange);
    tcase_add_test(tc, route_exchange_cycle);
    tcase_add_test(tc, route_alternate_exchange);
    tcase_add_test(tc, route_cc_bcc);
    return tc;
}
