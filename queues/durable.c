/* SPDX-License-Identifier: MIT */
/* Persistent messages in durable queues (docs/internals/STORE.md, "A
 * durable queue kind on the store"): the records a queue with a store
 * writes as its persistent entries come, go back and leave, and the ids
 * that tie its entries to their ENQ records. The body stays resident in
 * memory; the store is what a restart reads back (vhost/durable.c). */
#include "queues_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Entry ids of a queue with a store: a persistent entry's id is its ENQ
 * offset + 1 shifted left by ID_SHIFT; transient entries take the ids
 * below the next offset's, so ids stay increasing in enqueue order. */
#define ID_SHIFT 24

static uint64_t
off_of(uint64_t id)
{
    return (id >> ID_SHIFT) - 1;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where m's MSG record is: its payload is the small header, then the
 * exchange, routing key, properties and body (wr_prec_msg_parts). */
struct wr_store_loc
wr_dur_msg_loc(const struct wr_msg *m)
{
    return (struct wr_store_loc){m->store_off, m->store_pos,
                                 (uint32_t)(WR_PREC_MSG_HDR + m->exchange_len +
                                            m->rkey_len + m->props_len +
                                            m->body_size)};
}

static bool
has_records(const struct wr_queue *q, uint64_t id, const struct wr_msg *m)
{
    return q->store != NULL && m->persistent && m->stored &&
           (id & ((UINT64_C(1) << ID_SHIFT) - 1)) == 0;
}

/* Appends a reference record (SETTLE, REQUEUE) for the entry id and pins
 * it to the entry's ENQ: it lives as long as the ENQ's segment. */
static void
append_ref(struct wr_queue *q, uint8_t type, uint64_t id, uint32_t count)
{
    struct wr_prec_ref r = {q->store_qid, off_of(id), count};
    uint8_t buf[WR_PREC_REF_SIZE];
    struct wr_bytes part = {buf, sizeof buf};
    struct wr_store_loc loc, enq = {off_of(id), 0, 0};

    wr_prec_ref_encode(buf, &r);
    if (wr_store_append(q->store, type, &part, 1, wall_ms(), &loc) != WR_OK)
        return; /* the store failed: runtime/ says so; a restart decides */
    wr_store_pin(q->store, &loc, &enq);
    wr_store_unref(q->store, &loc);
}

/* A transient entry's id: above every id given, below the id of the next
 * ENQ record. 2^24 transient entries in a row with nothing written to the
 * store between them would reach it: a record of queue 0 (which recovery
 * ignores) moves the store's end on. */
static void
transient_id(struct wr_queue *q, uint64_t *id)
{
    uint64_t end = wr_store_end(q->store);

    if (q->next_id <= end << ID_SHIFT)
        q->next_id = (end << ID_SHIFT) + 1;
    if (q->next_id >= wr_dur_id(end)) {
        struct wr_prec_ref r = {0, 0, 0};
        uint8_t buf[WR_PREC_REF_SIZE];
        struct wr_bytes part = {buf, sizeof buf};
        struct wr_store_loc loc;

        wr_prec_ref_encode(buf, &r);
        if (wr_store_append(q->store, WR_PREC_SETTLE, &part, 1, wall_ms(),
                            &loc) == WR_OK)
            wr_store_unref(q->store, &loc);
        end = wr_store_end(q->store);
        if (q->next_id <= end << ID_SHIFT)
            q->next_id = (end << ID_SHIFT) + 1;
    }
    *id = q->next_id++;
}

int
wr_dur_write_enq(struct wr_store *st, struct wr_msg *m, struct wr_prec_enq *e,
                 int64_t wall, struct wr_store_loc *eloc)
{
    uint8_t hdr[WR_PREC_MSG_HDR], ebuf[WR_PREC_ENQ_SIZE];
    struct wr_bytes parts[3];
    unsigned n;
    int rc;

    if (!m->stored) {
        n = wr_prec_msg_parts(m, wall, hdr, parts);
        rc = wr_store_append(st, WR_PREC_MSG, parts, n, wall, &e->msg);
        if (rc != WR_OK)
            return rc;
        m->stored = 1;
        m->store_off = e->msg.offset;
        m->store_pos = e->msg.pos;
    } else {
        e->msg = wr_dur_msg_loc(m);
        wr_store_ref(st, &e->msg); /* this entry's reference */
    }
    wr_prec_enq_encode(ebuf, e);
    parts[0] = (struct wr_bytes){ebuf, sizeof ebuf};
    rc = wr_store_append(st, WR_PREC_ENQ, parts, 1, wall, eloc);
    if (rc != WR_OK)
        wr_store_unref(st, &e->msg);
    return rc;
}

int
wr_dur_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t expires,
               int64_t now, uint64_t *id)
{
    struct wr_store_loc eloc;
    struct wr_prec_enq e = {0};
    int64_t wall = wall_ms();
    int rc;

    if (!m->persistent) {
        transient_id(q, id);
        return WR_OK;
    }
    e.queue_id = q->store_qid;
    e.priority = m->priority;
    e.delivery_count = m->delivery_count;
    e.expires_ms = expires == WR_NEVER ? 0 : expires - now + wall;
    if (e.expires_ms == 0 && expires != WR_NEVER)
        e.expires_ms = 1;
    rc = wr_dur_write_enq(q->store, m, &e, wall, &eloc);
    if (rc != WR_OK)
        return rc;
    *id = wr_dur_id(eloc.offset);
    q->next_id = *id + 1;
    q->counts.persistent++;
    q->counts.persistent_bytes += m->body_size;
    return WR_OK;
}

