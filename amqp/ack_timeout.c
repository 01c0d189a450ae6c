/* SPDX-License-Identifier: MIT */
/* RabbitMQ's consumer_timeout (its "delivery acknowledgement timeout"): a
 * channel that holds a delivery unacknowledged for longer is closed with
 * 406 PRECONDITION_FAILED, which requeues what it held. The timeout is
 * the queue's own (x-consumer-timeout, the consumer-timeout policy key:
 * RabbitMQ 3.12's) or else consumer_timeout. A timer looks at each
 * channel's oldest unsettled delivery (the front of its unacked ring): one
 * look per open channel; a channel that took deliveries from a queue with
 * its own timeout has its whole ring looked at. */
#include "amqp_internal.h"

#define TICK_MS 1000 /* RabbitMQ checks on its channel tick, coarser */

static int64_t
tick_ms(const struct wr_server *s)
{
    int64_t t = s->cfg.consumer_timeout / 4;

    if (s->cfg.consumer_timeout == 0)
        return TICK_MS;
    return t < 50 ? 50 : t > TICK_MS ? TICK_MS : t;
}

/* The timeout of a delivery from q (0 = none). */
static uint64_t
timeout_of(const struct wr_queue *q, uint32_t global)
{
    return q->eff.has_consumer_timeout ? q->eff.consumer_timeout : global;
}

static void
expire(struct wr_chan *ch, uint64_t timeout)
{
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, 0,
                  "delivery acknowledgement on channel %u timed out. "
                  "Timeout value used: %llu ms. This timeout value can be "
                  "configured, see consumers doc guide to learn more",
                  ch->id, (unsigned long long)timeout);
}

static void
check_chan(struct wr_chan *ch, int64_t now, uint32_t global)
{
    uint64_t last;

    if (ch == NULL || ch->closing || ch->first_tag == ch->next_tag)
        return;
    /* Deliveries are in tag order, so the front is the oldest: with one
     * timeout for all, it is the only one to look at. */
    last = ch->ctimeout_per_queue ? ch->next_tag : ch->first_tag + 1;
    for (uint64_t t = ch->first_tag; t < last; t++) {
        const struct wr_unacked *u = &ch->ring[t & (ch->ring_cap - 1)];
        uint64_t to;
        if (u->queue == NULL)
            continue;
        to = timeout_of(u->queue, global);
        if (to && now - u->delivered >= (int64_t)to) {
            expire(ch, to);
            return;
        }
    }
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;
    int64_t now = wr_now_ms();
    struct wr_list *pos, *tmp;

    (void)fd;
    (void)what;
    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if (c->state != WR_CONN_OPEN || c->open_chans == 0)
            continue;
        for (uint32_t i = 0; i < c->nchans; i++)
            check_chan(c->chans[i], now, s->cfg.consumer_timeout);
    }
}

void
wr_ack_timeout_init(struct wr_server *s)
{
    struct timeval tv;
    int64_t t = tick_ms(s);

    /* Always on: queues may have their own timeout when the global one
     * is off. */
    tv.tv_sec = (time_t)(t / 1000);
    tv.tv_usec = (suseconds_t)(t % 1000 * 1000);
    s->ctimeout_ev = event_new(s->base, -1, EV_PERSIST, tick_cb, s);
    event_add(s->ctimeout_ev, &tv);
}

void
wr_ack_timeout_cleanup(struct wr_server *s)
{
    if (s->ctimeout_ev)
        event_free(s->ctimeout_ev);
    s->ctimeout_ev = NULL;
}
