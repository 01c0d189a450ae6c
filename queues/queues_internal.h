/* SPDX-License-Identifier: MIT */
/* Cross-file internals of queues/: the entry ring both queue kinds are
 * built from (a FIFO is one ring, a priority queue one ring per level),
 * the expiry index that finds any entry whose deadline has come, the pool
 * of unacked entries, and the engine FIFO and priority queues share
 * (classic.c). */
#ifndef WR_QUEUES_INTERNAL_H
#define WR_QUEUES_INTERNAL_H

#include "queues.h"
#include "../store/store.h"

/* Consumers of one priority (x-priority): round-robin among them. */
struct wr_cgroup {
    int32_t priority;
    struct wr_list link;        /* in q->groups, highest priority first */
    struct wr_list members;     /* of wr_consumer.group_link */
    struct wr_consumer *cursor; /* the next to try */
    uint32_t count;
};

/* The member after c in its group, wrapping (c itself if alone). */
static inline struct wr_consumer *
wr_cgroup_next(struct wr_consumer *c)
{
    struct wr_list *n = c->group_link.next;

    if (n == &c->group->members)
        n = n->next;
    return WR_CONTAINER_OF(n, struct wr_consumer, group_link);
}

/* The consumer to hand the next entry to, or NULL when none can take one:
 * with single active consumer the earliest registered one, else the
 * highest priority group with a consumer that can take one, from its
 * cursor on (RabbitMQ's consumer priorities). Inline: dispatch's loop. */
static inline struct wr_consumer *
wr_queue_pick(struct wr_queue *q)
{
    struct wr_list *pos;

    if (q->eff.single_active) {
        struct wr_consumer *c =
            wr_list_empty(&q->consumers)
                ? NULL
                : WR_CONTAINER_OF(q->consumers.next, struct wr_consumer, link);
        return c && c->ops->can_take(c) ? c : NULL;
    }
    for (pos = q->groups.next; pos != &q->groups; pos = pos->next) {
        struct wr_cgroup *g = WR_CONTAINER_OF(pos, struct wr_cgroup, link);
        struct wr_consumer *c = g->cursor;
        for (uint32_t i = 0; i < g->count; i++) {
            if (c->ops->can_take(c))
                return c;
            c = wr_cgroup_next(c);
        }
    }
    return NULL;
}

/* Moves c's group cursor past c: the next entry goes to the next one. */
static inline void
wr_queue_picked(struct wr_consumer *c)
{
    c->group->cursor = wr_cgroup_next(c);
}

/* Where a paged-out entry's message is (paging.c): its MSG record in the
 * queue's store, and how much of the record is not body (its header,
 * exchange, routing key and properties), so the body size is known
 * without reading it. 16 bytes, in an array beside the ring's slots that
 * exists only while the ring holds paged-out entries. */
struct wr_ploc {
    uint64_t off_meta; /* MSG offset << 16 | (record length - body size) */
    uint32_t pos, len; /* the MSG record's position and payload length */
};

#define WR_PLOC_META_MAX 0xffffu
#define WR_PLOC_OFF_MAX (UINT64_C(1) << 48)

static inline uint64_t
wr_ploc_offset(const struct wr_ploc *p)
{
    return p->off_meta >> 16;
}

static inline uint64_t
wr_ploc_body(const struct wr_ploc *p)
{
    return p->len - (p->off_meta & WR_PLOC_META_MAX);
}

/* The message pointer of a paged-out slot: not a message (never
 * dereferenced, never counted); the slot's wr_ploc says where it is. */
extern struct wr_msg wr_msg_paged;
#define WR_PAGED (&wr_msg_paged)

/* A ready entry as the kinds pass it to their rings (wr_ring_ops). A ring
 * stores it in 16 bytes (struct wr_rslot), and its expiry node apart. */
struct wr_qslot {
    struct wr_msg *msg; /* reference held; NULL in a dead slot; WR_PAGED */
    uint64_t id;        /* the entry's id */
    uint32_t xnode;     /* expiry index node, 0 = no deadline */
    bool redelivered;
    uint8_t priority;           /* the message's (rings of a priority queue) */
    const struct wr_ploc *ploc; /* msg == WR_PAGED: where it is */
};

