/* SPDX-License-Identifier: MIT */
/* A vhost's registries at the bottom of vhost/: looking exchanges and
 * queues up by name, and routing through an exchange (the default one binds
 * every queue by its name). Calls nothing above it in vhost/. */
#include "vhost_internal.h"

struct wr_exchange *
wr_vhost_exchange(struct wr_vhost *vh, struct wr_bytes name)
{
    return wr_hmap_get(&vh->exchanges, name.ptr, name.len);
}

struct wr_queue *
wr_vhost_queue(struct wr_vhost *vh, struct wr_bytes name)
{
    return wr_hmap_get(&vh->queues, name.ptr, name.len);
}

int
wr_vhost_route(struct wr_vhost *vh, struct wr_exchange *x,
               const struct wr_route_req *req, struct wr_route_set *out)
{
    if (x->name_len == 0) {
        /* AMQP 0-9-1 3.1.3.1: the default exchange binds every queue by
         * its name; CC / BCC keys name more queues (each once). */
        out->count = 0;
        for (size_t i = 0; i <= req->n_more; i++) {
            struct wr_queue *q =
                wr_vhost_queue(vh, i == 0 ? req->rkey : req->more_keys[i - 1]);
            bool seen = false;
            if (q == NULL)
                continue;
            for (size_t j = 0; j < out->count && !seen; j++)
                seen = out->queues[j] == q;
            if (seen)
                continue;
            if (out->count == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 8;
                out->queues =
                    wr_realloc(out->queues, out->cap * sizeof(*out->queues));
            }
            out->queues[out->count++] = q;
        }
        return WR_OK;
    }
    return wr_exchange_route(x, req, out);
}
