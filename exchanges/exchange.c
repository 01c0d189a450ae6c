/* SPDX-License-Identifier: MIT */
/* Exchange registry and lifetime, bindings (deduplicated, listed on both
 * ends) and routing through exchange-to-exchange bindings. */
#include "exchanges_internal.h"
#include "../common/hmap.h"

#include <string.h>

/* An exchange as allocated here: the public struct plus the index that
 * finds a binding by (destination, key) for dedup and unbind in O(1). */
struct xint {
    struct wr_exchange x;
    struct wr_hmap index; /* index key -> struct wr_binding_int chain */
};

/* Index key: kind octet, destination pointer, binding key (<= 255). */
#define IKEY_MAX (1 + sizeof(void *) + 255)

/* Routing epochs: each route takes a fresh value; a queue or exchange whose
 * route_mark equals it was already taken during this route. */
static uint64_t route_epoch;

static const struct wr_exch_type *const types[] = {
    &wr_exch_direct,  &wr_exch_fanout,          &wr_exch_topic,
    &wr_exch_headers, &wr_exch_consistent_hash, &wr_exch_delayed,
};

const struct wr_exch_type *
wr_exch_type_find(struct wr_bytes name)
{
    for (size_t i = 0; i < WR_ARRAY_LEN(types); i++)
        if (wr_bytes_eq_str(name, types[i]->name))
            return types[i];
    return NULL;
}

static struct xint *
xint_of(struct wr_exchange *x)
{
    return WR_CONTAINER_OF(x, struct xint, x);
}

/* ---- lifetime ----------------------------------------------------------- */

struct wr_exchange *
wr_exchange_new(struct wr_bytes name, const struct wr_exch_type *type,
                struct wr_table raw_args)
{
    struct xint *xi = wr_calloc(1, sizeof(*xi));
    struct wr_exchange *x;

    if (xi == NULL)
        return NULL;
    x = &xi->x;
    wr_hmap_init(&xi->index);
    wr_list_init(&x->bindings);
    wr_list_init(&x->bindings_in);
    x->type = type;
    x->key_once = type->key_once;
    x->name = wr_strndup(name.ptr, name.len);
    if (x->name == NULL)
        goto fail;
    x->name_len = name.len;
    if (raw_args.len > 0) {
        struct wr_value v;
        x->raw_args = wr_malloc(raw_args.len);
        if (x->raw_args == NULL)
            goto fail;
        memcpy(x->raw_args, raw_args.ptr, raw_args.len);
        x->raw_args_len = raw_args.len;
        /* RabbitMQ ignores an alternate-exchange that is not a string. */
        if (wr_table_get((struct wr_table){x->raw_args, x->raw_args_len},
                         "alternate-exchange", &v) == WR_OK &&
            v.type == WR_FT_LONGSTR) {
            x->has_alternate = true;
            x->alternate = v.v.str;
        }
    }
    if (type->init(x) != WR_OK)
        goto fail;
    return x;
fail:
    wr_free(x->raw_args);
    wr_free(x->name);
    wr_free(xi);
    return NULL;
}

void
wr_exchange_free(struct wr_exchange *x)
{
    struct xint *xi;

    if (x == NULL)
        return;
    xi = xint_of(x);
    while (!wr_list_empty(&x->bindings))
        wr_binding_free(
            WR_CONTAINER_OF(x->bindings.next, struct wr_binding, src_link));
    while (!wr_list_empty(&x->bindings_in))
        wr_binding_free(
            WR_CONTAINER_OF(x->bindings_in.next, struct wr_binding, dest_link));
    x->type->cleanup(x);
    wr_hmap_cleanup(&xi->index);
    wr_free((void *)x->policy_alternate.ptr);
    wr_free(x->raw_args);
    wr_free(x->name);
    wr_free(xi);
}

int
wr_exchange_set_policy_alternate(struct wr_exchange *x,
                                 const struct wr_bytes *name)
{
    uint8_t *copy = NULL;

    if (name) {
        copy = wr_malloc(name->len ? name->len : 1);
        if (copy == NULL)
            return WR_ERR_NOMEM;
        if (name->len)
            memcpy(copy, name->ptr, name->len);
    }
    wr_free((void *)x->policy_alternate.ptr);
    x->has_policy_alternate = name != NULL;
    x->policy_alternate = (struct wr_bytes){copy, name ? name->len : 0};
    return WR_OK;
}

