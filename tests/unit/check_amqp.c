/* SPDX-License-Identifier: MIT */
/* Unit tests of amqp/ without sockets: a wr_server with no listener, a
 * connection attached to one end of a bufferevent pair (as
 * tests/fuzz/fuzz_conn.c runs one), frames written into the other end and
 * every frame the broker writes back decoded with protocol/ and checked:
 * the handshake's state checks, channel open/close states, content
 * assembly (publish, header, body frames; a frame out of order), confirm
 * and tx exclusivity, delivery tags and the unacked ring (ack / nack /
 * reject, multiple, unknown tags), basic.qos prefetch accounting, and
 * the reply-code names. Suite "amqp". */
#include "../../broker/broker.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static struct wr_config cfg;
static struct wr_server srv;
static struct bufferevent *pair[2];
static size_t alloc_base;

/* the frame last read from the broker (rx), its payload copied */
static struct wr_frame rx;
static uint8_t rx_buf[WR_FRAME_MIN_SIZE * 4];
static struct wr_method rx_m;

static void
turn(void)
{
    for (int i = 0; i < 4; i++)
        event_base_loop(srv.base, EVLOOP_NONBLOCK);
}

static void
send_bytes(const void *p, size_t n)
{
    ck_assert_int_eq(bufferevent_write(pair[1], p, n), 0);
    turn();
}

static void
send_method(uint16_t ch, const struct wr_method *m)
{
    uint8_t buf[2048];
    size_t n;

    ck_assert_int_eq(wr_method_frame_encode(ch, m, buf, sizeof(buf), &n),
                     WR_OK);
    send_bytes(buf, n);
}

static void
send_id(uint16_t ch, uint32_t id)
{
    struct wr_method m = {.id = id};

    send_method(ch, &m);
}

static void
send_frame(uint8_t type, uint16_t ch, const void *p, uint32_t size)
{
    uint8_t buf[2048];
    size_t n;

    ck_assert_int_eq(wr_frame_encode(buf, sizeof(buf), type, ch, p, size, &n),
                     WR_OK);
    send_bytes(buf, n);
}

static void
send_header(uint16_t ch, uint64_t body_size)
{
    struct wr_props props = {0};
    uint8_t buf[256];
    size_t n;

    ck_assert_int_eq(
        wr_content_header_encode(60, body_size, &props, buf, sizeof(buf), &n),
        WR_OK);
    send_frame(WR_FRAME_HEADER, ch, buf, (uint32_t)n);
}

static void
send_publish(uint16_t ch, const char *exchange, const char *rkey)
{
    struct wr_method m = {.id = WR_BASIC_PUBLISH};

    m.u.basic_publish.exchange = wr_bytes_str(exchange);
    m.u.basic_publish.routing_key = wr_bytes_str(rkey);
    send_method(ch, &m);
}

/* A whole message: publish, header, one body frame. */
static void
publish(uint16_t ch, const char *rkey, const char *body)
{
    send_publish(ch, "", rkey);
    send_header(ch, strlen(body));
    send_frame(WR_FRAME_BODY, ch, body, (uint32_t)strlen(body));
}

static size_t
pending(void)
{
    return evbuffer_get_length(bufferevent_get_input(pair[1]));
}

/* Reads the next frame the broker wrote into rx (rx_m when a method). */
static void
recv_frame(void)
{
    struct evbuffer *in = bufferevent_get_input(pair[1]);
    size_t len = evbuffer_get_length(in), used;
    struct wr_frame f;

    ck_assert_msg(len > 0, "the broker sent nothing");
    ck_assert_int_eq(
        wr_frame_decode(evbuffer_pullup(in, -1), len, 0, &f, &used), WR_OK);
    ck_assert_uint_le(f.size, sizeof(rx_buf));
    memcpy(rx_buf, f.payload, f.size);
    evbuffer_drain(in, used);
    rx = f;
    rx.payload = rx_buf;
    memset(&rx_m, 0, sizeof(rx_m));
    if (f.type == WR_FRAME_METHOD)
        ck_assert_int_eq(wr_method_decode(rx_buf, rx.size, &rx_m), WR_OK);
}