/* How a ring stores a ready entry: every queued message pays for one (or
 * two, while its ring is half empty), so 16 bytes. Ids stay below 2^63 (a
 * billion enqueues a second for 292 years), which leaves a bit for the
 * redelivered flag. The deadline is not here: an entry with one owns a
 * node of the queue's expiry index, which holds it, and the ring keeps
 * node ids in a parallel array that exists only while some entry has one
 * (most have none). */
struct wr_rslot {
    struct wr_msg *msg; /* reference held; NULL in a dead slot */
    uint64_t tag;       /* id << 1 | redelivered */
};

/* ---- the expiry index ---------------------------------------------------
 *
 * A binary min-heap of deadlines over a pool of nodes. A queue entry with a
 * deadline owns one node (wr_qslot.xnode, 1-based), which is where its
 * deadline is kept (a slot has no room for it); the node records where the
 * entry is: its ring (priority level) and its absolute position in that
 * ring (wr_fifo.base counts positions). Rings keep node positions current
 * when they move entries, so the heap top leads straight to the entry that
 * expires next: O(log n) per expiry, no scan. */

struct wr_xnode {
    int64_t at;     /* deadline, ms */
    uint64_t pos;   /* absolute position in its ring */
    uint32_t level; /* which ring (priority level) */
    uint32_t slot;  /* index in the heap; next free node when free */
};

struct wr_xindex {
    struct wr_xnode *nodes; /* pool, node id i at nodes[i - 1] */
    uint32_t ncap, nused;
    uint32_t free;  /* first free node id, 0 = none (ids above nused are
                       free too) */
    uint32_t *heap; /* node ids ordered by at */
    uint32_t hlen, hcap;
};

void wr_xindex_init(struct wr_xindex *x);
void wr_xindex_cleanup(struct wr_xindex *x);
/* Adds a node for a deadline; WR_OK and *id, or WR_ERR_NOMEM. */
int wr_xindex_add(struct wr_xindex *x, int64_t at, uint32_t level, uint64_t pos,
                  uint32_t *id);
/* Removes node id from the heap and frees it. */
void wr_xindex_del(struct wr_xindex *x, uint32_t id);
/* The node with the earliest deadline: its id, or 0 when empty. */
static inline uint32_t
wr_xindex_top(const struct wr_xindex *x)
{
    return x->hlen ? x->heap[0] : 0;
}
static inline struct wr_xnode *
wr_xindex_node(const struct wr_xindex *x, uint32_t id)
{
    return &x->nodes[id - 1];
}

/* ---- the entry ring ---------------------------------------------------- */

/* A growable ring of entries: O(1) amortized at both ends. Entries whose
 * message expired in place stay as dead slots (msg == NULL) until they
 * reach the head or the ring is compacted (when dead slots outnumber live
 * ones), so an expiry never moves other entries in the common case. */
struct wr_fifo {
    struct wr_rslot *v;   /* cap slots, or NULL */
    uint32_t *xn;         /* cap expiry node ids beside v, or NULL: none */
    struct wr_ploc *pl;   /* cap locations beside v, or NULL: none paged */
    size_t paged;         /* paged-out slots (msg == WR_PAGED) among count */
    size_t cap;           /* power of two, or 0 */
    size_t head;          /* index of the first entry */
    size_t count;         /* entries, dead slots included */
    size_t dead;          /* dead slots among count */
    uint64_t base;        /* absolute position of v[head] */
    struct wr_xindex *xi; /* the queue's expiry index (NULL: none) */
    uint32_t level;       /* this ring's level in the index */
};

static inline void
wr_fifo_init(struct wr_fifo *f, struct wr_xindex *xi, uint32_t level)
{
    f->v = NULL;
    f->xn = NULL;
    f->pl = NULL;
    f->paged = 0;
    f->cap = f->head = f->count = f->dead = 0;
    f->base = 0;
    f->xi = xi;
    f->level = level;
}

/* Live entries (dead slots excluded). */
static inline size_t
wr_fifo_live(const struct wr_fifo *f)
{
    return f->count - f->dead;
}

