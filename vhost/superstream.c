/* SPDX-License-Identifier: MIT */
/* Super streams (partitioned streams), laid out as RabbitMQ's
 * rabbit_stream_manager lays them out: a durable direct exchange NAME with
 * the argument x-super-stream = true, one stream queue per partition named
 * NAME-KEY, bound from NAME with the binding key KEY and the binding
 * argument x-stream-partition-order = its index (a long). With a partition
 * count N the keys are "0" .. "N-1". Everything goes through the same
 * declare and bind as AMQP and the API. */
#include "vhost_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct wr_op_err *err, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* RabbitMQ's API answers these as 400 with an Erlang term for a reason,
 * {validation_failed, "..."}: bare, no reply code name in front. */
static int
fail(struct wr_op_err *err, uint16_t code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    err->hard = false;
    err->bare = true;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return code == WR_REPLY_NOT_FOUND ? WR_ERR_NOT_FOUND : WR_ERR_INVALID;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Appends one table entry's key and type to buf; returns the length. */
static size_t
put_key(uint8_t *buf, const char *key, uint8_t type)
{
    size_t n = strlen(key);

    buf[0] = (uint8_t)n;
    memcpy(buf + 1, key, n);
    buf[1 + n] = type;
    return n + 2;
}

bool
wr_exchange_is_super_stream(const struct wr_exchange *x)
{
    struct wr_value v;

    return wr_table_get((struct wr_table){x->raw_args, x->raw_args_len},
                        "x-super-stream", &v) == WR_OK &&
           v.type == WR_FT_BOOL && v.v.b;
}

static bool
bad_name(struct wr_bytes n)
{
    return n.len == 0 || (n.len >= 4 && memcmp(n.ptr, "amq.", 4) == 0) ||
           memchr(n.ptr, '\n', n.len) || memchr(n.ptr, '\r', n.len);
}

/* The partition stream of key k: NAME-KEY, in out (cap bytes). */
static int
stream_name(struct wr_bytes name, struct wr_bytes k, char *out, size_t cap)
{
    if (name.len + 1 + k.len >= cap || name.len + 1 + k.len > 255)
        return -1;
    memcpy(out, name.ptr, name.len);
    out[name.len] = '-';
    memcpy(out + name.len + 1, k.ptr, k.len);
    out[name.len + 1 + k.len] = '\0';
    return 0;
}

/* Removes what a failed add created: the exchange (with its bindings)
 * and the first n partitions. */
static void
roll_back(struct wr_vhost *vh, struct wr_bytes name,
          const struct wr_super_stream_decl *d, size_t n)
{
    struct wr_op_err ignored;
    uint64_t count;
    char q[256];

    wr_vhost_remove_exchange(vh, name, false, &ignored);
    for (size_t i = 0; i < n; i++)
        if (stream_name(name, d->keys[i], q, sizeof(q)) == 0)
            wr_vhost_remove_queue(vh, wr_bytes_str(q), NULL, false, false,
                                  &count, &ignored);
}

int
wr_vhost_add_super_stream(struct wr_vhost *vh,
                          const struct wr_super_stream_decl *d,
                          struct wr_op_err *err)
{
    static const uint8_t xargs[] = {14,  'x', '-', 's', 'u', 'p', 'e', 'r', '-',
                                    's', 't', 'r', 'e', 'a', 'm', 't', 1};
    struct wr_exchange_decl xd = {
        .name = d->name,
        .type = wr_bytes_str("direct"),
        .durable = true,
        .args = {xargs, sizeof(xargs)},
    };
    uint8_t *qargs;
    size_t qlen;
    struct wr_exchange *x;
    char q[256];
    bool created;
    int rc = WR_OK;

    if (d->n == 0)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "The partition number must be greater than 0");
    if (d->n > WR_SUPER_STREAM_MAX)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "The partition number must not exceed %d",
                    WR_SUPER_STREAM_MAX);
    if (bad_name(d->name))
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "{validation_failed,\"%.*s is not a correct name for a "
                    "super stream\"}",
                    (int)(d->name.len > 200 ? 200 : d->name.len), d->name.ptr);
    for (size_t i = 0; i < d->n; i++) {
        if (d->keys[i].len == 0 ||
            stream_name(d->name, d->keys[i], q, sizeof(q)) != 0 ||
            bad_name(wr_bytes_str(q)))
            return fail(err, WR_REPLY_PRECONDITION_FAILED,
                        "{validation_failed,\"%.*s-%.*s is not a correct "
                        "partition name\"}",
                        (int)(d->name.len > 100 ? 100 : d->name.len),
                        d->name.ptr,
                        (int)(d->keys[i].len > 100 ? 100 : d->keys[i].len),
                        d->keys[i].ptr);
        for (size_t j = 0; j < i; j++)
            if (wr_bytes_eq(d->keys[i], d->keys[j]))
                return fail(err, WR_REPLY_PRECONDITION_FAILED,
                            "{validation_failed,\"Duplicate partition names "
                            "found %s\"}",
                            q);
    }
    if (wr_limit_reached(vh->max_queues, vh->queues.count + d->n - 1))
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "{validation_failed,\"Cannot declare super stream %.*s "
                    "with %zu partition(s) because queue limit %lld in vhost "
                    "'%s' is reached\"}",
                    (int)(d->name.len > 100 ? 100 : d->name.len), d->name.ptr,
                    d->n, (long long)vh->max_queues, vh->name);
    if (wr_vhost_exchange(vh, d->name))
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "{reference_already_exists,\"there is already an "
                    "exchange named %.*s\"}",
                    (int)(d->name.len > 200 ? 200 : d->name.len), d->name.ptr);
    for (size_t i = 0; i < d->n; i++) {
        stream_name(d->name, d->keys[i], q, sizeof(q));
        if (wr_vhost_queue(vh, wr_bytes_str(q)))
            return fail(err, WR_REPLY_PRECONDITION_FAILED,
                        "{reference_already_exists,\"there is already a "
                        "queue named %s\"}",
                        q);
    }
    if (wr_vhost_declare_exchange(vh, &xd, &x, &created, err) != WR_OK)
        return WR_ERR_INVALID;
    /* Each partition: x-queue-type = stream, then the caller's arguments
     * (x-max-length-bytes, x-max-age, ...). */
    qlen = 2 + 12 + 4 + 6 + d->args.len;
    qargs = wr_malloc(qlen);
    {
        size_t o = put_key(qargs, "x-queue-type", WR_FT_LONGSTR);
        qargs[o] = 0, qargs[o + 1] = 0, qargs[o + 2] = 0, qargs[o + 3] = 6;
        memcpy(qargs + o + 4, "stream", 6);
        if (d->args.len)
            memcpy(qargs + o + 10, d->args.ptr, d->args.len);
        qlen = o + 10 + d->args.len;
    }
    for (size_t i = 0; i < d->n && rc == WR_OK; i++) {
        struct wr_queue_decl qd = {.durable = true,
                                   .args = {qargs, (uint32_t)qlen}};
        struct wr_queue *queue;
        stream_name(d->name, d->keys[i], q, sizeof(q));
        qd.name = wr_bytes_str(q);
        if (wr_vhost_declare_queue(vh, &qd, NULL, &queue, &created, err) !=
            WR_OK) {
            roll_back(vh, d->name, d, i);
            rc = WR_ERR_INVALID;
        }
    }
    wr_free(qargs);
    for (size_t i = 0; i < d->n && rc == WR_OK; i++) {
        uint8_t bargs[2 + 24 + 8];
        size_t o = put_key(bargs, "x-stream-partition-order", WR_FT_I64);
        put_be64(bargs + o, (uint64_t)i);
        stream_name(d->name, d->keys[i], q, sizeof(q));
        if (wr_vhost_bind(vh, WR_DEST_QUEUE, d->name, wr_bytes_str(q),
                          d->keys[i],
                          (struct wr_table){bargs, (uint32_t)(o + 8)}, NULL,
                          err) != WR_OK) {
            roll_back(vh, d->name, d, d->n);
            rc = WR_ERR_INVALID;
        }
    }
    return rc;
}