bool
wr_exchange_alternate(const struct wr_exchange *x, struct wr_bytes *out)
{
    if (x->has_alternate) {
        *out = x->alternate;
        return true;
    }
    if (x->has_policy_alternate) {
        *out = x->policy_alternate;
        return true;
    }
    return false;
}

/* ---- bindings ----------------------------------------------------------- */

static size_t
ikey(uint8_t *out, enum wr_dest_kind kind, const void *dest,
     struct wr_bytes key)
{
    out[0] = (uint8_t)kind;
    memcpy(out + 1, &dest, sizeof(dest));
    if (key.len)
        memcpy(out + 1 + sizeof(dest), key.ptr, key.len);
    return 1 + sizeof(dest) + key.len;
}

static struct wr_list *
dest_list(enum wr_dest_kind kind, void *dest)
{
    if (kind == WR_DEST_QUEUE)
        return &((struct wr_queue *)dest)->bindings_in;
    return &((struct wr_exchange *)dest)->bindings_in;
}

static struct wr_table
binding_args(const struct wr_binding *b)
{
    return (struct wr_table){b->args, b->args_len};
}

/* The binding of the chain with args equal to args, or NULL. */
static struct wr_binding_int *
chain_find(struct wr_binding_int *bi, struct wr_table args)
{
    for (; bi != NULL; bi = bi->dup_next)
        if (wr_table_equal(binding_args(&bi->b), args))
            return bi;
    return NULL;
}

static void
binding_dealloc(struct wr_binding_int *bi)
{
    wr_free(bi->b.key);
    wr_free(bi->b.args);
    wr_free(bi);
}

int
wr_exchange_bind(struct wr_exchange *x, enum wr_dest_kind kind, void *dest,
                 struct wr_bytes key, struct wr_table args, const char **err)
{
    struct xint *xi = xint_of(x);
    struct wr_binding_int *head, *bi;
    struct wr_binding *b;
    uint8_t k[IKEY_MAX];
    size_t klen;
    int rc;

    if (err)
        *err = NULL;
    if (key.len > 255) { /* AMQP 0-9-1: the binding key is a shortstr */
        if (err)
            *err = "binding key longer than 255 bytes";
        return WR_ERR_INVALID;
    }
    klen = ikey(k, kind, dest, key);
    head = wr_hmap_get(&xi->index, k, klen);
    if (chain_find(head, args) != NULL)
        return WR_OK; /* the same binding again is a no-op */

    bi = wr_calloc(1, sizeof(*bi));
    if (bi == NULL)
        return WR_ERR_NOMEM;
    b = &bi->b;
    wr_list_init(&bi->type_link);
    b->source = x;
    b->dest_kind = (uint8_t)kind;
    if (kind == WR_DEST_QUEUE)
        b->dest.queue = dest;
    else
        b->dest.exchange = dest;
    b->key = wr_strndup(key.ptr, key.len);
    b->key_len = key.len;
    if (args.len > 0) {
        b->args = wr_malloc(args.len);
        if (b->args != NULL)
            memcpy(b->args, args.ptr, args.len);
        b->args_len = args.len;
    }
    bi->dup_next = head;
    if (b->key == NULL || (args.len > 0 && b->args == NULL) ||
        wr_hmap_put(&xi->index, k, klen, bi, NULL) != WR_OK) {
        binding_dealloc(bi);
        return WR_ERR_NOMEM;
    }
    wr_list_push_back(&x->bindings, &b->src_link);
    wr_list_push_back(dest_list(kind, dest), &b->dest_link);
    x->binding_count++;