/* The next frame is method id on channel ch. */
static const struct wr_method *
expect(uint16_t ch, uint32_t id)
{
    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_METHOD);
    ck_assert_msg(rx_m.id == id, "got %s, want %s", wr_method_name(rx_m.id),
                  wr_method_name(id));
    ck_assert_uint_eq(rx.channel, ch);
    return &rx_m;
}

/* The next frame is channel.close on ch (or connection.close when ch is
 * 0) with reply code and the failing method; returns its text (NUL
 * terminated, in a static buffer). */
static const char *
expect_close(uint16_t ch, uint16_t code, uint32_t method)
{
    static char text[256];
    const struct wr_method *m =
        expect(ch, ch ? WR_CHANNEL_CLOSE : WR_CONNECTION_CLOSE);
    const struct wr_channel_close *c = &m->u.channel_close;

    /* connection.close has the same fields in the same order */
    ck_assert_uint_eq(c->reply_code, code);
    ck_assert_uint_eq(WR_METHOD_ID(c->class_id, c->method_id), method);
    memcpy(text, c->reply_text.ptr, c->reply_text.len);
    text[c->reply_text.len] = '\0';
    ck_assert_msg(
        strncmp(text, wr_reply_name(code), strlen(wr_reply_name(code))) == 0,
        "text '%s' does not start with %s", text, wr_reply_name(code));
    return text;
}

static void
expect_nothing(void)
{
    ck_assert_uint_eq(pending(), 0);
}

static void
setup(void)
{
    /* guest may log in from loopback only */
    struct sockaddr_in peer = {.sin_family = AF_INET,
                               .sin_port = htons(40000),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

    alloc_base = wr_alloc_used();
    wr_config_defaults(&cfg);
    ck_assert_int_eq(wr_server_init(&srv, &cfg), WR_OK);
    ck_assert_int_eq(
        bufferevent_pair_new(srv.base, BEV_OPT_CLOSE_ON_FREE, pair), 0);
    wr_conn_attach(&srv, pair[0], (struct sockaddr *)&peer, false);
    bufferevent_enable(pair[1], EV_READ | EV_WRITE);
    turn();
}

static void
teardown(void)
{
    bufferevent_flush(pair[1], EV_WRITE, BEV_FINISHED);
    turn();
    bufferevent_free(pair[1]);
    turn();
    wr_server_cleanup(&srv);
    ck_assert_uint_eq(wr_alloc_used(), alloc_base);
}

static void
start(void)
{
    send_bytes("AMQP\0\0\x09\x01", 8);
    const struct wr_method *m = expect(0, WR_CONNECTION_START);
    ck_assert_uint_eq(m->u.connection_start.version_major, 0);
    ck_assert_uint_eq(m->u.connection_start.version_minor, 9);
}

static void
start_ok(void)
{
    struct wr_method m = {.id = WR_CONNECTION_START_OK};

    m.u.connection_start_ok.mechanism = wr_bytes_str("PLAIN");
    m.u.connection_start_ok.response =
        (struct wr_bytes){(const uint8_t *)"\0guest\0guest", 12};
    m.u.connection_start_ok.locale = wr_bytes_str("en_US");
    send_method(0, &m);
}

static void
tune_ok(void)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE_OK};

    m.u.connection_tune_ok.channel_max = 16;
    m.u.connection_tune_ok.frame_max = 131072;
    m.u.connection_tune_ok.heartbeat = 0;
    send_method(0, &m);
}

static void
open_vhost(void)
{
    struct wr_method m = {.id = WR_CONNECTION_OPEN};

    m.u.connection_open.virtual_host = wr_bytes_str("/");
    send_method(0, &m);
}

/* The whole handshake, then channel ch opened. */
static void
connect_open(uint16_t ch)
{
    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    tune_ok();
    open_vhost();
    expect(0, WR_CONNECTION_OPEN_OK);
    if (ch) {
        send_id(ch, WR_CHANNEL_OPEN);
        expect(ch, WR_CHANNEL_OPEN_OK);
    }
    expect_nothing();
}

static void
declare_queue(uint16_t ch, const char *name)
{
    struct wr_method m = {.id = WR_QUEUE_DECLARE};

    m.u.queue_declare.queue = wr_bytes_str(name);
    send_method(ch, &m);
    expect(ch, WR_QUEUE_DECLARE_OK);
}

