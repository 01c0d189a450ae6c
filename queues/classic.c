/* SPDX-License-Identifier: MIT */
/* The engine FIFO and priority queues share (their kind ops, over the
 * kind's rings): enqueue with TTLs and length limits, expiry, dispatch to
 * consumers and basic.get, the unacked entries and their settlement (ack,
 * requeue with the delivery limit, reject), purge and peek. */
#include "queues_internal.h"

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

/* Stores s (takes its reference; resident or paged out) in a slot, with
 * an expiry node holding its deadline when it has one, and counts it
 * ready; a resident entry pushed at the tail of a durable queue may be
 * paged out at once (paging.c). */
static int
store_slot(struct wr_queue *q, struct wr_qslot s, int64_t expires,
           uint64_t body, bool front)
{
    const struct wr_ring_ops *r = q->kind->rings;
    int rc;

    if (expires != WR_NEVER) {
        /* The ring sets the real position when it stores the entry. */
        rc = wr_xindex_add(q->expiry, expires, 0, 0, &s.xnode);
        if (rc != WR_OK)
            return rc;
    }
    rc = front ? r->push_front(q, &s) : r->push(q, &s);
    if (rc != WR_OK) {
        if (s.xnode)
            wr_xindex_del(q->expiry, s.xnode);
        return rc;
    }
    q->counts.ready++;
    q->counts.ready_bytes += body;
    if (s.msg == WR_PAGED) {
        q->counts.paged++;
        q->counts.paged_bytes += body;
    }
    if (s.xnode && wr_xindex_top(q->expiry) == s.xnode && q->hooks &&
        q->hooks->deadline)
        q->hooks->deadline(q, expires);
    if (!front && q->store != NULL && s.msg != WR_PAGED) {
        uint32_t levels = r->levels(q);
        uint32_t lvl = s.priority < levels ? s.priority : levels - 1;
        wr_dur_pushed(q, r->ring(q, lvl));
    }
    return WR_OK;
}

/* Stores the resident entry e (takes its reference). */
static int
store(struct wr_queue *q, struct wr_qentry e, bool front)
{
    struct wr_qslot s = {e.msg, e.id, 0, e.redelivered, e.msg->priority, NULL};

    return store_slot(q, s, e.expires, e.msg->body_size, front);
}

/* Takes the next entry, dead slots skipped, and updates the counters. */
static bool
take(struct wr_queue *q, struct wr_qentry *e)
{
    if (!q->kind->rings->pop(q, e))
        return false;
    wr_assert(q->counts.ready > 0 &&
              q->counts.ready_bytes >= e->msg->body_size);
    q->counts.ready--;
    q->counts.ready_bytes -= e->msg->body_size;
    return true;
}

/* drop-head: the oldest ready messages make room (dead, maxlen). */
static void
drop_head(struct wr_queue *q)
{
    struct wr_qentry old;

    if (q->eff.overflow != WR_OVERFLOW_DROP_HEAD)
        return;
    while (over_limit(q, q->counts.ready, q->counts.ready_bytes) &&
           take(q, &old)) {
        wr_dur_settle(q, old.id, old.msg);
        wr_queue_dead(q, old.msg, WR_DEAD_MAXLEN);
    }
}

int
wr_classic_restore(struct wr_queue *q, struct wr_msg *m, uint64_t id,
                   int64_t expires)
{
    struct wr_qentry e = {m, id, expires, true};
    int rc = store(q, e, false);

    if (rc != WR_OK)
        wr_msg_unref(&m);
    return rc;
}

int
wr_classic_restore_paged(struct wr_queue *q, uint64_t id,
                         const struct wr_ploc *pl, uint8_t priority,
                         int64_t expires)
{
    struct wr_qslot s = {WR_PAGED, id, 0, true, priority, pl};

    return store_slot(q, s, expires, wr_ploc_body(pl), false);
}

void
wr_classic_limits_changed(struct wr_queue *q)
{
    /* RabbitMQ's init_max_length: a smaller limit drops the head now. */
    drop_head(q);
}

int
wr_classic_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t now)
{
    struct wr_qentry e = {m, 0, deadline_of(q, m, now), false};
    int rc;

    /* reject-publish: refuse what would pass a limit (RabbitMQ's
     * will_overflow: the queue as it would be with this message). */
    if (q->eff.overflow != WR_OVERFLOW_DROP_HEAD &&
        over_limit(q, q->counts.ready + 1,
                   q->counts.ready_bytes + m->body_size)) {
        q->counts.rejected++;
        if (q->eff.overflow == WR_OVERFLOW_REJECT_DLX)
            wr_queue_dead(q, wr_msg_ref(m), WR_DEAD_MAXLEN);
        return WR_ERR_FULL;
    }
    e.msg = wr_msg_ref(m);
    /* 2^63 ids: a billion enqueues a second for 292 years (the rings keep
     * a flag in the 64th bit). */
    wr_assert(q->next_id < (UINT64_C(1) << 63));
    if (q->store != NULL) {
        rc = wr_dur_enqueue(q, m, e.expires, now, &e.id);
        if (rc != WR_OK) {
            wr_msg_unref(&e.msg);
            return rc;
        }
    } else {
        e.id = q->next_id++;
    }
    rc = store(q, e, false);
    if (rc != WR_OK) {
        wr_dur_settle(q, e.id, e.msg);
        wr_msg_unref(&e.msg);
        return rc;
    }
    q->counts.published++;
    drop_head(q);
    return WR_OK;
}

