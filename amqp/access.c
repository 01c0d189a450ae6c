/* SPDX-License-Identifier: MIT */
/* The channel permission checks (RabbitMQ's access control mapping): a
 * refusal is logged and closes the channel with 403. */
#include "amqp_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"configure", "write", "read"};

bool
wr_access_check(struct wr_chan *ch, enum wr_perm_kind kind, const char *what,
                struct wr_bytes name, uint32_t method_id)
{
    struct wr_conn *c = ch->conn;
    struct wr_op_err err;

    if (wr_access_allowed(c->u, c->vh->name, kind, what, name, &err))
        return true;
    if (name.len == 0 && strcmp(what, "exchange") == 0)
        name = WR_BYTES_LIT("amq.default");
    wr_log(WR_LOG_NOTICE,
           "conn %llu %s ch %u: user '%s' denied %s access "
           "to %s '%.*s' in vhost '%s'",
           (unsigned long long)c->id, c->peer, ch->id, c->user,
           kind_names[kind], what, (int)name.len, name.ptr, c->vh->name);
    wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, method_id, "%s", err.text);
    return false;
}

struct wr_bytes
wr_access_qname(const struct wr_chan *ch, struct wr_bytes name)
{
    if (name.len == 0 && ch->last_queue)
        return wr_bytes_str(ch->last_queue);
    return name;
}

bool
wr_access_publish(struct wr_chan *ch, struct wr_bytes exchange)
{
    struct wr_conn *c = ch->conn;

    if (ch->perm_gen == c->srv->users.gen && exchange.len == ch->perm_x_len &&
        memcmp(exchange.ptr, ch->perm_x, exchange.len) == 0)
        return true;
    if (!wr_access_check(ch, WR_PERM_WRITE, "exchange", exchange,
                         WR_BASIC_PUBLISH))
        return false;
    if (exchange.len < sizeof(ch->perm_x)) {
        memcpy(ch->perm_x, exchange.ptr, exchange.len);
        ch->perm_x_len = (uint16_t)exchange.len;
        ch->perm_gen = c->srv->users.gen;
    }
    return true;
}

bool
wr_access_topic(struct wr_chan *ch, const struct wr_exchange *x,
                enum wr_perm_kind kind, struct wr_bytes rkey,
                uint32_t method_id)
{
    struct wr_conn *c = ch->conn;
    struct wr_op_err err;

    if (wr_access_topic_allowed(c->u, c->vh->name, x, kind, rkey, &err))
        return true;
    wr_log(WR_LOG_NOTICE,
           "conn %llu %s ch %u: user '%s' denied topic %s "
           "access to '%.*s' in exchange '%s'",
           (unsigned long long)c->id, c->peer, ch->id, c->user,
           kind_names[kind], (int)rkey.len, rkey.ptr, x->name);

    wr_chan_error(ch, WR_REPLY_ACCESS_REFUSED, method_id, "%s", err.text);
    return false;
}

bool
wr_chan_queue_access(struct wr_chan *ch, struct wr_queue *q, uint32_t method_id)
{
    struct wr_op_err err;

    if (wr_vhost_queue_check_access(ch->conn->vh, q, ch->conn, &err) == WR_OK)
        return true;
    wr_chan_op_error(ch, method_id, &err);
    return false;
}

struct wr_queue *
wr_chan_find_queue(struct wr_chan *ch, struct wr_bytes name, uint32_t method_id)
{
    struct wr_queue *q;

    if (name.len == 0) {
        if (ch->last_queue == NULL) {
            wr_chan_error(ch, WR_REPLY_NOT_FOUND, method_id,
                          "no previously declared queue");
            return NULL;
        }
        name = wr_bytes_str(ch->last_queue);
    }
    q = wr_vhost_queue(ch->conn->vh, name);
    if (q == NULL) {
        wr_chan_error(ch, WR_REPLY_NOT_FOUND, method_id,
                      "no queue '%.*s' in vhost '%s'", (int)name.len, name.ptr,
                      ch->conn->vh->name);
        return NULL;
    }
    return wr_chan_queue_access(ch, q, method_id) ? q : NULL;
}
