/* SPDX-License-Identifier: MIT */
/* libwarren against a scripted broker (tests/client/fake_broker.py): the
 * error paths a real broker won't produce on demand, each with the code
 * warren.h documents, plus TLS against a Python ssl server. Suite
 * "client_fake"; its TLS test case is in tests/unit/client_fake/tls.c. */
#include "client_fake/cases.h"

#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

struct wt_child fake = {.pid = -1};
struct warren_conn *conn;
char url[512];

/* Starts the fake broker on scenario (extra: more arguments, NULL-ended)
 * and sets url to reach it. */
void
fake_start(const char *scenario, const char *scheme, const char *query,
           const char *const *extra)
{
    char script[256];
    const char *argv[16] = {
        wt_python(),
        wt_srcpath("tests/client/fake_broker.py", script, sizeof(script)),
        scenario};
    int n = 3;

    for (; extra && *extra && n < 15; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    ck_assert_int_eq(wt_spawn(&fake, (char *const *)argv, 1, "PORT ", 10000),
                     0);
    snprintf(url, sizeof(url), "%s://guest:guest@%s:%d/%s", scheme,
             strcmp(scheme, "amqps") == 0 ? "localhost" : "127.0.0.1",
             fake.port, query ? query : "");
}

/* The fake's verdict: 0 when the client did what the scenario expects. */
int
fake_verdict(void)
{
    return wt_wait(&fake, 15000);
}

static void
setup(void)
{
    ck_assert_int_eq(warren_conn_new(&conn), WARREN_OK);
}

static void free_seen(void);

static void
teardown(void)
{
    free_seen();
    warren_conn_free(conn);
    conn = NULL;
    if (fake.pid > 0) {
        kill(fake.pid, SIGKILL);
        wt_wait(&fake, 5000);
    }
    ck_assert_uint_eq(wr_alloc_used(), 0);
}

/* ---- what the callbacks saw ------------------------------------------ */

struct seen {
    int closes;
    struct warren_channel *close_ch;
    struct warren_close close;
    int deliveries;
    struct warren_delivery *copies[8];
    struct warren_delivery *returned;
    int blocked, unblocked;
    char blocked_reason[64];
    int confirms;
    uint64_t confirm_seq[4];
    bool confirm_multiple[4], confirm_ack[4];
    int cancels;
    char cancel_tag[64];
    int logs;
    int ack_rc;
};
static struct seen seen;

static void
on_close(struct warren_conn *c, struct warren_channel *ch,
         const struct warren_close *why, void *arg)
{
    ck_assert_ptr_eq(c, conn);
    ck_assert_ptr_eq(arg, &seen);
    seen.closes++;
    seen.close_ch = ch;
    seen.close = *why;
    /* Waiting calls are refused inside callbacks. */
    ck_assert_int_eq(warren_process(c, 0), WARREN_ERR_INVALID);
}

static void
on_delivery(const struct warren_delivery *d, void *arg)
{
    ck_assert_ptr_eq(arg, &seen);
    if (seen.deliveries < 8)
        ck_assert_int_eq(warren_delivery_copy(d, &seen.copies[seen.deliveries]),
                         WARREN_OK);
    seen.deliveries++;
    seen.ack_rc = warren_ack(d->channel, d->delivery_tag, 0);
}

static void
on_return(const struct warren_delivery *d, void *arg)
{
    (void)arg;
    ck_assert_int_eq(warren_delivery_copy(d, &seen.returned), WARREN_OK);
}

static void
on_blocked(struct warren_conn *c, bool blocked, const char *reason, void *arg)
{
    (void)c;
    (void)arg;
    if (blocked) {
        seen.blocked++;
        snprintf(seen.blocked_reason, sizeof(seen.blocked_reason), "%s",
                 reason);
    } else {
        seen.unblocked++;
    }
}

static void
on_confirm(struct warren_channel *ch, uint64_t seq, bool multiple, bool ack,
           void *arg)
{
    (void)ch;
    (void)arg;
    if (seen.confirms < 4) {
        seen.confirm_seq[seen.confirms] = seq;
        seen.confirm_multiple[seen.confirms] = multiple;
        seen.confirm_ack[seen.confirms] = ack;
    }
    seen.confirms++;
}

static void
on_cancel(struct warren_channel *ch, const char *tag, void *arg)
{
    (void)ch;
    (void)arg;
    seen.cancels++;
    snprintf(seen.cancel_tag, sizeof(seen.cancel_tag), "%s", tag);
}

static void
on_log(int level, const char *msg, void *arg)
{
    (void)level;
    (void)msg;
    (void)arg;
    seen.logs++;
}

static void
watch(void)
{
    struct warren_callbacks cbs = {
        .on_close = on_close,
        .on_return = on_return,
        .on_confirm = on_confirm,
        .on_blocked = on_blocked,
        .on_cancel = on_cancel,
        .on_log = on_log,
        .log_level = WARREN_LOG_DEBUG,
        .arg = &seen,
    };

    for (int i = 0; i < 8; i++)
        warren_delivery_free(seen.copies[i]);
    warren_delivery_free(seen.returned);
    memset(&seen, 0, sizeof(seen));
    ck_assert_int_eq(warren_set_callbacks(conn, &cbs), WARREN_OK);
}

static void
free_seen(void)
{
    for (int i = 0; i < 8; i++)
        warren_delivery_free(seen.copies[i]);
    warren_delivery_free(seen.returned);
    memset(&seen, 0, sizeof(seen));
}

/* Connects to the fake, opens a channel and consumes "q". */
static struct warren_channel *
consuming(const char *scenario)
{
    struct warren_channel *ch;

    fake_start(scenario, "amqp", NULL, NULL);
    watch();
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    ck_assert_int_eq(
        warren_consume(ch, "q", NULL, 0, NULL, on_delivery, &seen, NULL),
        WARREN_OK);
    return ch;
}

/* warren_process until it fails or the callbacks saw `closes` closes. */
static int
process_until_close(int closes)
{
    long end = wt_now_ms() + 8000;
    int rc = WARREN_OK;

    while (seen.closes < closes && wt_now_ms() < end) {
        rc = warren_process(conn, 500);
        if (rc != WARREN_OK && rc != WARREN_AGAIN)
            return rc;
    }
    return rc;
}

/* ==== broker closes and lost connections =============================== */

/* AMQP 0-9-1 2.3.5.2: channel.close from the broker mid-consume. */
START_TEST(channel_close_mid_consume)
{
    struct warren_channel *ch = consuming("channel_close_mid_consume"), *ch2;
    const struct warren_close *why;

    process_until_close(1);
    ck_assert_int_eq(seen.closes, 1);
    ck_assert_int_eq(seen.deliveries, 2);
    ck_assert_int_eq(seen.ack_rc, WARREN_OK); /* acked inside the callback */
    ck_assert_ptr_eq(seen.close_ch, ch);
    ck_assert_uint_eq(seen.close.reply_code, 404);
    ck_assert(seen.close.by_broker);
    ck_assert_int_eq(seen.close.error, WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_str_eq(seen.close.reply_text, "NOT_FOUND - no queue 'q'");
    ck_assert(!warren_channel_is_open(ch));
    ck_assert(warren_is_open(conn));
    why = warren_channel_last_close(ch);
    ck_assert_ptr_nonnull(why);
    ck_assert_uint_eq(why->reply_code, 404);
    ck_assert_uint_eq(why->class_id, 60);
    ck_assert_uint_eq(why->method_id, 20);
    ck_assert_uint_eq(why->channel, warren_channel_id(ch));
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 404);
    ck_assert_int_eq(warren_publish(ch, "", "q", 0, NULL, "x", 1),
                     WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_int_eq(warren_ack(ch, 1, 0), WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_int_eq(warren_queue_declare(ch, "q", 0, NULL, NULL),
                     WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_int_eq(warren_cancel(ch, "ctag"), WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_int_eq(warren_channel_close(ch), WARREN_OK);
    /* The connection carries on. */
    ck_assert_int_eq(warren_channel_open(conn, &ch2), WARREN_OK);
    ck_assert_uint_ne(warren_channel_id(ch2), 0);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(seen.closes, 1); /* our own close is no news */
    ck_assert_int_eq(fake_verdict(), 0);
    ck_assert_int_eq(warren_channel_close(ch2), WARREN_OK);
    free_seen();
}
END_TEST

/* Section 2.3.5.1: connection.close 320 from the broker mid-consume. */
START_TEST(connection_close_mid_consume)
{
    struct warren_channel *ch = consuming("connection_close_mid_consume"), *ch2;

    ck_assert_int_eq(process_until_close(1), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(seen.closes, 1);
    ck_assert_ptr_null(seen.close_ch);
    ck_assert_uint_eq(seen.close.reply_code, 320);
    ck_assert(seen.close.by_broker);
    ck_assert_int_eq(seen.deliveries, 1);
    ck_assert(!warren_is_open(conn));
    ck_assert(!warren_channel_is_open(ch));
    ck_assert_uint_eq(warren_channel_last_close(ch)->reply_code, 320);
    ck_assert_str_eq(warren_last_close(conn)->reply_text,
                     "CONNECTION_FORCED - shutdown");
    ck_assert_int_eq(warren_process(conn, 0), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_channel_open(conn, &ch2),
                     WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_publish(ch, "", "q", 0, NULL, "x", 1),
                     WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_flush(conn), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(fake_verdict(), 0); /* it got close-ok */
    ck_assert_int_eq(warren_channel_close(ch), WARREN_OK);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    free_seen();
}
END_TEST

/* TCP drops in the middle of a frame: WARREN_ERR_IO. */
START_TEST(drop_mid_frame)
{
    consuming("drop_mid_frame");
    ck_assert_int_eq(process_until_close(1), WARREN_ERR_IO);
    ck_assert_int_eq(seen.closes, 1);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 0);
    ck_assert_int_eq(warren_last_close(conn)->error, WARREN_ERR_IO);
    ck_assert_ptr_nonnull(
        strstr(warren_last_close(conn)->reply_text, "middle of a frame"));
    ck_assert_int_eq(warren_process(conn, 0), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* A bad frame-end (section 4.2.3): connection.close 501, PROTOCOL. */
START_TEST(malformed_frame)
{
    consuming("malformed_frame");
    ck_assert_int_eq(process_until_close(1), WARREN_ERR_PROTOCOL);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 501);
    ck_assert(!warren_last_close(conn)->by_broker);
    ck_assert_int_eq(seen.deliveries, 0);
    ck_assert_int_eq(fake_verdict(), 0); /* it saw our close 501 */
    free_seen();
}
END_TEST

/* A frame over the negotiated frame-max: 501 before its payload comes. */
START_TEST(frame_too_big)
{
    consuming("frame_too_big");
    ck_assert_int_eq(process_until_close(1), WARREN_ERR_PROTOCOL);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 501);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* An unknown class/method: 540 NOT_IMPLEMENTED. */
START_TEST(bad_method)
{
    consuming("bad_method");
    ck_assert_int_eq(process_until_close(1), WARREN_ERR_PROTOCOL);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 540);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* Section 4.2.6: a body frame with no content method: 505. */
START_TEST(unexpected_frame)
{
    consuming("unexpected_frame");
    ck_assert_int_eq(process_until_close(1), WARREN_ERR_PROTOCOL);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 505);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* Section 4.2.7: a broker silent for two heartbeat intervals. */
START_TEST(heartbeat_silence)
{
    long t0;
    int rc;

    fake_start("heartbeat_silence", "amqp", NULL, NULL);
    watch();
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    t0 = wt_now_ms();
    do
        rc = warren_process(conn, 10000);
    while (rc == WARREN_AGAIN && wt_now_ms() - t0 < 10000);
    ck_assert_int_eq(rc, WARREN_ERR_TIMEOUT);
    ck_assert_int_ge(wt_now_ms() - t0, 1500);
    ck_assert_int_le(wt_now_ms() - t0, 4000);
    ck_assert_ptr_nonnull(
        strstr(warren_last_close(conn)->reply_text, "heartbeat"));
    ck_assert_int_eq(seen.closes, 1);
    ck_assert(!warren_is_open(conn));
    ck_assert_int_eq(fake_verdict(), 0); /* and we sent heartbeats */
}
END_TEST

/* Heartbeats both ways keep an idle connection up. */
START_TEST(heartbeat_kept)
{
    long t0;

    fake_start("heartbeat_kept", "amqp", "?heartbeat=1", NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    t0 = wt_now_ms();
    while (wt_now_ms() - t0 < 3500) {
        int rc = warren_process(conn, 200);

        ck_assert_msg(rc == WARREN_OK || rc == WARREN_AGAIN, "%d %s", rc,
                      warren_last_close(conn)->reply_text);
    }
    ck_assert(warren_is_open(conn));
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

/* ==== handshake failures ============================================== */

START_TEST(auth_refused)
{
    fake_start("auth_refused", "amqp", NULL, NULL);
    watch();
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_AUTH);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 403);
    ck_assert(warren_last_close(conn)->by_broker);
    ck_assert_int_eq(warren_last_close(conn)->error, WARREN_ERR_AUTH);
    ck_assert(!warren_is_open(conn));
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_INVALID);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* RabbitMQ without authentication_failure_close just hangs up. */
START_TEST(auth_eof)
{
    fake_start("auth_eof", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_AUTH);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 0);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

START_TEST(client_name)
{
    fake_start("client_name", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_set_client_name(conn, "orders-app"), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

START_TEST(vhost_refused)
{
    fake_start("vhost_refused", "amqp", "nope", NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_AUTH);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 530);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

/* Section 4.2.2: the broker answers with another protocol header. */
START_TEST(bad_protocol)
{
    fake_start("bad_protocol", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_PROTOCOL);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

START_TEST(rpc_timeout)
{
    struct warren_channel *ch;
    long t0;

    fake_start("rpc_timeout", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_set_timeouts(conn, 0, 500), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    t0 = wt_now_ms();
    ck_assert_int_eq(warren_queue_declare(ch, "q", 0, NULL, NULL),
                     WARREN_ERR_TIMEOUT);
    ck_assert_int_ge(wt_now_ms() - t0, 450);
    ck_assert(!warren_is_open(conn));
    ck_assert_int_eq(warren_queue_declare(ch, "q", 0, NULL, NULL),
                     WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_channel_close(ch), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

/* A synchronous call refused with channel.close 406. */
START_TEST(channel_error_rpc)
{
    struct warren_channel *ch;
    const struct warren_close *why;

    fake_start("channel_error_rpc", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    ck_assert_int_eq(warren_queue_declare(ch, "q", WARREN_DURABLE, NULL, NULL),
                     WARREN_ERR_CHANNEL_CLOSED);
    why = warren_channel_last_close(ch);
    ck_assert_uint_eq(why->reply_code, 406);
    ck_assert_uint_eq(why->class_id, 50);
    ck_assert_uint_eq(why->method_id, 10);
    ck_assert_ptr_nonnull(strstr(why->reply_text, "PRECONDITION_FAILED"));
    ck_assert(warren_is_open(conn));
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

START_TEST(connect_refused)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0);

    /* A port that was just free: nothing listens on it. */
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    snprintf(url, sizeof(url), "amqp://127.0.0.1:%d", ntohs(a.sin_port));
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_IO);
    ck_assert_ptr_nonnull(
        strstr(warren_last_close(conn)->reply_text, "cannot connect"));
}
END_TEST

/* A listener that never speaks: the connect timeout fires. */
START_TEST(connect_timeout)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    long t0;

    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(s, 4), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    snprintf(url, sizeof(url), "amqp://127.0.0.1:%d/?connection_timeout=300",
             ntohs(a.sin_port));
    t0 = wt_now_ms();
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_TIMEOUT);
    ck_assert_int_ge(wt_now_ms() - t0, 250);
    ck_assert_int_le(wt_now_ms() - t0, 3000);
    close(s);
}
END_TEST

START_TEST(resolve_fails)
{
    ck_assert_int_eq(warren_connect_url(conn, "amqp://no-such-host.invalid/"),
                     WARREN_ERR_IO);
    ck_assert_ptr_nonnull(
        strstr(warren_last_close(conn)->reply_text, "cannot resolve"));
}
END_TEST

/* ==== content and async methods ======================================= */

START_TEST(features)
{
    struct warren_channel *ch;
    const struct warren_delivery *d;
    struct warren_value v;
    long end;

    fake_start("features", "amqp", NULL, NULL);
    watch();
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    ck_assert_int_eq(warren_next_seq(ch), 0);
    ck_assert_int_eq(warren_confirm_select(ch), WARREN_OK);
    ck_assert_int_eq(warren_next_seq(ch), 1);
    ck_assert_int_eq(
        warren_consume(ch, "q", NULL, 0, NULL, on_delivery, &seen, NULL),
        WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", "q", WARREN_MORE, NULL, "a", 1),
                     WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", "q", WARREN_MORE, NULL, "b", 1),
                     WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", "q", 0, NULL, "c", 1), WARREN_OK);
    ck_assert_int_eq(warren_next_seq(ch), 4);
    end = wt_now_ms() + 8000;
    while (seen.cancels == 0 && wt_now_ms() < end)
        ck_assert_int_ge(warren_process(conn, 500), WARREN_AGAIN);
    ck_assert_int_eq(seen.cancels, 1);
    ck_assert_str_eq(seen.cancel_tag, "ctag");
    /* connection.blocked / unblocked */
    ck_assert_int_eq(seen.blocked, 1);
    ck_assert_int_eq(seen.unblocked, 1);
    ck_assert_str_eq(seen.blocked_reason, "low on memory");
    /* A 10240-byte body in three frames, a heartbeat in between. */
    ck_assert_int_eq(seen.deliveries, 2);
    d = seen.copies[0];
    ck_assert_int_eq(d->kind, WARREN_DELIVER);
    ck_assert_uint_eq(d->body.len, 10240);
    for (size_t i = 0; i < d->body.len; i++)
        ck_assert_uint_eq(((const uint8_t *)d->body.ptr)[i], i % 256);
    ck_assert(d->redelivered);
    ck_assert_uint_eq(d->delivery_tag, 1);
    ck_assert_mem_eq(d->exchange.ptr, "ex", 2);
    ck_assert_mem_eq(d->routing_key.ptr, "rk", 2);
    ck_assert_mem_eq(d->consumer_tag.ptr, "ctag", 4);
    ck_assert_uint_eq(d->props.flags, 0);
    /* An empty body with properties. */
    d = seen.copies[1];
    ck_assert_uint_eq(d->body.len, 0);
    ck_assert_uint_eq(d->props.flags, WARREN_PROP_CONTENT_TYPE |
                                          WARREN_PROP_HEADERS |
                                          WARREN_PROP_DELIVERY_MODE |
                                          WARREN_PROP_CORRELATION_ID);
    ck_assert_uint_eq(d->props.content_type.len, 10);
    ck_assert_mem_eq(d->props.content_type.ptr, "text/plain", 10);
    ck_assert_uint_eq(d->props.delivery_mode, 2);
    ck_assert_mem_eq(d->props.correlation_id.ptr, "corr-1", 6);
    ck_assert_int_eq(warren_table_get(d->props.headers, "k", &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'S');
    ck_assert_mem_eq(v.str.ptr, "v", 1);
    ck_assert_int_eq(warren_table_get(d->props.headers, "n", &v), WARREN_OK);
    ck_assert_int_eq(v.type, 'I');
    ck_assert_int_eq(v.i, 7);
    /* basic.return */
    ck_assert_ptr_nonnull(seen.returned);
    ck_assert_int_eq(seen.returned->kind, WARREN_RETURN);
    ck_assert_uint_eq(seen.returned->reply_code, 312);
    ck_assert_mem_eq(seen.returned->reply_text.ptr, "NO_ROUTE", 8);
    ck_assert_mem_eq(seen.returned->routing_key.ptr, "nowhere", 7);
    ck_assert_mem_eq(seen.returned->body.ptr, "ret", 3);
    /* Confirms: 2 acked, then 3 nacked with multiple (covering 1). */
    ck_assert_int_eq(seen.confirms, 2);
    ck_assert_uint_eq(seen.confirm_seq[0], 2);
    ck_assert(seen.confirm_ack[0] && !seen.confirm_multiple[0]);
    ck_assert_uint_eq(seen.confirm_seq[1], 3);
    ck_assert(!seen.confirm_ack[1] && seen.confirm_multiple[1]);
    ck_assert_int_eq(warren_wait_confirms(ch, 0), WARREN_ERR_NACKED);
    ck_assert_int_eq(warren_wait_confirms(ch, 0), WARREN_OK); /* reset */
    /* The broker's cancel removed the consumer. */
    ck_assert_int_eq(warren_cancel(ch, "ctag"), WARREN_ERR_NOT_FOUND);
    ck_assert_int_gt(seen.logs, 0);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
    free_seen();
}
END_TEST

/* basic.get: get-ok with a body over two frames, then get-empty. */
START_TEST(get_multi_frame)
{
    struct warren_channel *ch;
    struct warren_delivery *d;

    fake_start("get", "amqp", NULL, NULL);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
    ck_assert_int_eq(warren_get(ch, "q", 0, &d), WARREN_OK);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->kind, WARREN_GET);
    ck_assert_uint_eq(d->delivery_tag, 7);
    ck_assert_uint_eq(d->message_count, 4);
    ck_assert_uint_eq(d->body.len, 5000);
    ck_assert_uint_eq(((const char *)d->body.ptr)[4999], 'g');
    warren_delivery_free(d);
    ck_assert_int_eq(warren_get(ch, "q", 0, &d), WARREN_OK);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(fake_verdict(), 0);
}
END_TEST

static Suite *
client_fake_suite(void)
{
    Suite *s = suite_create("client_fake");
    TCase *tc;

    tc = tcase_create("closes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, channel_close_mid_consume);
    tcase_add_test(tc, connection_close_mid_consume);
    tcase_add_test(tc, drop_mid_frame);
    tcase_add_test(tc, malformed_frame);
    tcase_add_test(tc, frame_too_big);
    tcase_add_test(tc, bad_method);
    tcase_add_test(tc, unexpected_frame);
    tcase_add_test(tc, heartbeat_silence);
    tcase_add_test(tc, heartbeat_kept);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, auth_refused);
    tcase_add_test(tc, auth_eof);
    tcase_add_test(tc, client_name);
    tcase_add_test(tc, vhost_refused);
    tcase_add_test(tc, bad_protocol);
    tcase_add_test(tc, rpc_timeout);
    tcase_add_test(tc, channel_error_rpc);
    tcase_add_test(tc, connect_refused);
    tcase_add_test(tc, connect_timeout);
    tcase_add_test(tc, resolve_fails);
    suite_add_tcase(s, tc);

    tc = tcase_create("content");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, features);
    tcase_add_test(tc, get_multi_frame);
    suite_add_tcase(s, tc);

    tc = client_fake_tls_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(client_fake_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