/* Puts an entry that was handed out back at the head (takes its
 * reference): the delivery limit, its deadline, then drop-head. */
static void
requeue(struct wr_queue *q, struct wr_qentry e, int64_t now)
{
    e.redelivered = true;
    if (q->deleted) {
        wr_dur_settle(q, e.id, e.msg);
        wr_msg_unref(&e.msg);
        return;
    }
    if (q->eff.has_delivery_limit) {
        /* Quorum-queue semantics: every return counts; past the limit the
         * message is dead-lettered instead of redelivered. */
        uint32_t count = e.msg->delivery_count + 1;
        struct wr_msg *n = wr_msg_with_delivery_count(e.msg, count);
        if (n != NULL) {
            wr_msg_unref(&e.msg);
            e.msg = n;
        } else {
            e.msg->delivery_count = count; /* out of memory: count anyway */
        }
        if (count > q->eff.delivery_limit) {
            wr_dur_settle(q, e.id, e.msg);
            wr_queue_dead(q, e.msg, WR_DEAD_DELIVERY_LIMIT);
            return;
        }
    }
    if (e.expires <= now) { /* it kept its deadline, which has passed */
        wr_dur_settle(q, e.id, e.msg);
        wr_queue_dead(q, e.msg, WR_DEAD_EXPIRED);
        return;
    }
    if (store(q, e, true) != WR_OK) {
        wr_dur_settle(q, e.id, e.msg);
        wr_msg_unref(&e.msg);
        return;
    }
    wr_dur_requeue(q, e.id, e.msg);
    q->counts.redelivered++;
    /* RabbitMQ (requeue_and_run) applies drop-head after a requeue too:
     * the requeued message, now at the head, is the one that goes. */
    drop_head(q);
}

void
wr_classic_settle(struct wr_queue *q, uint64_t id, uint32_t handle,
                  enum wr_settle how, int64_t now)
{
    struct wr_qentry e;

    wr_upool_take(&q->unacked, id, handle, &e);
    wr_assert(q->counts.unacked > 0 &&
              q->counts.unacked_bytes >= e.msg->body_size);
    q->counts.unacked--;
    q->counts.unacked_bytes -= e.msg->body_size;
    switch (how) {
    case WR_SETTLE_ACK:
        q->counts.acked++;
        wr_dur_settle(q, e.id, e.msg);
        wr_msg_unref(&e.msg);
        break;
    case WR_SETTLE_REQUEUE:
        requeue(q, e, now);
        break;
    case WR_SETTLE_REJECT:
        /* dead-lettered or dropped (a deleted queue has no hooks left) */
        wr_dur_settle(q, e.id, e.msg);
        wr_queue_dead(q, e.msg, WR_DEAD_REJECTED);
        break;
    }
}

/* Expires the entries due at now, from the earliest on. */
static uint64_t
expire_due(struct wr_queue *q, int64_t now)
{
    uint64_t n = 0;
    uint32_t id;

    while ((id = wr_xindex_top(q->expiry)) != 0) {
        struct wr_xnode *x = wr_xindex_node(q->expiry, id);
        struct wr_msg *m;
        struct wr_ploc pl;
        uint64_t eid, body;

        if (x->at > now)
            break;
        m = wr_fifo_kill(q->kind->rings->ring(q, x->level), x->pos, id, &eid,
                         &pl);
        body = m == WR_PAGED ? wr_ploc_body(&pl) : m->body_size;
        wr_assert(q->counts.ready > 0 && q->counts.ready_bytes >= body);
        q->counts.ready--;
        q->counts.ready_bytes -= body;
        n++;
        if (m == WR_PAGED) {
            /* read back to be dead-lettered (the owner's hook decides) */
            q->counts.paged--;
            q->counts.paged_bytes -= body;
            if (wr_dur_load(q, &pl, &m) != WR_OK) { /* gone all the same */
                wr_dur_settle_paged(q, eid, &pl);
                q->counts.expired++;
                continue;
            }
        }
        wr_dur_settle(q, eid, m);
        wr_queue_dead(q, m, WR_DEAD_EXPIRED);
    }
    return n;
}