static struct wr_queue *
queue(const char *name)
{
    struct wr_vhost *vh = wr_hmap_get(&srv.vhosts, "/", 1);

    ck_assert_ptr_nonnull(vh);
    return wr_vhost_queue(vh, wr_bytes_str(name));
}

/* basic.get: returns the delivery tag; the message's frames are read. */
static uint64_t
get(uint16_t ch, const char *q, const char *want_body)
{
    struct wr_method m = {.id = WR_BASIC_GET};
    uint64_t tag;

    m.u.basic_get.queue = wr_bytes_str(q);
    send_method(ch, &m);
    tag = expect(ch, WR_BASIC_GET_OK)->u.basic_get_ok.delivery_tag;
    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_HEADER);
    if (*want_body) {
        recv_frame();
        ck_assert_int_eq(rx.type, WR_FRAME_BODY);
        ck_assert_uint_eq(rx.size, strlen(want_body));
        ck_assert_int_eq(memcmp(rx.payload, want_body, rx.size), 0);
    }
    return tag;
}

static void
settle(uint16_t ch, uint32_t id, uint64_t tag, bool multiple, bool requeue)
{
    struct wr_method m = {.id = id};

    if (id == WR_BASIC_ACK) {
        m.u.basic_ack.delivery_tag = tag;
        m.u.basic_ack.multiple = multiple;
    } else if (id == WR_BASIC_NACK) {
        m.u.basic_nack.delivery_tag = tag;
        m.u.basic_nack.multiple = multiple;
        m.u.basic_nack.requeue = requeue;
    } else {
        m.u.basic_reject.delivery_tag = tag;
        m.u.basic_reject.requeue = requeue;
    }
    send_method(ch, &m);
}

static uint32_t
ready(const char *q)
{
    return (uint32_t)wr_queue_counts(queue(q))->ready;
}

static uint32_t
unacked(const char *q)
{
    return (uint32_t)wr_queue_counts(queue(q))->unacked;
}

/* ==== the reply-code table ============================================== */

START_TEST(reply_names)
{
    ck_assert_str_eq(wr_reply_name(200), "OK");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_FOUND), "NOT_FOUND");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_ACCESS_REFUSED), "ACCESS_REFUSED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_RESOURCE_LOCKED),
                     "RESOURCE_LOCKED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_PRECONDITION_FAILED),
                     "PRECONDITION_FAILED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_FRAME_ERROR), "FRAME_ERROR");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_COMMAND_INVALID),
                     "COMMAND_INVALID");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_CHANNEL_ERROR), "CHANNEL_ERROR");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_UNEXPECTED_FRAME),
                     "UNEXPECTED_FRAME");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_ALLOWED), "NOT_ALLOWED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_NOT_IMPLEMENTED),
                     "NOT_IMPLEMENTED");
    ck_assert_str_eq(wr_reply_name(WR_REPLY_INTERNAL_ERROR), "INTERNAL_ERROR");
    ck_assert_str_eq(wr_reply_name(999), "ERROR");
}
END_TEST

/* ==== the handshake ===================================================== */

START_TEST(handshake_opens)
{
    connect_open(0);
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
    expect_nothing();
}
END_TEST

START_TEST(handshake_bad_protocol_header)
{
    /* AMQP 0-8: the server answers with its own header and closes */
    send_bytes("AMQP\1\1\x08\x00", 8);
    ck_assert_uint_eq(pending(), 8);
    ck_assert_int_eq(memcmp(evbuffer_pullup(bufferevent_get_input(pair[1]), 8),
                            "AMQP\0\0\x09\x01", 8),
                     0);
}
END_TEST

