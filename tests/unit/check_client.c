/* SPDX-License-Identifier: MIT */
/* libwarren against a real build/warren-server started on a free port by
 * a fixture: every public call of client/warren.h, plus the URL parser and
 * allocation-failure paths. Suite "client"; its messages test case is in
 * tests/unit/client/messages.c. */
#include "client/cases.h"

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct wt_child server = {.pid = -1};
struct warren_conn *conn;
struct warren_channel *ch;
char url[256];
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
const char *
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
uint32_t
wait_count(const char *queue, uint32_t want)
{
    long end = wt_now_ms() + 3000;
    uint32_t n;

    while ((n = count(queue)) != want && wt_now_ms() < end)
        usleep(5000);
    return n;
}

void
publish(const char *queue, const char *body)
{
    ck_assert_int_eq(warren_publish(ch, "", queue, 0, NULL, body, strlen(body)),
                     WARREN_OK);
}

/* basic.get one message and check its body; returns its tag. */
uint64_t
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

    tc = client_messages_tcase();
    tcase_add_unchecked_fixture(tc, server_start, server_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
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
