/* SPDX-License-Identifier: MIT */
/* Cross-file internals of queues/: the entry ring both queue kinds are
 * built from (a FIFO is one ring, a priority queue one ring per level). */
#ifndef WR_QUEUES_INTERNAL_H
#define WR_QUEUES_INTERNAL_H

#include "queues.h"

/* A growable ring of entries: O(1) amortized at both ends. */
struct wr_fifo {
    struct wr_qentry *v; /* cap slots, or NULL */
    size_t cap;          /* power of two, or 0 */
    size_t head;         /* index of the first entry */
    size_t count;
};

static inline void
wr_fifo_init(struct wr_fifo *f)
{
    f->v = NULL;
    f->cap = f->head = f->count = 0;
}

/* Appends e (takes the entry's reference). WR_OK or WR_ERR_NOMEM (then the
 * caller still owns the reference). */
int wr_fifo_push(struct wr_fifo *f, struct wr_qentry e);
/* Puts e back at the head, likewise: after the redelivered entries at the
 * head with a smaller wr_msg.seq, so requeued messages keep their publish
 * order. O(1) when requeued newest first. */
int wr_fifo_push_front(struct wr_fifo *f, struct wr_qentry e);
/* Removes the first entry into *e (ownership moves); false when empty. */
bool wr_fifo_pop(struct wr_fifo *f, struct wr_qentry *e);
/* Unrefs every stored message and frees the slots. */
void wr_fifo_cleanup(struct wr_fifo *f);

#endif