START_TEST(handshake_method_out_of_order)
{
    start();
    /* connection.open where start-ok is due */
    open_vhost();
    expect_close(0, WR_REPLY_COMMAND_INVALID, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_tune_ok_skipped)
{
    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    open_vhost();
    expect_close(0, WR_REPLY_COMMAND_INVALID, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_channel_frame_early)
{
    start();
    send_id(1, WR_CHANNEL_OPEN);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

START_TEST(handshake_frame_max_too_small)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE_OK};

    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    m.u.connection_tune_ok.frame_max = 1024; /* below 4096 */
    send_method(0, &m);
    expect_close(0, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_TUNE_OK);
}
END_TEST

START_TEST(handshake_unknown_vhost)
{
    struct wr_method m = {.id = WR_CONNECTION_OPEN};

    start();
    start_ok();
    expect(0, WR_CONNECTION_TUNE);
    tune_ok();
    m.u.connection_open.virtual_host = wr_bytes_str("nowhere");
    send_method(0, &m);
    expect_close(0, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_OPEN);
}
END_TEST

START_TEST(handshake_close_then_close_ok)
{
    struct wr_method m = {.id = WR_CONNECTION_CLOSE};

    connect_open(1);
    m.u.connection_close.reply_code = 200;
    send_method(0, &m);
    expect(0, WR_CONNECTION_CLOSE_OK);
    expect_nothing();
}
END_TEST

/* ==== channel states ==================================================== */

START_TEST(chan_second_open)
{
    connect_open(1);
    send_id(1, WR_CHANNEL_OPEN);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_CHANNEL_OPEN);
}
END_TEST

START_TEST(chan_not_open)
{
    connect_open(1);
    send_id(2, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_BASIC_RECOVER);
}
END_TEST

START_TEST(chan_close_and_reopen)
{
    struct wr_method m = {.id = WR_CHANNEL_CLOSE};

    connect_open(1);
    m.u.channel_close.reply_code = 200;
    send_method(1, &m);
    expect(1, WR_CHANNEL_CLOSE_OK);
    /* the number is free again */
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
    expect_nothing();
}
END_TEST

/* After the broker closed a channel, everything but close / close-ok is
 * dropped; close-ok frees the number. */
START_TEST(chan_closing_discards)
{
    connect_open(1);
    send_id(1, WR_TX_COMMIT); /* not transactional: 406 */
    expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_TX_COMMIT);
    send_id(1, WR_TX_SELECT);
    publish(1, "q", "x");
    expect_nothing();
    send_id(1, WR_CHANNEL_CLOSE_OK);
    expect_nothing();
    send_id(1, WR_CHANNEL_OPEN);
    expect(1, WR_CHANNEL_OPEN_OK);
}
END_TEST

START_TEST(chan_method_on_channel_zero)
{
    connect_open(1);
    send_id(0, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_CHANNEL_ERROR, WR_BASIC_RECOVER);
}
END_TEST

/* ==== content assembly ================================================== */

START_TEST(content_whole_message)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 5);
    send_frame(WR_FRAME_BODY, 1, "he", 2);
    ck_assert_uint_eq(ready("q"), 0); /* not complete yet */
    send_frame(WR_FRAME_BODY, 1, "llo", 3);
    ck_assert_uint_eq(ready("q"), 1);
    expect_nothing();
    get(1, "q", "hello");
}
END_TEST

START_TEST(content_empty_body)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 0); /* complete without a body frame */
    ck_assert_uint_eq(ready("q"), 1);
    get(1, "q", "");
    expect_nothing();
}
END_TEST

START_TEST(content_method_instead_of_header)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_id(1, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_body_instead_of_header)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_frame(WR_FRAME_BODY, 1, "x", 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_method_instead_of_body)
{
    connect_open(1);
    send_publish(1, "", "q");
    send_header(1, 4);
    send_frame(WR_FRAME_BODY, 1, "ab", 2);
    send_id(1, WR_BASIC_RECOVER);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
}
END_TEST

START_TEST(content_header_twice)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 4);
    send_header(1, 4);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH);
    ck_assert_uint_eq(ready("q"), 0);
}
END_TEST