void
wr_dur_settle(struct wr_queue *q, uint64_t id, const struct wr_msg *m)
{
    struct wr_store_loc enq = {0}, mloc = {0};

    if (!has_records(q, id, m))
        return;
    wr_assert(q->counts.persistent > 0 &&
              q->counts.persistent_bytes >= m->body_size);
    q->counts.persistent--;
    q->counts.persistent_bytes -= m->body_size;
    if (!q->deleted) /* a deleted queue's id is gone: recovery drops it */
        append_ref(q, WR_PREC_SETTLE, id, 0);
    enq.offset = off_of(id);
    mloc.offset = m->store_off;
    wr_store_unref(q->store, &enq);
    wr_store_unref(q->store, &mloc);
}

void
wr_dur_requeue(struct wr_queue *q, uint64_t id, const struct wr_msg *m)
{
    if (has_records(q, id, m) && !q->deleted)
        append_ref(q, WR_PREC_REQUEUE, id, m->delivery_count);
}

void
wr_dur_delivered(struct wr_queue *q, uint64_t id, const struct wr_msg *m)
{
    /* only where the count matters: one small record per delivery */
    if (q->eff.has_delivery_limit && has_records(q, id, m) && !q->deleted)
        append_ref(q, WR_PREC_REQUEUE, id, m->delivery_count + 1);
}

void
wr_queue_set_store(struct wr_queue *q, struct wr_store *st, uint64_t qid)
{
    q->store = st;
    q->store_qid = qid;
}

int
wr_queue_restore(struct wr_queue *q, struct wr_msg *m, uint64_t enq_off,
                 int64_t expires)
{
    struct wr_store_loc enq = {enq_off, 0, 0};
    struct wr_store_loc mloc = {m->store_off, 0, 0};
    uint64_t id = wr_dur_id(enq_off);
    int rc;

    wr_assert(q->store != NULL && m->stored && m->persistent);
    rc = wr_classic_restore(q, m, id, expires);
    if (rc != WR_OK)
        return rc;
    wr_store_ref(q->store, &enq);
    wr_store_ref(q->store, &mloc);
    if (id >= q->next_id)
        q->next_id = id + 1;
    q->counts.persistent++;
    q->counts.persistent_bytes += m->body_size;
    return WR_OK;
}

