/* SPDX-License-Identifier: MIT */
/* Declare, delete, bind, unbind and publish on a vhost with RabbitMQ's
 * checks and error texts, shared by the AMQP handlers and the HTTP API;
 * below them, adding and deleting exchanges and queues in the registries
 * with the records, policies and timers that go with them. */
#include "vhost_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct wr_op_err *err, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct wr_op_err *err, uint16_t code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    err->hard = code >= 500;
    err->bare = false;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return code == WR_REPLY_NOT_FOUND ? WR_ERR_NOT_FOUND : WR_ERR_INVALID;
}

static bool
reserved_name(struct wr_bytes n)
{
    return n.len >= 4 && memcmp(n.ptr, "amq.", 4) == 0;
}

static const char *
yn(bool b)
{
    return b ? "true" : "false";
}

/* Writes v as RabbitMQ prints an argument's value: integers in decimal,
 * strings as they are (at most 99 bytes), booleans as true / false. */
static void
value_text(const struct wr_value *v, char *buf, size_t len)
{
    int64_t i;

    if (wr_value_int(v, &i) == WR_OK)
        snprintf(buf, len, "%lld", (long long)i);
    else if (v->type == WR_FT_LONGSTR || v->type == WR_FT_BYTES)
        snprintf(buf, len, "%.*s", v->v.str.len > 99 ? 99 : (int)v->v.str.len,
                 (const char *)v->v.str.ptr);
    else if (v->type == WR_FT_BOOL)
        snprintf(buf, len, "%s", v->v.b ? "true" : "false");
    else
        snprintf(buf, len, "?");
}

/* One side of an inequivalence as RabbitMQ words it when the argument is
 * missing on the other: "the value '10' of type 'signedint'" or "none". */
static void
side_text(const struct wr_value *v, bool has, char *buf, size_t len)
{
    char val[100];

    if (!has) {
        snprintf(buf, len, "none");
        return;
    }
    value_text(v, val, sizeof(val));
    snprintf(buf, len, "the value '%s' of type '%s'", val,
             wr_field_type_name(v->type));
}

/* RabbitMQ's "received X but current is Y" (rabbit_misc:
 * assert_args_equivalence) for an argument given, or not, on a redeclare
 * and the one in place, or not. */
static void
neq_text(const struct wr_value *got, bool has_got, const struct wr_value *cur,
         bool has_cur, char *buf, size_t len)
{
    char tg[160], tc[160];

    if (has_got && has_cur) {
        value_text(got, tg, sizeof(tg));
        value_text(cur, tc, sizeof(tc));
        snprintf(buf, len, "received '%s' but current is '%s'", tg, tc);
    } else {
        side_text(got, has_got, tg, sizeof(tg));
        side_text(cur, has_cur, tc, sizeof(tc));
        snprintf(buf, len, "received %s but current is %s", tg, tc);
    }
}

/* ---- exchanges ---------------------------------------------------------- */

int
wr_vhost_declare_exchange(struct wr_vhost *vh, const struct wr_exchange_decl *d,
                          struct wr_exchange **out, bool *created,
                          struct wr_op_err *err)
{
    struct wr_exchange *x = wr_vhost_exchange(vh, d->name);
    const struct wr_exch_type *type;
    int n = (int)d->name.len;
    const char *name = (const char *)d->name.ptr;
    const char *what = NULL, *got = NULL, *cur = NULL;

