/* SPDX-License-Identifier: MIT */
/* The exchange and queue methods (AMQP 0-9-1 classes exchange and queue):
 * declare, delete, bind, unbind and purge, each a synchronous request on
 * a channel (wr_client_request, channel.c). */
#include "client_internal.h"

#include <stdio.h>

int
warren_exchange_declare(struct warren_channel *ch, const char *exchange,
                        const char *type, int flags,
                        const struct warren_table *args)
{
    struct wr_method m = {.id = WR_EXCHANGE_DECLARE};
    struct wr_exchange_declare *d = &m.u.exchange_declare;

    if (!wr_client_flags_ok(flags, WARREN_PASSIVE | WARREN_DURABLE |
                                       WARREN_AUTO_DELETE | WARREN_INTERNAL) ||
        exchange == NULL || type == NULL)
        return WR_ERR_INVALID;
    d->exchange = wr_client_name(exchange);
    d->type = wr_client_name(type);
    d->passive = flags & WARREN_PASSIVE;
    d->durable = flags & WARREN_DURABLE;
    d->auto_delete = flags & WARREN_AUTO_DELETE;
    d->internal = flags & WARREN_INTERNAL;
    d->arguments = wr_client_table_view(args);
    return wr_client_request(ch, &m, WR_EXCHANGE_DECLARE_OK, 0);
}

int
warren_exchange_delete(struct warren_channel *ch, const char *exchange,
                       int flags)
{
    struct wr_method m = {.id = WR_EXCHANGE_DELETE};

    if (!wr_client_flags_ok(flags, WARREN_IF_UNUSED) || exchange == NULL)
        return WR_ERR_INVALID;
    m.u.exchange_delete.exchange = wr_client_name(exchange);
    m.u.exchange_delete.if_unused = flags & WARREN_IF_UNUSED;
    return wr_client_request(ch, &m, WR_EXCHANGE_DELETE_OK, 0);
}

static int
exchange_bind(struct warren_channel *ch, bool bind, const char *dest,
              const char *src, const char *key, const struct warren_table *args)
{
    struct wr_method m = {.id = bind ? WR_EXCHANGE_BIND : WR_EXCHANGE_UNBIND};
    /* bind and unbind have the same layout. */
    struct wr_exchange_bind *b = &m.u.exchange_bind;

    _Static_assert(sizeof(struct wr_exchange_bind) ==
                       sizeof(struct wr_exchange_unbind),
                   "same layout");
    if (dest == NULL || src == NULL)
        return WR_ERR_INVALID;
    b->destination = wr_client_name(dest);
    b->source = wr_client_name(src);
    b->routing_key = wr_client_name(key);
    b->arguments = wr_client_table_view(args);
    return wr_client_request(
        ch, &m, bind ? WR_EXCHANGE_BIND_OK : WR_EXCHANGE_UNBIND_OK, 0);
}

int
warren_exchange_bind(struct warren_channel *ch, const char *destination,
                     const char *source, const char *routing_key,
                     const struct warren_table *args)
{
    return exchange_bind(ch, true, destination, source, routing_key, args);
}

int
warren_exchange_unbind(struct warren_channel *ch, const char *destination,
                       const char *source, const char *routing_key,
                       const struct warren_table *args)
{
    return exchange_bind(ch, false, destination, source, routing_key, args);
}

int
warren_queue_declare(struct warren_channel *ch, const char *queue, int flags,
                     const struct warren_table *args,
                     struct warren_queue_info *info)
{
    struct wr_method m = {.id = WR_QUEUE_DECLARE};
    struct wr_queue_declare *d = &m.u.queue_declare;
    int rc;

    if (!wr_client_flags_ok(flags, WARREN_PASSIVE | WARREN_DURABLE |
                                       WARREN_EXCLUSIVE | WARREN_AUTO_DELETE))
        return WR_ERR_INVALID;
    d->queue = wr_client_name(queue);
    d->passive = flags & WARREN_PASSIVE;
    d->durable = flags & WARREN_DURABLE;
    d->exclusive = flags & WARREN_EXCLUSIVE;
    d->auto_delete = flags & WARREN_AUTO_DELETE;
    d->arguments = wr_client_table_view(args);
    rc = wr_client_request(ch, &m, WR_QUEUE_DECLARE_OK, 0);
    if (rc == WR_OK && info != NULL) {
        const struct wr_queue_declare_ok *ok =
            &ch->rpc.reply.u.queue_declare_ok;

        snprintf(info->name, sizeof(info->name), "%.*s", (int)ok->queue.len,
                 (const char *)ok->queue.ptr);
        info->message_count = ok->message_count;
        info->consumer_count = ok->consumer_count;
    }
    return rc;
}

static int
queue_bind(struct warren_channel *ch, bool bind, const char *queue,
           const char *exchange, const char *key,
           const struct warren_table *args)
{
    struct wr_method m = {.id = bind ? WR_QUEUE_BIND : WR_QUEUE_UNBIND};

    if (exchange == NULL)
        return WR_ERR_INVALID;
    if (bind) {
        m.u.queue_bind.queue = wr_client_name(queue);
        m.u.queue_bind.exchange = wr_client_name(exchange);
        m.u.queue_bind.routing_key = wr_client_name(key);
        m.u.queue_bind.arguments = wr_client_table_view(args);
        return wr_client_request(ch, &m, WR_QUEUE_BIND_OK, 0);
    }
    m.u.queue_unbind.queue = wr_client_name(queue);
    m.u.queue_unbind.exchange = wr_client_name(exchange);
    m.u.queue_unbind.routing_key = wr_client_name(key);
    m.u.queue_unbind.arguments = wr_client_table_view(args);
    return wr_client_request(ch, &m, WR_QUEUE_UNBIND_OK, 0);
}

int
warren_queue_bind(struct warren_channel *ch, const char *queue,
                  const char *exchange, const char *routing_key,
                  const struct warren_table *args)
{
    return queue_bind(ch, true, queue, exchange, routing_key, args);
}

int
warren_queue_unbind(struct warren_channel *ch, const char *queue,
                    const char *exchange, const char *routing_key,
                    const struct warren_table *args)
{
    return queue_bind(ch, false, queue, exchange, routing_key, args);
}

int
warren_queue_purge(struct warren_channel *ch, const char *queue,
                   uint32_t *count)
{
    struct wr_method m = {.id = WR_QUEUE_PURGE};
    int rc;

    m.u.queue_purge.queue = wr_client_name(queue);
    rc = wr_client_request(ch, &m, WR_QUEUE_PURGE_OK, 0);
    if (rc == WR_OK && count != NULL)
        *count = ch->rpc.reply.u.queue_purge_ok.message_count;
    return rc;
}

int
warren_queue_delete(struct warren_channel *ch, const char *queue, int flags,
                    uint32_t *count)
{
    struct wr_method m = {.id = WR_QUEUE_DELETE};
    int rc;

    if (!wr_client_flags_ok(flags, WARREN_IF_UNUSED | WARREN_IF_EMPTY))
        return WR_ERR_INVALID;
    m.u.queue_delete.queue = wr_client_name(queue);
    m.u.queue_delete.if_unused = flags & WARREN_IF_UNUSED;
    m.u.queue_delete.if_empty = flags & WARREN_IF_EMPTY;
    rc = wr_client_request(ch, &m, WR_QUEUE_DELETE_OK, 0);
    if (rc == WR_OK && count != NULL)
        *count = ch->rpc.reply.u.queue_delete_ok.message_count;
    return rc;
}