/* Appends s (takes the slot's reference; its expiry node, if any, is told
 * where it lives). WR_OK or WR_ERR_NOMEM (then the caller still owns the
 * reference and the node). */
int wr_fifo_push(struct wr_fifo *f, const struct wr_qslot *s);
/* Puts s back at the head, likewise: after the redelivered entries at the
 * head with a smaller id, so requeued entries keep their queue order. O(1)
 * when requeued newest first. */
int wr_fifo_push_front(struct wr_fifo *f, const struct wr_qslot *s);
/* Removes the first live entry into *e (ownership moves; its deadline is
 * read from its expiry node, which is freed); false when there is none. */
bool wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e);
/* Takes the message at absolute position pos (which owns expiry node id)
 * out, leaving a dead slot; frees the node. Returns the reference, and
 * the entry's id in *eid; WR_PAGED for a paged-out entry, whose location
 * goes to *pl. */
struct wr_msg *wr_fifo_kill(struct wr_fifo *f, uint64_t pos, uint32_t id,
                            uint64_t *eid, struct wr_ploc *pl);
/* Whether the first live entry is paged out (dead slots at the head are
 * dropped first). */
bool wr_fifo_head_paged(struct wr_fifo *f);
/* Pages out the resident entry at offset off (from the head): its message
 * reference goes to *m (the caller drops it), pl is kept in its place. */
void wr_fifo_page_out(struct wr_fifo *f, size_t off, const struct wr_ploc *pl,
                      struct wr_msg **m);
/* Puts m (a reference) in the paged-out slot at offset off. */
void wr_fifo_page_in(struct wr_fifo *f, size_t off, struct wr_msg *m);
/* Makes the paged-out slot at offset off dead (its expiry node freed);
 * returns its id. The caller settles it. */
uint64_t wr_fifo_drop_paged(struct wr_fifo *f, size_t off);
/* The slot at offset off from the head. */
static inline struct wr_rslot *
wr_fifo_at(const struct wr_fifo *f, size_t off)
{
    return &f->v[(f->head + off) & (f->cap - 1)];
}
/* Its location (a paged-out slot's). */
static inline const struct wr_ploc *
wr_fifo_ploc(const struct wr_fifo *f, size_t off)
{
    return &f->pl[(f->head + off) & (f->cap - 1)];
}
/* Copies up to n live entries with a deadline after now, in order, into
 * out; returns how many. */
size_t wr_fifo_peek(const struct wr_fifo *f, int64_t now, struct wr_qentry *out,
                    size_t n);
/* Unrefs every stored message and frees the slots (expiry nodes are the
 * index's to free). */
void wr_fifo_cleanup(struct wr_fifo *f);

/* ---- ring-based kinds ---------------------------------------------------
 *
 * FIFO and priority queues share one engine (classic.c): TTLs, length
 * limits, delivery limits, dispatch, unacked entries and settlement. They
 * differ in how ready entries are stored, which is this. */
struct wr_ring_ops {
    /* Appends s (takes the slot's reference). WR_OK or WR_ERR_NOMEM. */
    int (*push)(struct wr_queue *q, const struct wr_qslot *s);
    /* Puts s back in front of everything of its priority that was not
     * requeued before it, in id order among requeued ones. */
    int (*push_front)(struct wr_queue *q, const struct wr_qslot *s);
    /* Removes the next entry into *e (ownership moves; its deadline is
     * read out of the expiry index, whose node is freed). false if
     * empty. */
    bool (*pop)(struct wr_queue *q, struct wr_qentry *e);
    /* The ring holding priority level `level` (0 for a FIFO). */
    struct wr_fifo *(*ring)(struct wr_queue *q, uint32_t level);
    /* How many rings (levels) there are. */
    uint32_t (*levels)(const struct wr_queue *q);
    /* Copies up to n stored entries with a deadline after now, in
     * delivery order, into out (messages borrowed); returns how many. */
    size_t (*peek)(const struct wr_queue *q, int64_t now, struct wr_qentry *out,
                   size_t n);
};

/* The kind ops of the shared engine (classic.c); fifo.c and prio.c add
 * init, cleanup and their ring ops. */