    rc = x->type->bind(x, b);
    if (rc != WR_OK) {
        if (rc == WR_ERR_INVALID && err)
            *err = b->type_data ? (const char *)b->type_data
                                : "invalid binding arguments";
        wr_list_remove(&b->src_link);
        wr_list_remove(&b->dest_link);
        x->binding_count--;
        /* Replacing an existing key does not allocate. */
        if (head != NULL)
            wr_hmap_put(&xi->index, k, klen, head, NULL);
        else
            wr_hmap_del(&xi->index, k, klen);
        binding_dealloc(bi);
        return rc;
    }
    return WR_OK;
}

struct wr_binding *
wr_exchange_find_binding(struct wr_exchange *x, enum wr_dest_kind kind,
                         void *dest, struct wr_bytes key, struct wr_table args)
{
    struct wr_binding_int *bi;
    uint8_t k[IKEY_MAX];
    size_t klen;

    if (key.len > 255)
        return NULL;
    klen = ikey(k, kind, dest, key);
    bi = chain_find(wr_hmap_get(&xint_of(x)->index, k, klen), args);
    return bi ? &bi->b : NULL;
}

int
wr_exchange_unbind(struct wr_exchange *x, enum wr_dest_kind kind, void *dest,
                   struct wr_bytes key, struct wr_table args)
{
    struct wr_binding *b = wr_exchange_find_binding(x, kind, dest, key, args);

    if (b == NULL)
        return WR_ERR_NOT_FOUND;
    wr_binding_free(b);
    return WR_OK;
}

void
wr_binding_free(struct wr_binding *b)
{
    struct wr_binding_int *bi = wr_binding_int(b), **pp;
    struct wr_exchange *x = b->source;
    struct xint *xi = xint_of(x);
    void *dest = b->dest_kind == WR_DEST_QUEUE ? (void *)b->dest.queue
                                               : (void *)b->dest.exchange;
    uint8_t k[IKEY_MAX];
    size_t klen = ikey(k, b->dest_kind, dest,
                       (struct wr_bytes){(const uint8_t *)b->key, b->key_len});
    struct wr_binding_int *head = wr_hmap_get(&xi->index, k, klen);

    x->type->unbind(x, b);
    for (pp = &head; *pp != NULL && *pp != bi; pp = &(*pp)->dup_next)
        ;
    wr_assert(*pp == bi);
    *pp = bi->dup_next;
    if (head == NULL)
        wr_hmap_del(&xi->index, k, klen);
    else
        wr_hmap_put(&xi->index, k, klen, head, NULL); /* no allocation */
    wr_list_remove(&b->src_link);
    wr_list_remove(&b->dest_link);
    wr_assert(x->binding_count > 0);
    x->binding_count--;
    binding_dealloc(bi);
}

void
wr_queue_unbind_all(struct wr_queue *q,
                    void (*on_source_empty)(void *ctx, struct wr_exchange *x),
                    void *ctx)
{
    struct wr_exchange *small[16], **emptied = small;
    size_t n = 0, cap = WR_ARRAY_LEN(small);
    struct wr_list *pos;

    /* Worst case every binding empties its own source. */
    for (pos = q->bindings_in.next; pos != &q->bindings_in; pos = pos->next)
        n++;
    if (n > cap && on_source_empty != NULL) {
        emptied = wr_malloc(n * sizeof(*emptied));
        if (emptied == NULL) {
            emptied = small; /* degrade: report as they empty */
            cap = 0;
        } else {
            cap = n;
        }
    }
    n = 0;
    while (!wr_list_empty(&q->bindings_in)) {
        struct wr_binding *b =
            WR_CONTAINER_OF(q->bindings_in.next, struct wr_binding, dest_link);
        struct wr_exchange *src = b->source;

        wr_binding_free(b);
        /* A source reaches zero once: no more of its bindings remain. */
        if (src->binding_count == 0 && on_source_empty != NULL) {
            if (n < cap)
                emptied[n++] = src;
            else
                on_source_empty(ctx, src);
        }
    }
    for (size_t i = 0; i < n; i++)
        on_source_empty(ctx, emptied[i]);
    if (emptied != small)
        wr_free(emptied);
}

/* ---- routing ------------------------------------------------------------ */