/* Whether an entry is due at now: checked inline on every dispatch, get
 * and publish (most queues have no deadlines at all). */
static inline bool
due(const struct wr_queue *q, int64_t now)
{
    uint32_t id = wr_xindex_top(q->expiry);

    return id != 0 && wr_xindex_node(q->expiry, id)->at <= now;
}

uint64_t
wr_classic_expire(struct wr_queue *q, int64_t now)
{
    return due(q, now) ? expire_due(q, now) : 0;
}

bool
wr_classic_next_deadline(const struct wr_queue *q, int64_t *at)
{
    uint32_t id = wr_xindex_top(q->expiry);

    if (id == 0)
        return false;
    *at = wr_xindex_node(q->expiry, id)->at;
    return true;
}

bool
wr_classic_get(struct wr_queue *q, int64_t now, bool no_ack,
               struct wr_delivery *d)
{
    struct wr_qentry e;

    if (due(q, now))
        expire_due(q, now);
    if (!no_ack && wr_upool_reserve(&q->unacked) != WR_OK)
        return false;
    if (!take(q, &e))
        return false;
    q->counts.delivered++;
    d->msg = e.msg;
    d->id = e.id;
    d->redelivered = e.redelivered;
    d->handle = 0;
    if (!no_ack) {
        d->handle = wr_upool_add(&q->unacked, &e);
        q->counts.unacked++;
        q->counts.unacked_bytes += e.msg->body_size;
        wr_dur_delivered(q, e.id, e.msg);
    } else {
        wr_dur_settle(q, e.id, e.msg);
    }
    return true;
}

/* Drops the paged-out ready entries without reading them back. */
static uint64_t
purge_paged(struct wr_queue *q)
{
    const struct wr_ring_ops *r = q->kind->rings;
    uint32_t levels = r->levels(q);
    uint64_t n = 0;

    for (uint32_t l = 0; l < levels && q->counts.paged > 0; l++) {
        struct wr_fifo *f = r->ring(q, l);
        for (size_t off = 0; off < f->count && f->paged > 0; off++) {
            struct wr_ploc pl;
            uint64_t id, body;
            if (wr_fifo_at(f, off)->msg != WR_PAGED)
                continue;
            pl = *wr_fifo_ploc(f, off);
            body = wr_ploc_body(&pl);
            id = wr_fifo_drop_paged(f, off);
            q->counts.ready--;
            q->counts.ready_bytes -= body;
            q->counts.paged--;
            q->counts.paged_bytes -= body;
            wr_dur_settle_paged(q, id, &pl);
            n++;
        }
    }
    return n;
}

uint64_t
wr_classic_purge(struct wr_queue *q)
{
    struct wr_qentry e;
    uint64_t n = 0;

    if (q->counts.paged > 0)
        n = purge_paged(q);

    while (take(q, &e)) {
        wr_dur_settle(q, e.id, e.msg);
        wr_msg_unref(&e.msg);
        n++;
    }
    return n;
}

size_t
wr_classic_peek(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
                size_t n)
{
    return q->kind->rings->peek(q, now, out, n);
}

uint64_t
wr_classic_dispatch(struct wr_queue *q, int64_t now)
{
    struct wr_consumer *c;
    struct wr_qentry e;
    struct wr_delivery d;
    uint64_t n = 0;

    /* deliver() may re-enter the queue: remove consumers, enqueue, settle,
     * dispatch, even drop the last outside reference. Hold one of our own
     * and read the state afresh on every turn. */
    wr_queue_ref(q);
    if (!q->deleted && due(q, now))
        expire_due(q, now);
    while (!q->deleted && q->counts.ready > 0 &&
           (c = wr_queue_pick(q)) != NULL) {
        bool no_ack = c->no_ack;
        if (!no_ack && wr_upool_reserve(&q->unacked) != WR_OK)
            break;
        if (!take(q, &e))
            break;
        /* Move on before delivering, so the next message goes to the next
         * consumer even if deliver() changes the consumer list. */
        wr_queue_picked(c);
        q->counts.delivered++;
        n++;
        d.msg = e.msg;
        d.id = e.id;
        d.redelivered = e.redelivered;
        d.handle = 0;
        if (!no_ack) {
            d.handle = wr_upool_add(&q->unacked, &e);
            q->counts.unacked++;
            q->counts.unacked_bytes += e.msg->body_size;
            wr_dur_delivered(q, e.id, e.msg);
        } else {
            wr_dur_settle(q, e.id, e.msg);
        }
        c->ops->deliver(c, q, &d);
        if (no_ack) /* settled on delivery: the queue's reference goes */
            wr_msg_unref(&e.msg);
    }
    wr_queue_unref(&q);
    return n;
}
