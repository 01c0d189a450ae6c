/* SPDX-License-Identifier: MIT */
/* Channel lifecycle: a channel is created, released (consumers cancelled,
 * direct reply-to dropped, unacked deliveries requeued, pending content, tx and
 * store waits dropped) and freed. Below the error path: the error files call
 * it, it calls no handler. */
#include "amqp_internal.h"

struct wr_chan *
wr_chan_new(struct wr_conn *c, uint16_t id)
{
    struct wr_chan *ch = wr_calloc(1, sizeof(*ch));

    ch->conn = c;
    ch->id = id;
    ch->flow_active = true;
    ch->first_tag = ch->next_tag = 1;
    ch->tx_tail = &ch->tx_head;
    wr_hmap_init(&ch->consumers_by_tag);
    wr_list_init(&ch->consumers);
    wr_list_init(&ch->confirm_link);
    wr_list_init(&ch->kick_link);
    wr_list_init(&ch->store_link);
    return ch;
}

/* Releases what the channel holds (idempotent): consumers cancelled,
 * unacked deliveries requeued, pending content and tx ops dropped. */
void
wr_chan_release(struct wr_chan *ch)
{
    struct wr_list *pos, *tmp;

    /* Nothing more is delivered here, not even to a consumer of this
     * channel that a cancel below makes the single active one. */
    ch->closing = true;
    wr_list_for_each_safe(pos, tmp, &ch->consumers)
    {
        wr_chan_cancel_consumer(
            WR_CONTAINER_OF(pos, struct wr_bconsumer, chan_link), false);
    }
    wr_reply_to_cancel(ch, (struct wr_bytes){NULL, 0});
    wr_chan_requeue_all(ch);
    if (ch->pending)
        wr_msg_unref(&ch->pending);
    ch->cstate = WR_CONTENT_IDLE;
    wr_chan_tx_cleanup(ch);
    wr_list_remove(&ch->confirm_link);
    wr_list_remove(&ch->kick_link);
    wr_chan_store_cleanup(ch);
}

void
wr_chan_free(struct wr_chan *ch)
{
    wr_chan_release(ch);
    wr_list_remove(&ch->kick_link);
    wr_route_set_cleanup(&ch->route);
    wr_hmap_cleanup(&ch->consumers_by_tag);
    wr_free(ch->ring);
    wr_free(ch->last_queue);
    wr_free(ch);
}

void
wr_chan_cancel_consumer(struct wr_bconsumer *bc, bool notify)
{
    struct wr_chan *ch = bc->ch;
    struct wr_queue *q = bc->base.queue;

    if (q) {
        wr_queue_consumer_remove(q, &bc->base);
        wr_queue_touch(q); /* x-expires counts from the last consumer */
    }
    wr_list_remove(&bc->chan_link);
    wr_hmap_del(&ch->consumers_by_tag, bc->tag, bc->tag_len);
    /* Unacked deliveries stay unacked; they just no longer count against
     * this consumer's credit. */
    for (uint64_t t = ch->first_tag; t < ch->next_tag; t++) {
        struct wr_unacked *u = &ch->ring[t & (ch->ring_cap - 1)];
        if (u->consumer == bc)
            u->consumer = NULL;
    }
    if (notify && ch->conn->cancel_notify && !ch->closing) {
        struct wr_method m = {.id = WR_BASIC_CANCEL};
        m.u.basic_cancel.consumer_tag =
            (struct wr_bytes){(const uint8_t *)bc->tag, bc->tag_len};
        m.u.basic_cancel.no_wait = true;
        wr_conn_send_method(ch->conn, ch->id, &m);
    }
    wr_free(bc->tag);
    wr_free(bc->args);
    wr_free(bc);
    /* Single active consumer: the next one in line takes over now. */
    if (q && q->args.single_active && wr_queue_counts(q)->ready && !q->deleted)
        wr_queue_dispatch(q, wr_now_ms());
    /* An auto-delete queue goes with its last consumer. */
    if (q && q->auto_delete && q->consumer_count == 0 && !q->deleted &&
        q->broker)
        wr_vhost_delete_queue(((struct wr_bqueue *)q->broker)->vh, q);
}

bool
wr_reply_to_cancel(struct wr_chan *ch, struct wr_bytes tag)
{
    if (ch->reply_tag == NULL ||
        (tag.ptr != NULL && !wr_bytes_eq_str(tag, ch->reply_tag)))
        return false;
    wr_vhost_reply_unregister(ch->conn->vh, ch->reply_key);
    wr_free(ch->reply_tag);
    ch->reply_tag = NULL;
    ch->reply_key[0] = '\0';
    return true;
}

void
wr_chan_tx_cleanup(struct wr_chan *ch)
{
    struct wr_tx_op *op = ch->tx_head, *next;

    for (; op; op = next) {
        next = op->next;
        if (op->msg)
            wr_msg_unref(&op->msg);
        wr_free(op);
    }
    ch->tx_head = NULL;
    ch->tx_tail = &ch->tx_head;
}

void
wr_chan_store_cleanup(struct wr_chan *ch)
{
    wr_list_remove(&ch->store_link);
    wr_free(ch->sw);
    ch->sw = NULL;
    ch->sw_n = ch->sw_cap = ch->sw_head = 0;
}
