/* SPDX-License-Identifier: MIT */
/* The queue API common to every kind: lifetime, push (TTL, length limits)
 * / requeue (delivery limit) / expire / pop / purge / peek, and dispatch
 * to consumers by priority, round-robin or single active. */
#include "queues_internal.h"

#include <string.h>

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
    q->kind = q->args.max_priority > 0 ? &wr_queue_prio : &wr_queue_fifo;
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

struct wr_queue *
wr_queue_ref(struct wr_queue *q)
{
    q->refcount++;
    return q;
}

void
wr_queue_unref(struct wr_queue **qp)
{
    struct wr_queue *q = *qp;

    *qp = NULL;
    wr_assert(q != NULL && q->refcount > 0);
    if (--q->refcount > 0)
        return;
    /* Bindings point at the queue: exchanges/ must have dropped them. */
    wr_assert(wr_list_empty(&q->bindings_in));
    while (!wr_list_empty(&q->consumers))
        wr_queue_consumer_remove(
            q, WR_CONTAINER_OF(q->consumers.next, struct wr_consumer, link));
    q->kind->cleanup(q);
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
        q->n_expired++;
        break;
    case WR_DEAD_MAXLEN:
        q->n_dropped++;
        break;
    default:
        break;
    }
    if (q->hooks && q->hooks->dead)
        q->hooks->dead(q, m, why);
    else
        wr_msg_unref(&m);
}

/* ---- messages in and out ------------------------------------------------ */

/* The deadline of m entering q at now: the smaller TTL wins (RabbitMQ). */
static int64_t
deadline_of(const struct wr_queue *q, const struct wr_msg *m, int64_t now)
{
    int64_t ttl = q->eff.has_message_ttl ? q->eff.message_ttl : -1;

    if (m->ttl >= 0 && (ttl < 0 || m->ttl < ttl))
        ttl = m->ttl;
    if (ttl < 0 || ttl >= WR_NEVER - now)
        return WR_NEVER;
    return now + ttl;
}

static bool
over_limit(const struct wr_queue *q, uint64_t ready, uint64_t bytes)
{
    return (q->eff.has_max_length && ready > q->eff.max_length) ||
           (q->eff.has_max_bytes && bytes > q->eff.max_bytes);
}

/* Stores e (takes its reference) in a slot, with an expiry node holding
 * its deadline when it has one, and counts it ready. */
static int
store(struct wr_queue *q, struct wr_qentry e, bool front)
{
    struct wr_qslot s = {e.msg, 0, e.redelivered};
    int rc;

    if (e.expires != WR_NEVER) {
        /* The ring sets the real position when it stores the entry. */
        rc = wr_xindex_add(q->expiry, e.expires, 0, 0, &s.xnode);
        if (rc != WR_OK)
            return rc;
    }
    rc = front ? q->kind->push_front(q, s) : q->kind->push(q, s);
    if (rc != WR_OK) {
        if (s.xnode)
            wr_xindex_del(q->expiry, s.xnode);
        return rc;
    }
    q->ready++;
    q->ready_bytes += e.msg->body_size;
    if (s.xnode && wr_xindex_top(q->expiry) == s.xnode && q->hooks &&
        q->hooks->deadline)
        q->hooks->deadline(q, e.expires);
    return WR_OK;
}

/* Takes the next entry, dead slots skipped, and updates the counters. */
static bool
take(struct wr_queue *q, struct wr_qentry *e)
{
    if (!q->kind->pop(q, e))
        return false;
    wr_assert(q->ready > 0 && q->ready_bytes >= e->msg->body_size);
    q->ready--;
    q->ready_bytes -= e->msg->body_size;
    return true;
}

/* drop-head: the oldest ready messages make room (dead, maxlen). */
static void
drop_head(struct wr_queue *q)
{
    struct wr_qentry old;

    if (q->eff.overflow != WR_OVERFLOW_DROP_HEAD)
        return;
    while (over_limit(q, q->ready, q->ready_bytes) && take(q, &old))
        wr_queue_dead(q, old.msg, WR_DEAD_MAXLEN);
}

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
    /* RabbitMQ's init_max_length: a smaller limit drops the head now. */
    drop_head(q);
    return WR_OK;
}

int
wr_queue_push(struct wr_queue *q, struct wr_msg *m, int64_t now)
{
    struct wr_qentry e = {m, deadline_of(q, m, now), false};
    int rc;

    /* reject-publish: refuse what would pass a limit (RabbitMQ's
     * will_overflow: the queue as it would be with this message). */
    if (q->eff.overflow != WR_OVERFLOW_DROP_HEAD &&
        over_limit(q, q->ready + 1, q->ready_bytes + m->body_size)) {
        q->n_rejected++;
        if (q->eff.overflow == WR_OVERFLOW_REJECT_DLX)
            wr_queue_dead(q, wr_msg_ref(m), WR_DEAD_MAXLEN);
        return WR_ERR_FULL;
    }
    e.msg = wr_msg_ref(m);
    rc = store(q, e, false);
    if (rc != WR_OK) {
        wr_msg_unref(&e.msg);
        return rc;
    }
    drop_head(q);
    return WR_OK; /* n_published is the broker's: it counts publishes */
}