    *created = false;
    if (d->name.len == 0) /* RabbitMQ: even a passive declare */
        return fail(err, WR_REPLY_ACCESS_REFUSED,
                    "operation not permitted on the default exchange");
    type = wr_exch_type_find(d->type);
    if (type == NULL)
        return fail(err, WR_REPLY_COMMAND_INVALID,
                    "unknown exchange type '%.*s'", (int)d->type.len,
                    d->type.ptr);
    if (type->validate != NULL) {
        char why[300];
        int code = type->validate(d->args, why, sizeof(why));
        if (code != 0)
            return fail(err, code, "%s", why);
    }
    if (x == NULL) {
        if (reserved_name(d->name))
            return fail(err, WR_REPLY_ACCESS_REFUSED,
                        "exchange name '%.*s' contains reserved prefix "
                        "'amq.*'",
                        n, name);
        x = wr_vhost_add_exchange(vh, d->name, type, d->durable, d->auto_delete,
                                  d->internal, d->args);
        if (x == NULL)
            return fail(err, WR_REPLY_INTERNAL_ERROR, "out of memory");
        *created = true;
        *out = x;
        return WR_OK;
    }
    /* RabbitMQ's assert_equivalence: type, durable, auto_delete, internal
     * must match the existing exchange. */
    if (x->type != type) {
        what = "type";
        got = type->name;
        cur = x->type->name;
    } else if (x->durable != d->durable) {
        what = "durable";
        got = yn(d->durable);
        cur = yn(x->durable);
    } else if (x->auto_delete != d->auto_delete) {
        what = "auto_delete";
        got = yn(d->auto_delete);
        cur = yn(x->auto_delete);
    } else if (x->internal != d->internal) {
        what = "internal";
        got = yn(d->internal);
        cur = yn(x->internal);
    }
    if (what)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "inequivalent arg '%s' for exchange '%.*s' in vhost "
                    "'%s': received '%s' but current is '%s'",
                    what, n, name, vh->name, got, cur);
    /* RabbitMQ compares alternate-exchange too (assert_args_equivalence). */
    {
        struct wr_value v,
            have = {.type = WR_FT_LONGSTR, .v.str = x->alternate};
        bool given = wr_table_get(d->args, "alternate-exchange", &v) == WR_OK &&
                     v.type == WR_FT_LONGSTR;
        char neq[400];

        if (given != x->has_alternate ||
            (given && !wr_bytes_eq(v.v.str, x->alternate))) {
            neq_text(&v, given, &have, x->has_alternate, neq, sizeof(neq));
            return fail(err, WR_REPLY_PRECONDITION_FAILED,
                        "inequivalent arg 'alternate-exchange' for exchange "
                        "'%.*s' in vhost '%s': %s",
                        n, name, vh->name, neq);
        }
    }
    *out = x;
    return WR_OK;
}

int
wr_vhost_remove_exchange(struct wr_vhost *vh, struct wr_bytes name,
                         bool if_unused, struct wr_op_err *err)
{
    struct wr_exchange *x;

    /* RabbitMQ's texts (rabbit_channel, exchange.delete). */
    if (name.len == 0)
        return fail(err, WR_REPLY_ACCESS_REFUSED,
                    "operation not permitted on the default exchange");
    if (reserved_name(name))
        return fail(err, WR_REPLY_ACCESS_REFUSED,
                    "deletion of system exchange '%.*s' in vhost '%s' not "
                    "allowed",
                    (int)name.len, name.ptr, vh->name);
    x = wr_vhost_exchange(vh, name);
    if (x == NULL)
        return fail(err, WR_REPLY_NOT_FOUND, "no exchange '%.*s' in vhost '%s'",
                    (int)name.len, name.ptr, vh->name);
    if (if_unused && x->binding_count > 0)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "exchange '%s' in vhost '%s' in use", x->name, vh->name);
    wr_vhost_delete_exchange(vh, x);
    return WR_OK;
}

/* ---- queues ------------------------------------------------------------- */

/* Arguments RabbitMQ compares when a queue is redeclared. */
static const char *const equiv_args[] = {
    "x-max-priority",
    "x-message-ttl",
    "x-expires",
    "x-max-length",
    "x-max-length-bytes",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-overflow",
    "x-queue-type",
    "x-single-active-consumer",
    "x-delivery-limit",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
    "x-queue-leader-locator",
};

static bool
value_equal(const struct wr_value *a, const struct wr_value *b)
{
    int64_t x, y;

    if (wr_value_int(a, &x) == WR_OK && wr_value_int(b, &y) == WR_OK)
        return x == y;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return wr_bytes_eq(a->v.str, b->v.str);
    case WR_FT_BOOL:
        return a->v.b == b->v.b;
    }
    return false;
}

/* Returns the first argument whose value differs, or NULL; then why is
 * RabbitMQ's "received X but current is Y" for it. */
static const char *
args_differ(struct wr_queue *q, struct wr_table given, char *why,
            size_t why_len)
{
    struct wr_table cur = {q->raw_args, q->raw_args_len};

    for (size_t i = 0; i < WR_ARRAY_LEN(equiv_args); i++) {
        struct wr_value a, b;
        bool ha = wr_table_get(given, equiv_args[i], &a) == WR_OK;
        bool hb = wr_table_get(cur, equiv_args[i], &b) == WR_OK;
        if (ha != hb || (ha && !value_equal(&a, &b))) {
            neq_text(&a, ha, &b, hb, why, why_len);
            return equiv_args[i];
        }
    }
    return NULL;
}

int
wr_vhost_queue_check_access(struct wr_vhost *vh, struct wr_queue *q,
                            struct wr_conn *requester, struct wr_op_err *err)
{
    if (q->exclusive && q->exclusive_owner && q->exclusive_owner != requester)
        return fail(err, WR_REPLY_RESOURCE_LOCKED,
                    "cannot obtain exclusive access to locked queue '%s' "
                    "in vhost '%s'. It could be originally declared on "
                    "another connection or the exclusive property value "
                    "does not match that of the original declaration.",
                    q->name, vh->name);
    return WR_OK;
}

