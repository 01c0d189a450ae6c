/* SPDX-License-Identifier: MIT */
/* The x-delayed-message exchange type, as RabbitMQ's
 * rabbitmq-delayed-message-exchange plugin has it: the x-delayed-type
 * argument names the type that routes (direct, fanout, topic, headers,
 * x-consistent-hash), and a message with a positive x-delay header (ms) is
 * held until it is due, then routed with x-delay set to minus the delay.
 *
 * This file routes through the inner type (swapping its state into
 * x->type_data for each call) and keeps the held messages in a binary
 * min-heap by due time (ties in arrival order): hold and take are
 * O(log n). It never reads the clock: vhost/ passes the times in and arms
 * the timer. */
#include "exchanges_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's bound: Erlang's longest timer. */
#define DELAY_MAX 4294967295LL

struct held {
    int64_t due;
    uint64_t seq; /* arrival order among equal due times */
    struct wr_msg *m;
    uint64_t tag; /* the caller's (vhost/: its store entry) */
};

struct delayed {
    const struct wr_exch_type *inner;
    void *inner_data;
    struct held *heap;
    size_t n, cap;
    uint64_t seq;
};

static bool
inner_name(struct wr_table args, struct wr_value *v)
{
    return wr_table_get(args, "x-delayed-type", v) == WR_OK &&
           v->type == WR_FT_LONGSTR;
}

/* The plugin's validate/1: x-delayed-type must name a type (406 when it
 * is missing or not a string; 503 COMMAND_INVALID, as any unknown type,
 * when it names none), and that type's own validation runs too. */
static int
delayed_validate(struct wr_table args, char *why, size_t cap)
{
    const struct wr_exch_type *t;
    struct wr_value v;

    if (!inner_name(args, &v)) {
        snprintf(why, cap,
                 "Invalid argument, 'x-delayed-type' must be an existing "
                 "exchange type");
        return WR_REPLY_PRECONDITION_FAILED;
    }
    t = wr_exch_type_find(v.v.str);
    if (t == NULL || t == &wr_exch_delayed) {
        snprintf(why, cap, "unknown exchange type '%.*s'", (int)v.v.str.len,
                 v.v.str.ptr);
        return WR_REPLY_COMMAND_INVALID;
    }
    return t->validate ? t->validate(args, why, cap) : 0;
}

/* Runs the inner type with its own state in x->type_data. */
#define INNER(x, call)                                                         \
    do {                                                                       \
        struct delayed *d_ = (x)->type_data;                                   \
        (x)->type_data = d_->inner_data;                                       \
        call;                                                                  \
        d_->inner_data = (x)->type_data;                                       \
        (x)->type_data = d_;                                                   \
    } while (0)

static int
delayed_init(struct wr_exchange *x)
{
    struct delayed *d = wr_calloc(1, sizeof(*d));
    struct wr_value v;
    int rc = WR_OK;

    if (d == NULL)
        return WR_ERR_NOMEM;
    /* validate ran first; a name it would refuse falls back to direct */
    if (inner_name((struct wr_table){x->raw_args, x->raw_args_len}, &v))
        d->inner = wr_exch_type_find(v.v.str);
    if (d->inner == NULL || d->inner == &wr_exch_delayed)
        d->inner = &wr_exch_direct;
    x->key_once = d->inner->key_once;
    x->type_data = d;
    INNER(x, rc = d->inner->init(x));
    if (rc != WR_OK) {
        x->type_data = NULL;
        wr_free(d);
    }
    return rc;
}

static void
delayed_cleanup(struct wr_exchange *x)
{
    struct delayed *d = x->type_data;

    if (d == NULL)
        return;
    INNER(x, d->inner->cleanup(x));
    /* Deleting the exchange drops what it still holds. */
    for (size_t i = 0; i < d->n; i++)
        wr_msg_unref(&d->heap[i].m);
    wr_free(d->heap);
    wr_free(d);
    x->type_data = NULL;
}

static int
delayed_bind(struct wr_exchange *x, struct wr_binding *b)
{
    struct delayed *d = x->type_data;
    int rc = WR_OK;

    INNER(x, rc = d->inner->bind(x, b));
    return rc;
}

static void
delayed_unbind(struct wr_exchange *x, struct wr_binding *b)
{
    struct delayed *d = x->type_data;

    INNER(x, d->inner->unbind(x, b));
}