void
wr_queue_requeue(struct wr_queue *q, struct wr_msg *m, int64_t expires,
                 int64_t now)
{
    struct wr_qentry e = {m, expires, true};

    /* unacked is the broker's to decrement: it knows which delivery. */
    if (q->deleted) {
        wr_msg_unref(&e.msg);
        return;
    }
    if (q->eff.has_delivery_limit) {
        /* Quorum-queue semantics: every return counts; past the limit the
         * message is dead-lettered instead of redelivered. */
        uint32_t count = m->delivery_count + 1;
        struct wr_msg *n = wr_msg_with_delivery_count(m, count);
        if (n != NULL) {
            wr_msg_unref(&e.msg);
            e.msg = n;
        } else {
            m->delivery_count = count; /* out of memory: count anyway */
        }
        if (count > q->eff.delivery_limit) {
            wr_queue_dead(q, e.msg, WR_DEAD_DELIVERY_LIMIT);
            return;
        }
    }
    if (expires <= now) { /* it kept its deadline, which has passed */
        wr_queue_dead(q, e.msg, WR_DEAD_EXPIRED);
        return;
    }
    if (store(q, e, true) != WR_OK) {
        wr_msg_unref(&e.msg);
        return;
    }
    q->n_redelivered++;
    /* RabbitMQ (requeue_and_run) applies drop-head after a requeue too:
     * the requeued message, now at the head, is the one that goes. */
    drop_head(q);
}

uint64_t
wr_queue_expire(struct wr_queue *q, int64_t now)
{
    uint64_t n = 0;
    uint32_t id;

    while ((id = wr_xindex_top(q->expiry)) != 0) {
        struct wr_xnode *x = wr_xindex_node(q->expiry, id);
        struct wr_msg *m;

        if (x->at > now)
            break;
        m = wr_fifo_kill(q->kind->ring(q, x->level), x->pos, id);
        wr_assert(q->ready > 0 && q->ready_bytes >= m->body_size);
        q->ready--;
        q->ready_bytes -= m->body_size;
        wr_queue_dead(q, m, WR_DEAD_EXPIRED);
        n++;
    }
    return n;
}

bool
wr_queue_next_deadline(const struct wr_queue *q, int64_t *at)
{
    uint32_t id = wr_xindex_top(q->expiry);

    if (id == 0)
        return false;
    *at = wr_xindex_node(q->expiry, id)->at;
    return true;
}

bool
wr_queue_pop(struct wr_queue *q, int64_t now, struct wr_qentry *e)
{
    /* the broker counts basic.get in n_delivered */
    wr_queue_expire(q, now);
    return take(q, e);
}

uint64_t
wr_queue_purge(struct wr_queue *q)
{
    struct wr_qentry e;
    uint64_t n = 0;

    while (take(q, &e)) {
        wr_msg_unref(&e.msg);
        n++;
    }
    return n;
}

size_t
wr_queue_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
              size_t n)
{
    return q->kind->peek(q, now, out, n);
}

/* ---- consumers and dispatch ------------------------------------------- */

/* The member after c in its group, wrapping (c itself if alone). */
static struct wr_consumer *
next_in_group(struct wr_consumer *c)
{
    struct wr_list *n = c->group_link.next;

    if (n == &c->group->members)
        n = n->next;
    return WR_CONTAINER_OF(n, struct wr_consumer, group_link);
}

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
    if (g->cursor == c)
        g->cursor = g->count > 1 ? next_in_group(c) : NULL;
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

/* The consumer to hand the next message to, or NULL when none can take
 * one: the highest priority group with a consumer that can, from its
 * cursor on (RabbitMQ's consumer priorities). */
static struct wr_consumer *
pick(struct wr_queue *q)
{
    struct wr_list *pos;

    if (q->eff.single_active) {
        struct wr_consumer *c = wr_queue_active_consumer(q);
        return c && c->ops->can_take(c) ? c : NULL;
    }
    for (pos = q->groups.next; pos != &q->groups; pos = pos->next) {
        struct wr_cgroup *g = WR_CONTAINER_OF(pos, struct wr_cgroup, link);
        struct wr_consumer *c = g->cursor;
        for (uint32_t i = 0; i < g->count; i++) {
            if (c->ops->can_take(c))
                return c;
            c = next_in_group(c);
        }
    }
    return NULL;
}

uint64_t
wr_queue_dispatch(struct wr_queue *q, int64_t now)
{
    struct wr_consumer *c;
    struct wr_qentry e;
    uint64_t n = 0;

    /* deliver() may re-enter the queue: remove consumers, push, requeue,
     * dispatch, even drop the last outside reference. Hold one of our own
     * and read the state afresh on every turn. */
    wr_queue_ref(q);
    if (!q->deleted)
        wr_queue_expire(q, now);
    while (!q->deleted && q->ready > 0 && (c = pick(q)) != NULL) {
        if (!take(q, &e))
            break;
        /* Move on before delivering, so the next message goes to the next
         * consumer even if deliver() changes the consumer list. */
        c->group->cursor = next_in_group(c);
        q->n_delivered++;
        n++;
        c->ops->deliver(c, q, &e);
    }
    wr_queue_unref(&q);
    return n;
}
