/* SPDX-License-Identifier: MIT */
/* Unit tests of amqp/ without sockets: a wr_server with no listener, a
 * connection attached to one end of a bufferevent pair (as
 * tests/fuzz/fuzz_conn.c runs one), frames written into the other end and
 * every frame the broker writes back decoded with protocol/ and checked:
 * the handshake's state checks, channel open/close states, content
 * assembly (publish, header, body frames; a frame out of order), confirm
 * and tx exclusivity, delivery tags and the unacked ring (ack / nack /
 * reject, multiple, unknown tags), basic.qos prefetch accounting, and
 * the reply-code names. Suite "amqp"; its test cases are in tests/unit/amqp/,
 * one file each, and share the fixture and helpers here. */
#include "amqp/cases.h"

static struct wr_config cfg;
struct wr_server srv;
struct bufferevent *pair[2];
static size_t alloc_base;

/* the frame last read from the broker (rx), its payload copied */
struct wr_frame rx;
uint8_t rx_buf[WR_FRAME_MIN_SIZE * 4];
struct wr_method rx_m;

void
turn(void)
{
    for (int i = 0; i < 4; i++)
        event_base_loop(srv.base, EVLOOP_NONBLOCK);
}

void
send_bytes(const void *p, size_t n)
{
    ck_assert_int_eq(bufferevent_write(pair[1], p, n), 0);
    turn();
}

void
send_method(uint16_t ch, const struct wr_method *m)
{
    uint8_t buf[2048];
    size_t n;

    ck_assert_int_eq(wr_method_frame_encode(ch, m, buf, sizeof(buf), &n),
                     WR_OK);
    send_bytes(buf, n);
}

void
send_id(uint16_t ch, uint32_t id)
{
    struct wr_method m = {.id = id};

    send_method(ch, &m);
}

void
send_frame(uint8_t type, uint16_t ch, const void *p, uint32_t size)
{
    uint8_t buf[2048];
    size_t n;

    ck_assert_int_eq(wr_frame_encode(buf, sizeof(buf), type, ch, p, size, &n),
                     WR_OK);
    send_bytes(buf, n);
}

void
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

void
send_publish(uint16_t ch, const char *exchange, const char *rkey)
{
    struct wr_method m = {.id = WR_BASIC_PUBLISH};

    m.u.basic_publish.exchange = wr_bytes_str(exchange);
    m.u.basic_publish.routing_key = wr_bytes_str(rkey);
    send_method(ch, &m);
}

/* A whole message: publish, header, one body frame. */
void
publish(uint16_t ch, const char *rkey, const char *body)
{
    send_publish(ch, "", rkey);
    send_header(ch, strlen(body));
    send_frame(WR_FRAME_BODY, ch, body, (uint32_t)strlen(body));
}

size_t
pending(void)
{
    return evbuffer_get_length(bufferevent_get_input(pair[1]));
}

/* Reads the next frame the broker wrote into rx (rx_m when a method). */
void
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
const struct wr_method *
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
const char *
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

void
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

void
start(void)
{
    send_bytes("AMQP\0\0\x09\x01", 8);
    const struct wr_method *m = expect(0, WR_CONNECTION_START);
    ck_assert_uint_eq(m->u.connection_start.version_major, 0);
    ck_assert_uint_eq(m->u.connection_start.version_minor, 9);
}

void
start_ok(void)
{
    struct wr_method m = {.id = WR_CONNECTION_START_OK};

    m.u.connection_start_ok.mechanism = wr_bytes_str("PLAIN");
    m.u.connection_start_ok.response =
        (struct wr_bytes){(const uint8_t *)"\0guest\0guest", 12};
    m.u.connection_start_ok.locale = wr_bytes_str("en_US");
    send_method(0, &m);
}

void
tune_ok(void)
{
    struct wr_method m = {.id = WR_CONNECTION_TUNE_OK};

    m.u.connection_tune_ok.channel_max = 16;
    m.u.connection_tune_ok.frame_max = 131072;
    m.u.connection_tune_ok.heartbeat = 0;
    send_method(0, &m);
}

void
open_vhost(void)
{
    struct wr_method m = {.id = WR_CONNECTION_OPEN};

    m.u.connection_open.virtual_host = wr_bytes_str("/");
    send_method(0, &m);
}

/* The whole handshake, then channel ch opened. */
void
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

void
declare_queue(uint16_t ch, const char *name)
{
    struct wr_method m = {.id = WR_QUEUE_DECLARE};

    m.u.queue_declare.queue = wr_bytes_str(name);
    send_method(ch, &m);
    expect(ch, WR_QUEUE_DECLARE_OK);
}

struct wr_queue *
queue(const char *name)
{
    struct wr_vhost *vh = wr_hmap_get(&srv.vhosts, "/", 1);

    ck_assert_ptr_nonnull(vh);
    return wr_vhost_queue(vh, wr_bytes_str(name));
}

/* basic.get: returns the delivery tag; the message's frames are read. */
uint64_t
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

void
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

uint32_t
ready(const char *q)
{
    return (uint32_t)wr_queue_counts(queue(q))->ready;
}

uint32_t
unacked(const char *q)
{
    return (uint32_t)wr_queue_counts(queue(q))->unacked;
}

/* The cases; those with fixture=true run on a fresh server each test. */
static const struct {
    TCase *(*make)(void);
    bool fixture;
} cases[] = {
    {amqp_reply_tcase, false},  {amqp_handshake_tcase, true},
    {amqp_channel_tcase, true}, {amqp_content_tcase, true},
    {amqp_modes_tcase, true},   {amqp_tags_tcase, true},
    {amqp_qos_tcase, true},
};

static Suite *
amqp_suite(void)
{
    Suite *s = suite_create("amqp");

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
    SRunner *sr = srunner_create(amqp_suite());
    int failed;

    wr_log_level = -1; /* the errors provoked here are expected */
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
