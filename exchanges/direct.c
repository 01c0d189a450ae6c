/* SPDX-License-Identifier: MIT */
/* The direct exchange type (AMQP 0-9-1 section 3.1.3.1): a binding matches
 * when its key equals the routing key. One hash lookup per route. */
#include "exchanges_internal.h"
#include "../common/hmap.h"

/* The bindings that share one key, linked through their type_link. */
struct bucket {
    struct wr_list bindings;
};

static int
direct_init(struct wr_exchange *x)
{
    struct wr_hmap *m = wr_malloc(sizeof(*m));

    if (m == NULL)
        return WR_ERR_NOMEM;
    wr_hmap_init(m);
    x->type_data = m;
    return WR_OK;
}

static void
direct_cleanup(struct wr_exchange *x)
{
    struct wr_hmap *m = x->type_data;
    size_t pos = 0;
    void *v;

    if (m == NULL)
        return;
    while (wr_hmap_next(m, &pos, NULL, NULL, &v)) {
        struct bucket *bk = v;

        while (!wr_list_empty(&bk->bindings))
            wr_list_remove(bk->bindings.next);
        wr_free(bk);
    }
    wr_hmap_cleanup(m);
    wr_free(m);
    x->type_data = NULL;
}

static int
direct_bind(struct wr_exchange *x, struct wr_binding *b)
{
    struct wr_hmap *m = x->type_data;
    struct bucket *bk = wr_hmap_get(m, b->key, b->key_len);

    if (bk == NULL) {
        bk = wr_malloc(sizeof(*bk));
        if (bk == NULL)
            return WR_ERR_NOMEM;
        wr_list_init(&bk->bindings);
        if (wr_hmap_put(m, b->key, b->key_len, bk, NULL) != WR_OK) {
            wr_free(bk);
            return WR_ERR_NOMEM;
        }
    }
    wr_list_push_back(&bk->bindings, &wr_binding_int(b)->type_link);
    b->type_data = bk;
    return WR_OK;
}

static void
direct_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    struct bucket *bk = b->type_data;

    wr_list_remove(&wr_binding_int(b)->type_link);
    b->type_data = NULL;
    if (wr_list_empty(&bk->bindings)) {
        wr_hmap_del(x->type_data, b->key, b->key_len);
        wr_free(bk);
    }
}

static void
direct_route(struct wr_exchange *x, const struct wr_route_req *req,
             void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    /* An empty key may come as a NULL view; the map wants a pointer. */
    const void *key = req->rkey.len ? (const void *)req->rkey.ptr : "";
    struct bucket *bk = wr_hmap_get(x->type_data, key, req->rkey.len);
    struct wr_list *pos;

    if (bk == NULL)
        return;
    for (pos = bk->bindings.next; pos != &bk->bindings; pos = pos->next)
        emit(ctx, wr_binding_of_type_link(pos));
}

const struct wr_exch_type wr_exch_direct = {
    .name = "direct",
    .init = direct_init,
    .cleanup = direct_cleanup,
    .bind = direct_bind,
    .unbind = direct_unbind,
    .route = direct_route,
};
