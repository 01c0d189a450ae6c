/* SPDX-License-Identifier: MIT */
/* Connections: settings, the AMQP handshake (start, tune, open), the frame
 * dispatcher and connection-class methods, polite close, and the
 * application's loop calls (process, next_delivery). */
#include "client_internal.h"

#include <stdio.h>
#include <string.h>

/* warren.h's codes keep common.h's values. */
#define SAME_CODE(x) _Static_assert((int)WARREN_##x == (int)WR_##x, #x)
SAME_CODE(OK);
SAME_CODE(AGAIN);
SAME_CODE(ERR_NOMEM);
SAME_CODE(ERR_NOSPACE);
SAME_CODE(ERR_PROTO_HEADER);
SAME_CODE(ERR_FRAME_END);
SAME_CODE(ERR_FRAME_SIZE);
SAME_CODE(ERR_FRAME_TYPE);
SAME_CODE(ERR_SYNTAX);
SAME_CODE(ERR_UNKNOWN_METHOD);
SAME_CODE(ERR_FIELD_TYPE);
SAME_CODE(ERR_TOO_DEEP);
SAME_CODE(ERR_NOT_FOUND);
SAME_CODE(ERR_EXISTS);
SAME_CODE(ERR_INVALID);
SAME_CODE(ERR_CLOSED);
SAME_CODE(ERR_IO);
SAME_CODE(ERR_TIMEOUT);

const char *
warren_version(void)
{
    return WARREN_VERSION;
}

const char *
warren_strerror(int rc)
{
    switch (rc) {
    case WARREN_AGAIN:
        return "timeout expired";
    case WARREN_ERR_CHANNEL_CLOSED:
        return "channel closed by the broker";
    case WARREN_ERR_CONNECTION_CLOSED:
        return "connection closed";
    case WARREN_ERR_PROTOCOL:
        return "AMQP protocol error";
    case WARREN_ERR_AUTH:
        return "login or vhost access refused";
    case WARREN_ERR_TLS:
        return "TLS error";
    case WARREN_ERR_NACKED:
        return "message nacked by the broker";
    }
    return wr_strerror(rc);
}

/* ---- settings -------------------------------------------------------- */

int
warren_conn_new(struct warren_conn **out)
{
    struct warren_conn *c = wr_calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return WR_ERR_NOMEM;
    c->fd = -1;
    c->connect_ms = c->rpc_ms = WR_CLIENT_DEFAULT_TIMEOUT;
    c->heartbeat_want = -1;
    c->tls_verify = true;
    c->cb.log_level = WARREN_LOG_NOTICE;
    wr_list_init(&c->pending);
    *out = c;
    return WR_OK;
}

int
warren_set_callbacks(struct warren_conn *c, const struct warren_callbacks *cbs)
{
    if (cbs == NULL)
        return WR_ERR_INVALID;
    c->cb = *cbs;
    return WR_OK;
}

int
warren_set_timeouts(struct warren_conn *c, int connect_ms, int rpc_ms)
{
    if (connect_ms < 0 || rpc_ms < 0)
        return WR_ERR_INVALID;
    if (connect_ms)
        c->connect_ms = connect_ms;
    if (rpc_ms)
        c->rpc_ms = rpc_ms;
    return WR_OK;
}

int
warren_set_heartbeat(struct warren_conn *c, int seconds)
{
    if (seconds < -1 || seconds > 65535)
        return WR_ERR_INVALID;
    c->heartbeat_want = seconds;
    return WR_OK;
}

static int set_str(char **slot, const char *s);

int
warren_set_client_name(struct warren_conn *c, const char *name)
{
    if (name && strlen(name) > 255)
        return WR_ERR_INVALID;
    return set_str(&c->client_name, name);
}

/* Replaces *slot with a copy of s (NULL clears). */
static int
set_str(char **slot, const char *s)
{
    char *d = NULL;

    if (s != NULL && (d = wr_strdup(s)) == NULL)
        return WR_ERR_NOMEM;
    wr_free(*slot);
    *slot = d;
    return WR_OK;
}

