/* SPDX-License-Identifier: MIT */
/* The direct reply-to registry (RabbitMQ's amq.rabbitmq.reply-to): reply
 * keys and the sinks registered under them. amqp/reply_to.c registers a
 * channel's; route.c hands replies to them. */
#include "vhost_internal.h"

#include <string.h>

#define PREFIX WR_REPLY_TO "."

bool
wr_reply_to_is_pseudo(struct wr_bytes name)
{
    return wr_bytes_eq_str(name, WR_REPLY_TO);
}

bool
wr_reply_to_is_key(struct wr_bytes name)
{
    return name.len >= sizeof(PREFIX) - 1 &&
           memcmp(name.ptr, PREFIX, sizeof(PREFIX) - 1) == 0;
}

void
wr_vhost_reply_register(struct wr_vhost *vh, const char *key,
                        struct wr_reply_sink *s)
{
    wr_hmap_put(&vh->replies, key, strlen(key), s, NULL);
}

void
wr_vhost_reply_unregister(struct wr_vhost *vh, const char *key)
{
    wr_hmap_del(&vh->replies, key, strlen(key));
}

struct wr_reply_sink *
wr_vhost_reply_find(struct wr_vhost *vh, struct wr_bytes name)
{
    return wr_hmap_get(&vh->replies, name.ptr, name.len);
}
