/* SPDX-License-Identifier: MIT */
/* libwarren against a real build/warren-server started on a free port by
 * a fixture: every public call of client/warren.h, plus the URL parser and
 * allocation-failure paths. Suite "client". */
#include "../../client/client_internal.h"
#include "../client/helpers.h"

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct wt_child server = {.pid = -1};
static struct warren_conn *conn;
static struct warren_channel *ch;
static char url[256];
static char host[128];
static int serial;

/* ---- fixtures -------------------------------------------------------- */

/* $WARREN_SERVER, else warren-server next to this test's build dir
 * ($(BUILD)/tests/..), else build/warren-server. */
static void
server_path(char *buf, size_t len)
{
    const char *env = getenv("WARREN_SERVER");
    char self[PATH_MAX];
    ssize_t n;

    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        char *slash;

        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL) {
            *slash = '\0';
            snprintf(buf, len, "%s/../warren-server", self);
            if (wt_exists(buf))
                return;
        }
    }
    snprintf(buf, len, "build/warren-server");
}

/* The broker's own data directory, removed when it stops: never the
 * default one, which another broker may hold (and lock). */
static char data_dir[PATH_MAX];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Starts warren-server on a free port, or with WARREN_TEST_BROKER=host:port
 * (as for tests/interop) uses that broker, e.g. a RabbitMQ. */
static void
server_start(void)
{
    char path[PATH_MAX + 32];
    const char *tmp = getenv("TMPDIR");
    /* any free ports: 15672 may be taken by another broker */
    char *argv[] = {path,          "--bind", "127.0.0.1",  "--port", "0",
                    "--mgmt-port", "0",      "--data-dir", data_dir, NULL};
    const char *ext = getenv("WARREN_TEST_BROKER");

    if (ext && *ext) {
        const char *colon = strrchr(ext, ':');

        server.pid = -1;
        server.port = colon ? atoi(colon + 1) : 5672;
        snprintf(host, sizeof(host), "%.*s",
                 colon ? (int)(colon - ext) : (int)strlen(ext), ext);
    } else {
        server_path(path, sizeof(path));
        snprintf(data_dir, sizeof(data_dir), "%s/warren-check-client-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(data_dir));
        if (wt_spawn(&server, argv, 2, "ready on amqp://127.0.0.1:", 10000) !=
            0)
            ck_abort_msg("cannot start %s", path);
        snprintf(host, sizeof(host), "127.0.0.1");
    }
    snprintf(url, sizeof(url), "amqp://guest:guest@%s:%d/", host, server.port);
}

static void
server_stop(void)
{
    if (server.pid > 0)
        ck_assert_int_eq(wt_stop(&server), 0); /* SIGTERM: a clean exit */
    if (data_dir[0]) {
        nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        data_dir[0] = '\0';
    }
}

/* A connection and a channel for each test; nothing may leak. */
static void
setup(void)
{
    ck_assert_int_eq(warren_conn_new(&conn), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
}

static void delete_names(void);

static void
teardown(void)
{
    wr_alloc_fail_after(0);
    warren_conn_free(conn);
    conn = NULL;
    ch = NULL;
    delete_names();
    ck_assert_uint_eq(wr_alloc_used(), 0);
}

/* Names handed out by qname, deleted after each test (a warren-server of
 * our own is thrown away anyway; an external broker is not). */
static char names[16][64];
static int nnames;

/* A fresh queue (or exchange) name. */
static const char *
qname(const char *what)
{
    char *n = names[nnames % 16];

    nnames++;
    snprintf(n, sizeof(names[0]), "t-%s-%d-%d", what, (int)getpid(), ++serial);
    return n;
}

static void
delete_names(void)
{
    struct warren_conn *c;
    struct warren_channel *x;

    if (server.pid > 0 || nnames == 0)
        return;
    if (warren_conn_new(&c) == WARREN_OK &&
        warren_connect_url(c, url) == WARREN_OK &&
        warren_channel_open(c, &x) == WARREN_OK)
        for (int i = 0; i < nnames && i < 16; i++) {
            warren_queue_delete(x, names[i], 0, NULL);
            warren_exchange_delete(x, names[i], 0);
        }
    warren_conn_free(c);
    nnames = 0;
}

static uint32_t
count(const char *queue)
{
    struct warren_queue_info info;

    ck_assert_int_eq(
        warren_queue_declare(ch, queue, WARREN_PASSIVE, NULL, &info),
        WARREN_OK);
    return info.message_count;
}

/* RabbitMQ counts a publish a moment later: poll for the expected count. */
static uint32_t
wait_count(const char *queue, uint32_t want)
{
    long end = wt_now_ms() + 3000;
    uint32_t n;

    while ((n = count(queue)) != want && wt_now_ms() < end)
        usleep(5000);
    return n;
}

static void
publish(const char *queue, const char *body)
{
    ck_assert_int_eq(warren_publish(ch, "", queue, 0, NULL, body, strlen(body)),
                     WARREN_OK);
}

/* basic.get one message and check its body; returns its tag. */
static uint64_t
get_body(const char *queue, const char *body, int flags)
{
    struct warren_delivery *d;
    uint64_t tag;

    ck_assert_int_eq(warren_get(ch, queue, flags, &d), WARREN_OK);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->body.len, strlen(body));
    ck_assert_mem_eq(d->body.ptr, body, d->body.len);
    tag = d->delivery_tag;
    warren_delivery_free(d);
    return tag;
}

/* ==== no broker needed ================================================ */

START_TEST(strerror_and_version)
{
    static const int codes[] = {
        WARREN_OK,
        WARREN_AGAIN,
        WARREN_ERR_NOMEM,
        WARREN_ERR_INVALID,
        WARREN_ERR_IO,
        WARREN_ERR_TIMEOUT,
        WARREN_ERR_CHANNEL_CLOSED,
        WARREN_ERR_CONNECTION_CLOSED,
        WARREN_ERR_PROTOCOL,
        WARREN_ERR_AUTH,
        WARREN_ERR_TLS,
        WARREN_ERR_NACKED,
    };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        ck_assert_ptr_nonnull(warren_strerror(codes[i]));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(warren_strerror(codes[i]),
                             warren_strerror(codes[j]));
    }
    ck_assert_str_eq(warren_strerror(-9999), "unknown error");
    ck_assert_str_eq(warren_version(), WARREN_VERSION);
}
END_TEST