int
wr_vhost_declare_queue(struct wr_vhost *vh, const struct wr_queue_decl *d,
                       struct wr_conn *requester, struct wr_queue **out,
                       bool *created, struct wr_op_err *err)
{
    struct wr_queue *q;
    struct wr_queue_args args;
    struct wr_args_error why = {0};
    const char *what;
    char neq[400];
    int n = (int)d->name.len;
    const char *name = (const char *)d->name.ptr;

    *created = false;
    if (!d->allow_reserved && reserved_name(d->name))
        return fail(err, WR_REPLY_ACCESS_REFUSED,
                    "queue name '%.*s' contains reserved prefix 'amq.*'", n,
                    name);
    q = wr_vhost_queue(vh, d->name);
    if (q) {
        if (wr_vhost_queue_check_access(vh, q, requester, err) != WR_OK)
            return WR_ERR_INVALID;
        if (q->exclusive != d->exclusive)
            /* RabbitMQ treats this as a lock conflict. */
            return fail(err, WR_REPLY_RESOURCE_LOCKED,
                        "cannot obtain exclusive access to locked queue "
                        "'%s' in vhost '%s'. It could be originally "
                        "declared on another connection or the exclusive "
                        "property value does not match that of the "
                        "original declaration.",
                        q->name, vh->name);
        /* RabbitMQ's text: "inequivalent arg 'durable' for queue 'q' in
         * vhost '/': received 'true' but current is 'false'" */
        if (q->durable != d->durable || q->auto_delete != d->auto_delete) {
            bool dur = q->durable != d->durable;
            bool now = dur ? d->durable : d->auto_delete;
            snprintf(neq, sizeof(neq), "received '%s' but current is '%s'",
                     now ? "true" : "false", now ? "false" : "true");
            what = dur ? "durable" : "auto_delete";
        } else {
            what = args_differ(q, d->args, neq, sizeof(neq));
        }
        if (what)
            return fail(err, WR_REPLY_PRECONDITION_FAILED,
                        "inequivalent arg '%s' for queue '%s' in vhost '%s': "
                        "%s",
                        what, q->name, vh->name, neq);
        wr_queue_touch(q); /* a redeclare counts as use (x-expires) */
        *out = q;
        return WR_OK;
    }
    if (wr_limit_reached(vh->max_queues, vh->queues.count)) {
        /* RabbitMQ enforces the limit on new queues only. */
        fail(err, WR_REPLY_PRECONDITION_FAILED,
             "cannot declare queue '%.*s': queue limit in vhost '%s' (%lld) "
             "is reached",
             n, name, vh->name, (long long)vh->max_queues);
        err->bare = true;
        return WR_ERR_INVALID;
    }
    if (wr_queue_args_parse(d->args, &args, &why) != WR_OK) {
        if (why.of_type)
            return fail(err, WR_REPLY_PRECONDITION_FAILED,
                        "invalid arg '%s' for queue '%.*s' in vhost '%s' of "
                        "queue type %s",
                        why.arg, n, name, vh->name, why.why);
        /* RabbitMQ's text: "invalid arg 'x-message-ttl' for queue 'q' in
         * vhost '/': {value_negative,-1}" */
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "invalid arg '%s' for queue '%.*s' in vhost '%s': %s",
                    why.arg ? why.arg : "?", n, name, vh->name, why.why);
    }
    if (args.stream && (d->exclusive || d->auto_delete || !d->durable))
        /* rabbit_queue_type_util's checks, in its order */
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "invalid property '%s' for queue '%.*s' in vhost '%s'",
                    d->exclusive     ? "exclusive-owner"
                    : d->auto_delete ? "auto-delete"
                                     : "non-durable",
                    n, name, vh->name);
    q = wr_vhost_add_queue(vh, d->name, &args, d->args, d->durable,
                           d->exclusive, d->auto_delete,
                           d->exclusive ? requester : NULL);
    if (q == NULL)
        return fail(err, WR_REPLY_INTERNAL_ERROR, "out of memory");
    *created = true;
    *out = q;
    return WR_OK;
}

