/* SPDX-License-Identifier: MIT */
/* Channel and connection errors: channel.close and connection.close with their
 * reply text, and the connection teardown, drop and flush-then-close that
 * follow. Every handler calls them; they call only the lifecycle and output
 * files below. */
#include "amqp_internal.h"

#include <event2/buffer.h>
#include <stdarg.h>

#define CLOSE_OK_WAIT 3 /* seconds to wait for connection.close-ok */

void
wr_chan_error(struct wr_chan *ch, uint16_t code, uint32_t method_id,
              const char *fmt, ...)
{
    char text[256];
    struct wr_method m = {.id = WR_CHANNEL_CLOSE};
    va_list ap;

    if (ch->closing)
        return;
    va_start(ap, fmt);
    wr_reply_vformat(text, sizeof(text), code, fmt, ap);
    va_end(ap);
    wr_log(WR_LOG_INFO, "conn %llu %s ch %u: channel error %u %s",
           (unsigned long long)ch->conn->id, ch->conn->peer, ch->id, code,
           text);
    m.u.channel_close.reply_code = code;
    m.u.channel_close.reply_text = wr_bytes_str(text);
    m.u.channel_close.class_id = WR_METHOD_CLASS(method_id);
    m.u.channel_close.method_id = WR_METHOD_INDEX(method_id);
    /* Flush confirms owed for publishes before the error. */
    wr_chan_flush_confirms(ch);
    wr_conn_send_method(ch->conn, ch->id, &m);
    ch->closing = true;
    wr_chan_release(ch);
}

void
wr_chan_op_error(struct wr_chan *ch, uint32_t method_id,
                 const struct wr_op_err *err)
{
    if (err->hard)
        wr_conn_error(ch->conn, err->code, method_id, "%s", err->text);
    else
        wr_chan_error(ch, err->code, method_id, "%s", err->text);
}

void
wr_conn_error(struct wr_conn *c, uint16_t code, uint32_t method_id,
              const char *fmt, ...)
{
    char text[256];
    struct wr_method m = {.id = WR_CONNECTION_CLOSE};
    va_list ap;

    if (c->state >= WR_CONN_CLOSING)
        return;
    va_start(ap, fmt);
    m.u.connection_close.reply_text.len =
        (uint32_t)wr_reply_vformat(text, sizeof(text), code, fmt, ap);
    va_end(ap);
    m.u.connection_close.reply_text.ptr = (const uint8_t *)text;
    m.u.connection_close.reply_code = code;
    m.u.connection_close.class_id = WR_METHOD_CLASS(method_id);
    m.u.connection_close.method_id = WR_METHOD_INDEX(method_id);
    wr_log(code == WR_REPLY_CONNECTION_FORCED ? WR_LOG_INFO : WR_LOG_NOTICE,
           "conn %llu %s: closing: %d %s", (unsigned long long)c->id, c->peer,
           code, text);
    wr_conn_send_method(c, 0, &m);
    wr_conn_teardown(c);
    c->state = WR_CONN_CLOSING;
    wr_conn_arm_timer(c, CLOSE_OK_WAIT * 1000);
}

void
wr_conn_shutdown(struct wr_conn *c)
{
    if (c->state < WR_CONN_AWAIT_START_OK || c->linger) {
        wr_conn_drop(c, "shutdown");
        return;
    }
    wr_conn_error(c, WR_REPLY_CONNECTION_FORCED, 0,
                  "broker forced connection closure with reason 'shutdown'");
}

void
wr_conn_drop(struct wr_conn *c, const char *why)
{
    if (c->state == WR_CONN_DEAD)
        return;
    wr_log(WR_LOG_NOTICE, "conn %llu %s: closed (%s)",
           (unsigned long long)c->id, c->peer, why);
    wr_conn_teardown(c);
    wr_conn_stage_discard(c);
    c->state = WR_CONN_DEAD;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    wr_conn_read_off(c);
    wr_list_remove(&c->flush_link);
    if (c->timer)
        evtimer_del(c->timer);
    wr_list_remove(&c->link);
    wr_list_push_back(&c->srv->reap, &c->link);
    c->srv->nconns--;
    wr_server_schedule_reap(c->srv);
}

/* Queue the last bytes, drop once they are written (with c->linger: once
 * the peer closes, or CLOSE_OK_WAIT has passed). Input that still arrives
 * is read and thrown away (read_cb): closing a socket with unread input
 * sends RST, which may destroy the last bytes still in flight. */
void
wr_conn_flush_and_close(struct wr_conn *c)
{
    c->state = WR_CONN_FLUSHING;
    wr_credit_forget(c);
    if (c->read_paused) {
        c->read_paused = false;
        if (!c->flow_blocked)
            wr_conn_read_on(c);
    }
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (!c->linger && evbuffer_get_length(wr_conn_output(c)) == 0)
        wr_conn_drop(c, "closed by peer");
    else
        wr_conn_arm_timer(c, CLOSE_OK_WAIT * 1000);
}

void
wr_conn_teardown(struct wr_conn *c)
{
    struct wr_list *pos, *tmp;

    wr_credit_forget(c);
    if (c->torn_down)
        return;
    c->torn_down = true;
    for (uint32_t i = 0; i < c->nchans; i++) {
        if (c->chans[i]) {
            struct wr_chan *ch = c->chans[i];
            c->chans[i] = NULL;
            wr_chan_free(ch);
        }
    }
    c->open_chans = 0;
    wr_list_for_each_safe(pos, tmp, &c->exclusive_queues)
    {
        struct wr_bqueue *bq =
            WR_CONTAINER_OF(pos, struct wr_bqueue, excl_link);
        wr_list_remove(pos);
        bq->owner = NULL;
        wr_vhost_delete_queue(bq->vh, bq->q);
    }
    if (c->vh) {
        wr_list_remove(&c->vh_link);
        c->vh->nconns--;
        c->vh = NULL;
    }
}
