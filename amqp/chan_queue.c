/* SPDX-License-Identifier: MIT */
/* The queue class: declare, bind, unbind, purge, delete. */
#include "amqp_internal.h"

#include <stdio.h>
#include <string.h>

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
        (uint32_t)WR_MIN(wr_queue_counts(q)->ready, UINT32_MAX);
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
        wr_vhost_reply_find(ch->conn->vh, name) == NULL) {
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
    /* RabbitMQ (rabbit_channel): an exclusive queue dies with its
     * connection, so it is never durable whatever the flag says; a
     * redeclare with the other durable flag is then not a 406. */
    struct wr_queue_decl d = {
        .name = a->queue,
        .durable = a->durable && !a->exclusive,
        .exclusive = a->exclusive,
        .auto_delete = a->auto_delete,
        .args = a->arguments,
    };
    char gen[64];
    struct wr_queue *q;
    struct wr_op_err err;
    bool created;

    if (wr_reply_to_is_pseudo(a->queue) || wr_reply_to_is_key(a->queue)) {
        declare_reply_to(ch, a->queue, a->no_wait);
        return;
    }
    if (a->passive) {
        q = wr_chan_find_queue(ch, a->queue, WR_QUEUE_DECLARE);
        if (q) {
            wr_queue_touch(q);
            declare_ok(ch, q, a->no_wait);
        }
        return;
    }
    if (d.name.len == 0) {
        wr_broker_random_name(gen, sizeof(gen), "amq.gen-");
        d.name = wr_bytes_str(gen);
        d.allow_reserved = true;
    }
    /* RabbitMQ access control: configure on the queue; with a dead-letter
     * exchange also write on it and read on the queue. */
    if (!wr_access_check(ch, WR_PERM_CONFIGURE, "queue", d.name,
                         WR_QUEUE_DECLARE))
        return;
    {
        struct wr_value dlx;
        if (wr_table_get(a->arguments, "x-dead-letter-exchange", &dlx) ==
                WR_OK &&
            dlx.type == WR_FT_LONGSTR &&
            (!wr_access_check(ch, WR_PERM_WRITE, "exchange", dlx.v.str,
                              WR_QUEUE_DECLARE) ||
             !wr_access_check(ch, WR_PERM_READ, "queue", d.name,
                              WR_QUEUE_DECLARE)))
            return;
    }
    if (wr_vhost_declare_queue(vh, &d, ch->conn, &q, &created, &err) != WR_OK) {
        wr_chan_op_error(ch, WR_QUEUE_DECLARE, &err);
        return;
    }
    if (created && q->exclusive) {
        /* deleted with this connection (conn.c) */
        struct wr_bqueue *bq = q->broker;
        wr_list_push_back(&ch->conn->exclusive_queues, &bq->excl_link);
    }
    declare_ok(ch, q, a->no_wait);
}

/* The queue a bind / unbind names: "" is the channel's last declared one. */
static bool
queue_name(struct wr_chan *ch, uint32_t mid, struct wr_bytes *name)
{
    if (name->len > 0)
        return true;
    if (ch->last_queue == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, mid,
                      "no previously declared queue");
        return false;
    }
    *name = wr_bytes_str(ch->last_queue);
    return true;
}

/* RabbitMQ access control for queue.bind / unbind: write on the queue,
 * read on the exchange, and topic read on the binding key when the
 * exchange is a topic exchange. */
static bool
bind_access(struct wr_chan *ch, uint32_t mid, struct wr_bytes qname,
            struct wr_bytes xname, struct wr_bytes key)
{
    struct wr_exchange *x;

    if (!wr_access_check(ch, WR_PERM_WRITE, "queue", qname, mid) ||
        !wr_access_check(ch, WR_PERM_READ, "exchange", xname, mid))
        return false;
    x = xname.len ? wr_vhost_exchange(ch->conn->vh, xname) : NULL;
    return x == NULL || wr_access_topic(ch, x, WR_PERM_READ, key, mid);
}

void
wr_chan_queue(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_vhost *vh = ch->conn->vh;
    struct wr_method ok = {0};
    struct wr_queue *q;
    struct wr_op_err err;
    struct wr_bytes name;
    bool no_wait = false, existed;
    uint64_t count;
    int rc;

    switch (m->id) {
    case WR_QUEUE_DECLARE:
        declare(ch, &m->u.queue_declare);
        return;
    case WR_QUEUE_BIND: {
        const struct wr_queue_bind *a = &m->u.queue_bind;
        name = a->queue;
        if (!queue_name(ch, m->id, &name) ||
            !bind_access(ch, m->id, name, a->exchange, a->routing_key))
            return;
        if (wr_vhost_bind(vh, WR_DEST_QUEUE, a->exchange, name, a->routing_key,
                          a->arguments, ch->conn, &err) != WR_OK) {
            wr_chan_op_error(ch, m->id, &err);
            return;
        }
        ok.id = WR_QUEUE_BIND_OK;
        no_wait = a->no_wait;
        break;
    }
    case WR_QUEUE_UNBIND: {
        const struct wr_queue_unbind *a = &m->u.queue_unbind;
        name = a->queue;
        if (!queue_name(ch, m->id, &name) ||
            !bind_access(ch, m->id, name, a->exchange, a->routing_key))
            return;
        if (wr_vhost_unbind(vh, WR_DEST_QUEUE, a->exchange, name,
                            a->routing_key, a->arguments, ch->conn, &existed,
                            &err) != WR_OK) {
            wr_chan_op_error(ch, m->id, &err);
            return;
        }
        ok.id = WR_QUEUE_UNBIND_OK;
        break;
    }
    case WR_QUEUE_PURGE: {
        const struct wr_queue_purge *a = &m->u.queue_purge;
        if (!wr_access_check(ch, WR_PERM_READ, "queue",
                             wr_access_qname(ch, a->queue), m->id))
            return;
        q = wr_chan_find_queue(ch, a->queue, m->id);
        if (q == NULL || wr_chan_stream_refused(ch, q, m->id))
            return;
        ok.id = WR_QUEUE_PURGE_OK;
        ok.u.queue_purge_ok.message_count = (uint32_t)wr_queue_purge(q);
        no_wait = a->no_wait;
        break;
    }
    case WR_QUEUE_DELETE: {
        const struct wr_queue_delete *a = &m->u.queue_delete;
        name = a->queue;
        if (name.len == 0 && ch->last_queue)
            name = wr_bytes_str(ch->last_queue);
        if (!wr_access_check(ch, WR_PERM_CONFIGURE, "queue", name, m->id))
            return;
        ok.id = WR_QUEUE_DELETE_OK;
        no_wait = a->no_wait;
        rc = wr_vhost_remove_queue(vh, name, ch->conn, a->if_unused,
                                   a->if_empty, &count, &err);
        /* A missing queue is fine: idempotent, as in RabbitMQ 3.x. */
        if (rc != WR_OK && rc != WR_ERR_NOT_FOUND) {
            wr_chan_op_error(ch, m->id, &err);
            return;
        }
        ok.u.queue_delete_ok.message_count = (uint32_t)count;
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