int wr_classic_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t now);
uint64_t wr_classic_dispatch(struct wr_queue *q, int64_t now);
bool wr_classic_get(struct wr_queue *q, int64_t now, bool no_ack,
                    struct wr_delivery *d);
void wr_classic_settle(struct wr_queue *q, uint64_t id, uint32_t handle,
                       enum wr_settle how, int64_t now);
uint64_t wr_classic_purge(struct wr_queue *q);
uint64_t wr_classic_expire(struct wr_queue *q, int64_t now);
bool wr_classic_next_deadline(const struct wr_queue *q, int64_t *at);
size_t wr_classic_peek(const struct wr_queue *q, int64_t now,
                       struct wr_qentry *out, size_t n);
void wr_classic_limits_changed(struct wr_queue *q);

/* ---- persistence (durable.c) -------------------------------------------
 *
 * A queue with a store (wr_queue_set_store) writes its persistent entries'
 * records; their entry ids are derived from the ENQ record's offset, so a
 * SETTLE or REQUEUE names the ENQ it ends (STORE.md). Transient entries of
 * such a queue get ids between those, never a stored one's. */

/* The id of a new entry of m in q (q->store set), writing MSG (once per
 * message) and ENQ when m is persistent. expires and now on the caller's
 * clock. Returns WR_OK, or the store's error (nothing kept). */
int wr_dur_enqueue(struct wr_queue *q, struct wr_msg *m, int64_t expires,
                   int64_t now, uint64_t *id);
/* The entry (id, m) leaves q for good (ack, reject, expiry, drop-head,
 * dead-lettering, purge, no-ack delivery): SETTLE written (not for a
 * deleted queue) and the entry's references dropped. Nothing for an
 * entry without records. */
void wr_dur_settle(struct wr_queue *q, uint64_t id, const struct wr_msg *m);
/* The entry goes back to the queue: REQUEUE with m's delivery count. */
void wr_dur_requeue(struct wr_queue *q, uint64_t id, const struct wr_msg *m);
/* Handed out, to be acked (RabbitMQ's quorum-queue semantics under
 * x-delivery-limit: a delivery the broker dies under counts as returned):
 * writes the delivery count it will have if it comes back. */
void wr_dur_delivered(struct wr_queue *q, uint64_t id, const struct wr_msg *m);
/* Appends a recovered entry (wr_queue_restore's engine; classic.c). */
int wr_classic_restore(struct wr_queue *q, struct wr_msg *m, uint64_t id,
                       int64_t expires);
/* ---- paging (paging.c) ---------------------------------------------------
 *
 * A durable queue keeps a persistent entry's message in memory while the
 * queue is short, and pages it out (drops the message, keeps its store
 * location in the ring) when the queue's resident ready messages pass
 * the paging thresholds, or under memory pressure (wr_queue_page_out);
 * paged-out entries are read back in batches from the head before they
 * are handed out (docs/internals/STORE.md, "Paging"). */

/* Whether q keeps more ready messages in memory than its thresholds (or
 * memory is short), with one more of more_bytes (> 0) when given: new
 * pageable entries are paged out. */
bool wr_dur_over(const struct wr_queue *q, uint64_t more_bytes);
/* After an entry was pushed at the tail of ring f: pages it out when the
 * queue is over its thresholds and the entry can be. */
void wr_dur_pushed(struct wr_queue *q, struct wr_fifo *f);
/* Reads paged-out entries back from the head of f, a batch of them;
 * entries that cannot be read are dropped (settled, counted). Returns
 * false when out of memory and the head is still paged out. */
bool wr_dur_fill(struct wr_queue *q, struct wr_fifo *f);
/* Reads one paged-out entry's message back into *m: WR_OK, WR_ERR_NOMEM,
 * or the store's or the decoder's error (damaged or gone). */
int wr_dur_load(struct wr_queue *q, const struct wr_ploc *pl,
                struct wr_msg **m);
/* A paged-out entry leaves q for good without being read: SETTLE and its
 * references, as wr_dur_settle; counted out of paged and persistent. */
void wr_dur_settle_paged(struct wr_queue *q, uint64_t id,
                         const struct wr_ploc *pl);