struct route_ctx {
    struct wr_route_set *out;
    struct wr_exchange **stack; /* exchanges still to route through */
    size_t sp, cap;
    bool heap; /* stack was allocated (else it is the caller's array) */
    uint64_t epoch;
    int rc;
    bool hit; /* the exchange being routed matched a binding */
};

static bool
add_queue(struct wr_route_set *out, struct wr_queue *q)
{
    if (out->count == out->cap) {
        size_t ncap = out->cap ? out->cap * 2 : 8;
        struct wr_queue **nv;

        if (ncap > SIZE_MAX / sizeof(*nv))
            return false;
        nv = wr_realloc(out->queues, ncap * sizeof(*nv));
        if (nv == NULL)
            return false;
        out->queues = nv;
        out->cap = ncap;
    }
    out->queues[out->count++] = q;
    return true;
}

static bool
push_exchange(struct route_ctx *rc, struct wr_exchange *x)
{
    if (rc->sp == rc->cap) {
        size_t ncap = rc->cap * 2;
        struct wr_exchange **ns;

        if (ncap > SIZE_MAX / sizeof(*ns))
            return false;
        if (rc->heap) {
            ns = wr_realloc(rc->stack, ncap * sizeof(*ns));
        } else {
            ns = wr_malloc(ncap * sizeof(*ns));
            if (ns != NULL)
                memcpy(ns, rc->stack, rc->sp * sizeof(*ns));
        }
        if (ns == NULL)
            return false;
        rc->stack = ns;
        rc->cap = ncap;
        rc->heap = true;
    }
    rc->stack[rc->sp++] = x;
    return true;
}

static void
emit(void *arg, struct wr_binding *b)
{
    struct route_ctx *rc = arg;

    rc->hit = true;
    if (b->dest_kind == WR_DEST_QUEUE) {
        struct wr_queue *q = b->dest.queue;

        if (q->route_mark == rc->epoch || q->deleted)
            return;
        if (!add_queue(rc->out, q)) {
            rc->rc = WR_ERR_NOMEM;
            return;
        }
        q->route_mark = rc->epoch;
    } else {
        struct wr_exchange *dx = b->dest.exchange;

        if (dx->route_mark == rc->epoch)
            return; /* already routed through: this cuts cycles */
        if (!push_exchange(rc, dx)) {
            rc->rc = WR_ERR_NOMEM;
            return;
        }
        dx->route_mark = rc->epoch;
    }
}

int
wr_exchange_route(struct wr_exchange *x, const struct wr_route_req *req,
                  struct wr_route_set *out)
{
    struct wr_exchange *small[16];
    struct route_ctx rc = {out,   small,         0,     WR_ARRAY_LEN(small),
                           false, ++route_epoch, WR_OK, false};
    struct wr_route_req one = *req;

    out->count = 0;
    x->route_mark = rc.epoch;
    rc.stack[rc.sp++] = x;
    /* Depth-first with an explicit stack: a long chain of exchanges cannot
     * exhaust the C stack, and marks visit each exchange once. */
    while (rc.sp > 0) {
        struct wr_exchange *cur = rc.stack[--rc.sp], *ax;
        struct wr_bytes ae;

        rc.hit = false;
        one.rkey = req->rkey;
        cur->type->route(cur, &one, emit, &rc);
        /* headers exchanges ignore routing keys: one pass is enough */
        for (size_t i = 0; i < req->n_more && !cur->key_once; i++) {
            one.rkey = req->more_keys[i];
            cur->type->route(cur, &one, emit, &rc);
        }
        if (rc.hit || req->lookup == NULL || !wr_exchange_alternate(cur, &ae))
            continue;
        ax = req->lookup(req->lookup_ctx, ae);
        if (ax != NULL && ax->route_mark != rc.epoch) {
            if (!push_exchange(&rc, ax)) {
                rc.rc = WR_ERR_NOMEM;
                continue;
            }
            ax->route_mark = rc.epoch;
        }
    }
    if (rc.heap)
        wr_free(rc.stack);
    return rc.rc;
}

void
wr_route_set_cleanup(struct wr_route_set *s)
{
    wr_free(s->queues);
    s->queues = NULL;
    s->count = s->cap = 0;
}
