/* SPDX-License-Identifier: MIT */
/* The queue class: declare, bind, unbind, purge, delete. */
#include "broker.h"

#include <stdio.h>
#include <string.h>

/* Arguments RabbitMQ compares when a queue is redeclared. */
static const char *const equiv_args[] = {
    "x-max-priority",
    "x-message-ttl",
    "x-expires",
    "x-max-length",
    "x-max-length-bytes",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-overflow",
    "x-queue-type",
    "x-single-active-consumer",
    "x-delivery-limit",
};

static bool
value_equal(const struct wr_value *a, const struct wr_value *b)
{
    int64_t x, y;

    if (wr_value_int(a, &x) == WR_OK && wr_value_int(b, &y) == WR_OK)
        return x == y;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return wr_bytes_eq(a->v.str, b->v.str);
    case WR_FT_BOOL:
        return a->v.b == b->v.b;
    }
    return false;
}

/* Returns the first argument whose value differs, or NULL. */
static const char *
args_differ(struct wr_queue *q, struct wr_table given)
{
    struct wr_table cur = {q->raw_args, q->raw_args_len};

    for (size_t i = 0; i < WR_ARRAY_LEN(equiv_args); i++) {
        struct wr_value a, b;
        bool ha = wr_table_get(given, equiv_args[i], &a) == WR_OK;
        bool hb = wr_table_get(cur, equiv_args[i], &b) == WR_OK;
        if (ha != hb || (ha && !value_equal(&a, &b)))
            return equiv_args[i];
    }
    return NULL;
}

static void
declare_ok(struct wr_chan *ch, struct wr_queue *q, bool no_wait)
{
    struct wr_method ok = {.id = WR_QUEUE_DECLARE_OK};

    wr_free(ch->last_queue);
    ch->last_queue = wr_strdup(q->name);
    if (no_wait)
        return;
    ok.u.queue_declare_ok.queue =
        (struct wr_bytes){(const uint8_t *)q->name, q->name_len};
    ok.u.queue_declare_ok.message_count =
        (uint32_t)WR_MIN(q->ready, UINT32_MAX);
    ok.u.queue_declare_ok.consumer_count = q->consumer_count;
    wr_conn_send_method(ch->conn, ch->id, &ok);
}

/* Direct reply-to names, as RabbitMQ answers them (declare_fast_reply_to):
 * the pseudo-queue always exists, a reply name while its channel has the
 * reply consumer. */
static void
declare_reply_to(struct wr_chan *ch, struct wr_bytes name, bool no_wait)
{
    struct wr_method ok = {.id = WR_QUEUE_DECLARE_OK};

    if (!wr_reply_to_is_pseudo(name) &&
        wr_reply_to_find(ch->conn->vh, name) == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, WR_QUEUE_DECLARE,
                      "no queue '%.*s' in vhost '%s'", (int)name.len, name.ptr,
                      ch->conn->vh->name);
        return;
    }
    if (no_wait)
        return;
    ok.u.queue_declare_ok.queue = name;
    ok.u.queue_declare_ok.consumer_count = 1;
    wr_conn_send_method(ch->conn, ch->id, &ok);
}

static void
declare(struct wr_chan *ch, const struct wr_queue_declare *a)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_bytes name = a->queue;
    char gen[64];
    struct wr_queue *q;
    struct wr_queue_args args;
    struct wr_args_error err;
    const char *what;

    if (wr_reply_to_is_pseudo(name) || wr_reply_to_is_key(name)) {
        declare_reply_to(ch, name, a->no_wait);
        return;
    }
    if (a->passive) {
        q = wr_chan_find_queue(ch, name, WR_QUEUE_DECLARE);
        if (q) {
            wr_queue_touch(q);
            declare_ok(ch, q, a->no_wait);
        }
        return;
    }
    if (name.len == 0) {
        wr_broker_random_name(gen, sizeof(gen), "amq.gen-");
        name = wr_bytes_str(gen);
    } else if (name.len >= 4 && memcmp(name.ptr, "amq.", 4) == 0) {
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, WR_QUEUE_DECLARE,
                      "queue name '%.*s' contains reserved prefix 'amq.*'",
                      (int)name.len, name.ptr);
        return;
    }
    /* RabbitMQ access control: configure on the queue; with a
     * dead-letter exchange also write on it and read on the queue. */
    if (!wr_access_check(ch, WR_PERM_CONFIGURE, "queue", name,
                         WR_QUEUE_DECLARE))
        return;
    {
        struct wr_value dlx;
        if (wr_table_get(a->arguments, "x-dead-letter-exchange", &dlx) ==
                WR_OK &&
            dlx.type == WR_FT_LONGSTR &&
            (!wr_access_check(ch, WR_PERM_WRITE, "exchange", dlx.v.str,
                              WR_QUEUE_DECLARE) ||
             !wr_access_check(ch, WR_PERM_READ, "queue", name,
                              WR_QUEUE_DECLARE)))
            return;
    }
    q = wr_vhost_queue(vh, name);
    if (q) {
        if (!wr_chan_queue_access(ch, q, WR_QUEUE_DECLARE))
            return;
        if (q->exclusive != a->exclusive) {
            /* RabbitMQ treats this as a lock conflict. */
            wr_chan_error(ch, WR_REPLY_RESOURCE_LOCKED, WR_QUEUE_DECLARE,
                          "cannot obtain exclusive access to locked queue "
                          "'%s' in vhost '%s'. It could be originally "
                          "declared on another connection or the exclusive "
                          "property value does not match that of the "
                          "original declaration.",
                          q->name, vh->name);
            return;
        }
        what = q->durable != a->durable ? "durable"
               : q->auto_delete != a->auto_delete
                   ? "auto_delete"
                   : args_differ(q, a->arguments);
        if (what) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_QUEUE_DECLARE,
                          "inequivalent arg '%s' for queue '%s' in vhost "
                          "'%s'",
                          what, q->name, vh->name);
            return;
        }
        wr_queue_touch(q);
        declare_ok(ch, q, a->no_wait);
        return;
    }
    if (wr_queue_args_parse(a->arguments, &args, &err) != WR_OK) {
        /* RabbitMQ's text: "invalid arg 'x-message-ttl' for queue 'q' in
         * vhost '/': {value_negative,-1}" */
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_QUEUE_DECLARE,
                      "invalid arg '%s' for queue '%.*s' in vhost '%s': %s",
                      err.arg ? err.arg : "?", (int)name.len, name.ptr,
                      vh->name, err.why);
        return;
    }
    q = wr_vhost_add_queue(vh, name, &args, a->arguments, a->durable,
                           a->exclusive, a->auto_delete,
                           a->exclusive ? ch->conn : NULL);
    declare_ok(ch, q, a->no_wait);
}