static void
delayed_route(struct wr_exchange *x, const struct wr_route_req *req,
              void (*emit)(void *ctx, struct wr_binding *b), void *ctx)
{
    struct delayed *d = x->type_data;

    INNER(x, d->inner->route(x, req, emit, ctx));
}

const struct wr_exch_type wr_exch_delayed = {
    .name = "x-delayed-message",
    .validate = delayed_validate,
    .init = delayed_init,
    .cleanup = delayed_cleanup,
    .bind = delayed_bind,
    .unbind = delayed_unbind,
    .route = delayed_route,
};

/* ---- the x-delay header ------------------------------------------------ */

/* A decimal integer, optionally signed, nothing else (Erlang's
 * binary_to_integer). */
static bool
parse_int(struct wr_bytes s, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    int64_t n = 0;

    if (s.len > 0 && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        neg = s.ptr[0] == '-';
        i = 1;
    }
    if (i == s.len)
        return false;
    for (; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        if (n <= DELAY_MAX)
            n = n * 10 + (s.ptr[i] - '0');
    }
    *out = neg ? -n : n;
    return true;
}

bool
wr_delay_header(struct wr_table headers, int64_t *ms)
{
    struct wr_value v;
    int64_t d;

    if (headers.len == 0 || wr_table_get(headers, "x-delay", &v) != WR_OK)
        return false;
    if (wr_value_int(&v, &d) == WR_OK) {
        /* any integer type */
    } else if (v.type == WR_FT_LONGSTR) {
        if (!parse_int(v.v.str, &d))
            return false;
    } else if (v.type == WR_FT_DOUBLE || v.type == WR_FT_FLOAT) {
        double f = v.type == WR_FT_DOUBLE ? v.v.d : (double)v.v.f;
        if (!(f > 0 && f <= (double)DELAY_MAX + 1))
            return false;
        d = (int64_t)f; /* Erlang's trunc */
    } else if (v.type == WR_FT_DECIMAL) {
        d = v.v.decimal.value;
        for (int i = 0; i < v.v.decimal.scale && d > 0; i++)
            d /= 10;
    } else {
        return false;
    }
    if (d <= 0 || d > DELAY_MAX)
        return false;
    *ms = d;
    return true;
}

/* ---- the held messages --------------------------------------------------- */

static bool
before(const struct held *a, const struct held *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
swap(struct held *a, struct held *b)
{
    struct held t = *a;
    *a = *b;
    *b = t;
}

int
wr_delayed_hold(struct wr_exchange *x, struct wr_msg *m, int64_t due,
                uint64_t tag)
{
    struct delayed *d = x->type_data;
    size_t i;

    wr_assert(x->type == &wr_exch_delayed);
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 16;
        struct held *nh = wr_realloc(d->heap, ncap * sizeof(*nh));

        if (nh == NULL)
            return WR_ERR_NOMEM;
        d->heap = nh;
        d->cap = ncap;
    }
    i = d->n++;
    d->heap[i] = (struct held){due, d->seq++, wr_msg_ref(m), tag};
    while (i > 0 && before(&d->heap[i], &d->heap[(i - 1) / 2])) {
        swap(&d->heap[i], &d->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return WR_OK;
}

bool
wr_delayed_next(const struct wr_exchange *x, int64_t *due)
{
    const struct delayed *d = x->type_data;

    if (x->type != &wr_exch_delayed || d->n == 0)
        return false;
    *due = d->heap[0].due;
    return true;
}

struct wr_msg *
wr_delayed_take(struct wr_exchange *x, int64_t now, uint64_t *tag)
{
    struct delayed *d = x->type_data;
    struct wr_msg *m;
    size_t i = 0;

    if (x->type != &wr_exch_delayed || d->n == 0 || d->heap[0].due > now)
        return NULL;
    m = d->heap[0].m;
    if (tag != NULL)
        *tag = d->heap[0].tag;
    d->heap[0] = d->heap[--d->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;

        if (l < d->n && before(&d->heap[l], &d->heap[s]))
            s = l;
        if (r < d->n && before(&d->heap[r], &d->heap[s]))
            s = r;
        if (s == i)
            break;
        swap(&d->heap[i], &d->heap[s]);
        i = s;
    }
    return m;
}

size_t
wr_delayed_count(const struct wr_exchange *x)
{
    return x->type == &wr_exch_delayed
               ? ((const struct delayed *)x->type_data)->n
               : 0;
}
