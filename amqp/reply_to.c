/* SPDX-License-Identifier: MIT */
/* Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a channel consumes
 * from the pseudo-queue in no-ack mode; requests it publishes with
 * reply_to "amq.rabbitmq.reply-to" carry a name unique to that channel
 * instead (publish.c rewrites it); a reply published to the default
 * exchange with that name as routing key goes straight to the channel, no
 * queue involved. */
#include "amqp_internal.h"

#include <string.h>
#include <sys/random.h>

#define PREFIX WR_REPLY_TO "."

/* "amq.rabbitmq.reply-to." + 22 characters from 128 random bits: whoever
 * knows the name can send to the channel, so it must not be guessable. */
static void
reply_key(char *out, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                              "wxyz0123456789-_";
    uint8_t r[17] = {0};
    size_t n = sizeof(PREFIX) - 1;

    if (getrandom(r, 16, 0) != 16) {
        wr_broker_random_name(out, cap, PREFIX); /* no entropy: best effort */
        return;
    }
    wr_assert(cap > n + 22);
    memcpy(out, PREFIX, n);
    for (size_t i = 0; i < 22; i++) {
        size_t bit = i * 6;
        unsigned v =
            ((unsigned)r[bit / 8] << 8 | r[bit / 8 + 1]) >> (10 - bit % 8);
        out[n++] = b64[v & 63];
    }
    out[n] = '\0';
}

/* The channel's reply sink: a reply published to its reply key. */
static bool
reply_deliver(struct wr_reply_sink *s, struct wr_msg *m)
{
    struct wr_chan *ch = WR_CONTAINER_OF(s, struct wr_chan, reply_sink);
    struct wr_method d = {.id = WR_BASIC_DELIVER};

    if (ch->closing)
        return false;
    /* no-ack: a delivery tag, nothing to remember */
    d.u.basic_deliver.consumer_tag = wr_bytes_str(ch->reply_tag);
    d.u.basic_deliver.delivery_tag =
        wr_chan_record_delivery(ch, NULL, NULL, NULL);
    d.u.basic_deliver.exchange = wr_msg_exchange(m);
    d.u.basic_deliver.routing_key = wr_msg_rkey(m);
    wr_chan_send_content(ch, &d, m);
    return true;
}

void
wr_reply_to_consume(struct wr_chan *ch, struct wr_bytes tag, bool no_ack,
                    bool no_wait)
{
    char t[256];

    /* RabbitMQ's texts, so clients that match on them keep working. */
    if (!no_ack) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "reply consumer cannot acknowledge");
        return;
    }
    if (ch->reply_tag != NULL) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "reply consumer already set");
        return;
    }
    if (tag.len == 0) {
        wr_broker_random_name(t, sizeof(t), "amq.ctag-");
    } else {
        memcpy(t, tag.ptr, tag.len); /* a short string: at most 255 */
        t[tag.len] = '\0';
    }
    if (wr_hmap_get(&ch->consumers_by_tag, t, strlen(t))) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_ALLOWED, WR_BASIC_CONSUME,
                      "attempt to reuse consumer tag '%s'", t);
        return;
    }
    reply_key(ch->reply_key, sizeof(ch->reply_key));
    ch->reply_tag = wr_strdup(t);
    ch->reply_sink.deliver = reply_deliver;
    wr_vhost_reply_register(ch->conn->vh, ch->reply_key, &ch->reply_sink);
    if (!no_wait) {
        struct wr_method ok = {.id = WR_BASIC_CONSUME_OK};
        ok.u.basic_consume_ok.consumer_tag = wr_bytes_str(t);
        wr_conn_send_method(ch->conn, ch->id, &ok);
    }
}
