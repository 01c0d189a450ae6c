/* SPDX-License-Identifier: MIT */
/* The connection-class handshake (AMQP 0-9-1 section 2.2.4): start /
 * start-ok with the login, tune / tune-ok, open / open-ok, and the
 * connection methods of an open connection (close, close-ok, blocked,
 * update-secret). */
#include "amqp_internal.h"

#include <stdio.h>
#include <string.h>

void
wr_conn_send_start(struct wr_conn *c)
{
    uint8_t props[1024];
    struct wr_tb b;
    struct wr_method m = {.id = WR_CONNECTION_START};
    char mechs[128];

    wr_tb_init(&b, props, sizeof(props));
    wr_tb_begin_table(&b, "capabilities");
    wr_tb_add_bool(&b, "publisher_confirms", true);
    wr_tb_add_bool(&b, "exchange_exchange_bindings", true);
    wr_tb_add_bool(&b, "basic.nack", true);
    wr_tb_add_bool(&b, "consumer_cancel_notify", true);
    wr_tb_add_bool(&b, "connection.blocked", true);
    wr_tb_add_bool(&b, "consumer_priorities", true);
    wr_tb_add_bool(&b, "authentication_failure_close", true);
    wr_tb_add_bool(&b, "per_consumer_qos", true);
    wr_tb_add_bool(&b, "direct_reply_to", true);
    wr_tb_end(&b);
    wr_tb_add_str(&b, "cluster_name", wr_bytes_str("warren@localhost"));
    wr_tb_add_str(&b, "copyright",
                  wr_bytes_str("Copyright (c) 2026 The warren authors"));
    wr_tb_add_str(&b, "information",
                  wr_bytes_str("Licensed under the MIT licence"));
    wr_tb_add_str(&b, "platform", wr_bytes_str("C11 / libevent"));
    wr_tb_add_str(&b, "product", wr_bytes_str(WR_PRODUCT));
    wr_tb_add_str(&b, "version", wr_bytes_str(WR_VERSION));
    wr_tb_end(&b);
    wr_assert(b.err == WR_OK);
    m.u.connection_start.version_major = 0;
    m.u.connection_start.version_minor = 9;
    m.u.connection_start.server_properties = wr_tb_table(&b);
    wr_auth_mechanisms(c, mechs, sizeof(mechs));
    m.u.connection_start.mechanisms = wr_bytes_str(mechs);
    m.u.connection_start.locales = wr_bytes_str("en_US");
    wr_conn_send_method(c, 0, &m);
    c->state = WR_CONN_AWAIT_START_OK;
}

/* A refused login is answered after a delay that grows with recent
 * failures from the same host; meanwhile nothing more is read. */
static void
refuse_login(struct wr_conn *c, struct wr_bytes mech)
{
    uint32_t ms = wr_auth_fail_delay(c->srv, c->host);

    snprintf(c->mech, sizeof(c->mech), "%.*s", (int)WR_MIN(mech.len, 15u),
             mech.ptr);
    c->auth_failed = true;
    wr_conn_read_off(c);
    wr_conn_arm_timer(c, ms);
}

static bool
capability(struct wr_table caps, const char *name)
{
    struct wr_value cap;

    return wr_table_get(caps, name, &cap) == WR_OK && cap.type == WR_FT_BOOL &&
           cap.v.b;
}

static void
on_start_ok(struct wr_conn *c, const struct wr_connection_start_ok *m)
{
    struct wr_value v;
    struct wr_method t = {.id = WR_CONNECTION_TUNE};

    if (wr_table_get(m->client_properties, "capabilities", &v) == WR_OK &&
        v.type == WR_FT_TABLE) {
        c->cancel_notify = capability(v.v.table, "consumer_cancel_notify");
        c->blocked_cap = capability(v.v.table, "connection.blocked");
    }
    /* A refused login leaves the connection waiting out its delay, during
     * which more start-oks may come: keep the last one's properties. */
    wr_free(c->client_name);
    c->client_name = NULL;
    wr_free(c->client_props);
    c->client_props = NULL;
    c->client_props_len = 0;
    if (wr_table_get(m->client_properties, "connection_name", &v) == WR_OK &&
        v.type == WR_FT_LONGSTR)
        c->client_name = wr_strndup(v.v.str.ptr, WR_MIN(v.v.str.len, 255));
    /* Kept for the management API (product, version, capabilities, ...).
     * Clients send a few hundred bytes; a bigger table is not kept, so an
     * idle connection stays within its bound (MEMORY.md). */
    if (m->client_properties.len > 0 &&
        m->client_properties.len <= WR_CLIENT_PROPS_MAX &&
        (c->client_props = wr_malloc(m->client_properties.len)) != NULL) {
        memcpy(c->client_props, m->client_properties.ptr,
               m->client_properties.len);
        c->client_props_len = m->client_properties.len;
    }
    if (!wr_bytes_eq_str(m->mechanism, "PLAIN") &&
        !wr_bytes_eq_str(m->mechanism, "AMQPLAIN") &&
        !wr_bytes_eq_str(m->mechanism, "EXTERNAL")) {
        /* AMQP 0-9-1 connection.start-ok: a mechanism that was not offered
         * makes the server close without sending any further data. */
        wr_log(WR_LOG_WARN, "conn %llu %s: unsupported mechanism '%.*s'",
               (unsigned long long)c->id, c->peer,
               (int)WR_MIN(m->mechanism.len, 64), m->mechanism.ptr);
        wr_conn_drop(c, "unsupported authentication mechanism");
        return;
    }
    if (!wr_auth_login(c, m->mechanism, m->response)) {
        refuse_login(c, m->mechanism);
        return;
    }
    t.u.connection_tune.channel_max = c->srv->cfg.channel_max;
    t.u.connection_tune.frame_max = c->srv->cfg.frame_max;
    t.u.connection_tune.heartbeat = c->srv->cfg.heartbeat;
    wr_conn_send_method(c, 0, &t);
    c->state = WR_CONN_AWAIT_TUNE_OK;
}