int
wr_queue_restore_paged(struct wr_queue *q, const struct wr_store_loc *msg,
                       uint32_t meta, uint8_t priority, uint64_t enq_off,
                       int64_t expires)
{
    struct wr_store_loc enq = {enq_off, 0, 0};
    struct wr_ploc pl;
    uint64_t id = wr_dur_id(enq_off);
    int rc;

    wr_assert(q->store != NULL && meta <= WR_PLOC_META_MAX &&
              meta <= msg->len && msg->offset < WR_PLOC_OFF_MAX);
    pl.off_meta = msg->offset << 16 | meta;
    pl.pos = msg->pos;
    pl.len = msg->len;
    rc = wr_classic_restore_paged(q, id, &pl, priority, expires);
    if (rc != WR_OK)
        return rc;
    wr_store_ref(q->store, &enq);
    wr_store_ref(q->store, msg);
    if (id >= q->next_id)
        q->next_id = id + 1;
    q->counts.persistent++;
    q->counts.persistent_bytes += wr_ploc_body(&pl);
    return WR_OK;
}

/* The msgs/ store: each ENQ record of a stored queue becomes an entry,
 * SETTLE ends it, REQUEUE sets its delivery count, PURGE ends every entry
 * up to the one named (STORE.md "Recovery"). The scan collects entries per
 * queue in log order (so in id order), then they are read back and handed
 * to their queues. */
struct mentry {
    uint64_t enq;     /* the ENQ record's offset */
    uint64_t msg_off; /* its MSG record */
    uint32_t msg_pos, msg_len;
    int64_t expires; /* wall clock ms, 0 = none */
    uint32_t count;  /* delivery count */
    uint32_t meta;   /* MSG bytes that are not body; UINT32_MAX: unknown */
    uint8_t priority;
    bool dead;
    bool gone; /* its MSG's file is gone: no reference on it */
};

struct mqueue {
    uint64_t qid;
    struct wr_queue *q;              /* NULL for a holder: */
    const struct wr_held_sink *sink; /* then its sink */
    struct mentry *v;
    size_t n, cap;
    uint64_t lost, lost_at; /* entries whose MSG is unreadable; the first's */
};

struct mrecov {
    struct wr_store *st;
    struct mqueue *qs; /* sorted by qid */
    size_t nq;
    uint64_t undecodable, ignored, unreadable;
    uint64_t last_msg;  /* offset + 1 of the last MSG record seen, or 0 */
    uint32_t last_meta; /* its bytes that are not body */
    wr_store_damage_cb damage;
    void *damage_arg;
};

static void
msgs_damage(void *arg, const struct wr_store_damage *d)
{
    struct mrecov *r = arg;

    if (r->damage)
        r->damage(r->damage_arg, d);
}