/* Resolves a queue binding's ends; sends the error and returns false. */
static bool
binding_ends(struct wr_chan *ch, uint32_t mid, struct wr_bytes qname,
             struct wr_bytes xname, struct wr_queue **q, struct wr_exchange **x)
{
    struct wr_vhost *vh = ch->conn->vh;

    /* RabbitMQ access control: write on the queue, read on the exchange
     * (and topic read on the binding key, checked by the caller). */
    if (!wr_access_check(ch, WR_PERM_WRITE, "queue", wr_access_qname(ch, qname),
                         mid) ||
        !wr_access_check(ch, WR_PERM_READ, "exchange", xname, mid))
        return false;
    *q = wr_chan_find_queue(ch, qname, mid);
    if (*q == NULL)
        return false;
    if (xname.len == 0) {
        wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, mid,
                      "operation not permitted on the default exchange");
        return false;
    }
    *x = wr_vhost_exchange(vh, xname);
    if (*x == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, mid,
                      "no exchange '%.*s' in vhost '%s'", (int)xname.len,
                      xname.ptr, vh->name);
        return false;
    }
    return true;
}

void
wr_chan_queue(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_method ok = {0};
    struct wr_queue *q;
    struct wr_exchange *x;
    const char *err = NULL;
    bool no_wait = false;

    switch (m->id) {
    case WR_QUEUE_DECLARE:
        declare(ch, &m->u.queue_declare);
        return;
    case WR_QUEUE_BIND: {
        const struct wr_queue_bind *a = &m->u.queue_bind;
        if (!binding_ends(ch, m->id, a->queue, a->exchange, &q, &x) ||
            !wr_access_topic(ch, x, WR_PERM_READ, a->routing_key, m->id))
            return;
        if (wr_exchange_bind(x, WR_DEST_QUEUE, q, a->routing_key, a->arguments,
                             &err) != WR_OK) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id, "%s",
                          err ? err : "cannot bind");
            return;
        }
        ok.id = WR_QUEUE_BIND_OK;
        no_wait = a->no_wait;
        break;
    }
    case WR_QUEUE_UNBIND: {
        const struct wr_queue_unbind *a = &m->u.queue_unbind;
        if (!binding_ends(ch, m->id, a->queue, a->exchange, &q, &x) ||
            !wr_access_topic(ch, x, WR_PERM_READ, a->routing_key, m->id))
            return;
        if (wr_exchange_unbind(x, WR_DEST_QUEUE, q, a->routing_key,
                               a->arguments) == WR_OK)
            wr_vhost_exchange_maybe_autodelete(ch->conn->vh, x);
        ok.id = WR_QUEUE_UNBIND_OK;
        break;
    }
    case WR_QUEUE_PURGE: {
        const struct wr_queue_purge *a = &m->u.queue_purge;
        if (!wr_access_check(ch, WR_PERM_READ, "queue",
                             wr_access_qname(ch, a->queue), m->id))
            return;
        q = wr_chan_find_queue(ch, a->queue, m->id);
        if (q == NULL)
            return;
        ok.id = WR_QUEUE_PURGE_OK;
        ok.u.queue_purge_ok.message_count = (uint32_t)wr_queue_purge(q);
        no_wait = a->no_wait;
        break;
    }
    case WR_QUEUE_DELETE: {
        const struct wr_queue_delete *a = &m->u.queue_delete;
        struct wr_bytes name = a->queue;
        if (name.len == 0 && ch->last_queue)
            name = wr_bytes_str(ch->last_queue);
        if (!wr_access_check(ch, WR_PERM_CONFIGURE, "queue", name, m->id))
            return;
        q = wr_vhost_queue(ch->conn->vh, name);
        ok.id = WR_QUEUE_DELETE_OK;
        no_wait = a->no_wait;
        if (q == NULL) /* idempotent, as in RabbitMQ 3.x */
            break;
        if (!wr_chan_queue_access(ch, q, m->id))
            return;
        if (a->if_unused && q->consumer_count > 0) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id,
                          "queue '%s' in vhost '%s' in use", q->name,
                          ch->conn->vh->name);
            return;
        }
        if (a->if_empty && q->ready > 0) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id,
                          "queue '%s' in vhost '%s' is not empty", q->name,
                          ch->conn->vh->name);
            return;
        }
        ok.u.queue_delete_ok.message_count =
            (uint32_t)wr_vhost_delete_queue(ch->conn->vh, q);
        break;
    }
    default:
        wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                      "%s is not a client method", wr_method_name(m->id));
        return;
    }
    if (!no_wait)
        wr_conn_send_method(ch->conn, ch->id, &ok);
}
