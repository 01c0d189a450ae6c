/* SPDX-License-Identifier: MIT */
/* The x-consistent-hash exchange type, as RabbitMQ's
 * rabbitmq_consistent_hash_exchange plugin has it: each binding's key is
 * a weight, the number of buckets it owns on the ring; a message goes to
 * the one binding whose bucket the hash of its routing key (or of the
 * header named by the hash-header argument, or of the property named by
 * hash-property) picks. Buckets are chosen with jump consistent hashing
 * (Lamping and Veach), as the plugin does, so adding a binding moves only
 * the share of keys it takes. Buckets are numbered in binding order; an
 * unbind renumbers those after it (the plugin does the same). */
#include "exchanges_internal.h"
#include "../common/hmap.h"

#include <stdio.h>
#include <string.h>

/* warren's bound on the buckets of one exchange (8 bytes each): a
 * weight of 2^31 would otherwise allocate 16 GB. */
#define CHX_MAX_BUCKETS (1u << 20)

enum hash_on { ON_RKEY, ON_HEADER, ON_PROPERTY };

struct chx {
    struct wr_binding **bucket; /* bucket number -> its binding */
    uint32_t n, cap;
    struct wr_list order; /* bindings in bucket order, by type_link */
    enum hash_on on;
    struct wr_bytes what; /* header or property name: view into raw_args */
};

/* A binding's weight travels in its type_data. */
static uint32_t
weight_of(const struct wr_binding *b)
{
    return (uint32_t)(uintptr_t)b->type_data;
}

static struct wr_table
xargs(const struct wr_exchange *x)
{
    return (struct wr_table){x->raw_args, x->raw_args_len};
}

static bool
str_arg(struct wr_table args, const char *key, struct wr_bytes *out)
{
    struct wr_value v;

    if (wr_table_get(args, key, &v) != WR_OK || v.type != WR_FT_LONGSTR)
        return false;
    *out = v.v.str;
    return true;
}

static bool
is_property(struct wr_bytes s)
{
    return wr_bytes_eq_str(s, "correlation_id") ||
           wr_bytes_eq_str(s, "message_id") || wr_bytes_eq_str(s, "timestamp");
}

/* The plugin's validate/1: the two arguments exclude each other, and only
 * three properties can be hashed. Both are 406 PRECONDITION_FAILED. */
static int
chx_validate(struct wr_table args, char *why, size_t cap)
{
    struct wr_bytes h, p;
    bool has_h = str_arg(args, "hash-header", &h);
    bool has_p = str_arg(args, "hash-property", &p);

    if (has_h && has_p) {
        snprintf(why, cap,
                 "hash-header and hash-property are mutually exclusive");
        return WR_REPLY_PRECONDITION_FAILED;
    }
    if (has_p && !is_property(p)) {
        snprintf(why, cap, "Unsupported property: %.*s", (int)p.len, p.ptr);
        return WR_REPLY_PRECONDITION_FAILED;
    }
    return 0;
}

static int
chx_init(struct wr_exchange *x)
{
    struct chx *c = wr_calloc(1, sizeof(*c));

    if (c == NULL)
        return WR_ERR_NOMEM;
    wr_list_init(&c->order);
    c->on = ON_RKEY;
    if (str_arg(xargs(x), "hash-header", &c->what))
        c->on = ON_HEADER;
    else if (str_arg(xargs(x), "hash-property", &c->what))
        c->on = ON_PROPERTY;
    x->type_data = c;
    return WR_OK;
}

static void
chx_cleanup(struct wr_exchange *x)
{
    struct chx *c = x->type_data;

    if (c == NULL)
        return;
    while (!wr_list_empty(&c->order))
        wr_list_remove(c->order.next);
    wr_free(c->bucket);
    wr_free(c);
    x->type_data = NULL;
}

/* Erlang's list_to_integer: an optional sign, then decimal digits. Sets
 * *v (saturated) and returns true when key is such an integer. */
static bool
parse_weight(const char *key, uint32_t len, int64_t *v)
{
    uint32_t i = 0;
    bool neg = false;
    int64_t n = 0;

    if (len > 0 && (key[0] == '+' || key[0] == '-')) {
        neg = key[0] == '-';
        i = 1;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (key[i] < '0' || key[i] > '9')
            return false;
        if (n < INT64_MAX / 10 - 10)
            n = n * 10 + (key[i] - '0');
    }
    *v = neg ? -n : n;
    return true;
}

