/* SPDX-License-Identifier: MIT */
/* The queue API common to every kind: lifetime, queue arguments, push /
 * requeue / pop / purge, and round-robin dispatch to consumers. */
#include "queues_internal.h"

#include <string.h>

/* ---- queue arguments --------------------------------------------------- */

/* RabbitMQ (rabbit_amqqueue:check_max_priority_arg) takes any integer type
 * from 0 to 255; 0 makes a single-level queue, which behaves as a FIFO. */
#define MAX_PRIORITY_ERR "x-max-priority must be an integer between 0 and 255"

static bool
is_int_type(uint8_t t)
{
    switch (t) {
    case WR_FT_I8:
    case WR_FT_U8:
    case WR_FT_I16:
    case WR_FT_U16:
    case WR_FT_I32:
    case WR_FT_U32:
    case WR_FT_I64:
    case WR_FT_U64:
        return true;
    }
    return false;
}

int
wr_queue_args_parse(struct wr_table args, struct wr_queue_args *out,
                    const char **err)
{
    struct wr_value v;
    int64_t n;

    memset(out, 0, sizeof(*out));
    if (err)
        *err = NULL;
    if (wr_table_get(args, "x-max-priority", &v) == WR_OK) {
        if (!is_int_type(v.type) || wr_value_int(&v, &n) != WR_OK || n < 0 ||
            n > 255) {
            if (err)
                *err = MAX_PRIORITY_ERR;
            return WR_ERR_INVALID;
        }
        out->max_priority = (uint8_t)n;
    }
    /* RabbitMQ: non-negative integers; 0 keeps nothing. */
    if (wr_table_get(args, "x-max-length", &v) == WR_OK) {
        if (!is_int_type(v.type) || wr_value_int(&v, &n) != WR_OK || n < 0) {
            if (err)
                *err = "x-max-length must be a non-negative integer";
            return WR_ERR_INVALID;
        }
        out->has_max_length = true;
        out->max_length = (uint64_t)n;
    }
    if (wr_table_get(args, "x-max-length-bytes", &v) == WR_OK) {
        if (!is_int_type(v.type) || wr_value_int(&v, &n) != WR_OK || n < 0) {
            if (err)
                *err = "x-max-length-bytes must be a non-negative integer";
            return WR_ERR_INVALID;
        }
        out->has_max_bytes = true;
        out->max_bytes = (uint64_t)n;
    }
    return WR_OK;
}

/* ---- lifetime ----------------------------------------------------------- */

struct wr_queue *
wr_queue_new(struct wr_bytes name, const struct wr_queue_args *args,
             struct wr_table raw_args)
{
    struct wr_queue *q = wr_calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->refcount = 1;
    wr_list_init(&q->consumers);
    wr_list_init(&q->bindings_in);
    if (args)
        q->args = *args;
    q->kind = q->args.max_priority > 0 ? &wr_queue_prio : &wr_queue_fifo;
    q->name = wr_strndup(name.ptr, name.len);
    if (q->name == NULL)
        goto fail;
    q->name_len = name.len;
    if (raw_args.len > 0) {
        q->raw_args = wr_malloc(raw_args.len);
        if (q->raw_args == NULL)
            goto fail;
        memcpy(q->raw_args, raw_args.ptr, raw_args.len);
        q->raw_args_len = raw_args.len;
    }
    if (q->kind->init(q) != WR_OK)
        goto fail;
    return q;
fail:
    wr_free(q->raw_args);
    wr_free(q->name);
    wr_free(q);
    return NULL;
}

struct wr_queue *
wr_queue_ref(struct wr_queue *q)
{
    q->refcount++;
    return q;
}

void
wr_queue_unref(struct wr_queue **qp)
{
    struct wr_queue *q = *qp;

    *qp = NULL;
    wr_assert(q != NULL && q->refcount > 0);
    if (--q->refcount > 0)
        return;
    /* Bindings point at the queue: exchanges/ must have dropped them. */
    wr_assert(wr_list_empty(&q->bindings_in));
    while (!wr_list_empty(&q->consumers)) {
        struct wr_consumer *c =
            WR_CONTAINER_OF(q->consumers.next, struct wr_consumer, link);

        wr_list_remove(&c->link);
        c->queue = NULL;
    }
    q->kind->cleanup(q);
    wr_free(q->raw_args);
    wr_free(q->name);
    wr_free(q);
}

/* ---- messages in and out ------------------------------------------------ */

