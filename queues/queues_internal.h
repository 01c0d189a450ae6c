/* SPDX-License-Identifier: MIT */
/* Cross-file internals of queues/: the entry ring both queue kinds are
 * built from (a FIFO is one ring, a priority queue one ring per level),
 * and the expiry index that finds any entry whose deadline has come. */
#ifndef WR_QUEUES_INTERNAL_H
#define WR_QUEUES_INTERNAL_H

#include "queues.h"

/* Consumers of one priority (x-priority): round-robin among them. */
struct wr_cgroup {
    int32_t priority;
    struct wr_list link;        /* in q->groups, highest priority first */
    struct wr_list members;     /* of wr_consumer.group_link */
    struct wr_consumer *cursor; /* the next to try */
    uint32_t count;
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
    struct wr_qslot *v;   /* cap slots, or NULL */
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
int wr_fifo_push(struct wr_fifo *f, struct wr_qslot s);
/* Puts s back at the head, likewise: after the redelivered entries at the
 * head with a smaller wr_msg.seq, so requeued messages keep their publish
 * order. O(1) when requeued newest first. */
int wr_fifo_push_front(struct wr_fifo *f, struct wr_qslot s);
/* Removes the first live entry into *e (ownership moves; its deadline is
 * read from its expiry node, which is freed); false when there is none. */
bool wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e);
/* Takes the message at absolute position pos (which owns expiry node id)
 * out, leaving a dead slot; frees the node. Returns the reference. */
struct wr_msg *wr_fifo_kill(struct wr_fifo *f, uint64_t pos, uint32_t id);
/* Copies up to n live entries with a deadline after now, in order, into
 * out; returns how many. */
size_t wr_fifo_peek(const struct wr_fifo *f, int64_t now, struct wr_qentry *out,
                    size_t n);
/* Unrefs every stored message and frees the slots (expiry nodes are the
 * index's to free). */
void wr_fifo_cleanup(struct wr_fifo *f);

#endif
