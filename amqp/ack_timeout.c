/* SPDX-License-Identifier: MIT */
/* RabbitMQ's consumer_timeout (its "delivery acknowledgement timeout"): a
 * channel that holds a delivery unacknowledged for longer is closed with
 * 406 PRECONDITION_FAILED, which requeues what it held. A timer looks at
 * each channel's oldest unsettled delivery (the front of its unacked
 * ring), so a check costs one look per open channel. */
#include "amqp_internal.h"

#define TICK_MS 1000 /* RabbitMQ checks on its channel tick, coarser */

static int64_t
tick_ms(const struct wr_server *s)
{
    int64_t t = s->cfg.consumer_timeout / 4;

    return t < 50 ? 50 : t > TICK_MS ? TICK_MS : t;
}

static void
check_chan(struct wr_chan *ch, int64_t now, uint32_t timeout)
{
    const struct wr_unacked *u;

    if (ch == NULL || ch->closing || ch->first_tag == ch->next_tag)
        return;
    u = &ch->ring[ch->first_tag & (ch->ring_cap - 1)];
    if (u->msg == NULL || now - u->delivered < (int64_t)timeout)
        return;
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, 0,
                  "delivery acknowledgement on channel %u timed out. "
                  "Timeout value used: %u ms. This timeout value can be "
                  "configured, see consumers doc guide to learn more",
                  ch->id, timeout);
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

    if (s->cfg.consumer_timeout == 0)
        return;
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