static int64_t
partition_order(const struct wr_binding *b)
{
    struct wr_value v;
    int64_t i;

    if (wr_table_get((struct wr_table){b->args, b->args_len},
                     "x-stream-partition-order", &v) == WR_OK &&
        wr_value_int(&v, &i) == WR_OK)
        return i;
    return INT64_MAX;
}

static int
cmp_partition(const void *a, const void *b)
{
    const struct wr_binding *x = *(const struct wr_binding *const *)a;
    const struct wr_binding *y = *(const struct wr_binding *const *)b;
    int64_t ox = partition_order(x), oy = partition_order(y);

    if (ox != oy)
        return ox < oy ? -1 : 1;
    return strcmp(x->dest.queue->name, y->dest.queue->name);
}

size_t
wr_super_stream_partitions(const struct wr_exchange *x,
                           const struct wr_binding ***out)
{
    const struct wr_binding **v =
        wr_calloc(x->binding_count ? x->binding_count : 1, sizeof(*v));
    struct wr_list *pos, *tmp;
    size_t n = 0;

    wr_list_for_each_safe(pos, tmp, &x->bindings)
    {
        const struct wr_binding *b =
            WR_CONTAINER_OF(pos, struct wr_binding, src_link);
        if (b->dest_kind == WR_DEST_QUEUE && wr_queue_is_stream(b->dest.queue))
            v[n++] = b;
    }
    qsort(v, n, sizeof(*v), cmp_partition);
    *out = v;
    return n;
}

int
wr_vhost_delete_super_stream(struct wr_vhost *vh, struct wr_bytes name,
                             struct wr_op_err *err)
{
    struct wr_exchange *x = wr_vhost_exchange(vh, name);
    const struct wr_binding **parts;
    char(*names)[256];
    size_t n;
    uint64_t count;
    struct wr_op_err ignored;

    if (x == NULL || !wr_exchange_is_super_stream(x))
        return fail(err, WR_REPLY_NOT_FOUND,
                    "no super stream '%.*s' in vhost '%s'",
                    (int)(name.len > 200 ? 200 : name.len), name.ptr, vh->name);
    n = wr_super_stream_partitions(x, &parts);
    names = wr_calloc(n ? n : 1, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        snprintf(names[i], sizeof(names[i]), "%s", parts[i]->dest.queue->name);
    wr_free(parts);
    /* As RabbitMQ: the exchange first, then each partition stream. */
    wr_vhost_remove_exchange(vh, name, false, &ignored);
    for (size_t i = 0; i < n; i++)
        wr_vhost_remove_queue(vh, wr_bytes_str(names[i]), NULL, false, false,
                              &count, &ignored);
    wr_free(names);
    return WR_OK;
}
