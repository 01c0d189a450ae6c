/* SPDX-License-Identifier: MIT */
/* Channel frame dispatch: channel-class methods (flow, close, close-ok) and
 * each frame of an open channel, handed to its handler file. */
#include "amqp_internal.h"

/* Frees the channel and its slot on the connection. */
static void
chan_close_slot(struct wr_chan *ch)
{
    struct wr_conn *c = ch->conn;

    c->chans[ch->id] = NULL;
    c->open_chans--;
    wr_chan_free(ch);
}

static void
channel_method(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_conn *c = ch->conn;

    switch (m->id) {
    case WR_CHANNEL_CLOSE: {
        struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};
        uint16_t id = ch->id;
        chan_close_slot(ch);
        wr_conn_send_method(c, id, &ok);
        return;
    }
    case WR_CHANNEL_FLOW: {
        struct wr_method ok = {.id = WR_CHANNEL_FLOW_OK};
        /* RabbitMQ refuses to stop deliveries on a client's word, and
         * clients' own test suites expect that; pausing is a setting. */
        if (!m->u.channel_flow.active && !c->srv->cfg.channel_flow_pause) {
            wr_conn_error(c, WR_REPLY_NOT_IMPLEMENTED, m->id, "active=false");
            return;
        }
        ch->flow_active = m->u.channel_flow.active;
        ok.u.channel_flow_ok.active = ch->flow_active;
        wr_conn_send_method(c, ch->id, &ok);
        if (ch->flow_active)
            wr_chan_kick(ch);
        return;
    }
    case WR_CHANNEL_FLOW_OK:
        return; /* we never send channel.flow */
    case WR_CHANNEL_CLOSE_OK:
        wr_conn_error(c, WR_REPLY_COMMAND_INVALID, m->id,
                      "unexpected channel.close-ok on channel %u", ch->id);
        return;
    }
    wr_conn_error(c, WR_REPLY_COMMAND_INVALID, m->id, "unexpected %s",
                  wr_method_name(m->id));
}

void
wr_chan_frame(struct wr_chan *ch, const struct wr_frame *f,
              const struct wr_method *m)
{
    if (ch->closing) {
        /* AMQP 0-9-1 2.3.5.2: after channel.close, only close/close-ok. */
        if (m && m->id == WR_CHANNEL_CLOSE_OK) {
            chan_close_slot(ch);
        } else if (m && m->id == WR_CHANNEL_CLOSE) {
            struct wr_method ok = {.id = WR_CHANNEL_CLOSE_OK};
            struct wr_conn *c = ch->conn;
            uint16_t id = ch->id;
            chan_close_slot(ch);
            wr_conn_send_method(c, id, &ok);
        }
        return;
    }
    if (ch->cstate != WR_CONTENT_IDLE) {
        if (f->type == WR_FRAME_HEADER && ch->cstate == WR_CONTENT_HEADER)
            wr_chan_content_header(ch, f);
        else if (f->type == WR_FRAME_BODY && ch->cstate == WR_CONTENT_BODY)
            wr_chan_content_body(ch, f);
        else
            wr_conn_error(ch->conn, WR_REPLY_UNEXPECTED_FRAME, WR_BASIC_PUBLISH,
                          "expected content %s, got frame type %u",
                          ch->cstate == WR_CONTENT_HEADER ? "header" : "body",
                          f->type);
        return;
    }
    if (m == NULL) {
        wr_conn_error(ch->conn, WR_REPLY_UNEXPECTED_FRAME, 0,
                      "content frame type %u on channel %u without "
                      "basic.publish",
                      f->type, ch->id);
        return;
    }
    switch (WR_METHOD_CLASS(m->id)) {
    case 20:
        channel_method(ch, m);
        return;
    case 40:
        wr_chan_exchange(ch, m);
        return;
    case 50:
        wr_chan_queue(ch, m);
        return;
    case 60:
        wr_chan_basic(ch, m);
        return;
    case 85:
        wr_chan_confirm(ch, m);
        return;
    case 90:
        wr_chan_tx(ch, m);
        return;
    }
    wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id, "%s on channel %u",
                  wr_method_name(m->id), ch->id);
}
