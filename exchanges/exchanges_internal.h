/* SPDX-License-Identifier: MIT */
/* Cross-file internals of exchanges/: the binding as exchange.c allocates
 * it, with a list link the exchange types may use for their indexes. */
#ifndef WR_EXCHANGES_INTERNAL_H
#define WR_EXCHANGES_INTERNAL_H

#include "exchanges.h"

#include <stdint.h>

/* Every struct wr_binding is the first member of one of these. */
struct wr_binding_int {
    struct wr_binding b;
    struct wr_binding_int *dup_next; /* same (destination, key), other args */
    struct wr_list type_link;        /* free for the exchange type's index */
};

static inline struct wr_binding_int *
wr_binding_int(struct wr_binding *b)
{
    return WR_CONTAINER_OF(b, struct wr_binding_int, b);
}

static inline struct wr_binding *
wr_binding_of_type_link(struct wr_list *l)
{
    return &WR_CONTAINER_OF(l, struct wr_binding_int, type_link)->b;
}

/* How a type's bind() refuses a binding: it leaves a static reason text in
 * b->type_data and returns WR_ERR_INVALID; wr_exchange_bind hands the text
 * to its caller as *err (the vtable has no error-text parameter). */
static inline int
wr_binding_refuse(struct wr_binding *b, const char *why)
{
    b->type_data = (void *)(uintptr_t)why;
    return WR_ERR_INVALID;
}

#endif