static void
on_tune_ok(struct wr_conn *c, const struct wr_connection_tune_ok *m)
{
    const struct wr_config *cfg = &c->srv->cfg;

    if (m->frame_max != 0 && m->frame_max < WR_FRAME_MIN_SIZE) {
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_TUNE_OK,
                      "frame_max=%u < %u min size", m->frame_max,
                      WR_FRAME_MIN_SIZE);
        return;
    }
    if (m->frame_max > cfg->frame_max) {
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_TUNE_OK,
                      "frame_max=%u > %u max size", m->frame_max,
                      cfg->frame_max);
        return;
    }
    if (m->channel_max > cfg->channel_max) {
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_TUNE_OK,
                      "channel_max=%u > %u max", m->channel_max,
                      cfg->channel_max);
        return;
    }
    c->frame_max = m->frame_max ? m->frame_max : cfg->frame_max;
    c->channel_max = m->channel_max ? m->channel_max : cfg->channel_max;
    c->heartbeat = m->heartbeat;
    c->state = WR_CONN_AWAIT_OPEN;
}

static void
on_open(struct wr_conn *c, const struct wr_connection_open *m)
{
    struct wr_method ok = {.id = WR_CONNECTION_OPEN_OK};
    struct wr_vhost *vh =
        wr_hmap_get(&c->srv->vhosts, m->virtual_host.ptr, m->virtual_host.len);
    const char *why;
    char buf[512];

    if (vh == NULL) {
        /* RabbitMQ's text, unquoted: clients show it as it is */
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_OPEN,
                      "vhost %.*s not found", (int)m->virtual_host.len,
                      m->virtual_host.ptr);
        return;
    }
    why = wr_auth_vhost_refusal(c, vh, buf, sizeof(buf));
    if (why) {
        wr_conn_error(c, WR_REPLY_NOT_ALLOWED, WR_CONNECTION_OPEN, "%s", why);
        return;
    }
    c->vh = vh;
    wr_list_push_back(&vh->conns, &c->vh_link);
    vh->nconns++;
    wr_conn_send_method(c, 0, &ok);
    c->state = WR_CONN_OPEN;
    wr_log(WR_LOG_NOTICE, "conn %llu %s: user '%s' opened vhost '%s'",
           (unsigned long long)c->id, c->peer, c->user, vh->name);
    /* AMQP 0-9-1 4.2.7: send a heartbeat every half interval; a peer silent
     * for two intervals is gone. */
    if (c->heartbeat)
        wr_conn_arm_timer(c, (int64_t)c->heartbeat * 500);
    else
        evtimer_del(c->timer);
}

/* ---- connection methods ------------------------------------------------ */

void
wr_conn_connection_method(struct wr_conn *c, const struct wr_method *m)
{
    switch (m->id) {
    case WR_CONNECTION_CLOSE: {
        struct wr_method ok = {.id = WR_CONNECTION_CLOSE_OK};
        wr_conn_teardown(c);
        wr_conn_send_method(c, 0, &ok);
        /* The client closes the socket once it has read close-ok, as
         * RabbitMQ leaves it to: closing first races the client's reader,
         * which may see EOF before close-ok is handled and report a lost
         * connection (amqp091-go's NotifyClose gets 501 "EOF"). */
        c->linger = true;
        wr_conn_flush_and_close(c);
        return;
    }
    case WR_CONNECTION_CLOSE_OK:
        if (c->state == WR_CONN_CLOSING)
            wr_conn_drop(c, "close-ok");
        return;
    case WR_CONNECTION_UPDATE_SECRET: {
        struct wr_method ok = {.id = WR_CONNECTION_UPDATE_SECRET_OK};
        wr_conn_send_method(c, 0, &ok);
        return;
    }
    }
    /* A handshake method again (a second tune-ok, say), or one only a
     * server sends: RabbitMQ's code and text. */
    wr_conn_error(c, WR_REPLY_CHANNEL_ERROR, m->id,
                  "unexpected method in connection state running");
}

void
wr_conn_handshake_method(struct wr_conn *c, const struct wr_method *m)
{
    uint32_t want = c->state == WR_CONN_AWAIT_START_OK  ? WR_CONNECTION_START_OK
                    : c->state == WR_CONN_AWAIT_TUNE_OK ? WR_CONNECTION_TUNE_OK
                                                        : WR_CONNECTION_OPEN;

    if (m->id == WR_CONNECTION_CLOSE) {
        wr_conn_connection_method(c, m);
        return;
    }
    if (m->id != want) {
        wr_conn_error(c, WR_REPLY_COMMAND_INVALID, m->id, "expected %s, got %s",
                      wr_method_name(want), wr_method_name(m->id));
        return;
    }
    if (m->id == WR_CONNECTION_START_OK)
        on_start_ok(c, &m->u.connection_start_ok);
    else if (m->id == WR_CONNECTION_TUNE_OK)
        on_tune_ok(c, &m->u.connection_tune_ok);
    else
        on_open(c, &m->u.connection_open);
}