START_TEST(settings_and_misuse)
{
    struct warren_conn *c;
    struct warren_channel *x;
    struct warren_delivery *d = (void *)1;

    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    ck_assert(!warren_is_open(c));
    ck_assert_ptr_null(warren_last_close(c));
    ck_assert_uint_eq(warren_server_properties(c).len, 0);
    ck_assert_int_eq(warren_set_callbacks(c, NULL), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_timeouts(c, -1, 0), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_timeouts(c, 0, -5), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_timeouts(c, 1000, 2000), WARREN_OK);
    ck_assert_int_eq(warren_set_heartbeat(c, -2), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_heartbeat(c, 65536), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_heartbeat(c, 0), WARREN_OK);
    ck_assert_int_eq(warren_set_tls(c, "ca", "cert", NULL, true),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_set_tls(c, "ca", "cert", "key", false), WARREN_OK);
    ck_assert_int_eq(warren_set_tls(c, NULL, NULL, NULL, true), WARREN_OK);
    /* Not connected yet. */
    ck_assert_int_eq(warren_process(c, 0), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_channel_open(c, &x), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(warren_next_delivery(c, 0, &d),
                     WARREN_ERR_CONNECTION_CLOSED);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(warren_flush(c), WARREN_OK);
    /* Bad URLs are refused before any I/O, with a reason. */
    ck_assert_int_eq(warren_connect_url(c, NULL), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_connect_url(c, "http://x/"), WARREN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(warren_last_close(c)->reply_text, "amqp://"));
    ck_assert_int_eq(warren_connect_url(c, "amqp://h/?bogus=1"),
                     WARREN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(warren_last_close(c)->reply_text, "bogus"));
    ck_assert_int_eq(warren_close(c), WARREN_OK);
    ck_assert_int_eq(warren_close(c), WARREN_OK);
    warren_conn_free(c);
    warren_conn_free(NULL);
    warren_delivery_free(NULL);
    warren_table_free(NULL);
    ck_assert_uint_eq(wr_alloc_used(), 0);
}
END_TEST

START_TEST(out_of_memory)
{
    struct warren_conn *c = (void *)1;
    struct warren_table *t = (void *)1;

    wr_alloc_fail_after(1);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_ERR_NOMEM);
    ck_assert_ptr_null(c);
    wr_alloc_fail_after(1);
    ck_assert_int_eq(warren_table_new(&t), WARREN_ERR_NOMEM);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(warren_table_new(&t), WARREN_OK);
    wr_alloc_fail_after(1); /* the buffer has to grow for this one */
    {
        char big[600];

        memset(big, 'v', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ck_assert_int_eq(warren_table_add_str(t, "big", big), WARREN_ERR_NOMEM);
    }
    ck_assert_uint_eq(warren_table_bytes(t).len, 0); /* rolled back */
    warren_table_free(t);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    wr_alloc_fail_after(1);
    ck_assert_int_eq(warren_set_tls(c, "ca", NULL, NULL, true),
                     WARREN_ERR_NOMEM);
    warren_conn_free(c);
    wr_alloc_fail_after(0);
    ck_assert_uint_eq(wr_alloc_used(), 0);
}
END_TEST

/* ==== connection ====================================================== */

START_TEST(connect_and_close)
{
    struct warren_conn *c;
    struct warren_value v;
    const struct warren_close *why;

    ck_assert(warren_is_open(conn));
    ck_assert_int_eq(
        warren_table_get(warren_server_properties(conn), "product", &v),
        WARREN_OK);
    ck_assert_int_eq(v.type, 'S');
    ck_assert_int_eq(
        warren_table_get(warren_server_properties(conn), "capabilities", &v),
        WARREN_OK);
    ck_assert_int_eq(v.type, 'F');
    ck_assert_int_eq(warren_process(conn, 0), WARREN_AGAIN);
    ck_assert_int_eq(warren_process(conn, 30), WARREN_AGAIN);
    ck_assert_int_eq(warren_flush(conn), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(conn, url), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert(!warren_is_open(conn));
    why = warren_last_close(conn);
    ck_assert_uint_eq(why->reply_code, 200);
    ck_assert(!why->by_broker);
    ck_assert_int_eq(warren_close(conn), WARREN_OK);
    ck_assert_int_eq(warren_flush(conn), WARREN_ERR_CONNECTION_CLOSED);
    ck_assert(!warren_channel_is_open(ch));
    ck_assert_ptr_nonnull(warren_channel_last_close(ch));

    /* Heartbeat and frame-max settings negotiate; a login is checked. */
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    ck_assert_int_eq(warren_set_heartbeat(c, 5), WARREN_OK);
    {
        char u2[300];

        snprintf(u2, sizeof(u2), "%s?frame_max=4096&channel_max=3", url);
        ck_assert_int_eq(warren_connect_url(c, u2), WARREN_OK);
    }
    ck_assert_uint_eq(c->heartbeat, 5);
    ck_assert_uint_eq(c->frame_max, 4096);
    ck_assert_uint_eq(c->channel_max, 3);
    warren_conn_free(c);

    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    {
        char u2[300];

        snprintf(u2, sizeof(u2), "amqp://guest:wrong@%s:%d/", host,
                 server.port);
        ck_assert_int_eq(warren_connect_url(c, u2), WARREN_ERR_AUTH);
    }
    ck_assert(!warren_is_open(c));
    warren_conn_free(c);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    {
        char u2[300];

        snprintf(u2, sizeof(u2), "amqp://%s:%d/no-such-vhost", host,
                 server.port);
        ck_assert_int_eq(warren_connect_url(c, u2), WARREN_ERR_AUTH);
    }
    warren_conn_free(c);
}
END_TEST

START_TEST(channels)
{
    struct warren_channel *more[40], *x;

    ck_assert(warren_channel_is_open(ch));
    ck_assert_ptr_null(warren_channel_last_close(ch));
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(warren_channel_open(conn, &more[i]), WARREN_OK);
        ck_assert_uint_ne(warren_channel_id(more[i]), warren_channel_id(ch));
        if (i > 0)
            ck_assert_uint_ne(warren_channel_id(more[i]),
                              warren_channel_id(more[i - 1]));
    }
    for (int i = 0; i < 40; i += 2)
        ck_assert_int_eq(warren_channel_close(more[i]), WARREN_OK);
    /* A channel error closes only that channel (404, passive declare). */
    x = more[1];
    ck_assert_int_eq(
        warren_queue_declare(x, qname("none"), WARREN_PASSIVE, NULL, NULL),
        WARREN_ERR_CHANNEL_CLOSED);
    ck_assert(!warren_channel_is_open(x));
    ck_assert_uint_eq(warren_channel_last_close(x)->reply_code, 404);
    ck_assert(warren_channel_last_close(x)->by_broker);
    ck_assert_uint_eq(warren_last_close(conn)->reply_code, 404);
    ck_assert(warren_channel_is_open(more[3]));
    ck_assert_int_eq(warren_qos(x, 1, 0), WARREN_ERR_CHANNEL_CLOSED);
    for (int i = 1; i < 40; i += 2)
        ck_assert_int_eq(warren_channel_close(more[i]), WARREN_OK);
    ck_assert_int_eq(warren_channel_close(ch), WARREN_OK);
    ch = NULL;
    ck_assert_int_eq(warren_channel_open(conn, &ch), WARREN_OK);
}
END_TEST

/* channel-max 2 (URL): the third channel has no number left. */
START_TEST(channel_max)
{
    struct warren_conn *c;
    struct warren_channel *a, *b, *x;
    char u2[300];

    snprintf(u2, sizeof(u2), "%s?channel_max=2", url);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(c, u2), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &a), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &b), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &x), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_channel_close(a), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &x), WARREN_OK);
    ck_assert_uint_eq(warren_channel_id(x), 1);
    warren_conn_free(c);
}
END_TEST