START_TEST(content_header_without_publish)
{
    connect_open(1);
    send_header(1, 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

START_TEST(content_body_too_long)
{
    connect_open(1);
    declare_queue(1, "q");
    send_publish(1, "", "q");
    send_header(1, 2);
    send_frame(WR_FRAME_BODY, 1, "abc", 3);
    expect_close(0, WR_REPLY_FRAME_ERROR, WR_BASIC_PUBLISH);
    ck_assert_uint_eq(ready("q"), 0);
}
END_TEST

/* Content on channel 0 after the handshake. */
START_TEST(content_on_channel_zero)
{
    connect_open(1);
    send_frame(WR_FRAME_BODY, 0, "x", 1);
    expect_close(0, WR_REPLY_UNEXPECTED_FRAME, 0);
}
END_TEST

/* ==== confirm and tx ==================================================== */

START_TEST(mode_confirm_then_tx)
{
    connect_open(1);
    send_id(1, WR_CONFIRM_SELECT);
    expect(1, WR_CONFIRM_SELECT_OK);
    send_id(1, WR_TX_SELECT);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_TX_SELECT),
        "PRECONDITION_FAILED - cannot switch from confirm to tx "
        "mode");
}
END_TEST

START_TEST(mode_tx_then_confirm)
{
    connect_open(1);
    send_id(1, WR_TX_SELECT);
    expect(1, WR_TX_SELECT_OK);
    send_id(1, WR_CONFIRM_SELECT);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_CONFIRM_SELECT),
        "PRECONDITION_FAILED - cannot switch from tx to confirm "
        "mode");
}
END_TEST

START_TEST(mode_confirm_tags)
{
    connect_open(1);
    declare_queue(1, "q");
    send_id(1, WR_CONFIRM_SELECT);
    expect(1, WR_CONFIRM_SELECT_OK);
    for (uint64_t i = 1; i <= 3; i++) {
        publish(1, i == 2 ? "nowhere" : "q", "m");
        const struct wr_method *m = expect(1, WR_BASIC_ACK);
        /* an unroutable message is confirmed too */
        ck_assert_uint_eq(m->u.basic_ack.delivery_tag, i);
        ck_assert(!m->u.basic_ack.multiple);
    }
    ck_assert_uint_eq(ready("q"), 2);
}
END_TEST

START_TEST(mode_tx_commit_and_rollback)
{
    connect_open(1);
    declare_queue(1, "q");
    send_id(1, WR_TX_SELECT);
    expect(1, WR_TX_SELECT_OK);
    publish(1, "q", "a");
    ck_assert_uint_eq(ready("q"), 0); /* held until commit */
    send_id(1, WR_TX_ROLLBACK);
    expect(1, WR_TX_ROLLBACK_OK);
    send_id(1, WR_TX_COMMIT);
    expect(1, WR_TX_COMMIT_OK);
    ck_assert_uint_eq(ready("q"), 0);
    publish(1, "q", "b");
    send_id(1, WR_TX_COMMIT);
    expect(1, WR_TX_COMMIT_OK);
    ck_assert_uint_eq(ready("q"), 1);
    get(1, "q", "b");
}
END_TEST

/* ==== delivery tags and the unacked ring ================================ */

/* n messages "m1".."mN" in q, fetched with basic.get: tags 1..n. */
static void
fill_and_get(int n)
{
    char body[8];

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 1; i <= n; i++) {
        snprintf(body, sizeof(body), "m%d", i);
        publish(1, "q", body);
    }
    for (int i = 1; i <= n; i++) {
        snprintf(body, sizeof(body), "m%d", i);
        ck_assert_uint_eq(get(1, "q", body), (uint64_t)i);
    }
    ck_assert_uint_eq(unacked("q"), (uint32_t)n);
    ck_assert_uint_eq(ready("q"), 0);
}

START_TEST(tags_ack_multiple)
{
    fill_and_get(4);
    settle(1, WR_BASIC_ACK, 3, true, false);
    ck_assert_uint_eq(unacked("q"), 1);
    settle(1, WR_BASIC_ACK, 4, false, false);
    ck_assert_uint_eq(unacked("q"), 0);
    expect_nothing();
    /* tag 2 went with the multiple ack */
    settle(1, WR_BASIC_ACK, 2, false, false);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_ACK),
        "PRECONDITION_FAILED - unknown delivery tag 2");
}
END_TEST

START_TEST(tags_ack_unknown)
{
    fill_and_get(2);
    settle(1, WR_BASIC_ACK, 9, false, false);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_ACK),
        "PRECONDITION_FAILED - unknown delivery tag 9");
    /* the channel's unacked messages go back to the queue */
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 2);
}
END_TEST

