/* SPDX-License-Identifier: MIT */
/* The queue API common to every kind: the registry of kinds, lifetime,
 * dying messages, effective settings, deletion, and the consumers that
 * dispatch picks from (by priority, round-robin or single active). */
#include "queues_internal.h"

#include <string.h>

/* ---- kinds ------------------------------------------------------------- */

static const struct wr_queue_kind *const kinds[] = {
    &wr_queue_fifo,
    &wr_queue_prio,
    &wr_queue_stream,
};

const struct wr_queue_kind *
wr_queue_kind_find(const char *name)
{
    for (size_t i = 0; i < WR_ARRAY_LEN(kinds); i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

/* ---- lifetime ----------------------------------------------------------- */

struct wr_queue *
wr_queue_new(struct wr_bytes name, const struct wr_queue_args *args,
             struct wr_table raw_args)
{
    struct wr_queue *q = wr_calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->refcount = 1;
    wr_list_init(&q->consumers);
    wr_list_init(&q->groups);
    wr_list_init(&q->bindings_in);
    if (args)
        q->args = *args;
    q->name = wr_strndup(name.ptr, name.len);
    if (q->name == NULL)
        goto fail;
    q->name_len = name.len;
    if (raw_args.len > 0) {
        q->raw_args = wr_malloc(raw_args.len);
        if (q->raw_args == NULL)
            goto fail;
        memcpy(q->raw_args, raw_args.ptr, raw_args.len);
        q->raw_args_len = raw_args.len;
        /* Parsed before, so this succeeds: it points the views at the copy. */
        if (wr_queue_args_parse((struct wr_table){q->raw_args, raw_args.len},
                                &q->args, NULL) != WR_OK &&
            args)
            q->args = *args;
    }
    q->eff = q->args; /* no policy yet: views into raw_args */
    q->kind = wr_queue_kind_find(q->args.stream             ? "stream"
                                 : q->args.max_priority > 0 ? "priority"
                                                            : "fifo");
    q->next_id = 1;
    q->expiry = wr_malloc(sizeof(*q->expiry));
    if (q->expiry == NULL)
        goto fail;
    wr_xindex_init(q->expiry);
    if (q->kind->init(q) != WR_OK)
        goto fail;
    return q;
fail:
    wr_free(q->expiry);
    wr_free(q->raw_args);
    wr_free(q->name);
    wr_free(q);
    return NULL;
}

void
wr_queue_free(struct wr_queue *q)
{
    wr_assert(q->refcount == 0);
    /* Bindings point at the queue: exchanges/ must have dropped them. */
    wr_assert(wr_list_empty(&q->bindings_in));
    while (!wr_list_empty(&q->consumers))
        wr_queue_consumer_remove(
            q, WR_CONTAINER_OF(q->consumers.next, struct wr_consumer, link));
    q->kind->cleanup(q);
    wr_upool_cleanup(&q->unacked);
    wr_xindex_cleanup(q->expiry);
    wr_free(q->expiry);
    wr_free(q->eff_strs);
    wr_free(q->raw_args);
    wr_free(q->name);
    wr_free(q);
}

/* ---- dying messages ---------------------------------------------------- */

const char *
wr_dead_reason_name(enum wr_dead_reason r)
{
    switch (r) {
    case WR_DEAD_REJECTED:
        return "rejected";
    case WR_DEAD_EXPIRED:
        return "expired";
    case WR_DEAD_MAXLEN:
        return "maxlen";
    case WR_DEAD_DELIVERY_LIMIT:
        return "delivery_limit";
    }
    return "unknown";
}

void
wr_queue_dead(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why)
{
    switch (why) {
    case WR_DEAD_EXPIRED:
        q->counts.expired++;
        break;
    case WR_DEAD_MAXLEN:
        q->counts.dropped++;
        break;
    default:
        break;
    }
    if (q->hooks && q->hooks->dead) {
        if (q->hooks->dead(q, m, why))
            q->counts.dead_lettered++;
    } else {
        wr_msg_unref(&m);
    }
}

/* ---- settings and deletion ---------------------------------------------- */

int
wr_queue_set_effective(struct wr_queue *q, const struct wr_queue_args *eff)
{
    struct wr_queue_args n = *eff;
    size_t len =
        (eff->has_dlx ? eff->dlx.len : 0) + (eff->has_dlrk ? eff->dlrk.len : 0);
    uint8_t *strs = wr_malloc(len ? len : 1);

    if (strs == NULL)
        return WR_ERR_NOMEM;
    /* Copy the names first: eff may point into the old eff_strs. */
    if (n.has_dlx && n.dlx.len)
        memcpy(strs, eff->dlx.ptr, eff->dlx.len);
    n.dlx.ptr = strs;
    if (!n.has_dlx)
        n.dlx.len = 0;
    if (n.has_dlrk && n.dlrk.len)
        memcpy(strs + n.dlx.len, eff->dlrk.ptr, eff->dlrk.len);
    n.dlrk.ptr = strs + n.dlx.len;
    if (!n.has_dlrk)
        n.dlrk.len = 0;
    n.max_priority = q->args.max_priority;
    n.single_active = q->args.single_active;
    wr_free(q->eff_strs);
    q->eff_strs = strs;
    q->eff = n;
    q->kind->limits_changed(q);
    return WR_OK;
}

uint64_t
wr_queue_delete(struct wr_queue *q)
{
    if (q->deleted)
        return 0;
    q->deleted = true;
    /* A deleted queue dead-letters nothing (RabbitMQ neither). */
    q->hooks = NULL;
    return q->kind->delete (q);
}

/* ---- consumers and dispatch ------------------------------------------- */

int
wr_queue_consumer_add(struct wr_queue *q, struct wr_consumer *c)
{
    struct wr_list *pos;
    struct wr_cgroup *g = NULL;

    for (pos = q->groups.next; pos != &q->groups; pos = pos->next) {
        struct wr_cgroup *at = WR_CONTAINER_OF(pos, struct wr_cgroup, link);
        if (at->priority == c->priority)
            g = at;
        if (at->priority <= c->priority)
            break;
    }
    if (g == NULL) {
        g = wr_calloc(1, sizeof(*g));
        if (g == NULL)
            return WR_ERR_NOMEM;
        g->priority = c->priority;
        wr_list_init(&g->members);
        wr_list_insert_before(pos, &g->link); /* keeps the order */
    }
    c->group = g;
    wr_list_push_back(&g->members, &c->group_link);
    if (g->cursor == NULL)
        g->cursor = c;
    g->count++;
    wr_list_push_back(&q->consumers, &c->link);
    c->queue = q;
    q->consumer_count++;
    q->had_consumer = true;
    return WR_OK;
}

void
wr_queue_consumer_remove(struct wr_queue *q, struct wr_consumer *c)
{
    struct wr_cgroup *g = c->group;

    wr_assert(c->queue == q && q->consumer_count > 0 && g != NULL);
    if (q->kind->consumer_gone)
        q->kind->consumer_gone(q, c);
    if (g->cursor == c)
        g->cursor = g->count > 1 ? wr_cgroup_next(c) : NULL;
    wr_list_remove(&c->group_link);
    if (--g->count == 0) {
        wr_list_remove(&g->link);
        wr_free(g);
    }
    c->group = NULL;
    wr_list_remove(&c->link);
    c->queue = NULL;
    q->consumer_count--;
}

struct wr_consumer *
wr_queue_active_consumer(const struct wr_queue *q)
{
    if (!q->eff.single_active || wr_list_empty(&q->consumers))
        return NULL;
    return WR_CONTAINER_OF(q->consumers.next, struct wr_consumer, link);
}