int
wr_vhost_remove_queue(struct wr_vhost *vh, struct wr_bytes name,
                      struct wr_conn *requester, bool if_unused, bool if_empty,
                      uint64_t *count, struct wr_op_err *err)
{
    struct wr_queue *q = wr_vhost_queue(vh, name);

    *count = 0;
    if (q == NULL)
        return fail(err, WR_REPLY_NOT_FOUND, "no queue '%.*s' in vhost '%s'",
                    (int)name.len, name.ptr, vh->name);
    if (wr_vhost_queue_check_access(vh, q, requester, err) != WR_OK)
        return WR_ERR_INVALID;
    if (if_unused && q->consumer_count > 0)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "queue '%s' in vhost '%s' in use", q->name, vh->name);
    if (if_empty && wr_queue_counts(q)->ready > 0)
        return fail(err, WR_REPLY_PRECONDITION_FAILED,
                    "queue '%s' in vhost '%s' not empty", q->name, vh->name);
    *count = wr_vhost_delete_queue(vh, q);
    return WR_OK;
}

/* ---- bindings ----------------------------------------------------------- */

/* Resolves both ends of a binding in RabbitMQ's order of checks
 * (rabbit_channel:binding_action, then rabbit_binding's lookup): 403 for
 * the default exchange at either end, 404 for a missing source, 404 for a
 * missing destination. Exclusive access (405) is left to the caller. */
static int
binding_ends(struct wr_vhost *vh, enum wr_dest_kind kind, struct wr_bytes src,
             struct wr_bytes dest, struct wr_exchange **xs, void **d,
             struct wr_op_err *err)
{
    bool queue = kind == WR_DEST_QUEUE;

    if (src.len == 0 || (!queue && dest.len == 0))
        return fail(err, WR_REPLY_ACCESS_REFUSED,
                    "operation not permitted on the default exchange");
    *xs = wr_vhost_exchange(vh, src);
    if (*xs == NULL)
        return fail(err, WR_REPLY_NOT_FOUND, "no exchange '%.*s' in vhost '%s'",
                    (int)src.len, src.ptr, vh->name);
    *d = queue ? (void *)wr_vhost_queue(vh, dest)
               : (void *)wr_vhost_exchange(vh, dest);
    if (*d == NULL)
        return fail(err, WR_REPLY_NOT_FOUND, "no %s '%.*s' in vhost '%s'",
                    queue ? "queue" : "exchange", (int)dest.len, dest.ptr,
                    vh->name);
    return WR_OK;
}

int
wr_vhost_bind(struct wr_vhost *vh, enum wr_dest_kind kind, struct wr_bytes src,
              struct wr_bytes dest, struct wr_bytes key, struct wr_table args,
              struct wr_conn *requester, struct wr_op_err *err)
{
    struct wr_exchange *xs = NULL;
    void *d;
    const char *why = NULL;
    int rc = binding_ends(vh, kind, src, dest, &xs, &d, err);

    if (rc != WR_OK)
        return rc;
    if (kind == WR_DEST_QUEUE &&
        wr_vhost_queue_check_access(vh, d, requester, err) != WR_OK)
        return WR_ERR_INVALID;
    if (wr_exchange_bind(xs, kind, d, key, args, &why) != WR_OK)
        return fail(err, WR_REPLY_PRECONDITION_FAILED, "%s",
                    why ? why : "cannot bind");
    wr_defs_bound(vh, true, xs, kind, d, key, args);
    return WR_OK;
}

int
wr_vhost_unbind(struct wr_vhost *vh, enum wr_dest_kind kind,
                struct wr_bytes src, struct wr_bytes dest, struct wr_bytes key,
                struct wr_table args, struct wr_conn *requester, bool *existed,
                struct wr_op_err *err)
{
    struct wr_exchange *xs = NULL;
    struct wr_binding *b;
    void *d;
    int rc = binding_ends(vh, kind, src, dest, &xs, &d, err);

    *existed = false;
    /* RabbitMQ (rabbit_binding:remove): unbinding what is not bound is
     * unbind-ok, even when an end is gone or the queue is another
     * connection's. aio-pika's RPC.close unbinds its auto-delete reply
     * queue after cancelling its consumer has deleted it. */
    if (rc == WR_ERR_NOT_FOUND)
        return WR_OK;
    if (rc != WR_OK)
        return rc;
    b = wr_exchange_find_binding(xs, kind, d, key, args);
    if (b == NULL)
        return WR_OK;
    if (kind == WR_DEST_QUEUE &&
        wr_vhost_queue_check_access(vh, d, requester, err) != WR_OK)
        return WR_ERR_INVALID;
    wr_defs_bound(vh, false, xs, kind, d, key, args);
    wr_binding_free(b);
    *existed = true;
    wr_vhost_exchange_maybe_autodelete(vh, xs);
    return WR_OK;
}

/* ---- the registries, low level: add and delete without checks -------- */