/* ==== exchanges and queues ============================================ */

START_TEST(exchanges)
{
    const char *q = qname("exq"), *src = qname("src"), *dst = qname("dst");

    ck_assert_int_eq(warren_exchange_declare(ch, src, "direct", 0, NULL),
                     WARREN_OK);
    ck_assert_int_eq(
        warren_exchange_declare(ch, dst, "fanout", WARREN_AUTO_DELETE, NULL),
        WARREN_OK);
    ck_assert_int_eq(
        warren_exchange_declare(ch, src, "direct", WARREN_PASSIVE, NULL),
        WARREN_OK);
    ck_assert_int_eq(warren_exchange_declare(ch, src, "x", 1 << 20, NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_exchange_declare(ch, NULL, "x", 0, NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_queue_bind(ch, q, dst, "", NULL), WARREN_OK);
    /* exchange-to-exchange: src --rk--> dst --fanout--> q */
    ck_assert_int_eq(warren_exchange_bind(ch, dst, src, "rk", NULL), WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, src, "rk", 0, NULL, "e2e", 3),
                     WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, src, "other", 0, NULL, "no", 2),
                     WARREN_OK);
    get_body(q, "e2e", WARREN_NO_ACK);
    ck_assert_uint_eq(wait_count(q, 0), 0);
    ck_assert_int_eq(warren_exchange_unbind(ch, dst, src, "rk", NULL),
                     WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, src, "rk", 0, NULL, "gone", 4),
                     WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 0), 0);
    ck_assert_int_eq(warren_exchange_bind(ch, NULL, src, "", NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_exchange_delete(ch, src, 1 << 20),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_exchange_delete(ch, NULL, 0), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_exchange_delete(ch, src, WARREN_IF_UNUSED),
                     WARREN_OK);
    ck_assert_int_eq(warren_exchange_delete(ch, dst, 0), WARREN_OK);
    ck_assert_int_eq(
        warren_exchange_declare(ch, src, "direct", WARREN_PASSIVE, NULL),
        WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_uint_eq(warren_channel_last_close(ch)->reply_code, 404);
}
END_TEST

START_TEST(queues)
{
    struct warren_queue_info info;
    struct warren_table *args;
    const char *q = qname("q");
    uint32_t n = 99;

    /* A server-named exclusive queue. */
    ck_assert_int_eq(warren_queue_declare(ch, "",
                                          WARREN_EXCLUSIVE | WARREN_AUTO_DELETE,
                                          NULL, &info),
                     WARREN_OK);
    ck_assert_uint_gt(strlen(info.name), 0);
    ck_assert_uint_eq(info.message_count, 0);
    ck_assert_int_eq(warren_queue_declare(ch, q, 1 << 20, NULL, NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_queue_declare(ch, q, WARREN_DURABLE, NULL, &info),
                     WARREN_OK);
    ck_assert_str_eq(info.name, q);
    ck_assert_int_eq(warren_queue_bind(ch, q, "amq.direct", "k", NULL),
                     WARREN_OK);
    ck_assert_int_eq(warren_queue_bind(ch, q, NULL, "k", NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_publish(ch, "amq.direct", "k", 0, NULL, "1", 1),
                     WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "amq.direct", "k", 0, NULL, "2", 1),
                     WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 2), 2);
    ck_assert_int_eq(warren_queue_unbind(ch, q, "amq.direct", "k", NULL),
                     WARREN_OK);
    ck_assert_int_eq(warren_queue_unbind(ch, q, NULL, "k", NULL),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_publish(ch, "amq.direct", "k", 0, NULL, "3", 1),
                     WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 2), 2);
    ck_assert_int_eq(warren_queue_purge(ch, q, &n), WARREN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(warren_queue_purge(ch, q, NULL), WARREN_OK);
    publish(q, "x");
    ck_assert_int_eq(warren_queue_delete(ch, q, 1 << 20, &n),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_queue_delete(ch, q, WARREN_IF_UNUSED, &n),
                     WARREN_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(warren_queue_delete(ch, q, WARREN_IF_EMPTY, NULL),
                     WARREN_OK); /* RabbitMQ: deleting a missing queue is ok */

    /* Arguments: a priority queue serves the highest priority first. */
    ck_assert_int_eq(warren_table_new(&args), WARREN_OK);
    ck_assert_int_eq(warren_table_add_int(args, "x-max-priority", 9),
                     WARREN_OK);
    q = qname("prio");
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, args, NULL), WARREN_OK);
    for (int p = 1; p <= 3; p++) {
        struct warren_props props = {.flags = WARREN_PROP_PRIORITY,
                                     .priority = (uint8_t)p};
        char b = (char)('0' + p);

        ck_assert_int_eq(warren_publish(ch, "", q, 0, &props, &b, 1),
                         WARREN_OK);
    }
    get_body(q, "3", WARREN_NO_ACK);
    get_body(q, "2", WARREN_NO_ACK);
    /* Redeclaring with other arguments: 406, the channel closes. */
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL),
                     WARREN_ERR_CHANNEL_CLOSED);
    ck_assert_uint_eq(warren_channel_last_close(ch)->reply_code, 406);
    ck_assert_int_eq(warren_queue_purge(ch, q, NULL),
                     WARREN_ERR_CHANNEL_CLOSED);
    warren_table_free(args);
}
END_TEST

