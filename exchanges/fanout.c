/* SPDX-License-Identifier: MIT */
/* The fanout exchange type (AMQP 0-9-1 section 3.1.3.2): every binding
 * matches, whatever the routing key. Needs no index of its own. */
#include "exchanges_internal.h"

static int
fanout_init(struct wr_exchange *x)
{
    x->type_data = NULL;
    return WR_OK;
}

static void
fanout_cleanup(struct wr_exchange *x)
{
    (void)x;
}

static int
fanout_bind(struct wr_exchange *x, struct wr_binding *b)
{
    (void)x;
    (void)b;
    return WR_OK;
}

static void
fanout_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    (void)x;
    (void)b;
}

static void
fanout_route(struct wr_exchange *x, const struct wr_route_req *req,
             void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    struct wr_list *pos;

    (void)req;
    for (pos = x->bindings.next; pos != &x->bindings; pos = pos->next)
        emit(ctx, WR_CONTAINER_OF(pos, struct wr_binding, src_link));
}

const struct wr_exch_type wr_exch_fanout = {
    .name = "fanout",
    .init = fanout_init,
    .cleanup = fanout_cleanup,
    .bind = fanout_bind,
    .unbind = fanout_unbind,
    .route = fanout_route,
};
