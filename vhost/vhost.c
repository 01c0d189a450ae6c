/* SPDX-License-Identifier: MIT */
/* Virtual hosts: the registries of exchanges and queues, the standard
 * exchanges every vhost has, and queue deletion with its consequences. */
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

struct wr_exchange *
wr_vhost_exchange(struct wr_vhost *vh, struct wr_bytes name)
{
    return wr_hmap_get(&vh->exchanges, name.ptr, name.len);
}

struct wr_queue *
wr_vhost_queue(struct wr_vhost *vh, struct wr_bytes name)
{
    return wr_hmap_get(&vh->queues, name.ptr, name.len);
}

struct wr_exchange *
wr_vhost_add_exchange(struct wr_vhost *vh, struct wr_bytes name,
                      const struct wr_exch_type *type, bool durable,
                      bool auto_delete, bool internal, struct wr_table args)
{
    struct wr_exchange *x = wr_exchange_new(name, type, args);

    if (x == NULL)
        return NULL;
    x->durable = durable;
    x->auto_delete = auto_delete;
    x->internal = internal;
    x->broker = vh;
    wr_hmap_put(&vh->exchanges, name.ptr, name.len, x, NULL);
    if (vh->policies.n > 0)
        wr_vhost_policy_exchange(vh, x);
    wr_defs_exchange_added(vh, x);
    return x;
}

void
wr_vhost_delete_exchange(struct wr_vhost *vh, struct wr_exchange *x)
{
    wr_defs_exchange_deleted(vh, x);
    if (vh->srv->stats_forget)
        vh->srv->stats_forget(vh->srv, vh->name, false, x->name);
    wr_hmap_del(&vh->exchanges, x->name, x->name_len);
    wr_vhost_delayed_stop(x);
    wr_exchange_free(x);
}

void
wr_vhost_exchange_maybe_autodelete(struct wr_vhost *vh, struct wr_exchange *x)
{
    if (x->auto_delete && x->binding_count == 0)
        wr_vhost_delete_exchange(vh, x);
}

static void
source_empty(void *ctx, struct wr_exchange *x)
{
    wr_vhost_exchange_maybe_autodelete(ctx, x);
}

struct wr_queue *
wr_vhost_add_queue(struct wr_vhost *vh, struct wr_bytes name,
                   const struct wr_queue_args *args, struct wr_table raw_args,
                   bool durable, bool exclusive, bool auto_delete,
                   struct wr_conn *owner)
{
    struct wr_queue *q = wr_queue_new(name, args, raw_args);
    struct wr_bqueue *bq;

    if (q == NULL)
        return NULL;
    bq = wr_calloc(1, sizeof(*bq));
    bq->q = q;
    bq->vh = vh;
    wr_list_init(&bq->excl_link);
    q->broker = bq;
    q->hooks = &wr_bqueue_hooks;
    q->durable = durable;
    q->exclusive = exclusive;
    q->auto_delete = auto_delete;
    if (exclusive && owner) {
        /* The owner links bq->excl_link into its own list. */
        bq->owner = owner;
        q->exclusive_owner = owner;
    }
    wr_hmap_put(&vh->queues, name.ptr, name.len, q, NULL);
    wr_vhost_policy_new_queue(vh, q);
    wr_bqueue_timers_init(bq);
    wr_defs_queue_added(vh, q);
    return q;
}

uint64_t
wr_vhost_delete_queue(struct wr_vhost *vh, struct wr_queue *q)
{
    struct wr_bqueue *bq = q->broker;
    struct wr_list *pos, *tmp;
    uint64_t n;

    if (q->deleted)
        return 0;
    wr_defs_queue_deleted(vh, q);
    /* Marks it deleted (it dead-letters nothing from now on, as in
     * RabbitMQ) and drops its ready messages. */
    n = wr_queue_delete(q);
    if (vh->srv->stats_forget)
        vh->srv->stats_forget(vh->srv, vh->name, true, q->name);
    wr_hmap_del(&vh->queues, q->name, q->name_len);
    /* Keep the vhost's message counters monotonic (/metrics). */
    vh->stats.gone_delivered += wr_queue_counts(q)->delivered;
    vh->stats.gone_acked += wr_queue_counts(q)->acked;
    vh->stats.gone_redelivered += wr_queue_counts(q)->redelivered;
    /* RabbitMQ's consumer_cancel_notify: clients hear basic.cancel. */
    wr_list_for_each_safe(pos, tmp, &q->consumers)
    {
        struct wr_consumer *wc = WR_CONTAINER_OF(pos, struct wr_consumer, link);
        if (wc->ops->gone) /* a shovel's */
            wc->ops->gone(wc);
        else
            vh->srv->consumer_cancel(wc, true);
    }
    wr_queue_unbind_all(q, source_empty, vh);
    if (bq) {
        wr_bqueue_timers_free(bq);
        wr_list_remove(&bq->excl_link);
        wr_free(bq);
        q->broker = NULL;
    }
    q->exclusive_owner = NULL;
    wr_queue_unref(&q);
    return n;
}

int
wr_vhost_route(struct wr_vhost *vh, struct wr_exchange *x,
               const struct wr_route_req *req, struct wr_route_set *out)
{
    if (x->name_len == 0) {
        /* AMQP 0-9-1 3.1.3.1: the default exchange binds every queue by
         * its name; CC / BCC keys name more queues (each once). */
        out->count = 0;
        for (size_t i = 0; i <= req->n_more; i++) {
            struct wr_queue *q =
                wr_vhost_queue(vh, i == 0 ? req->rkey : req->more_keys[i - 1]);
            bool seen = false;
            if (q == NULL)
                continue;
            for (size_t j = 0; j < out->count && !seen; j++)
                seen = out->queues[j] == q;
            if (seen)
                continue;
            if (out->count == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 8;
                out->queues =
                    wr_realloc(out->queues, out->cap * sizeof(*out->queues));
            }
            out->queues[out->count++] = q;
        }
        return WR_OK;
    }
    return wr_exchange_route(x, req, out);
}