/* ==== publishing and consuming ======================================== */

START_TEST(publish_get_props)
{
    const char *q = qname("props");
    struct warren_props p = {
        .flags = 0xFFFC, /* all 14 */
        .content_type = {"application/json", 16},
        .content_encoding = {"gzip", 4},
        .delivery_mode = 2,
        .priority = 5,
        .correlation_id = {"corr", 4},
        .reply_to = {"reply", 5},
        .expiration = {"60000", 5},
        .message_id = {"mid", 3},
        .timestamp = 1700000000,
        .type = {"kind", 4},
        .user_id = {"guest", 5},
        .app_id = {"app", 3},
        .cluster_id = {"cl", 2},
    };
    struct warren_delivery *d, *copy;
    struct warren_table *hdrs, *sub;
    struct warren_bytes key;
    struct warren_value v;
    size_t pos = 0;
    char big[300];

    /* Headers of every type the builder makes, through the broker. */
    ck_assert_int_eq(warren_table_new(&hdrs), WARREN_OK);
    ck_assert_int_eq(warren_table_new(&sub), WARREN_OK);
    ck_assert_int_eq(warren_table_add_str(hdrs, "h", "v"), WARREN_OK);
    ck_assert_int_eq(warren_table_add_int(hdrs, "big", 1LL << 40), WARREN_OK);
    ck_assert_int_eq(warren_table_add_bool(hdrs, "yes", true), WARREN_OK);
    ck_assert_int_eq(warren_table_add_double(hdrs, "pi", 3.25), WARREN_OK);
    ck_assert_int_eq(warren_table_add_int(sub, "depth", 2), WARREN_OK);
    ck_assert_int_eq(warren_table_add_table(hdrs, "sub", sub), WARREN_OK);
    p.headers = warren_table_bytes(hdrs);
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", q, 0, &p, "{}", 2), WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", q, 0, NULL, NULL, 0), WARREN_OK);
    ck_assert_int_eq(warren_get(ch, q, 0, &d), WARREN_OK);
    ck_assert_int_eq(d->kind, WARREN_GET);
    ck_assert_ptr_eq(d->channel, ch);
    ck_assert_uint_eq(d->message_count, 1);
    ck_assert_uint_eq(d->props.flags, 0xFFFC);
    ck_assert_mem_eq(d->props.content_type.ptr, "application/json", 16);
    ck_assert_mem_eq(d->props.content_encoding.ptr, "gzip", 4);
    ck_assert_uint_eq(d->props.delivery_mode, 2);
    ck_assert_uint_eq(d->props.priority, 5);
    ck_assert_mem_eq(d->props.correlation_id.ptr, "corr", 4);
    ck_assert_mem_eq(d->props.reply_to.ptr, "reply", 5);
    ck_assert_mem_eq(d->props.expiration.ptr, "60000", 5);
    ck_assert_mem_eq(d->props.message_id.ptr, "mid", 3);
    ck_assert_uint_eq(d->props.timestamp, 1700000000);
    ck_assert_mem_eq(d->props.type.ptr, "kind", 4);
    ck_assert_mem_eq(d->props.user_id.ptr, "guest", 5);
    ck_assert_mem_eq(d->props.app_id.ptr, "app", 3);
    ck_assert_mem_eq(d->props.cluster_id.ptr, "cl", 2);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_OK);
    ck_assert_mem_eq(key.ptr, "h", 1);
    ck_assert_mem_eq(v.str.ptr, "v", 1);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_OK);
    ck_assert_int_eq(v.type, 'l');
    ck_assert_int_eq(v.i, 1LL << 40);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_OK);
    ck_assert(v.type == 't' && v.b);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_OK);
    ck_assert(v.type == 'd' && v.d == 3.25);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_OK);
    ck_assert_int_eq(v.type, 'F');
    ck_assert_int_eq(warren_table_get(v.str, "depth", &v), WARREN_OK);
    ck_assert_int_eq(v.i, 2);
    ck_assert_int_eq(warren_table_next(d->props.headers, &pos, &key, &v),
                     WARREN_ERR_NOT_FOUND);
    ck_assert_mem_eq(d->routing_key.ptr, q, strlen(q));
    /* An owned delivery copies again into an independent one. */
    ck_assert_int_eq(warren_delivery_copy(d, &copy), WARREN_OK);
    ck_assert_int_eq(warren_ack(ch, d->delivery_tag, 0), WARREN_OK);
    warren_delivery_free(d);
    ck_assert_mem_eq(copy->body.ptr, "{}", 2);
    ck_assert_mem_eq(copy->props.cluster_id.ptr, "cl", 2);
    wr_alloc_fail_after(1);
    ck_assert_int_eq(warren_delivery_copy(copy, &d), WARREN_ERR_NOMEM);
    ck_assert_ptr_null(d);
    warren_delivery_free(copy);
    get_body(q, "", WARREN_NO_ACK);
    ck_assert_int_eq(warren_get(ch, q, 0, &d), WARREN_OK);
    ck_assert_ptr_null(d); /* basic.get-empty */
    ck_assert_int_eq(warren_get(ch, q, WARREN_MULTIPLE, &d),
                     WARREN_ERR_INVALID);

    /* Bad publishes are refused before anything is sent. */
    memset(big, 'x', sizeof(big));
    p.flags = WARREN_PROP_MESSAGE_ID;
    p.message_id = (struct warren_bytes){big, 256};
    ck_assert_int_eq(warren_publish(ch, "", q, 0, &p, "x", 1),
                     WARREN_ERR_INVALID);
    p.flags = WARREN_PROP_HEADERS;
    p.headers = (struct warren_bytes){"\x01", 1};
    ck_assert_int_eq(warren_publish(ch, "", q, 0, &p, "x", 1),
                     WARREN_ERR_INVALID);
    p.flags = 1; /* not a property bit */
    ck_assert_int_eq(warren_publish(ch, "", q, 0, &p, "x", 1),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_publish(ch, "", q, WARREN_NO_ACK, NULL, "x", 1),
                     WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_publish(ch, "", q, 0, NULL, NULL, 5),
                     WARREN_ERR_INVALID);
    big[299] = '\0';
    ck_assert_int_eq(warren_publish(ch, "", big, 0, NULL, "x", 1),
                     WARREN_ERR_INVALID);
    ck_assert(warren_channel_is_open(ch));
    ck_assert_uint_eq(wait_count(q, 0), 0);
    warren_table_free(hdrs);
    warren_table_free(sub);
}
END_TEST