int
warren_set_tls(struct warren_conn *c, const char *ca_file,
               const char *cert_file, const char *key_file, bool verify)
{
    if ((cert_file == NULL) != (key_file == NULL))
        return WR_ERR_INVALID;
    if (set_str(&c->ca_file, ca_file) != WR_OK ||
        set_str(&c->cert_file, cert_file) != WR_OK ||
        set_str(&c->key_file, key_file) != WR_OK)
        return WR_ERR_NOMEM;
    c->tls_verify = verify;
    return WR_OK;
}

bool
warren_is_open(const struct warren_conn *c)
{
    return c->state == WR_CLIENT_OPEN;
}

const struct warren_close *
warren_last_close(const struct warren_conn *c)
{
    return c->has_close ? &c->last_close : NULL;
}

struct warren_bytes
warren_server_properties(const struct warren_conn *c)
{
    return (struct warren_bytes){c->server_props, c->server_props_len};
}

int
wr_client_check_wait(struct warren_conn *c)
{
    if (c->in_callback > 0) {
        wr_client_log(c, WARREN_LOG_WARN,
                      "a call that waits for the broker was made from a "
                      "callback");
        return WR_ERR_INVALID;
    }
    if (c->state != WR_CLIENT_OPEN)
        return WARREN_ERR_CONNECTION_CLOSED;
    return WR_OK;
}

/* ---- connection-class methods (channel 0) ----------------------------- */

static int
on_connection_close(struct warren_conn *c, const struct wr_method *m)
{
    const struct wr_connection_close *cl = &m->u.connection_close;
    struct wr_method ok = {.id = WR_CONNECTION_CLOSE_OK};
    struct warren_close why;
    int rc = WARREN_ERR_CONNECTION_CLOSED;

    /* Section 1.4.2.9: answer with close-ok, then the socket may go. */
    if (wr_client_send_method(c, 0, &ok) == WR_OK)
        (void)wr_client_io_flush(c, wr_client_deadline(1000));
    if (c->state == WR_CLIENT_CLOSING) { /* both sides closed at once */
        c->rpc0.done = true;
        return WR_OK;
    }
    /* A refused login (403, with authentication_failure_close) or vhost
     * (530 NOT_ALLOWED) arrives while the handshake runs. */
    if (c->state == WR_CLIENT_HANDSHAKE &&
        (cl->reply_code == WR_REPLY_ACCESS_REFUSED ||
         cl->reply_code == WR_REPLY_NOT_ALLOWED))
        rc = WARREN_ERR_AUTH;
    wr_client_close_set(&why, 0, cl->reply_code, cl->reply_text,
                        WR_METHOD_ID(cl->class_id, cl->method_id), true, rc);
    wr_client_log(c, WARREN_LOG_NOTICE, "broker closed the connection: %u %s",
                  why.reply_code, why.reply_text);
    wr_client_teardown(c, &why, c->state == WR_CLIENT_OPEN);
    return rc;
}

static void
on_blocked(struct warren_conn *c, bool blocked, struct wr_bytes reason)
{
    char text[256];

    snprintf(text, sizeof(text), "%.*s", (int)reason.len,
             (const char *)reason.ptr);
    wr_client_log(c, WARREN_LOG_NOTICE, "connection %s by the broker%s%s",
                  blocked ? "blocked" : "unblocked", text[0] ? ": " : "", text);
    if (c->cb.on_blocked != NULL) {
        c->in_callback++;
        c->cb.on_blocked(c, blocked, text, c->cb.arg);
        c->in_callback--;
    }
}

static int
decode_error(struct warren_conn *c, int rc, uint16_t channel)
{
    return wr_client_fail_protocol(
        c,
        rc == WR_ERR_UNKNOWN_METHOD ? WR_REPLY_NOT_IMPLEMENTED
                                    : WR_REPLY_SYNTAX_ERROR,
        0, "cannot decode a method on channel %u: %s", channel,
        wr_strerror(rc));
}

