/* SPDX-License-Identifier: MIT */
/* The exchange class: declare, delete, bind, unbind (RabbitMQ's
 * exchange-to-exchange bindings). */
#include "amqp_internal.h"

#include <string.h>

static void
reply(struct wr_chan *ch, uint32_t id, bool no_wait)
{
    struct wr_method ok = {.id = id};

    if (!no_wait)
        wr_conn_send_method(ch->conn, ch->id, &ok);
}

static void
declare(struct wr_chan *ch, const struct wr_exchange_declare *a)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_exchange_decl d = {
        .name = a->exchange,
        .type = a->type,
        .durable = a->durable,
        .auto_delete = a->auto_delete,
        .internal = a->internal,
        .args = a->arguments,
    };
    struct wr_exchange *x;
    struct wr_op_err err;
    bool created;

    if (a->passive && a->exchange.len > 0) {
        if (wr_vhost_exchange(vh, a->exchange) == NULL) {
            wr_chan_error(ch, WR_REPLY_NOT_FOUND, WR_EXCHANGE_DECLARE,
                          "no exchange '%.*s' in vhost '%s'",
                          (int)a->exchange.len, a->exchange.ptr, vh->name);
            return;
        }
        reply(ch, WR_EXCHANGE_DECLARE_OK, a->no_wait);
        return;
    }
    /* RabbitMQ access control: configure on the exchange; with an
     * alternate exchange also write on it and read on this one. */
    if (!wr_access_check(ch, WR_PERM_CONFIGURE, "exchange", a->exchange,
                         WR_EXCHANGE_DECLARE))
        return;
    {
        struct wr_value ae;
        if (wr_table_get(a->arguments, "alternate-exchange", &ae) == WR_OK &&
            ae.type == WR_FT_LONGSTR &&
            (!wr_access_check(ch, WR_PERM_WRITE, "exchange", ae.v.str,
                              WR_EXCHANGE_DECLARE) ||
             !wr_access_check(ch, WR_PERM_READ, "exchange", a->exchange,
                              WR_EXCHANGE_DECLARE)))
            return;
    }
    if (wr_vhost_declare_exchange(vh, &d, &x, &created, &err) != WR_OK) {
        wr_chan_op_error(ch, WR_EXCHANGE_DECLARE, &err);
        return;
    }
    reply(ch, WR_EXCHANGE_DECLARE_OK, a->no_wait);
}

static void delete (struct wr_chan *ch, const struct wr_exchange_delete *a)
{
    struct wr_op_err err;
    int rc;

    if (!wr_access_check(ch, WR_PERM_CONFIGURE, "exchange", a->exchange,
                         WR_EXCHANGE_DELETE))
        return;
    rc =
        wr_vhost_remove_exchange(ch->conn->vh, a->exchange, a->if_unused, &err);

    /* A missing exchange is fine: idempotent, as in RabbitMQ 3.x. */
    if (rc != WR_OK && rc != WR_ERR_NOT_FOUND) {
        wr_chan_op_error(ch, WR_EXCHANGE_DELETE, &err);
        return;
    }
    reply(ch, WR_EXCHANGE_DELETE_OK, a->no_wait);
}

/* RabbitMQ access control for exchange.bind / unbind: write on the
 * destination, read on the source, and topic read on the binding key when
 * the source is a topic exchange. */
static bool
e2e_access(struct wr_chan *ch, uint32_t mid, struct wr_bytes dst,
           struct wr_bytes src, struct wr_bytes key)
{
    struct wr_exchange *xs;

    if (!wr_access_check(ch, WR_PERM_WRITE, "exchange", dst, mid) ||
        !wr_access_check(ch, WR_PERM_READ, "exchange", src, mid))
        return false;
    xs = src.len ? wr_vhost_exchange(ch->conn->vh, src) : NULL;
    return xs == NULL || wr_access_topic(ch, xs, WR_PERM_READ, key, mid);
}

void
wr_chan_exchange(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_op_err err;
    bool existed;

    switch (m->id) {
    case WR_EXCHANGE_DECLARE:
        declare(ch, &m->u.exchange_declare);
        return;
    case WR_EXCHANGE_DELETE:
        delete (ch, &m->u.exchange_delete);
        return;
    case WR_EXCHANGE_BIND: {
        const struct wr_exchange_bind *a = &m->u.exchange_bind;
        if (!e2e_access(ch, m->id, a->destination, a->source, a->routing_key))
            return;
        if (wr_vhost_bind(vh, WR_DEST_EXCHANGE, a->source, a->destination,
                          a->routing_key, a->arguments, ch->conn,
                          &err) != WR_OK) {
            wr_chan_op_error(ch, m->id, &err);
            return;
        }
        reply(ch, WR_EXCHANGE_BIND_OK, a->no_wait);
        return;
    }
    case WR_EXCHANGE_UNBIND: {
        const struct wr_exchange_unbind *a = &m->u.exchange_unbind;
        if (!e2e_access(ch, m->id, a->destination, a->source, a->routing_key))
            return;
        if (wr_vhost_unbind(vh, WR_DEST_EXCHANGE, a->source, a->destination,
                            a->routing_key, a->arguments, ch->conn, &existed,
                            &err) != WR_OK) {
            wr_chan_op_error(ch, m->id, &err);
            return;
        }
        reply(ch, WR_EXCHANGE_UNBIND_OK, a->no_wait);
        return;
    }
    }
    wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                  "%s is not a client method", wr_method_name(m->id));
}