/* Bodies over frame-max go out and come back in several frames. */
START_TEST(large_messages)
{
    const char *q = qname("big");
    size_t n = 3 * 1024 * 1024 + 17;
    char *body = malloc(n);
    struct warren_delivery *d;
    struct warren_conn *c;
    struct warren_channel *c_ch;
    char u2[300];

    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 7);
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_publish(ch, "", q, 0, NULL, body, n), WARREN_OK);
    ck_assert_int_eq(warren_get(ch, q, WARREN_NO_ACK, &d), WARREN_OK);
    ck_assert_uint_eq(d->body.len, n);
    ck_assert(memcmp(d->body.ptr, body, n) == 0);
    warren_delivery_free(d);
    /* The same with frame-max 4096: hundreds of frames each way. */
    snprintf(u2, sizeof(u2), "%s?frame_max=4096", url);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(c, u2), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &c_ch), WARREN_OK);
    ck_assert_int_eq(warren_publish(c_ch, "", q, 0, NULL, body, 500000),
                     WARREN_OK);
    ck_assert_int_eq(warren_get(c_ch, q, WARREN_NO_ACK, &d), WARREN_OK);
    ck_assert_uint_eq(d->body.len, 500000);
    ck_assert(memcmp(d->body.ptr, body, 500000) == 0);
    warren_delivery_free(d);
    warren_conn_free(c);
    free(body);
}
END_TEST

