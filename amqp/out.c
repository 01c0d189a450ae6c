/* SPDX-License-Identifier: MIT */
/* Connection output: frames and raw bytes queued for the peer, the close timer,
 * and the server's deferred flush and reap events. Calls nothing else in amqp/:
 * every other file may call it. */
#include "amqp_internal.h"

#include <event2/buffer.h>

struct evbuffer *
wr_conn_output(struct wr_conn *c)
{
    return bufferevent_get_output(c->bev);
}

void
wr_conn_send_raw(struct wr_conn *c, const void *p, size_t n)
{
    if (c->state >= WR_CONN_FLUSHING)
        return;
    evbuffer_add(bufferevent_get_output(c->bev), p, n);
    c->last_send = wr_now();
}

void
wr_conn_send_method(struct wr_conn *c, uint16_t ch, const struct wr_method *m)
{
    uint8_t buf[8192];
    size_t len;
    int rc = wr_method_frame_encode(ch, m, buf, sizeof(buf), &len);

    if (rc != WR_OK) {
        wr_log(WR_LOG_ERROR, "conn %llu: cannot encode %s: %s",
               (unsigned long long)c->id, wr_method_name(m->id),
               wr_strerror(rc));
        return;
    }
    wr_conn_send_raw(c, buf, len);
}

bool
wr_conn_can_deliver(const struct wr_conn *c)
{
    return c->state == WR_CONN_OPEN && !c->write_blocked;
}

void
wr_conn_prefer(struct wr_conn *c)
{
    if (c->preferred)
        return;
    c->preferred = true;
    bufferevent_priority_set(c->bev, WR_PRIO_CONSUMERS);
}

void
wr_conn_arm_timer(struct wr_conn *c, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->timer, &tv);
}

void
wr_server_schedule_reap(struct wr_server *s)
{
    event_active(s->reap_ev, 0, 0);
}

void
wr_server_schedule_flush(struct wr_server *s)
{
    event_active(s->flush_ev, 0, 0);
}