static int
chx_bind(struct wr_exchange *x, struct wr_binding *b)
{
    /* The refusals are texts the caller copies at once (one thread). */
    static char why[320];
    struct chx *c = x->type_data;
    int64_t w;

    if (!parse_weight(b->key, b->key_len, &w)) {
        /* The plugin formats the key with ~p: <<"abc">> */
        snprintf(why, sizeof(why),
                 "The binding key must be an integer: <<\"%.*s\">>",
                 (int)b->key_len, b->key);
        return wr_binding_refuse(b, why);
    }
    if (w < 1)
        return wr_binding_refuse(b, "The binding key must be greater than 0");
    if ((uint64_t)w > CHX_MAX_BUCKETS - c->n) {
        snprintf(why, sizeof(why),
                 "The binding key (weight) takes the exchange past %u "
                 "buckets, warren's limit",
                 CHX_MAX_BUCKETS);
        return wr_binding_refuse(b, why);
    }
    if (c->n + (uint32_t)w > c->cap) {
        uint32_t ncap = c->cap ? c->cap : 16;
        struct wr_binding **nb;

        while (ncap < c->n + (uint32_t)w)
            ncap *= 2;
        nb = wr_realloc(c->bucket, (size_t)ncap * sizeof(*nb));
        if (nb == NULL)
            return WR_ERR_NOMEM;
        c->bucket = nb;
        c->cap = ncap;
    }
    for (int64_t i = 0; i < w; i++)
        c->bucket[c->n++] = b;
    b->type_data = (void *)(uintptr_t)w;
    wr_list_push_back(&c->order, &wr_binding_int(b)->type_link);
    return WR_OK;
}

static void
chx_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    struct chx *c = x->type_data;
    struct wr_list *pos;

    wr_list_remove(&wr_binding_int(b)->type_link);
    /* The buckets after b's move down by its weight. */
    c->n = 0;
    for (pos = c->order.next; pos != &c->order; pos = pos->next) {
        struct wr_binding *o = wr_binding_of_type_link(pos);
        for (uint32_t i = 0; i < weight_of(o); i++)
            c->bucket[c->n++] = o;
    }
}

/* Jump consistent hash (Lamping and Veach, 2014): the bucket in [0, n)
 * for key; moving from n to n + 1 buckets moves 1/(n + 1) of the keys. */
static uint32_t
jump_hash(uint64_t key, uint32_t n)
{
    int64_t b = -1, j = 0;

    while (j < (int64_t)n) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = (int64_t)((double)(b + 1) *
                      ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

/* The bytes a header value hashes as: strings by their bytes, integers
 * by their decimal text, anything else by its type octet. */
static uint64_t
hash_value(const struct wr_value *v)
{
    char num[24];
    int64_t i;

    if (v->type == WR_FT_LONGSTR || v->type == WR_FT_BYTES)
        return wr_hash_bytes(v->v.str.ptr, v->v.str.len);
    if (wr_value_int(v, &i) == WR_OK) {
        int n = snprintf(num, sizeof(num), "%lld", (long long)i);
        return wr_hash_bytes(num, (size_t)n);
    }
    return wr_hash_bytes(&v->type, 1);
}

/* A message without the header or property hashes as this (the plugin
 * hashes Erlang's undefined: every such message picks one bucket). */
static uint64_t
hash_missing(void)
{
    return wr_hash_bytes("undefined", 9);
}

static uint64_t
message_hash(const struct chx *c, const struct wr_route_req *req)
{
    struct wr_props p;
    struct wr_value v;
    char num[24];

    switch (c->on) {
    case ON_RKEY:
        return wr_hash_bytes(req->rkey.len ? (const void *)req->rkey.ptr : "",
                             req->rkey.len);
    case ON_HEADER: {
        char key[256];
        size_t n =
            c->what.len < sizeof(key) - 1 ? c->what.len : sizeof(key) - 1;
        memcpy(key, c->what.ptr, n);
        key[n] = '\0';
        if (wr_table_get(req->headers, key, &v) != WR_OK)
            return hash_missing();
        return hash_value(&v);
    }
    case ON_PROPERTY:
        if (req->msg == NULL || wr_msg_props(req->msg, &p) != WR_OK)
            return hash_missing();
        if (wr_bytes_eq_str(c->what, "message_id"))
            return (p.flags & WR_PROP_MESSAGE_ID)
                       ? wr_hash_bytes(p.message_id.ptr, p.message_id.len)
                       : hash_missing();
        if (wr_bytes_eq_str(c->what, "correlation_id"))
            return (p.flags & WR_PROP_CORRELATION_ID)
                       ? wr_hash_bytes(p.correlation_id.ptr,
                                       p.correlation_id.len)
                       : hash_missing();
        if (p.flags & WR_PROP_TIMESTAMP) {
            int n = snprintf(num, sizeof(num), "%llu",
                             (unsigned long long)p.timestamp);
            return wr_hash_bytes(num, (size_t)n);
        }
        return hash_missing();
    }
    return hash_missing();
}

static void
chx_route(struct wr_exchange *x, const struct wr_route_req *req,
          void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    struct chx *c = x->type_data;

    if (c->n == 0)
        return;
    emit(ctx, c->bucket[jump_hash(message_hash(c, req), c->n)]);
}

const struct wr_exch_type wr_exch_consistent_hash = {
    .name = "x-consistent-hash",
    .key_once = true, /* the plugin hashes the first routing key only */
    .validate = chx_validate,
    .init = chx_init,
    .cleanup = chx_cleanup,
    .bind = chx_bind,
    .unbind = chx_unbind,
    .route = chx_route,
};