struct got {
    int n;
    char last[64];
    uint64_t tags[64];
    bool redelivered[64];
    int action; /* 0 ack, 1 nack requeue (first time), 2 none */
    int misuse_rc[6];
};

static void
on_msg(const struct warren_delivery *d, void *arg)
{
    struct got *g = arg;
    struct warren_channel *x;
    struct warren_delivery *o;

    ck_assert_int_eq(d->kind, WARREN_DELIVER);
    if (g->n < 64) {
        g->tags[g->n] = d->delivery_tag;
        g->redelivered[g->n] = d->redelivered;
    }
    g->n++;
    snprintf(g->last, sizeof(g->last), "%.*s", (int)d->body.len,
             (const char *)d->body.ptr);
    /* Calls that wait are refused in callbacks; the rest work. */
    g->misuse_rc[0] = warren_queue_declare(d->channel, "x", 0, NULL, NULL);
    g->misuse_rc[1] = warren_channel_open(conn, &x);
    g->misuse_rc[2] = warren_next_delivery(conn, 0, &o);
    g->misuse_rc[3] = warren_channel_close(d->channel);
    g->misuse_rc[4] = warren_close(conn);
    g->misuse_rc[5] = warren_wait_confirms(d->channel, 0);
    if (g->action == 0)
        ck_assert_int_eq(warren_ack(d->channel, d->delivery_tag, 0), WARREN_OK);
    else if (g->action == 1 && !d->redelivered)
        ck_assert_int_eq(
            warren_nack(d->channel, d->delivery_tag, WARREN_REQUEUE),
            WARREN_OK);
    else if (g->action == 1)
        ck_assert_int_eq(warren_reject(d->channel, d->delivery_tag, 0),
                         WARREN_OK);
}

static void
pump_until(const int *n, int want)
{
    long end = wt_now_ms() + 5000;

    while (*n < want && wt_now_ms() < end) {
        int rc = warren_process(conn, 200);

        ck_assert(rc == WARREN_OK || rc == WARREN_AGAIN);
    }
    ck_assert_int_eq(*n, want);
}

START_TEST(consume_callbacks)
{
    const char *q = qname("cons");
    struct got g = {0};
    char tag[WARREN_TAG_MAX];

    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_qos(ch, 10, 0), WARREN_OK);
    ck_assert_int_eq(warren_qos(ch, 10, WARREN_GLOBAL), WARREN_OK);
    ck_assert_int_eq(warren_qos(ch, 10, WARREN_NO_ACK), WARREN_ERR_INVALID);
    ck_assert_int_eq(
        warren_consume(ch, q, "my-tag", 1 << 20, NULL, on_msg, &g, tag),
        WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_consume(ch, q, "my-tag", 0, NULL, on_msg, &g, tag),
                     WARREN_OK);
    ck_assert_str_eq(tag, "my-tag");
    for (int i = 0; i < 5; i++) {
        char b[16];

        snprintf(b, sizeof(b), "m%d", i);
        ck_assert_int_eq(warren_publish(ch, "", q, i < 4 ? WARREN_MORE : 0,
                                        NULL, b, strlen(b)),
                         WARREN_OK);
    }
    pump_until(&g.n, 5);
    ck_assert_str_eq(g.last, "m4");
    ck_assert_int_eq(g.misuse_rc[0], WARREN_ERR_INVALID);
    ck_assert_int_eq(g.misuse_rc[1], WARREN_ERR_INVALID);
    ck_assert_int_eq(g.misuse_rc[2], WARREN_ERR_INVALID);
    ck_assert_int_eq(g.misuse_rc[3], WARREN_ERR_INVALID);
    ck_assert_int_eq(g.misuse_rc[4], WARREN_ERR_INVALID);
    ck_assert_int_eq(g.misuse_rc[5], WARREN_ERR_INVALID);
    ck_assert(warren_is_open(conn));
    ck_assert_uint_eq(wait_count(q, 0), 0); /* all acked */
    /* nack with requeue comes back redelivered, then is rejected. */
    g.action = 1;
    g.n = 0;
    publish(q, "again");
    pump_until(&g.n, 2);
    ck_assert(!g.redelivered[0]);
    ck_assert(g.redelivered[1]);
    ck_assert_int_eq(warren_cancel(ch, tag), WARREN_OK);
    ck_assert_int_eq(warren_cancel(ch, tag), WARREN_ERR_NOT_FOUND);
    ck_assert_int_eq(warren_cancel(ch, NULL), WARREN_ERR_INVALID);
    publish(q, "later");
    ck_assert_int_eq(warren_process(conn, 100), WARREN_AGAIN);
    ck_assert_int_eq(g.n, 2); /* cancelled: no more deliveries */
    ck_assert_uint_eq(wait_count(q, 1), 1);
    ck_assert_int_eq(warren_ack(ch, 1, 1 << 20), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_nack(ch, 1, WARREN_NO_ACK), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_reject(ch, 1, WARREN_MULTIPLE), WARREN_ERR_INVALID);
}
END_TEST

