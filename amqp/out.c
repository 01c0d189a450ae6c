/* SPDX-License-Identifier: MIT */
/* Connection output: frames and raw bytes queued for the peer, the close timer,
 * and the server's deferred flush and reap events. Calls nothing else in amqp/:
 * every other file may call it. */
#include "amqp_internal.h"

#include <event2/buffer.h>
#include <string.h>

/* ---- the delivery stage ----------------------------------------------- *
 * evbuffer_add costs about 250 instructions whatever it adds (its chain
 * logic and the output callback), as much as encoding a small delivery.
 * Small deliveries are copied back to back into one buffer of the server's
 * instead, and the buffer goes into the connection's output in one add:
 * when it is full, when another connection delivers, before anything else
 * is added to that output or its length is read (wr_conn_output,
 * wr_conn_send_raw), and at the end of the loop turn (wr_conn_flush_all).
 * So the bytes keep their order. Plain sockets only (TLS writes through
 * libevent's filter as the output grows). */

void
wr_conn_stage_flush(struct wr_server *s)
{
    struct wr_conn *c = s->stage_conn;

    if (c == NULL)
        return;
    s->stage_conn = NULL;
    evbuffer_add(bufferevent_get_output(c->bev), s->stage, s->stage_len);
    s->stage_len = 0;
}

void
wr_conn_stage_discard(struct wr_conn *c)
{
    if (c->srv->stage_conn == c) {
        c->srv->stage_conn = NULL;
        c->srv->stage_len = 0;
    }
}

bool
wr_conn_stage(struct wr_conn *c, const void *p, size_t n)
{
    struct wr_server *s = c->srv;

    if (!c->direct_write || n > WR_CONN_STAGE_SIZE)
        return false;
    if (s->stage == NULL)
        s->stage = wr_malloc(WR_CONN_STAGE_SIZE);
    if (s->stage_conn != c || s->stage_len + n > WR_CONN_STAGE_SIZE)
        wr_conn_stage_flush(s);
    if (s->stage_conn == NULL) {
        /* written at the end of this turn, as the output callback does it
         * for bytes added to the output */
        s->stage_conn = c;
        if (wr_list_empty(&c->flush_link)) {
            if (wr_list_empty(&s->flush))
                wr_server_schedule_flush(s);
            wr_list_push_back(&s->flush, &c->flush_link);
        }
    }
    memcpy(s->stage + s->stage_len, p, n);
    s->stage_len += n;
    return true;
}

size_t
wr_conn_output_length(struct wr_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) +
           (c->srv->stage_conn == c ? c->srv->stage_len : 0);
}

struct evbuffer *
wr_conn_output(struct wr_conn *c)
{
    if (c->srv->stage_conn == c)
        wr_conn_stage_flush(c->srv);
    return bufferevent_get_output(c->bev);
}

void
wr_conn_send_raw(struct wr_conn *c, const void *p, size_t n)
{
    if (c->state >= WR_CONN_FLUSHING)
        return;
    evbuffer_add(wr_conn_output(c), p, n);
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
    /* A pending event's priority can change, an active one's not (its
     * callback about to run): then the next consume tries again. */
    if (c->rev && event_priority_set(c->rev, WR_PRIO_CONSUMERS) != 0)
        return;
    c->preferred = true;
    bufferevent_priority_set(c->bev, WR_PRIO_CONSUMERS);
}

void
wr_conn_read_on(struct wr_conn *c)
{
    if (c->rev)
        event_add(c->rev, NULL);
    else
        bufferevent_enable(c->bev, EV_READ);
}

void
wr_conn_read_off(struct wr_conn *c)
{
    if (c->rev)
        event_del(c->rev);
    else
        bufferevent_disable(c->bev, EV_READ);
}

void
wr_conn_read_again(struct wr_conn *c)
{
    /* EV_TIMEOUT (rev has no timeout): sock_read_cb reads the socket only
     * when it was called for EV_READ, or reading is on. */
    if (c->rev)
        event_active(c->rev, EV_TIMEOUT, 0);
    else
        bufferevent_trigger(c->bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS |
                                BEV_TRIG_DEFER_CALLBACKS);
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
    wr_server_flush_soon(s);
}
