/* SPDX-License-Identifier: MIT */
/* The clock and the timers behind expiry: one timer per queue
 * armed for its earliest message deadline (queues/ keep the deadlines in
 * an index and announce a new earliest one through a hook), and one for
 * x-expires, which deletes a queue left unused for the interval. */
#include "vhost_internal.h"

/* ---- message TTLs -------------------------------------------------------- */

static void
expiry_cb(void *arg)
{
    struct wr_queue *q = arg;
    struct wr_bqueue *bq = q->broker;
    struct wr_vhost *vh = bq->vh;
    int64_t now = wr_now_ms(), at;

    bq->expiry_at = WR_NEVER;
    wr_queue_expire(q, now);
    if (wr_queue_next_deadline(q, &at))
        wr_queue_arm_expiry(q, at);
    /* Expired messages with a dead-letter exchange move on now. */
    wr_vhost_drain_dead_letters(vh);
}

void
wr_queue_arm_expiry(struct wr_queue *q, int64_t at)
{
    struct wr_bqueue *bq = q->broker;
    int64_t now;

    if (bq == NULL || q->deleted || at >= bq->expiry_at)
        return;
    if (bq->expiry_ev == NULL)
        bq->expiry_ev = wr_timer_new(bq->vh->srv, expiry_cb, q);
    now = wr_now_ms();
    /* A timer that fires a little early (libevent's clock against ours)
     * finds nothing due and re-arms for the rest. */
    wr_timer_arm(bq->expiry_ev, at - now);
    bq->expiry_at = at;
}

/* ---- x-expires ----------------------------------------------------------- */

static void
unused_cb(void *arg)
{
    struct wr_queue *q = arg;
    struct wr_bqueue *bq = q->broker;
    int64_t now = wr_now_ms(), left;

    /* RabbitMQ: unused means no consumers, no basic.get, no redeclare. */
    if (q->consumer_count > 0)
        bq->last_used = now;
    left = bq->last_used + q->eff.expires - now;
    if (left > 0) {
        wr_timer_arm(bq->unused_ev, left);
        return;
    }
    wr_log(WR_LOG_INFO, "vhost '%s': queue '%s' expired (x-expires %lld ms)",
           bq->vh->name, q->name, (long long)q->eff.expires);
    /* Consumers (none, by the definition of unused) would hear
     * basic.cancel, as on queue.delete. */
    wr_vhost_delete_queue(bq->vh, q);
}

void
wr_queue_touch(struct wr_queue *q)
{
    struct wr_bqueue *bq = q->broker;

    if (bq != NULL && q->eff.expires > 0)
        bq->last_used = wr_now_ms();
}

void
wr_bqueue_timers_init(struct wr_bqueue *bq)
{
    bq->expiry_at = WR_NEVER;
    if (bq->q->eff.expires > 0) {
        bq->last_used = wr_now_ms();
        bq->unused_ev = wr_timer_new(bq->vh->srv, unused_cb, bq->q);
        wr_timer_arm(bq->unused_ev, bq->q->eff.expires);
    }
}

void
wr_bqueue_expires_changed(struct wr_bqueue *bq)
{
    int64_t expires = bq->q->eff.expires;

    if (expires > 0) {
        bq->last_used = wr_now_ms();
        if (bq->unused_ev == NULL)
            bq->unused_ev = wr_timer_new(bq->vh->srv, unused_cb, bq->q);
        wr_timer_arm(bq->unused_ev, expires);
    } else if (bq->unused_ev) {
        wr_timer_free(bq->unused_ev);
        bq->unused_ev = NULL;
    }
}

void
wr_bqueue_timers_free(struct wr_bqueue *bq)
{
    /* Safe inside the timer's own callback: a fired timer is not pending
     * and libevent does not touch it after the callback returns. */
    wr_timer_free(bq->expiry_ev);
    wr_timer_free(bq->unused_ev);
    bq->expiry_ev = bq->unused_ev = NULL;
    bq->expiry_at = WR_NEVER;
}