/* Appends a recovered paged-out entry (classic.c). */
int wr_classic_restore_paged(struct wr_queue *q, uint64_t id,
                             const struct wr_ploc *pl, uint8_t priority,
                             int64_t expires);

/* The entry id of the ENQ record at offset off. */
static inline uint64_t
wr_dur_id(uint64_t off)
{
    return (off + 1) << 24;
}

/* ---- the unacked pool (unacked.c) -------------------------------------- */

/* One entry handed out and not yet settled. */
struct wr_unacked_entry {
    struct wr_msg *msg; /* reference held; NULL when the record is free */
    uint64_t id;        /* the entry's id */
    int64_t expires;    /* deadline kept across a requeue */
    uint32_t next_free; /* next free handle while free */
};

/* Grows the pool (doubling); WR_OK or WR_ERR_NOMEM. */
int wr_upool_grow(struct wr_upool *p);
/* Forgets the free list of an empty pool, and its memory after a burst. */
void wr_upool_emptied(struct wr_upool *p);
/* Unrefs every message still held and frees the pool. */
void wr_upool_cleanup(struct wr_upool *p);

/* Makes sure the next wr_upool_add cannot fail: WR_OK or WR_ERR_NOMEM. */
static inline int
wr_upool_reserve(struct wr_upool *p)
{
    if (p->free != 0 || p->used < p->cap)
        return WR_OK;
    return wr_upool_grow(p);
}

/* Stores e (takes its reference) after wr_upool_reserve; returns its
 * handle (never 0). */
static inline uint32_t
wr_upool_add(struct wr_upool *p, const struct wr_qentry *e)
{
    struct wr_unacked_entry *u;
    uint32_t h;

    if (p->free != 0) {
        h = p->free;
        p->free = p->v[h - 1].next_free;
    } else {
        wr_assert(p->used < p->cap);
        h = ++p->used;
    }
    u = &p->v[h - 1];
    u->msg = e->msg;
    u->id = e->id;
    u->expires = e->expires;
    p->live++;
    return h;
}

/* Takes the entry (id, handle) out into *e, marked redelivered (its
 * reference moves), and frees its record; asserts that it is there. */
static inline void
wr_upool_take(struct wr_upool *p, uint64_t id, uint32_t handle,
              struct wr_qentry *e)
{
    struct wr_unacked_entry *u;

    wr_assert(handle != 0 && handle <= p->used);
    u = &p->v[handle - 1];
    wr_assert(u->msg != NULL && u->id == id);
    e->msg = u->msg;
    e->id = id;
    e->expires = u->expires;
    e->redelivered = true;
    u->msg = NULL;
    u->next_free = p->free;
    p->free = handle;
    if (--p->live == 0)
        wr_upool_emptied(p);
}

/* Where m's MSG record is (m->stored): durable.c. */
struct wr_store_loc wr_dur_msg_loc(const struct wr_msg *m);
struct wr_prec_enq;
/* Writes e (its queue_id, priority, delivery count and deadline filled
 * in) as an ENQ record for m: m's MSG record first if m is not stored
 * yet, else a reference to it, so a message routed to several queues or
 * holders is stored once. e->msg is set; *eloc is the ENQ record's place.
 * On failure nothing is left referenced. */
int wr_dur_write_enq(struct wr_store *st, struct wr_msg *m,
                     struct wr_prec_enq *e, int64_t wall,
                     struct wr_store_loc *eloc);

/* ---- persist.c: the payloads of durable queues' store records ---------
 * (docs/internals/STORE.md, "Record types" and "A durable queue kind on
 * the store"). Big-endian; decoding checks every length, since recovery
 * reads the bytes back from disk. */

enum wr_prec_type {
    WR_PREC_MSG = 1,     /* a message: its body, written once */
    WR_PREC_ENQ = 2,     /* a message in one durable queue */
    WR_PREC_SETTLE = 3,  /* an entry is gone (ack, reject, expiry, ...) */
    WR_PREC_REQUEUE = 4, /* an entry went back, with its delivery count */
    WR_PREC_PURGE = 5,   /* a queue's entries up to an id are gone */
};