/* Consumers without a callback feed warren_next_delivery. */
START_TEST(next_delivery)
{
    const char *q = qname("next");
    struct warren_delivery *d[3];
    char tag[WARREN_TAG_MAX];

    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_consume(ch, q, NULL, 0, NULL, NULL, NULL, tag),
                     WARREN_OK);
    ck_assert_uint_gt(strlen(tag), 0); /* the broker named it */
    ck_assert_int_eq(warren_next_delivery(conn, 50, &d[0]), WARREN_AGAIN);
    ck_assert_ptr_null(d[0]);
    publish(q, "one");
    publish(q, "two");
    publish(q, "three");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(warren_next_delivery(conn, 2000, &d[i]), WARREN_OK);
        ck_assert_mem_eq(d[i]->consumer_tag.ptr, tag, strlen(tag));
    }
    ck_assert_mem_eq(d[0]->body.ptr, "one", 3);
    ck_assert_mem_eq(d[2]->body.ptr, "three", 5);
    /* Ack all three at once (multiple). */
    ck_assert_int_eq(warren_ack(ch, d[2]->delivery_tag, WARREN_MULTIPLE),
                     WARREN_OK);
    for (int i = 0; i < 3; i++)
        warren_delivery_free(d[i]);
    ck_assert_uint_eq(wait_count(q, 0), 0);
    /* recover: an unacked delivery comes again, redelivered. */
    publish(q, "four");
    ck_assert_int_eq(warren_next_delivery(conn, 2000, &d[0]), WARREN_OK);
    ck_assert(!d[0]->redelivered);
    warren_delivery_free(d[0]);
    ck_assert_int_eq(warren_recover(ch, 1 << 20), WARREN_ERR_INVALID);
    ck_assert_int_eq(warren_recover(ch, WARREN_REQUEUE), WARREN_OK);
    ck_assert_int_eq(warren_next_delivery(conn, 2000, &d[0]), WARREN_OK);
    ck_assert(d[0]->redelivered);
    ck_assert_int_eq(warren_ack(ch, d[0]->delivery_tag, 0), WARREN_OK);
    warren_delivery_free(d[0]);
    /* Queued deliveries of a channel go with it. */
    publish(q, "five");
    ck_assert_int_eq(warren_process(conn, 200), WARREN_OK);
    ck_assert_int_eq(warren_channel_close(ch), WARREN_OK);
    ch = NULL;
    ck_assert_int_eq(warren_next_delivery(conn, 0, &d[0]), WARREN_AGAIN);
}
END_TEST

static int returns;
static uint16_t return_code;

static void
on_return(const struct warren_delivery *d, void *arg)
{
    ck_assert_int_eq(d->kind, WARREN_RETURN);
    ck_assert_ptr_eq(arg, &returns);
    return_code = d->reply_code;
    returns++;
}

START_TEST(mandatory_returns)
{
    struct warren_callbacks cbs = {.on_return = on_return, .arg = &returns};

    ck_assert_int_eq(warren_set_callbacks(conn, &cbs), WARREN_OK);
    returns = 0;
    ck_assert_int_eq(warren_publish(ch, "", qname("nowhere"), WARREN_MANDATORY,
                                    NULL, "r", 1),
                     WARREN_OK);
    pump_until(&returns, 1);
    ck_assert_uint_eq(return_code, 312); /* NO_ROUTE */
}
END_TEST

/* ==== confirms and transactions ======================================= */