/* ack multiple with tag 0: everything outstanding. */
START_TEST(tags_ack_all)
{
    fill_and_get(3);
    settle(1, WR_BASIC_ACK, 0, true, false);
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 0);
    expect_nothing();
}
END_TEST

START_TEST(tags_nack_multiple_requeue)
{
    fill_and_get(3);
    settle(1, WR_BASIC_NACK, 2, true, true);
    ck_assert_uint_eq(unacked("q"), 1);
    ck_assert_uint_eq(ready("q"), 2);
    expect_nothing();
    /* back in order, redelivered, with fresh tags */
    const struct wr_method *m;
    struct wr_method g = {.id = WR_BASIC_GET};
    g.u.basic_get.queue = wr_bytes_str("q");
    send_method(1, &g);
    m = expect(1, WR_BASIC_GET_OK);
    ck_assert_uint_eq(m->u.basic_get_ok.delivery_tag, 4);
    ck_assert(m->u.basic_get_ok.redelivered);
    recv_frame();
    recv_frame();
    ck_assert_int_eq(memcmp(rx.payload, "m1", 2), 0);
    settle(1, WR_BASIC_NACK, 1, false, true);
    ck_assert_str_eq(
        expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_NACK),
        "PRECONDITION_FAILED - unknown delivery tag 1");
}
END_TEST

START_TEST(tags_reject_drops)
{
    fill_and_get(2);
    settle(1, WR_BASIC_REJECT, 1, false, false);
    ck_assert_uint_eq(unacked("q"), 1);
    ck_assert_uint_eq(ready("q"), 0);
    settle(1, WR_BASIC_REJECT, 2, false, true);
    ck_assert_uint_eq(unacked("q"), 0);
    ck_assert_uint_eq(ready("q"), 1);
    expect_nothing();
    settle(1, WR_BASIC_REJECT, 2, false, true);
    expect_close(1, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_REJECT);
}
END_TEST

/* The ring grows past its first size and keeps its tags. */
START_TEST(tags_ring_grows)
{
    char body[8];

    fill_and_get(40);
    for (int i = 1; i <= 40; i += 2)
        settle(1, WR_BASIC_ACK, (uint64_t)i, false, false);
    ck_assert_uint_eq(unacked("q"), 20);
    publish(1, "q", "m41");
    snprintf(body, sizeof(body), "m41");
    ck_assert_uint_eq(get(1, "q", body), 41);
    settle(1, WR_BASIC_ACK, 40, true, false);
    ck_assert_uint_eq(unacked("q"), 1);
    settle(1, WR_BASIC_ACK, 41, false, false);
    ck_assert_uint_eq(unacked("q"), 0);
    expect_nothing();
}
END_TEST

/* ==== basic.qos prefetch ================================================ */

static void
consume(uint16_t ch, const char *q, const char *tag)
{
    struct wr_method m = {.id = WR_BASIC_CONSUME};

    m.u.basic_consume.queue = wr_bytes_str(q);
    m.u.basic_consume.consumer_tag = wr_bytes_str(tag);
    send_method(ch, &m);
    expect(ch, WR_BASIC_CONSUME_OK);
}

/* Reads one basic.deliver with its header and body; returns its tag. */
static uint64_t
expect_deliver(uint16_t ch)
{
    uint64_t tag = expect(ch, WR_BASIC_DELIVER)->u.basic_deliver.delivery_tag;

    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_HEADER);
    recv_frame();
    ck_assert_int_eq(rx.type, WR_FRAME_BODY);
    return tag;
}

START_TEST(qos_prefetch_count)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 0; i < 5; i++)
        publish(1, "q", "x");
    m.u.basic_qos.prefetch_count = 2;
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    consume(1, "q", "c");
    ck_assert_uint_eq(expect_deliver(1), 1);
    ck_assert_uint_eq(expect_deliver(1), 2);
    expect_nothing();
    ck_assert_uint_eq(ready("q"), 3);
    settle(1, WR_BASIC_ACK, 1, false, false);
    ck_assert_uint_eq(expect_deliver(1), 3);
    expect_nothing();
    /* multiple frees two slots */
    settle(1, WR_BASIC_ACK, 3, true, false);
    ck_assert_uint_eq(expect_deliver(1), 4);
    ck_assert_uint_eq(expect_deliver(1), 5);
    expect_nothing();
    /* a requeued message takes the slot it frees */
    settle(1, WR_BASIC_NACK, 4, false, true);
    ck_assert_uint_eq(expect_deliver(1), 6);
    expect_nothing();
    ck_assert_uint_eq(unacked("q"), 2);
}
END_TEST

