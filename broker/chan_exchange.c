/* SPDX-License-Identifier: MIT */
/* The exchange class: declare, delete, bind, unbind (RabbitMQ's
 * exchange-to-exchange bindings). */
#include "broker.h"

#include <string.h>

static bool
reserved_name(struct wr_bytes n)
{
    return n.len >= 4 && memcmp(n.ptr, "amq.", 4) == 0;
}

static const char *
yn(bool b)
{
    return b ? "true" : "false";
}

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
    struct wr_exchange *x = wr_vhost_exchange(vh, a->exchange);
    const struct wr_exch_type *type;
    int n = (int)a->exchange.len;
    const char *name = (const char *)a->exchange.ptr;

    if (a->exchange.len == 0) { /* RabbitMQ: even a passive declare */
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_EXCHANGE_DECLARE,
                      "operation not permitted on the default exchange");
        return;
    }
    if (a->passive) {
        if (x == NULL) {
            wr_chan_error(ch, WR_REPLY_NOT_FOUND, WR_EXCHANGE_DECLARE,
                          "no exchange '%.*s' in vhost '%s'", n, name,
                          vh->name);
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
    type = wr_exch_type_find(a->type);
    if (type == NULL) {
        wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, WR_EXCHANGE_DECLARE,
                      "unknown exchange type '%.*s'", (int)a->type.len,
                      a->type.ptr);
        return;
    }
    if (x == NULL) {
        if (reserved_name(a->exchange)) {
            wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_EXCHANGE_DECLARE,
                          "exchange name '%.*s' contains reserved prefix "
                          "'amq.*'",
                          n, name);
            return;
        }
        x = wr_vhost_add_exchange(vh, a->exchange, type, a->durable,
                                  a->auto_delete, a->internal, a->arguments);
        reply(ch, WR_EXCHANGE_DECLARE_OK, a->no_wait);
        return;
    }
    /* RabbitMQ's assert_equivalence: type, durable, auto_delete, internal
     * must match the existing exchange. */
    const char *what = NULL, *got = NULL, *cur = NULL;
    if (x->type != type) {
        what = "type";
        got = type->name;
        cur = x->type->name;
    } else if (x->durable != a->durable) {
        what = "durable";
        got = yn(a->durable);
        cur = yn(x->durable);
    } else if (x->auto_delete != a->auto_delete) {
        what = "auto_delete";
        got = yn(a->auto_delete);
        cur = yn(x->auto_delete);
    } else if (x->internal != a->internal) {
        what = "internal";
        got = yn(a->internal);
        cur = yn(x->internal);
    }
    if (what) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_EXCHANGE_DECLARE,
                      "inequivalent arg '%s' for exchange '%.*s' in vhost "
                      "'%s': received '%s' but current is '%s'",
                      what, n, name, vh->name, got, cur);
        return;
    }
    /* RabbitMQ compares alternate-exchange too (assert_args_equivalence). */
    {
        struct wr_value v;
        bool given =
            wr_table_get(a->arguments, "alternate-exchange", &v) == WR_OK &&
            v.type == WR_FT_LONGSTR;
        if (given != x->has_alternate ||
            (given && !wr_bytes_eq(v.v.str, x->alternate))) {
            wr_chan_error(
                ch, WR_REPLY_PRECONDITION_FAILED, WR_EXCHANGE_DECLARE,
                "inequivalent arg 'alternate-exchange' for "
                "exchange '%.*s' in vhost '%s': received %s%.*s%s "
                "but current is %s%.*s%s",
                n, name, vh->name, given ? "'" : "none",
                given ? (int)v.v.str.len : 0,
                given ? (const char *)v.v.str.ptr : "", given ? "'" : "",
                x->has_alternate ? "'" : "none", (int)x->alternate.len,
                x->has_alternate ? (const char *)x->alternate.ptr : "",
                x->has_alternate ? "'" : "");
            return;
        }
    }
    reply(ch, WR_EXCHANGE_DECLARE_OK, a->no_wait);
}

