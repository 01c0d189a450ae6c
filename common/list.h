/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly linked list, as in the Linux kernel's list.h:
 * embed a struct wr_list in the element and get back with WR_CONTAINER_OF. */
#ifndef WR_LIST_H
#define WR_LIST_H

#include "common.h"

struct wr_list {
    struct wr_list *prev, *next;
};

static inline void
wr_list_init(struct wr_list *l)
{
    l->prev = l->next = l;
}

static inline bool
wr_list_empty(const struct wr_list *l)
{
    return l->next == l;
}

/* Inserts n before pos (at the tail when pos is the head). */
static inline void
wr_list_insert_before(struct wr_list *pos, struct wr_list *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

static inline void
wr_list_push_back(struct wr_list *head, struct wr_list *n)
{
    wr_list_insert_before(head, n);
}

static inline void
wr_list_push_front(struct wr_list *head, struct wr_list *n)
{
    wr_list_insert_before(head->next, n);
}

/* Unlinks n and leaves it self-linked (so a second remove is harmless). */
static inline void
wr_list_remove(struct wr_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#define wr_list_for_each_safe(pos, tmp, head)                                  \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);           \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
