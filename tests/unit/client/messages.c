/* SPDX-License-Identifier: MIT */
/* The client suite's messages test case, against the suite's broker:
 * publish and basic.get with properties, large messages, consumers with
 * callbacks and without, mandatory returns, confirms, transactions, and
 * no allocation in the steady state. */
#include "cases.h"

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

TCase *
client_messages_tcase(void)
{
    TCase *tc = tcase_create("messages");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, publish_get_props);
    tcase_add_test(tc, large_messages);
    tcase_add_test(tc, consume_callbacks);
    tcase_add_test(tc, next_delivery);
    tcase_add_test(tc, mandatory_returns);
    tcase_add_test(tc, confirms);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, steady_state_no_alloc);
    return tc;
}
