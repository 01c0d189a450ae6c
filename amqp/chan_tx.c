/* SPDX-License-Identifier: MIT */
/* Transactions (tx.select / commit / rollback, as RabbitMQ implements them:
 * publishes and acks take effect at commit) and confirm.select. */
#include "amqp_internal.h"

static void
tx_append(struct wr_chan *ch, struct wr_tx_op *op)
{
    *ch->tx_tail = op;
    ch->tx_tail = &op->next;
}

void
wr_chan_tx_publish(struct wr_chan *ch, struct wr_msg *m, bool mandatory)
{
    struct wr_tx_op *op;

    op = wr_calloc(1, sizeof(*op));
    op->msg = m;
    op->mandatory = mandatory;
    tx_append(ch, op);
}

void
wr_chan_tx_settle(struct wr_chan *ch, uint32_t method, uint64_t tag,
                  bool multiple, bool ack, bool requeue)
{
    struct wr_tx_op *op = wr_calloc(1, sizeof(*op));

    op->method = method;
    op->tag = tag;
    op->multiple = multiple;
    op->ack = ack;
    op->requeue = requeue;
    tx_append(ch, op);
}

static void
tx_commit(struct wr_chan *ch)
{
    struct wr_tx_op *op = ch->tx_head, *next;

    ch->tx_head = NULL;
    ch->tx_tail = &ch->tx_head;
    for (; op; op = next) {
        next = op->next;
        if (op->msg) {
            if (!ch->closing)
                wr_chan_route_publish(ch, op->msg, op->mandatory);
            else
                wr_msg_unref(&op->msg);
        } else if (!ch->closing &&
                   wr_chan_settle(ch, op->tag, op->multiple, op->ack,
                                  op->requeue) != WR_OK) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, op->method,
                          "unknown delivery tag %llu",
                          (unsigned long long)op->tag);
        }
        wr_free(op);
    }
}

void
wr_chan_tx(struct wr_chan *ch, const struct wr_method *m)
{
    struct wr_method ok = {0};

    switch (m->id) {
    case WR_TX_SELECT:
        if (ch->confirm) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id,
                          "cannot switch from confirm to tx mode");
            return;
        }
        ch->tx = true;
        ok.id = WR_TX_SELECT_OK;
        break;
    case WR_TX_COMMIT:
    case WR_TX_ROLLBACK:
        if (!ch->tx) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id,
                          "channel is not transactional");
            return;
        }
        if (m->id == WR_TX_COMMIT) {
            ch->tx_stored = false;
            tx_commit(ch);
            if (ch->closing)
                return;
            if (ch->tx_stored && ch->conn->srv->store_failed) {
                wr_chan_error(ch, WR_REPLY_INTERNAL_ERROR, m->id,
                              "the message store failed: the transaction "
                              "is not on disk");
                return;
            }
            if (ch->tx_stored || ch->sw_n > 0) {
                /* commit-ok once what it published is on disk (or
                 * after the commit-oks still waiting: in order) */
                uint32_t before = ch->sw_n;
                wr_chan_store_wait(ch, 0);
                if (ch->sw_n > before)
                    return;
            }
            ok.id = WR_TX_COMMIT_OK;
        } else {
            wr_chan_tx_cleanup(ch);
            ok.id = WR_TX_ROLLBACK_OK;
        }
        break;
    default:
        wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                      "%s is not a client method", wr_method_name(m->id));
        return;
    }
    wr_conn_send_method(ch->conn, ch->id, &ok);
}

void
wr_chan_confirm(struct wr_chan *ch, const struct wr_method *m)
{
    if (m->id != WR_CONFIRM_SELECT) {
        wr_conn_error(ch->conn, WR_REPLY_COMMAND_INVALID, m->id,
                      "%s is not a client method", wr_method_name(m->id));
        return;
    }
    if (ch->tx) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, m->id,
                      "cannot switch from tx to confirm mode");
        return;
    }
    ch->confirm = true;
    if (!m->u.confirm_select.nowait) {
        struct wr_method ok = {.id = WR_CONFIRM_SELECT_OK};
        wr_conn_send_method(ch->conn, ch->id, &ok);
    }
}
