/* SPDX-License-Identifier: MIT */
/* Virtual hosts: making one, with the standard exchanges every vhost has,
 * and freeing one with all it holds. */
#include "vhost_internal.h"

#include <string.h>

static void
add_std(struct wr_vhost *vh, const char *name, const struct wr_exch_type *t,
        bool internal)
{
    struct wr_exchange *x = wr_vhost_add_exchange(
        vh, wr_bytes_str(name), t, true, false, internal, (struct wr_table){0});
    wr_assert(x != NULL);
}

struct wr_vhost *
wr_vhost_new(struct wr_server *srv, const char *name)
{
    struct wr_vhost *vh = wr_calloc(1, sizeof(*vh));

    vh->name = wr_strdup(name);
    vh->srv = srv;
    vh->max_connections = WR_LIMIT_UNSET;
    vh->max_queues = WR_LIMIT_UNSET;
    wr_list_init(&vh->conns);
    wr_list_init(&vh->shovels);
    wr_hmap_init(&vh->exchanges);
    wr_hmap_init(&vh->queues);
    wr_hmap_init(&vh->replies);
    wr_vhost_dead_letters_init(vh);
    /* AMQP 0-9-1 3.1.3.1: the default exchange and the amq.* exchanges. */
    add_std(vh, "", &wr_exch_direct, false);
    add_std(vh, "amq.direct", &wr_exch_direct, false);
    add_std(vh, "amq.fanout", &wr_exch_fanout, false);
    add_std(vh, "amq.topic", &wr_exch_topic, false);
    add_std(vh, "amq.headers", &wr_exch_headers, false);
    add_std(vh, "amq.match", &wr_exch_headers, false);
    /* RabbitMQ's firehose exchange, internal; warren has no tracing, so it
     * exists for clients that look for it and stays empty, as RabbitMQ's
     * does while tracing is off (its default). */
    add_std(vh, "amq.rabbitmq.trace", &wr_exch_topic, true);
    return vh;
}

void
wr_vhost_free(struct wr_vhost *vh)
{
    size_t it = 0;
    void *v;

    /* Shovels first: they consume from queues here and elsewhere. */
    wr_vhost_shovels_free(vh);
    /* Queues first: unbinding needs the exchanges alive. */
    while (wr_hmap_next(&vh->queues, &it, NULL, NULL, &v))
        wr_vhost_delete_queue(vh, v);
    it = 0;
    while (wr_hmap_next(&vh->exchanges, &it, NULL, NULL, &v)) {
        wr_vhost_delayed_stop(v);
        wr_exchange_free(v);
    }
    wr_vhost_dead_letters_cleanup(vh);
    wr_policy_list_cleanup(&vh->policies);
    wr_policy_list_cleanup(&vh->op_policies);
    wr_hmap_cleanup(&vh->replies);
    wr_hmap_cleanup(&vh->queues);
    wr_hmap_cleanup(&vh->exchanges);
    wr_free(vh->description);
    wr_free(vh->name);
    wr_free(vh);
}