int
wr_queue_push(struct wr_queue *q, struct wr_msg *m)
{
    struct wr_qentry e = {wr_msg_ref(m), false};
    int rc = q->kind->push(q, e);

    if (rc != WR_OK) {
        wr_msg_unref(&e.msg);
        return rc;
    }
    q->ready++;
    q->ready_bytes += m->body_size;
    /* Overflow drop-head: the oldest ready messages make room. */
    while ((q->args.has_max_length && q->ready > q->args.max_length) ||
           (q->args.has_max_bytes && q->ready_bytes > q->args.max_bytes)) {
        struct wr_qentry old;
        if (!q->kind->pop(q, &old))
            break;
        q->ready--;
        q->ready_bytes -= old.msg->body_size;
        q->n_dropped++;
        wr_msg_unref(&old.msg);
    }
    return WR_OK; /* n_published is the broker's: it counts publishes */
}

void
wr_queue_requeue(struct wr_queue *q, struct wr_msg *m)
{
    struct wr_qentry e = {m, true};

    /* unacked is the broker's to decrement: it knows which delivery. */
    if (q->deleted || q->kind->push_front(q, e) != WR_OK) {
        wr_msg_unref(&e.msg);
        return;
    }
    q->ready++;
    q->ready_bytes += m->body_size;
    q->n_redelivered++;
}

/* Takes the next entry and updates the ready counters. */
static bool
take(struct wr_queue *q, struct wr_qentry *e)
{
    if (!q->kind->pop(q, e))
        return false;
    wr_assert(q->ready > 0 && q->ready_bytes >= e->msg->body_size);
    q->ready--;
    q->ready_bytes -= e->msg->body_size;
    return true;
}

bool
wr_queue_pop(struct wr_queue *q, struct wr_msg **m, bool *redelivered)
{
    struct wr_qentry e;

    if (!take(q, &e))
        return false;
    *m = e.msg; /* the broker counts basic.get in n_delivered */
    if (redelivered)
        *redelivered = e.redelivered;
    return true;
}

uint64_t
wr_queue_purge(struct wr_queue *q)
{
    struct wr_qentry e;
    uint64_t n = 0;

    while (take(q, &e)) {
        wr_msg_unref(&e.msg);
        n++;
    }
    return n;
}

/* ---- consumers and dispatch ------------------------------------------- */

/* The consumer after c in round-robin order (c itself if alone). */
static struct wr_consumer *
next_consumer(struct wr_queue *q, struct wr_consumer *c)
{
    struct wr_list *n = c->link.next;

    if (n == &q->consumers)
        n = n->next;
    return WR_CONTAINER_OF(n, struct wr_consumer, link);
}

void
wr_queue_consumer_add(struct wr_queue *q, struct wr_consumer *c)
{
    wr_list_push_back(&q->consumers, &c->link);
    c->queue = q;
    q->consumer_count++;
    q->had_consumer = true;
    if (q->cursor == NULL)
        q->cursor = c;
}

void
wr_queue_consumer_remove(struct wr_queue *q, struct wr_consumer *c)
{
    wr_assert(c->queue == q && q->consumer_count > 0);
    if (q->cursor == c)
        q->cursor = q->consumer_count > 1 ? next_consumer(q, c) : NULL;
    wr_list_remove(&c->link);
    c->queue = NULL;
    q->consumer_count--;
}

/* The first consumer from the cursor on that can take a message, or NULL
 * when a full pass finds none. */
static struct wr_consumer *
pick(struct wr_queue *q)
{
    struct wr_consumer *c = q->cursor;

    if (c == NULL)
        return NULL;
    for (uint32_t i = 0; i < q->consumer_count; i++) {
        if (c->ops->can_take(c))
            return c;
        c = next_consumer(q, c);
    }
    return NULL;
}

uint64_t
wr_queue_dispatch(struct wr_queue *q)
{
    struct wr_consumer *c;
    struct wr_qentry e;
    uint64_t n = 0;

    /* deliver() may re-enter the queue: remove consumers, push, requeue,
     * dispatch, even drop the last outside reference. Hold one of our own
     * and read the state afresh on every turn. */
    wr_queue_ref(q);
    while (!q->deleted && q->ready > 0 && (c = pick(q)) != NULL) {
        if (!take(q, &e))
            break;
        /* Move on before delivering, so the next message goes to the next
         * consumer even if deliver() changes the consumer list. */
        q->cursor = next_consumer(q, c);
        q->n_delivered++;
        n++;
        c->ops->deliver(c, q, e.msg, e.redelivered);
    }
    wr_queue_unref(&q);
    return n;
}