static void delete (struct wr_chan *ch, const struct wr_exchange_delete *a)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_exchange *x;

    if (a->exchange.len == 0 || reserved_name(a->exchange)) {
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_EXCHANGE_DELETE,
                      "operation not permitted on exchange '%.*s'",
                      (int)a->exchange.len, a->exchange.ptr);
        return;
    }
    if (!wr_access_check(ch, WR_PERM_CONFIGURE, "exchange", a->exchange,
                         WR_EXCHANGE_DELETE))
        return;
    x = wr_vhost_exchange(vh, a->exchange);
    if (x == NULL) { /* idempotent, as in RabbitMQ 3.x */
        reply(ch, WR_EXCHANGE_DELETE_OK, a->no_wait);
        return;
    }
    if (a->if_unused && x->binding_count > 0) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_EXCHANGE_DELETE,
                      "exchange '%s' in vhost '%s' in use", x->name, vh->name);
        return;
    }
    wr_vhost_delete_exchange(vh, x);
    reply(ch, WR_EXCHANGE_DELETE_OK, a->no_wait);
}

/* Looks up both ends of an exchange-to-exchange binding; 404 / 403 on
 * failure. */
static bool
e2e_ends(struct wr_chan *ch, uint32_t mid, struct wr_bytes dst,
         struct wr_bytes src, struct wr_exchange **xd, struct wr_exchange **xs)
{
    struct wr_vhost *vh = ch->conn->vh;

    if (dst.len == 0 || src.len == 0) {
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, mid,
                      "operation not permitted on the default exchange");
        return false;
    }
    /* RabbitMQ access control: write on the destination, read on the
     * source. */
    if (!wr_access_check(ch, WR_PERM_WRITE, "exchange", dst, mid) ||
        !wr_access_check(ch, WR_PERM_READ, "exchange", src, mid))
        return false;
    *xd = wr_vhost_exchange(vh, dst);
    *xs = wr_vhost_exchange(vh, src);
    if (*xd == NULL || *xs == NULL) {
        struct wr_bytes missing = *xd == NULL ? dst : src;
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, mid,
                      "no exchange '%.*s' in vhost '%s'", (int)missing.len,
                      missing.ptr, vh->name);
        return false;
    }
    return true;
}

void
wr_chan_exchange(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_exchange *xd, *xs;
    const char *err = NULL;

    switch (m->id) {
    case WR_EXCHANGE_DECLARE:
        declare(ch, &m->u.exchange_declare);
        return;
    case WR_EXCHANGE_DELETE:
        delete (ch, &m->u.exchange_delete);
        return;
    case WR_EXCHANGE_BIND: {
        const struct wr_exchange_bind *a = &m->u.exchange_bind;
        if (!e2e_ends(ch, m->id, a->destination, a->source, &xd, &xs) ||
            !wr_access_topic(ch, xs, WR_PERM_READ, a->routing_key, m->id))
            return;
        if (wr_exchange_bind(xs, WR_DEST_EXCHANGE, xd, a->routing_key,
                             a->arguments, &err) != WR_OK) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id, "%s",
                          err ? err : "cannot bind");
            return;
        }
        reply(ch, WR_EXCHANGE_BIND_OK, a->no_wait);
        return;
    }
    case WR_EXCHANGE_UNBIND: {
        const struct wr_exchange_unbind *a = &m->u.exchange_unbind;
        if (!e2e_ends(ch, m->id, a->destination, a->source, &xd, &xs) ||
            !wr_access_topic(ch, xs, WR_PERM_READ, a->routing_key, m->id))
            return;
        if (wr_exchange_unbind(xs, WR_DEST_EXCHANGE, xd, a->routing_key,
                               a->arguments) == WR_OK)
            wr_vhost_exchange_maybe_autodelete(ch->conn->vh, xs);
        reply(ch, WR_EXCHANGE_UNBIND_OK, a->no_wait);
        return;
    }
    }
    wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                  "%s is not a client method", wr_method_name(m->id));
}