#define WR_PREC_VERSION 1
#define WR_PREC_PERSISTENT 0x01 /* MSG flags: delivery-mode 2 */
#define WR_PREC_MSG_HDR 24
#define WR_PREC_ENQ_SIZE 40
#define WR_PREC_REF_SIZE 24

struct wr_prec_msg { /* views into the decoded payload */
    struct wr_bytes exchange, rkey, props, body;
    int64_t published_ms; /* wall clock */
    bool persistent;
};

struct wr_prec_enq {
    uint64_t queue_id;
    struct wr_store_loc msg; /* the MSG record */
    uint8_t priority;
    uint32_t delivery_count;
    int64_t expires_ms; /* wall clock; 0: never */
};

struct wr_prec_ref { /* SETTLE, REQUEUE, PURGE */
    uint64_t queue_id;
    uint64_t entry_id;       /* the ENQ offset (PURGE: the last one purged) */
    uint32_t delivery_count; /* REQUEUE only, else 0 */
};

struct wr_prec {
    uint8_t type; /* enum wr_prec_type */
    union {
        struct wr_prec_msg msg;
        struct wr_prec_enq enq;
        struct wr_prec_ref ref;
    };
};

/* The MSG record of m as parts for wr_store_append: hdr (filled here),
 * then exchange, routing key and properties, then the body, all borrowed
 * from m (no copy). Returns the number of parts (3). */
unsigned wr_prec_msg_parts(const struct wr_msg *m, int64_t published_ms,
                           uint8_t hdr[WR_PREC_MSG_HDR],
                           struct wr_bytes parts[3]);
/* Encodes an ENQ payload into out; returns its size. */
size_t wr_prec_enq_encode(uint8_t out[WR_PREC_ENQ_SIZE],
                          const struct wr_prec_enq *e);
/* Encodes a SETTLE, REQUEUE or PURGE payload into out; returns its size. */
size_t wr_prec_ref_encode(uint8_t out[WR_PREC_REF_SIZE],
                          const struct wr_prec_ref *r);
/* Decodes a payload of the given record type (views into p). Returns
 * WR_OK, WR_ERR_SYNTAX (wrong length, version or reserved bits) or
 * WR_ERR_INVALID (not a queue record type). */
int wr_prec_decode(uint8_t type, struct wr_bytes p, struct wr_prec *out);
/* A new message (reference) from a decoded MSG record, everything copied;
 * NULL when out of memory or when its properties do not decode. */
struct wr_msg *wr_prec_msg_build(const struct wr_prec_msg *pm);

/* ---- stream offset tracking (stream_track.c) ---------------------------
 *
 * The tracked consumers of one stream, by delivery handle: a delivery to
 * tracked consumer slot s carries handle s + WR_STRACK_HANDLE0 (1 means
 * untracked), so its settle finds the track after the consumer is gone. */
#define WR_STRACK_HANDLE0 2
struct wr_strack;
struct wr_stracks {
    struct wr_strack **v; /* by slot; NULL: free */
    uint32_t n, cap;
};
/* A track for consumer c, tag (1-255 bytes, copied), which starts at
 * start; *handle for its deliveries. NULL when out of memory. */
struct wr_strack *wr_strack_new(struct wr_stracks *set, struct wr_consumer *c,
                                struct wr_bytes tag, uint64_t start,
                                uint32_t *handle);
/* Room for one more delivery: WR_OK or WR_ERR_NOMEM. Then offset was
 * delivered to t's consumer (offsets ascending). */
int wr_strack_reserve(struct wr_strack *t);
void wr_strack_delivered(struct wr_strack *t, uint64_t offset);
/* The delivery of offset with handle was settled (ack: acked; else given
 * back). On an ack, sets the tag's offset in offs (may be NULL) to the
 * first offset the track has not acked, when that moved; returns whether
 * it did. A track whose consumer is gone goes with its last delivery. */
bool wr_strack_settle(struct wr_stracks *set, uint32_t handle, uint64_t offset,
                      bool ack, struct wr_offsets *offs);
/* t's consumer is gone (its position is remembered). */
void wr_strack_gone(struct wr_stracks *set, struct wr_strack *t);
void wr_stracks_cleanup(struct wr_stracks *set);

#endif
