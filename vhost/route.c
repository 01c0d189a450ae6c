/* SPDX-License-Identifier: MIT */
/* Routing a whole message: its routing keys (the routing key, then the CC
 * header's and the BCC keys: RabbitMQ's sender-selected distribution),
 * alternate exchanges, direct reply-to, then the enqueue into every target
 * queue with length limits and dispatch. */
#include "vhost_internal.h"

#include <string.h>

/* Routing keys of one message; views into it. */
struct keys {
    struct wr_bytes small[16];
    struct wr_bytes *v;
    size_t n, cap;
};

static void
keys_add(struct keys *k, struct wr_bytes key)
{
    if (k->n == k->cap) {
        size_t ncap = k->cap * 2;
        struct wr_bytes *nv = wr_malloc(ncap * sizeof(*nv));
        memcpy(nv, k->v, k->n * sizeof(*nv));
        if (k->v != k->small)
            wr_free(k->v);
        k->v = nv;
        k->cap = ncap;
    }
    k->v[k->n++] = key;
}

/* The long strings of a field array (others are skipped, as RabbitMQ's
 * rabbit_basic:header_routes does). */
static void
keys_add_array(struct keys *k, struct wr_array a)
{
    struct wr_array_iter it;
    struct wr_value v;

    wr_array_iter_init(&it, a);
    while (wr_array_next(&it, &v) == WR_OK)
        if (v.type == WR_FT_LONGSTR)
            keys_add(k, v.v.str);
}

static struct wr_exchange *
lookup_exchange(void *ctx, struct wr_bytes name)
{
    return wr_vhost_exchange(ctx, name);
}

int
wr_vhost_route_msg(struct wr_vhost *vh, struct wr_exchange *x, struct wr_msg *m,
                   struct wr_route_set *out)
{
    struct keys k = {.n = 0, .cap = WR_ARRAY_LEN(k.small)};
    struct wr_route_req req = {.rkey = wr_msg_rkey(m)};
    struct wr_props props;
    struct wr_value cc;
    int rc;

    k.v = k.small;
    /* Decode the properties only when the flag word announces headers. */
    if (m->props_len >= 2 &&
        (((unsigned)wr_msg_props_data(m)[0] << 8 | wr_msg_props_data(m)[1]) &
         WR_PROP_HEADERS) &&
        wr_msg_props(m, &props) == WR_OK) {
        req.headers = props.headers;
        /* publish.c checked the type: an array of long strings */
        if (wr_table_get(props.headers, "CC", &cc) == WR_OK &&
            cc.type == WR_FT_ARRAY)
            keys_add_array(&k, cc.v.array);
    }
    if (m->bcc_len)
        keys_add_array(&k, wr_msg_bcc(m));
    req.more_keys = k.v;
    req.n_more = k.n;
    req.lookup = lookup_exchange;
    req.lookup_ctx = vh;
    req.msg = m;
    rc = wr_vhost_route(vh, x, &req, out);
    if (k.v != k.small)
        wr_free(k.v);
    return rc;
}

bool
wr_vhost_enqueue(struct wr_vhost *vh, struct wr_msg *m,
                 const struct wr_route_set *set, int64_t now)
{
    bool rejected = false;

    (void)vh;
    for (size_t i = 0; i < set->count; i++) {
        if (wr_queue_enqueue(set->queues[i], m, now) == WR_ERR_FULL)
            rejected = true;
    }
    for (size_t i = 0; i < set->count; i++) {
        struct wr_queue *q = set->queues[i];
        /* RabbitMQ hands a message with TTL 0 to a consumer that can take
         * it at once and expires it otherwise: dispatch with 1 ms of grace,
         * then expire what is due now. */
        wr_queue_dispatch(q, now - 1);
        if (!q->deleted)
            wr_queue_expire(q, now);
    }
    return rejected;
}

void
wr_vhost_publish(struct wr_vhost *vh, struct wr_exchange *x, struct wr_msg *m,
                 bool mandatory, struct wr_route_set *scratch, bool *routed,
                 bool *rejected)
{
    enum wr_delay d;

    *routed = *rejected = false;
    scratch->held_stored = false;
    x->n_in++;
    vh->stats.published++;
    if (x->name_len == 0 && wr_reply_to_is_key(wr_msg_rkey(m))) {
        struct wr_reply_sink *sink = wr_vhost_reply_find(vh, wr_msg_rkey(m));
        *routed = sink != NULL && sink->deliver(sink, m);
        scratch->count = 0;
    } else if ((d = wr_vhost_delay(vh, x, m)) != WR_DELAY_NO) {
        /* Held for later. The plugin's route returns no queue now, so a
         * mandatory message comes back (basic.return) though it will be
         * routed when due. */
        scratch->count = 0;
        scratch->held_stored = d == WR_DELAY_STORED;
        *rejected = d == WR_DELAY_REFUSED;
    } else {
        wr_vhost_route_msg(vh, x, m, scratch);
        *routed = scratch->count > 0;
        *rejected = wr_vhost_enqueue(vh, m, scratch, wr_now_ms());
        x->n_out += scratch->count;
    }
    if (!*routed) {
        if (mandatory)
            vh->stats.returned++;
        else
            vh->stats.dropped++;
    }
}