struct wr_exchange *
wr_vhost_add_exchange(struct wr_vhost *vh, struct wr_bytes name,
                      const struct wr_exch_type *type, bool durable,
                      bool auto_delete, bool internal, struct wr_table args)
{
    struct wr_exchange *x = wr_exchange_new(name, type, args);

    if (x == NULL)
        return NULL;
    x->durable = durable;
    x->auto_delete = auto_delete;
    x->internal = internal;
    x->broker = vh;
    wr_hmap_put(&vh->exchanges, name.ptr, name.len, x, NULL);
    if (vh->policies.n > 0)
        wr_vhost_policy_exchange(vh, x);
    wr_defs_exchange_added(vh, x);
    return x;
}

void
wr_vhost_delete_exchange(struct wr_vhost *vh, struct wr_exchange *x)
{
    wr_defs_exchange_deleted(vh, x);
    if (vh->srv->stats_forget)
        vh->srv->stats_forget(vh->srv, vh->name, false, x->name);
    wr_hmap_del(&vh->exchanges, x->name, x->name_len);
    wr_vhost_delayed_stop(x);
    wr_exchange_free(x);
}

void
wr_vhost_exchange_maybe_autodelete(struct wr_vhost *vh, struct wr_exchange *x)
{
    if (x->auto_delete && x->binding_count == 0)
        wr_vhost_delete_exchange(vh, x);
}

static void
source_empty(void *ctx, struct wr_exchange *x)
{
    wr_vhost_exchange_maybe_autodelete(ctx, x);
}

struct wr_queue *
wr_vhost_add_queue(struct wr_vhost *vh, struct wr_bytes name,
                   const struct wr_queue_args *args, struct wr_table raw_args,
                   bool durable, bool exclusive, bool auto_delete,
                   struct wr_conn *owner)
{
    struct wr_queue *q = wr_queue_new(name, args, raw_args);
    struct wr_bqueue *bq;

    if (q == NULL)
        return NULL;
    bq = wr_calloc(1, sizeof(*bq));
    bq->q = q;
    bq->vh = vh;
    wr_list_init(&bq->excl_link);
    q->broker = bq;
    q->hooks = &wr_bqueue_hooks;
    q->durable = durable;
    q->exclusive = exclusive;
    q->auto_delete = auto_delete;
    if (exclusive && owner) {
        /* The owner links bq->excl_link into its own list. */
        bq->owner = owner;
        q->exclusive_owner = owner;
    }
    wr_hmap_put(&vh->queues, name.ptr, name.len, q, NULL);
    wr_vhost_policy_new_queue(vh, q);
    wr_bqueue_timers_init(bq);
    wr_defs_queue_added(vh, q);
    return q;
}

uint64_t
wr_vhost_delete_queue(struct wr_vhost *vh, struct wr_queue *q)
{
    struct wr_bqueue *bq = q->broker;
    struct wr_list *pos, *tmp;
    uint64_t n;

    if (q->deleted)
        return 0;
    wr_defs_queue_deleted(vh, q);
    /* A stream's files go with it, unless the broker is only stopping. */
    wr_vhost_stream_detach(vh, q,
                           vh->srv->defs_log && !vh->srv->defs_log->closed);
    /* Marks it deleted (it dead-letters nothing from now on, as in
     * RabbitMQ) and drops its ready messages. */
    n = wr_queue_delete(q);
    if (vh->srv->stats_forget)
        vh->srv->stats_forget(vh->srv, vh->name, true, q->name);
    wr_hmap_del(&vh->queues, q->name, q->name_len);
    /* Keep the vhost's message counters monotonic (/metrics). */
    vh->stats.gone_delivered += wr_queue_counts(q)->delivered;
    vh->stats.gone_acked += wr_queue_counts(q)->acked;
    vh->stats.gone_redelivered += wr_queue_counts(q)->redelivered;
    /* RabbitMQ's consumer_cancel_notify: clients hear basic.cancel. */
    wr_list_for_each_safe(pos, tmp, &q->consumers)
    {
        struct wr_consumer *wc = WR_CONTAINER_OF(pos, struct wr_consumer, link);
        if (wc->ops->gone) /* a shovel's */
            wc->ops->gone(wc);
        else
            vh->srv->consumer_cancel(wc, true);
    }
    wr_queue_unbind_all(q, source_empty, vh);
    if (bq) {
        wr_bqueue_timers_free(bq);
        wr_list_remove(&bq->excl_link);
        wr_free(bq);
        q->broker = NULL;
    }
    q->exclusive_owner = NULL;
    wr_queue_unref(&q);
    return n;
}