static int
conn_method(struct warren_conn *c, const struct wr_frame *f)
{
    struct wr_method m;
    int rc = wr_method_decode(f->payload, f->size, &m);

    if (rc != WR_OK)
        return decode_error(c, rc, 0);
    switch (m.id) {
    case WR_CONNECTION_CLOSE:
        return on_connection_close(c, &m);
    case WR_CONNECTION_CLOSE_OK:
        if (c->state == WR_CLIENT_CLOSING) {
            c->rpc0.done = true;
            return WR_OK;
        }
        break;
    case WR_CONNECTION_BLOCKED:
        on_blocked(c, true, m.u.connection_blocked.reason);
        return WR_OK;
    case WR_CONNECTION_UNBLOCKED:
        on_blocked(c, false, (struct wr_bytes){NULL, 0});
        return WR_OK;
    }
    if (c->state == WR_CLIENT_CLOSING)
        return WR_OK; /* section 2.3.5.1: drop the rest while closing */
    if (!c->rpc0.done && m.id == c->rpc0.expect[0]) {
        c->rpc0.reply = m;
        c->rpc0.done = true;
        return WR_OK;
    }
    return wr_client_fail_protocol(c, WR_REPLY_COMMAND_INVALID, m.id,
                                   "unexpected %s on channel 0",
                                   wr_method_name(m.id));
}

static int
handle_frame(struct warren_conn *c, const struct wr_frame *f)
{
    struct warren_channel *ch;

    if (f->type == WR_FRAME_HEARTBEAT) {
        /* Section 4.2.7: heartbeats belong to channel 0. */
        if (f->channel != 0)
            return wr_client_fail_protocol(c, WR_REPLY_FRAME_ERROR, 0,
                                           "heartbeat frame on channel %u",
                                           f->channel);
        return WR_OK;
    }
    if (f->channel == 0) {
        if (f->type != WR_FRAME_METHOD)
            return wr_client_fail_protocol(
                c, WR_REPLY_UNEXPECTED_FRAME, 0,
                "content frame (type %u) on channel 0", f->type);
        return conn_method(c, f);
    }
    if (c->state == WR_CLIENT_CLOSING)
        return WR_OK;
    if (c->state != WR_CLIENT_OPEN)
        return wr_client_fail_protocol(c, WR_REPLY_CHANNEL_ERROR, 0,
                                       "frame on channel %u before "
                                       "connection.open-ok",
                                       f->channel);
    ch = f->channel < c->nchans ? c->chans[f->channel] : NULL;
    if (ch == NULL) {
        /* In flight when we closed it: nothing to do. */
        wr_client_log(c, WARREN_LOG_DEBUG,
                      "frame type %u for closed channel %u dropped", f->type,
                      f->channel);
        return WR_OK;
    }
    return wr_client_channel_frame(ch, f);
}

/* Handles the first complete frame of the input, if any. Returns WR_OK,
 * WR_AGAIN (no complete frame) or the fatal code. */
static int
dispatch_one(struct warren_conn *c)
{
    size_t avail = c->in_w - c->in_r, used = 0;
    const uint8_t *p = c->in + c->in_r;
    struct wr_frame f;
    int rc;

    if (avail == 0)
        return WR_AGAIN;
    if (c->state == WR_CLIENT_HANDSHAKE && p[0] == 'A') {
        /* Section 4.2.2: a broker that can't speak our version answers
         * with the protocol header it can speak, then closes. */
        if (avail < WR_PROTO_HEADER_LEN)
            return WR_AGAIN;
        return wr_client_fail(c, WARREN_ERR_PROTOCOL, 0, 0, false,
                              "the broker wants protocol %u-%u-%u, not "
                              "AMQP 0-9-1",
                              p[5], p[6], p[7]);
    }
    rc = wr_frame_decode(
        p, avail, c->frame_max ? c->frame_max : WR_FRAME_MIN_SIZE, &f, &used);
    if (rc == WR_AGAIN)
        return WR_AGAIN;
    if (rc != WR_OK)
        return wr_client_fail_protocol(c, WR_REPLY_FRAME_ERROR, 0,
                                       "bad frame from the broker: %s",
                                       wr_strerror(rc));
    c->in_r += used;
    c->dispatching++;
    rc = handle_frame(c, &f);
    c->dispatching--;
    if (rc == WR_OK && c->state == WR_CLIENT_DEAD)
        rc = c->dead_rc;
    return rc;
}