static struct mqueue *
mqueue_find(struct mrecov *r, uint64_t qid)
{
    size_t lo = 0, hi = r->nq;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->qs[mid].qid == qid)
            return &r->qs[mid];
        if (r->qs[mid].qid < qid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static struct mentry *
mentry_find(struct mqueue *mq, uint64_t enq)
{
    size_t lo = 0, hi = mq->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mq->v[mid].enq == enq)
            return &mq->v[mid];
        if (mq->v[mid].enq < enq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void
mqueue_lost(struct mqueue *mq, uint64_t msg_offset)
{
    if (mq->lost++ == 0)
        mq->lost_at = msg_offset;
}

static int
cmp_mqueue(const void *a, const void *b)
{
    uint64_t x = ((const struct mqueue *)a)->qid;
    uint64_t y = ((const struct mqueue *)b)->qid;

    return x < y ? -1 : x > y;
}

/* An entry found settled: the scan's references on it go. */
static void
entry_dead(struct wr_store *st, struct mentry *e)
{
    e->dead = true;
    wr_store_unref(st, &(struct wr_store_loc){e->enq, 0, 0});
    if (!e->gone)
        wr_store_unref(st, &(struct wr_store_loc){e->msg_off, 0, 0});
}

/* After the scan: a live entry whose MSG's file is gone is lost (a SETTLE
 * later in the log would have ended it: the file of a settled message may
 * go before the file of its ENQ, which other entries keep). */
static void
drop_gone(struct mrecov *r)
{
    for (size_t i = 0; i < r->nq; i++) {
        struct mqueue *mq = &r->qs[i];
        for (size_t j = 0; j < mq->n; j++) {
            struct mentry *e = &mq->v[j];
            if (e->dead || !e->gone)
                continue;
            r->unreadable++;
            mqueue_lost(mq, e->msg_off);
            entry_dead(r->st, e);
        }
    }
}

static int
msgs_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
            struct wr_bytes payload, int64_t time_ms)
{
    struct mrecov *r = arg;
    struct wr_prec p;
    struct mqueue *mq;
    struct mentry *e;
    bool gone;

    (void)time_ms;
    if (type < WR_PREC_MSG || type > WR_PREC_PURGE)
        return WR_OK; /* not ours: a later version's */
    if (wr_prec_decode(type, payload, &p) != WR_OK) {
        r->undecodable++;
        return WR_OK;
    }
    if (type == WR_PREC_MSG) {
        /* ENQ records carry its location; its body size lets an entry be
         * restored paged out, without reading it back (the ENQ records of
         * a message follow its MSG record) */
        r->last_msg = loc->offset + 1;
        r->last_meta = loc->len - p.msg.body.len;
        return WR_OK;
    }
    mq = mqueue_find(r, type == WR_PREC_ENQ ? p.enq.queue_id : p.ref.queue_id);
    if (mq == NULL) { /* a deleted queue's, or the filler of queue 0 */
        r->ignored++;
        return WR_OK;
    }
    if (type == WR_PREC_ENQ) {
        if (mq->n == mq->cap) {
            size_t cap = mq->cap ? mq->cap * 2 : 64;
            void *v = wr_realloc(mq->v, cap * sizeof *mq->v);
            if (v == NULL)
                return WR_ERR_NOMEM;
            mq->v = v;
            mq->cap = cap;
        }
        if (p.enq.msg.offset >= loc->offset) {
            r->unreadable++; /* it names no message before it */
            mqueue_lost(mq, p.enq.msg.offset);
            return WR_OK;
        }
        gone = !wr_store_holds(r->st, p.enq.msg.offset);
        /* held through the scan: segments nothing holds go at its end */
        wr_store_ref(r->st, loc);
        if (!gone)
            wr_store_ref(r->st, &p.enq.msg);
        mq->v[mq->n++] = (struct mentry){
            loc->offset,
            p.enq.msg.offset,
            p.enq.msg.pos,
            p.enq.msg.len,
            p.enq.expires_ms,
            p.enq.delivery_count,
            r->last_msg == p.enq.msg.offset + 1 ? r->last_meta : UINT32_MAX,
            p.enq.priority,
            false,
            gone};
        return WR_OK;
    }
    if (type == WR_PREC_PURGE) {
        for (size_t i = 0; i < mq->n && mq->v[i].enq <= p.ref.entry_id; i++)
            if (!mq->v[i].dead)
                entry_dead(r->st, &mq->v[i]);
        return WR_OK;
    }
    e = mentry_find(mq, p.ref.entry_id);
    if (e == NULL || e->dead)
        return WR_OK; /* its ENQ is gone: nothing to hold */
    if (type == WR_PREC_SETTLE)
        entry_dead(r->st, e);
    else
        e->count = p.ref.delivery_count;
    /* the record must outlive the ENQ it names (STORE.md "Settle") */
    wr_store_pin(r->st, loc,
                 &(struct wr_store_loc){e->enq, 0, WR_PREC_ENQ_SIZE});
    return WR_OK;
}

/* Reads the MSG record at e back into a message (the last one is kept:
 * the queues a message went to have their ENQ records side by side). */
static struct wr_msg *
read_msg(struct wr_store *st, struct mqueue *mq, const struct mentry *e,
         struct wr_msg **last, struct wr_queues_recovery *out)
{
    struct wr_store_loc loc = {e->msg_off, e->msg_pos, e->msg_len};
    struct wr_prec p;
    struct wr_msg *m;
    uint8_t *buf;
    int rc;

    if (*last && (*last)->store_off == e->msg_off)
        return wr_msg_ref(*last);
    buf = wr_malloc(e->msg_len ? e->msg_len : 1);
    if (buf == NULL)
        return NULL;
    rc = wr_store_read(st, &loc, buf, e->msg_len, NULL);
    if (rc == WR_OK)
        rc =
            wr_prec_decode(WR_PREC_MSG, (struct wr_bytes){buf, e->msg_len}, &p);
    if (rc != WR_OK) {
        wr_free(buf);
        out->unreadable++;
        mqueue_lost(mq, e->msg_off);
        return NULL;
    }
    m = wr_prec_msg_build(&p.msg);
    wr_free(buf);
    if (m == NULL)
        return NULL;
    m->stored = 1;
    m->store_off = loc.offset;
    m->store_pos = loc.pos;
    if (*last)
        wr_msg_unref(last);
    *last = wr_msg_ref(m);
    return m;
}

/* One live entry and its queue, for restoring in log order. */
struct live {
    struct mqueue *mq;
    struct mentry *e;
};

static int
cmp_live(const void *a, const void *b)
{
    uint64_t x = ((const struct live *)a)->e->enq;
    uint64_t y = ((const struct live *)b)->e->enq;

    return x < y ? -1 : x > y;
}

/* Hands one live entry to its queue; counts it. */
static void
restore_one(struct wr_store *st, struct mqueue *mq, const struct mentry *e,
            struct wr_msg **last, int64_t now, int64_t wall,
            struct wr_queues_recovery *out)
{
    struct wr_msg *m;
    int64_t expires = e->expires != 0 ? now + (e->expires - wall) : WR_NEVER;

    if (mq->q == NULL) { /* a held message: its holder takes the scan's
                            references */
        m = read_msg(st, mq, e, last, out);
        if (m != NULL &&
            mq->sink->restore(mq->sink->arg, m, e->enq, e->expires) == WR_OK) {
            out->held++;
            return;
        }
        wr_store_unref(st, &(struct wr_store_loc){e->enq, 0, 0});
        wr_store_unref(st, &(struct wr_store_loc){e->msg_off, 0, 0});
        return;
    }
    if (e->meta <= WR_PLOC_META_MAX && e->meta <= e->msg_len &&
        e->msg_off < WR_PLOC_OFF_MAX &&
        !(e->count > 0 && mq->q->eff.has_delivery_limit) &&
        wr_dur_over(mq->q, (uint64_t)(e->msg_len - e->meta) + 1)) {
        /* paged out: read back when it is about to be handed out */
        struct wr_store_loc loc = {e->msg_off, e->msg_pos, e->msg_len};
        int rc = wr_queue_restore_paged(mq->q, &loc, e->meta, e->priority,
                                        e->enq, expires);
        wr_store_unref(st, &(struct wr_store_loc){e->enq, 0, 0});
        wr_store_unref(st, &loc);
        if (rc == WR_OK) {
            out->messages++;
            out->bytes += e->msg_len - e->meta;
        }
        return;
    }
    m = read_msg(st, mq, e, last, out);

    /* the queue takes its own references; the scan's go */
    wr_store_unref(st, &(struct wr_store_loc){e->enq, 0, 0});
    wr_store_unref(st, &(struct wr_store_loc){e->msg_off, 0, 0});
    if (m == NULL)
        return;
    if (e->count > 0 && mq->q->eff.has_delivery_limit) {
        /* its own copy, with x-delivery-count, as before the restart */
        struct wr_msg *n = wr_msg_with_delivery_count(m, e->count);
        if (n != NULL) {
            wr_msg_unref(&m);
            m = n;
        }
        if (e->count > mq->q->eff.delivery_limit) {
            /* returned past its limit by the restart (a delivery the
             * broker went down under): dead-lettered, as a return is */
            append_ref(mq->q, WR_PREC_SETTLE, wr_dur_id(e->enq), 0);
            wr_queue_dead(mq->q, m, WR_DEAD_DELIVERY_LIMIT);
            return;
        }
    }
    out->bytes += m->body_size;
    if (wr_queue_restore(mq->q, m, e->enq, expires) == WR_OK)
        out->messages++;
}

/* Hands every live entry to its queue in log order: each queue gets its
 * own in order, and the queues a message went to find their ENQ records
 * side by side, so they share one copy of it (read_msg's last). */
static int
restore_all(struct wr_store *st, struct mrecov *r, int64_t now, int64_t wall,
            struct wr_queues_recovery *out)
{
    struct wr_msg *last = NULL;
    struct live *v;
    size_t n = 0, k = 0;

    for (size_t i = 0; i < r->nq; i++)
        for (size_t j = 0; j < r->qs[i].n; j++)
            n += r->qs[i].v[j].dead ? 0 : 1;
    v = wr_malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return WR_ERR_NOMEM;
    for (size_t i = 0; i < r->nq; i++)
        for (size_t j = 0; j < r->qs[i].n; j++)
            if (!r->qs[i].v[j].dead)
                v[k++] = (struct live){&r->qs[i], &r->qs[i].v[j]};
    if (r->nq > 1 && n > 1) /* one queue's entries are in order already */
        qsort(v, n, sizeof *v, cmp_live);
    /* mostly in file order: one pread per MiB, not one per message */
    wr_store_readahead(st, 1u << 20);
    for (size_t i = 0; i < n; i++) {
        restore_one(st, v[i].mq, v[i].e, &last, now, wall, out);
        v[i].e->dead = true; /* handed over */
    }
    wr_store_readahead(st, 0);
    if (last)
        wr_msg_unref(&last);
    wr_free(v);
    return WR_OK;
}

int
wr_queues_recover(struct wr_store *st, struct wr_queue *const *qs, size_t nq,
                  const struct wr_held_sink *hs, size_t nh,
                  wr_store_damage_cb damage, wr_queues_lost_cb lost, void *arg,
                  int64_t now, int64_t wall, struct wr_queues_recovery *out)
{
    struct mrecov r = {.st = st};
    int rc;

    memset(out, 0, sizeof *out);
    r.qs = wr_calloc(nq + nh ? nq + nh : 1, sizeof *r.qs);
    if (r.qs == NULL)
        return WR_ERR_NOMEM;
    for (size_t i = 0; i < nq; i++)
        r.qs[r.nq++] =
            (struct mqueue){qs[i]->store_qid, qs[i], NULL, NULL, 0, 0, 0, 0};
    for (size_t i = 0; i < nh; i++)
        r.qs[r.nq++] =
            (struct mqueue){hs[i].id, NULL, &hs[i], NULL, 0, 0, 0, 0};
    if (r.nq > 1)
        qsort(r.qs, r.nq, sizeof *r.qs, cmp_mqueue);
    r.damage = damage;
    r.damage_arg = arg;
    rc = wr_store_recover(st, msgs_record, msgs_damage, &r, wall);
    if (rc == WR_OK) {
        drop_gone(&r);
        rc = restore_all(st, &r, now, wall, out);
    }
    for (size_t i = 0; i < r.nq; i++) { /* what was not handed over */
        if (r.qs[i].lost && lost && r.qs[i].q != NULL)
            lost(arg, r.qs[i].q, r.qs[i].lost, r.qs[i].lost_at);
        for (size_t j = 0; j < r.qs[i].n; j++)
            if (!r.qs[i].v[j].dead)
                entry_dead(st, &r.qs[i].v[j]);
        wr_free(r.qs[i].v);
    }
    wr_free(r.qs);
    out->undecodable = r.undecodable;
    out->ignored = r.ignored;
    out->unreadable += r.unreadable;
    return rc;
}
