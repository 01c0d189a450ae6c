/* SPDX-License-Identifier: MIT */
/* Credit flow, as RabbitMQ's credit_flow: a publisher whose messages land
 * in a queue that its consumers are not keeping up with is read from more
 * slowly, so that it publishes at the rate the queue delivers and the
 * backlog stays bounded. No connection.blocked, nothing dropped: the
 * connection's socket is simply not read until the queue has drained
 * (TCP pushes back on the publisher). Queues without consumers do not
 * throttle: their backlog is wanted (the memory watermark bounds it). */
#include "amqp_internal.h"

#include <event2/bufferevent.h>

/* A consumed queue with more ready messages (or bytes) than this holds
 * its publishers back... */
#define CREDIT_HIGH 4096
#define CREDIT_HIGH_BYTES (8u << 20)
/* ...until it is down to this. */
#define CREDIT_LOW 2048
#define CREDIT_LOW_BYTES (4u << 20)
/* Consumers that take nothing for this long (stuck, or waiting for this
 * very publisher) do not hold it back: the queue buffers, as one without
 * consumers does, until they take something again. */
#define STALL_MS 200
#define POLL_MS 10
/* The API shows "flow" for this long after a throttle, as RabbitMQ's
 * credit_flow:state/0 does. */
#define FLOW_STATE_MS 1000

static bool
saturated(const struct wr_queue *q)
{
    return q->consumer_count > 0 && !q->deleted &&
           (wr_queue_counts(q)->ready > CREDIT_HIGH ||
            wr_queue_counts(q)->ready_bytes > CREDIT_HIGH_BYTES);
}

static bool
drained(const struct wr_queue *q)
{
    return q->consumer_count == 0 || q->deleted ||
           (wr_queue_counts(q)->ready <= CREDIT_LOW &&
            wr_queue_counts(q)->ready_bytes <= CREDIT_LOW_BYTES);
}

static void
arm(struct wr_server *s)
{
    struct timeval tv = {0, POLL_MS * 1000};

    if (!evtimer_pending(s->credit_ev, NULL))
        evtimer_add(s->credit_ev, &tv);
}

static void
resume(struct wr_conn *c, int64_t now)
{
    wr_list_remove(&c->credit_link);
    wr_queue_unref(&c->credit_queue);
    c->credit_last = now;
    if (c->state != WR_CONN_OPEN)
        return;
    /* Heartbeats were not read while throttled. */
    c->last_recv = wr_now();
    if (!c->flow_blocked && !c->read_paused)
        wr_conn_read_on(c);
    /* Frames read before the throttle wait in the input buffer: run the
     * read callback for them now, not when the next bytes arrive. */
    wr_conn_read_again(c);
}

void
wr_credit_after_publish(struct wr_conn *c, const struct wr_route_set *rs)
{
    if (c->credit_queue != NULL)
        return;
    for (size_t i = 0; i < rs->count; i++) {
        struct wr_queue *q = rs->queues[i];

        if (!saturated(q) ||
            (c->credit_exempt == q &&
             c->credit_exempt_mark == wr_queue_counts(q)->delivered))
            continue;
        c->credit_queue = wr_queue_ref(q);
        c->credit_mark = wr_queue_counts(q)->delivered;
        c->credit_since = c->credit_last = wr_now_ms();
        wr_conn_read_off(c);
        wr_list_push_back(&c->srv->credit_waiters, &c->credit_link);
        arm(c->srv);
        return;
    }
}

void
wr_credit_check(struct wr_server *s)
{
    struct wr_list *pos, *tmp;
    int64_t now;

    if (wr_list_empty(&s->credit_waiters))
        return;
    now = wr_now_ms();
    wr_list_for_each_safe(pos, tmp, &s->credit_waiters)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, credit_link);
        struct wr_queue *q = c->credit_queue;

        if (c->state != WR_CONN_OPEN || drained(q)) {
            resume(c, now);
        } else if (wr_queue_counts(q)->delivered != c->credit_mark) {
            c->credit_mark = wr_queue_counts(q)->delivered;
            c->credit_since = now;
        } else if (now - c->credit_since >= STALL_MS) {
            c->credit_exempt = q;
            c->credit_exempt_mark = wr_queue_counts(q)->delivered;
            resume(c, now);
        }
    }
    if (!wr_list_empty(&s->credit_waiters))
        arm(s);
}

bool
wr_credit_in_flow(const struct wr_conn *c, int64_t now_ms)
{
    return c->credit_queue != NULL ||
           (c->credit_last != 0 && now_ms - c->credit_last < FLOW_STATE_MS);
}

void
wr_credit_forget(struct wr_conn *c)
{
    if (c->credit_queue == NULL)
        return;
    wr_list_remove(&c->credit_link);
    wr_queue_unref(&c->credit_queue);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wr_credit_check(arg);
}

void
wr_credit_init(struct wr_server *s)
{
    wr_list_init(&s->credit_waiters);
    s->credit_ev = evtimer_new(s->base, poll_cb, s);
}

void
wr_credit_cleanup(struct wr_server *s)
{
    if (s->credit_ev)
        event_free(s->credit_ev);
    s->credit_ev = NULL;
}