/* As in RabbitMQ, basic.qos with global=false sets the prefetch of the
 * consumers started after it; the one started before keeps its own. */
START_TEST(qos_applies_to_new_consumers)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    declare_queue(1, "q");
    for (int i = 0; i < 3; i++)
        publish(1, "q", "x");
    m.u.basic_qos.prefetch_count = 1;
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    consume(1, "q", "c1");
    ck_assert_uint_eq(expect_deliver(1), 1);
    expect_nothing();
    m.u.basic_qos.prefetch_count = 0; /* unlimited */
    send_method(1, &m);
    expect(1, WR_BASIC_QOS_OK);
    expect_nothing();
    consume(1, "q", "c2");
    ck_assert_uint_eq(expect_deliver(1), 2);
    ck_assert_uint_eq(expect_deliver(1), 3);
    expect_nothing();
    ck_assert_uint_eq(unacked("q"), 3);
}
END_TEST

START_TEST(qos_prefetch_size_refused)
{
    struct wr_method m = {.id = WR_BASIC_QOS};

    connect_open(1);
    m.u.basic_qos.prefetch_size = 1000;
    send_method(1, &m);
    expect_close(0, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_QOS);
}
END_TEST

static Suite *
amqp_suite(void)
{
    Suite *s = suite_create("amqp");
    TCase *tc;

    tc = tcase_create("reply");
    tcase_add_test(tc, reply_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, handshake_opens);
    tcase_add_test(tc, handshake_bad_protocol_header);
    tcase_add_test(tc, handshake_method_out_of_order);
    tcase_add_test(tc, handshake_tune_ok_skipped);
    tcase_add_test(tc, handshake_channel_frame_early);
    tcase_add_test(tc, handshake_frame_max_too_small);
    tcase_add_test(tc, handshake_unknown_vhost);
    tcase_add_test(tc, handshake_close_then_close_ok);
    suite_add_tcase(s, tc);

    tc = tcase_create("channel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, chan_second_open);
    tcase_add_test(tc, chan_not_open);
    tcase_add_test(tc, chan_close_and_reopen);
    tcase_add_test(tc, chan_closing_discards);
    tcase_add_test(tc, chan_method_on_channel_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("content");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, content_whole_message);
    tcase_add_test(tc, content_empty_body);
    tcase_add_test(tc, content_method_instead_of_header);
    tcase_add_test(tc, content_body_instead_of_header);
    tcase_add_test(tc, content_method_instead_of_body);
    tcase_add_test(tc, content_header_twice);
    tcase_add_test(tc, content_header_without_publish);
    tcase_add_test(tc, content_body_too_long);
    tcase_add_test(tc, content_on_channel_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("modes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mode_confirm_then_tx);
    tcase_add_test(tc, mode_tx_then_confirm);
    tcase_add_test(tc, mode_confirm_tags);
    tcase_add_test(tc, mode_tx_commit_and_rollback);
    suite_add_tcase(s, tc);

    tc = tcase_create("tags");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tags_ack_multiple);
    tcase_add_test(tc, tags_ack_unknown);
    tcase_add_test(tc, tags_ack_all);
    tcase_add_test(tc, tags_nack_multiple_requeue);
    tcase_add_test(tc, tags_reject_drops);
    tcase_add_test(tc, tags_ring_grows);
    suite_add_tcase(s, tc);

    tc = tcase_create("qos");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, qos_prefetch_count);
    tcase_add_test(tc, qos_applies_to_new_consumers);
    tcase_add_test(tc, qos_prefetch_size_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(amqp_suite());
    int failed;

    wr_log_level = -1; /* the errors provoked here are expected */
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