START_TEST(confirms)
{
    const char *q = qname("conf");

    ck_assert_int_eq(warren_wait_confirms(ch, 0), WARREN_ERR_INVALID);
    ck_assert_uint_eq(warren_next_seq(ch), 0);
    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_confirm_select(ch), WARREN_OK);
    ck_assert_uint_eq(warren_next_seq(ch), 1);
    /* More than the initial 1024-entry ring of outstanding confirms. */
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(warren_publish(ch, "", q, WARREN_MORE, NULL, "c", 1),
                         WARREN_OK);
    ck_assert_uint_eq(warren_next_seq(ch), 3001);
    ck_assert_int_eq(warren_wait_confirms(ch, 5000), WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 3000), 3000);
    ck_assert_int_eq(warren_confirm_select(ch), WARREN_OK); /* idempotent */
    ck_assert_uint_eq(warren_next_seq(ch), 3001);
    ck_assert_int_eq(warren_wait_confirms(ch, 0), WARREN_OK);
}
END_TEST

START_TEST(transactions)
{
    const char *q = qname("tx");

    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(warren_tx_select(ch), WARREN_OK);
    publish(q, "dropped");
    ck_assert_int_eq(warren_tx_rollback(ch), WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 0), 0);
    publish(q, "kept");
    ck_assert_int_eq(warren_tx_commit(ch), WARREN_OK);
    ck_assert_uint_eq(wait_count(q, 1), 1);
}
END_TEST

/* DESIGN.md: no malloc per message in steady state. */
START_TEST(steady_state_no_alloc)
{
    const char *q = qname("steady");
    char tag[WARREN_TAG_MAX];
    struct got g = {.action = 2};

    ck_assert_int_eq(warren_queue_declare(ch, q, 0, NULL, NULL), WARREN_OK);
    ck_assert_int_eq(
        warren_consume(ch, q, NULL, WARREN_NO_ACK, NULL, on_msg, &g, tag),
        WARREN_OK);
    publish(q, "warm-up");
    pump_until(&g.n, 1);
    /* The next allocation would fail: none may happen. */
    wr_alloc_fail_after(1);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(warren_publish(ch, "", q, i % 50 ? WARREN_MORE : 0,
                                        NULL, "steady", 6),
                         WARREN_OK);
    ck_assert_int_eq(warren_flush(conn), WARREN_OK);
    pump_until(&g.n, 201);
    wr_alloc_fail_after(0);
}
END_TEST

/* ==== TLS end to end, through a TLS-terminating proxy ================= */

START_TEST(tls_proxy)
{
    char script[256], certs[64], cmd[400], ca[128], crt[128], key[128],
        port[16], u2[400];
    const char *q = qname("tls");
    struct wt_child proxy = {.pid = -1};
    struct warren_conn *c;
    struct warren_channel *c_ch;
    struct warren_delivery *d;
    size_t n = 300000;
    char *body = malloc(n);

    snprintf(certs, sizeof(certs), "/tmp/warren-certs-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "sh %s %s",
             wt_srcpath("tests/client/make_certs.sh", script, sizeof(script)),
             certs);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    snprintf(crt, sizeof(crt), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    snprintf(port, sizeof(port), "%d", server.port);
    {
        const char *argv[] = {
            wt_python(),
            wt_srcpath("tests/client/fake_broker.py", script, sizeof(script)),
            "proxy",
            "--tls",
            crt,
            key,
            "--upstream",
            port,
            NULL};

        ck_assert_int_eq(
            wt_spawn(&proxy, (char *const *)argv, 1, "PORT ", 10000), 0);
    }
    snprintf(u2, sizeof(u2), "amqps://guest:guest@localhost:%d/?cacertfile=%s",
             proxy.port, ca);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 13);
    ck_assert_int_eq(warren_conn_new(&c), WARREN_OK);
    ck_assert_int_eq(warren_connect_url(c, u2), WARREN_OK);
    ck_assert_int_eq(warren_channel_open(c, &c_ch), WARREN_OK);
    ck_assert_int_eq(warren_queue_declare(c_ch, q, 0, NULL, NULL), WARREN_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(warren_publish(c_ch, "", q, 0, NULL, body, n),
                         WARREN_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(warren_get(c_ch, q, WARREN_NO_ACK, &d), WARREN_OK);
        ck_assert_uint_eq(d->body.len, n);
        ck_assert(memcmp(d->body.ptr, body, n) == 0);
        warren_delivery_free(d);
    }
    ck_assert_int_eq(warren_close(c), WARREN_OK);
    warren_conn_free(c);
    free(body);
    ck_assert_int_eq(wt_wait(&proxy, 10000), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
    (void)system(cmd);
}
END_TEST

static Suite *
client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc;

    tc = tcase_create("api");
    tcase_add_test(tc, strerror_and_version);
    tcase_add_test(tc, settings_and_misuse);
    tcase_add_test(tc, out_of_memory);
    suite_add_tcase(s, tc);

    tc = tcase_create("connection");
    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, connect_and_close);
    tcase_add_test(tc, channels);
    tcase_add_test(tc, channel_max);
    tcase_add_test(tc, tls_proxy);
    suite_add_tcase(s, tc);

    tc = tcase_create("declare");
    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, exchanges);
    tcase_add_test(tc, queues);
    suite_add_tcase(s, tc);

    tc = tcase_create("messages");
    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, publish_get_props);
    tcase_add_test(tc, large_messages);
    tcase_add_test(tc, consume_callbacks);
    tcase_add_test(tc, next_delivery);
    tcase_add_test(tc, mandatory_returns);
    tcase_add_test(tc, confirms);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, steady_state_no_alloc);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(client_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