int
wr_client_wait(struct warren_conn *c, int64_t deadline,
               bool (*ready)(struct warren_conn *c, void *arg), void *arg)
{
    int rc;

    wr_assert(c->dispatching == 0);
    for (;;) {
        if (ready(c, arg))
            return WR_OK;
        if (c->state == WR_CLIENT_DEAD)
            return c->dead_rc;
        rc = dispatch_one(c);
        if (rc == WR_OK)
            continue;
        if (rc != WR_AGAIN)
            return rc;
        rc = wr_client_io_read(c, deadline);
        if (rc != WR_OK)
            return rc;
    }
}

/* ---- handshake ------------------------------------------------------- */

static bool
rpc0_ready(struct warren_conn *c, void *arg)
{
    (void)arg;
    return c->rpc0.done;
}

/* Waits for one connection-class reply, before deadline. */
static int
rpc0_wait(struct warren_conn *c, uint32_t expect, int64_t deadline)
{
    int rc;

    memset(&c->rpc0, 0, sizeof(c->rpc0));
    c->rpc0.expect[0] = expect;
    rc = wr_client_wait(c, deadline, rpc0_ready, NULL);
    if (rc == WR_AGAIN)
        rc = wr_client_fail(c, WR_ERR_TIMEOUT, 0, 0, false,
                            "timed out waiting for %s", wr_method_name(expect));
    return rc;
}

