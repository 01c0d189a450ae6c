/* SPDX-License-Identifier: MIT */
/* The amqp/ layer's share of the server: the deferred reaper of closed
 * connections, the end-of-turn flush of their output, and the consumer
 * cancel the registry calls when it deletes a queue. */
#include "amqp_internal.h"

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;
    struct wr_list *pos, *tmp;

    (void)fd;
    (void)what;
    /* Also called from the SIGUSR1 handler, never from a connection's own
     * callback: freeing here is safe. */
    wr_list_for_each_safe(pos, tmp, &s->reap)
    {
        wr_list_remove(pos);
        wr_conn_free(WR_CONTAINER_OF(pos, struct wr_conn, link));
    }
    if (s->stopping && wr_list_empty(&s->conns))
        event_base_loopexit(s->base, NULL);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    /* group commit: what this turn appended goes out in one write */
    wr_persist_flush(arg);
    wr_conn_flush_all(arg);
    wr_credit_check(arg);
}

void
wr_amqp_reap(struct wr_server *s)
{
    reap_cb(-1, 0, s);
}

/* The registry deletes a queue: its consumers are cancelled here. */
static void
consumer_cancel(struct wr_consumer *c, bool notify)
{
    wr_chan_cancel_consumer(WR_CONTAINER_OF(c, struct wr_bconsumer, base),
                            notify);
}

void
wr_amqp_init(struct wr_server *s)
{
    s->consumer_cancel = consumer_cancel;
    wr_list_init(&s->store_waiters);
    s->msgs_durable_cb = wr_amqp_store_moved;
    s->reap_ev = event_new(s->base, -1, 0, reap_cb, s);
    s->flush_ev = event_new(s->base, -1, 0, flush_cb, s);
    event_priority_set(s->flush_ev, WR_PRIO_CONSUMERS);
    s->flush_low = event_new(s->base, -1, 0, flush_cb, s); /* default prio */
}