/* true when the space-separated list has word. */
static bool
has_word(struct wr_bytes list, const char *word)
{
    size_t n = strlen(word), i = 0;

    while (i < list.len) {
        size_t j = i;

        while (j < list.len && list.ptr[j] != ' ')
            j++;
        if (j - i == n && memcmp(list.ptr + i, word, n) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

static int
send_start_ok(struct warren_conn *c, const struct wr_client_url *u)
{
    uint8_t props[1024];
    size_t ul = strlen(u->user), pl = strlen(u->pass);
    struct wr_method m = {.id = WR_CONNECTION_START_OK};
    struct wr_connection_start_ok *s = &m.u.connection_start_ok;
    struct wr_tb b;
    uint8_t *resp;
    int rc;

    wr_tb_init(&b, props, sizeof(props));
    wr_tb_add_str(&b, "product", WR_BYTES_LIT("libwarren"));
    wr_tb_add_str(&b, "version", WR_BYTES_LIT(WARREN_VERSION));
    wr_tb_add_str(&b, "platform", WR_BYTES_LIT("C"));
    if (c->client_name) /* RabbitMQ shows it as the connection's name */
        wr_tb_add_str(&b, "connection_name", wr_bytes_str(c->client_name));
    wr_tb_begin_table(&b, "capabilities");
    wr_tb_add_bool(&b, "publisher_confirms", true);
    wr_tb_add_bool(&b, "exchange_exchange_bindings", true);
    wr_tb_add_bool(&b, "basic.nack", true);
    wr_tb_add_bool(&b, "consumer_cancel_notify", true);
    wr_tb_add_bool(&b, "connection.blocked", true);
    wr_tb_add_bool(&b, "authentication_failure_close", true);
    wr_tb_add_bool(&b, "per_consumer_qos", true);
    wr_tb_end(&b);
    wr_tb_end(&b);
    wr_assert(b.err == WR_OK);
    /* RFC 4616 PLAIN: authzid NUL authcid NUL password. */
    resp = wr_malloc(ul + pl + 2);
    if (resp == NULL)
        return WR_ERR_NOMEM;
    resp[0] = 0;
    memcpy(resp + 1, u->user, ul);
    resp[ul + 1] = 0;
    memcpy(resp + ul + 2, u->pass, pl);
    s->client_properties = wr_tb_table(&b);
    s->mechanism = WR_BYTES_LIT("PLAIN");
    s->response = (struct wr_bytes){resp, (uint32_t)(ul + pl + 2)};
    s->locale = WR_BYTES_LIT("en_US");
    rc = wr_client_send_method(c, 0, &m);
    wr_free(resp);
    return rc;
}

/* Section 1.4.2.6: each limit is the smaller of the two offers, where 0
 * means "no limit" (except heartbeat, where 0 is "off"). */
static void
negotiate(struct warren_conn *c, const struct wr_connection_tune *t,
          const struct wr_client_url *u)
{
    uint32_t fm =
        u->frame_max >= 0 ? (uint32_t)u->frame_max : WR_CLIENT_FRAME_MAX;
    uint32_t cm =
        u->channel_max >= 0 ? (uint32_t)u->channel_max : WR_CLIENT_CHANNEL_MAX;
    int hb = u->heartbeat >= 0 ? u->heartbeat : c->heartbeat_want;

    if (fm == 0)
        fm = t->frame_max ? t->frame_max : WR_CLIENT_FRAME_MAX;
    else if (t->frame_max)
        fm = WR_MIN(fm, t->frame_max);
    c->frame_max = WR_MAX(fm, (uint32_t)WR_FRAME_MIN_SIZE);
    if (cm == 0 || cm > 65535)
        cm = 65535;
    if (t->channel_max)
        cm = WR_MIN(cm, (uint32_t)t->channel_max);
    c->channel_max = (uint16_t)cm;
    if (hb < 0)
        c->heartbeat = t->heartbeat;
    else if (hb == 0 || t->heartbeat == 0)
        c->heartbeat = (uint16_t)hb;
    else
        c->heartbeat = (uint16_t)WR_MIN(hb, (int)t->heartbeat);
}

static int
handshake(struct warren_conn *c, const struct wr_client_url *u,
          int64_t deadline)
{
    struct wr_method m;
    int rc;

    rc = wr_client_out_reserve(c, WR_PROTO_HEADER_LEN);
    if (rc != WR_OK)
        return wr_client_fail(c, rc, 0, 0, false, "out of memory");
    memcpy(c->out + c->out_len, WR_PROTO_HEADER, WR_PROTO_HEADER_LEN);
    c->out_len += WR_PROTO_HEADER_LEN;

    if ((rc = rpc0_wait(c, WR_CONNECTION_START, deadline)) != WR_OK)
        return rc;
    {
        const struct wr_connection_start *s = &c->rpc0.reply.u.connection_start;

        if (s->version_major != 0 || s->version_minor != 9)
            return wr_client_fail_protocol(
                c, WR_REPLY_NOT_IMPLEMENTED, WR_CONNECTION_START,
                "broker speaks AMQP %u-%u, not 0-9-1", s->version_major,
                s->version_minor);
        if (!has_word(s->mechanisms, "PLAIN"))
            return wr_client_fail(c, WARREN_ERR_AUTH, 0, 0, false,
                                  "the broker does not offer PLAIN login");
        c->server_props = wr_malloc(s->server_properties.len);
        if (c->server_props == NULL)
            return wr_client_fail(c, WR_ERR_NOMEM, 0, 0, false,
                                  "out of memory");
        memcpy(c->server_props, s->server_properties.ptr,
               s->server_properties.len);
        c->server_props_len = s->server_properties.len;
    }
    if ((rc = send_start_ok(c, u)) != WR_OK)
        return wr_client_fail(c, rc, 0, 0, false,
                              "cannot encode connection.start-ok: %s",
                              warren_strerror(rc));
    c->sent_start_ok = true;
    if ((rc = rpc0_wait(c, WR_CONNECTION_TUNE, deadline)) != WR_OK)
        return rc;
    c->sent_start_ok = false;
    negotiate(c, &c->rpc0.reply.u.connection_tune, u);

    memset(&m, 0, sizeof(m));
    m.id = WR_CONNECTION_TUNE_OK;
    m.u.connection_tune_ok.channel_max = c->channel_max;
    m.u.connection_tune_ok.frame_max = c->frame_max;
    m.u.connection_tune_ok.heartbeat = c->heartbeat;
    rc = wr_client_send_method(c, 0, &m);
    memset(&m, 0, sizeof(m));
    m.id = WR_CONNECTION_OPEN;
    m.u.connection_open.virtual_host = wr_bytes_str(u->vhost);
    if (rc == WR_OK)
        rc = wr_client_send_method(c, 0, &m);
    if (rc != WR_OK)
        return wr_client_fail(c, rc, 0, 0, false,
                              "cannot encode connection.open: %s",
                              warren_strerror(rc));
    if ((rc = rpc0_wait(c, WR_CONNECTION_OPEN_OK, deadline)) != WR_OK)
        return rc;
    c->state = WR_CLIENT_OPEN;
    wr_client_log(c, WARREN_LOG_INFO,
                  "connected to %s:%d vhost %s (frame-max %u, channel-max "
                  "%u, heartbeat %u s)",
                  u->host, u->port, u->vhost, c->frame_max, c->channel_max,
                  c->heartbeat);
    return WR_OK;
}

/* URL settings that override the setters. */
static int
apply_url(struct warren_conn *c, const struct wr_client_url *u)
{
    if (u->connection_timeout > 0)
        c->connect_ms = u->connection_timeout;
    if ((u->cacertfile && set_str(&c->ca_file, u->cacertfile) != WR_OK) ||
        (u->certfile && set_str(&c->cert_file, u->certfile) != WR_OK) ||
        (u->keyfile && set_str(&c->key_file, u->keyfile) != WR_OK))
        return WR_ERR_NOMEM;
    if (u->verify >= 0)
        c->tls_verify = u->verify == 1;
    return WR_OK;
}

int
warren_connect_url(struct warren_conn *c, const char *url)
{
    struct wr_client_url u;
    char err[200] = "";
    int rc;

    if (c->state != WR_CLIENT_NEW || c->in_callback > 0 || url == NULL)
        return WR_ERR_INVALID;
    rc = wr_client_url_parse(url, &u, err, sizeof(err));
    if (rc != WR_OK) {
        wr_client_close_set(&c->last_close, 0, 0, wr_bytes_str(err), 0, false,
                            rc);
        c->has_close = true;
        wr_client_log(c, WARREN_LOG_ERROR, "bad URL: %s", err);
        return rc;
    }
    rc = apply_url(c, &u);
    if (rc == WR_OK && (c->cert_file == NULL) != (c->key_file == NULL))
        rc = WR_ERR_INVALID;
    if (rc == WR_OK && c->in == NULL) {
        c->in = wr_malloc(WR_CLIENT_IN_INITIAL);
        c->in_cap = c->in ? WR_CLIENT_IN_INITIAL : 0;
        rc = c->in ? WR_OK : WR_ERR_NOMEM;
    }
    if (rc != WR_OK) {
        wr_client_close_set(&c->last_close, 0, 0,
                            wr_bytes_str(rc == WR_ERR_NOMEM
                                             ? "out of memory"
                                             : "certfile without keyfile"),
                            0, false, rc);
        c->has_close = true;
        wr_client_url_cleanup(&u);
        return rc;
    }
    c->state = WR_CLIENT_HANDSHAKE;
    {
        int64_t deadline = wr_client_deadline(c->connect_ms);

        rc = wr_client_io_connect(c, u.host, u.port, u.tls, u.sni, deadline);
        if (rc == WR_OK)
            rc = handshake(c, &u, deadline);
    }
    wr_client_url_cleanup(&u);
    return rc;
}

/* ---- close and free -------------------------------------------------- */

int
warren_close(struct warren_conn *c)
{
    struct wr_method m = {.id = WR_CONNECTION_CLOSE};
    struct warren_close why;

    if (c->in_callback > 0)
        return WR_ERR_INVALID;
    if (c->state == WR_CLIENT_NEW) {
        c->state = WR_CLIENT_DEAD;
        c->dead_rc = WARREN_ERR_CONNECTION_CLOSED;
    }
    if (c->state == WR_CLIENT_DEAD)
        return WR_OK;
    m.u.connection_close.reply_code = WR_REPLY_SUCCESS;
    m.u.connection_close.reply_text = WR_BYTES_LIT("Goodbye");
    if (wr_client_send_method(c, 0, &m) == WR_OK) {
        c->state = WR_CLIENT_CLOSING;
        memset(&c->rpc0, 0, sizeof(c->rpc0));
        (void)wr_client_wait(c, wr_client_deadline(c->rpc_ms), rpc0_ready,
                             NULL);
    }
    wr_client_close_set(&why, 0, WR_REPLY_SUCCESS,
                        WR_BYTES_LIT("closed by the application"), 0, false,
                        WARREN_ERR_CONNECTION_CLOSED);
    wr_client_teardown(c, &why, false);
    return WR_OK;
}

void
warren_conn_free(struct warren_conn *c)
{
    struct wr_list *pos, *tmp;

    if (c == NULL)
        return;
    wr_assert(c->in_callback == 0); /* STYLE 5.9: not from a callback */
    (void)warren_close(c);
    for (size_t i = 0; i < c->nchans; i++)
        if (c->chans[i] != NULL)
            wr_client_channel_free(c->chans[i]);
    wr_list_for_each_safe(pos, tmp, &c->pending)
    {
        wr_client_owned_free(
            WR_CONTAINER_OF(pos, struct wr_client_owned, link));
    }
    wr_free(c->chans);
    wr_free(c->in);
    wr_free(c->out);
    wr_free(c->ca_file);
    wr_free(c->client_name);
    wr_free(c->cert_file);
    wr_free(c->key_file);
    wr_free(c->server_props);
    wr_free(c);
}

/* ---- the application's loop ------------------------------------------ */

int
warren_process(struct warren_conn *c, int timeout_ms)
{
    int64_t deadline;
    int rc, n = 0;

    if ((rc = wr_client_check_wait(c)) != WR_OK)
        return rc;
    deadline = wr_client_deadline(timeout_ms);
    for (;;) {
        rc = dispatch_one(c);
        if (rc == WR_OK) {
            n++;
            continue;
        }
        if (rc != WR_AGAIN)
            return rc;
        if (n > 0)
            break;
        rc = wr_client_io_read(c, deadline);
        if (rc == WR_AGAIN)
            break;
        if (rc != WR_OK)
            return rc;
    }
    rc = wr_client_flush(c); /* acks made by the callbacks */
    if (rc != WR_OK)
        return rc;
    return n > 0 ? WR_OK : WR_AGAIN;
}

int
warren_flush(struct warren_conn *c)
{
    if (c->state != WR_CLIENT_OPEN)
        return c->state == WR_CLIENT_DEAD ? WARREN_ERR_CONNECTION_CLOSED
                                          : WR_OK;
    return wr_client_flush(c);
}

static bool
pending_ready(struct warren_conn *c, void *arg)
{
    (void)arg;
    return !wr_list_empty(&c->pending) || c->pending_err != WR_OK;
}

int
warren_next_delivery(struct warren_conn *c, int timeout_ms,
                     struct warren_delivery **out)
{
    struct wr_client_owned *o;
    int rc;

    *out = NULL;
    if ((rc = wr_client_check_wait(c)) != WR_OK)
        return rc;
    rc = wr_client_wait(c, wr_client_deadline(timeout_ms), pending_ready, NULL);
    if (rc == WR_OK || rc == WR_AGAIN) {
        int frc = wr_client_flush(c);

        if (frc != WR_OK)
            return frc;
    }
    if (rc != WR_OK)
        return rc;
    if (c->pending_err != WR_OK) {
        rc = c->pending_err;
        c->pending_err = WR_OK;
        return rc;
    }
    o = WR_CONTAINER_OF(c->pending.next, struct wr_client_owned, link);
    wr_list_remove(&o->link);
    *out = &o->d;
    return WR_OK;
}
