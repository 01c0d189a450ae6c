/* SPDX-License-Identifier: MIT */
/* x-delayed-message on the vhost's side: a message published with a
 * positive x-delay to such an exchange is held by it (exchanges/delayed.c
 * keeps the heap) under a copy whose x-delay is minus the delay, as the
 * plugin's swap_delay_header writes it; one timer per exchange fires at
 * the earliest due time and routes what is due through the inner type.
 * A durable exchange (x->store_id, given by durable.c) also writes each
 * persistent message it holds to the msgs/ store (queues/held.c: MSG and
 * ENQ, whose deadline is the due time on the wall clock; SETTLE when it
 * is routed), so a restart, kill -9 included, gives it back
 * (wr_vhost_delayed_restore); what came due while the broker was down is
 * routed at once, in due order. The heap's tag is the ENQ offset + 1
 * (0: nothing written). */
#include "vhost_internal.h"

#include "../store/store.h"

#include <string.h>

/* m with its x-delay header replaced by -delay, sharing m's body. NULL
 * when out of memory. */
static struct wr_msg *
swapped(struct wr_msg *m, const struct wr_props *p, int64_t delay)
{
    static const char *const skip[] = {"x-delay", NULL};
    struct wr_msg_spec sp = {0};
    struct wr_props np = *p;
    size_t cap = p->headers.len + 32, plen;
    uint8_t *hbuf = wr_malloc(cap), *pbuf = NULL;
    struct wr_msg *out = NULL;
    struct wr_tb b;

    if (hbuf == NULL)
        return NULL;
    wr_tb_init(&b, hbuf, cap);
    wr_headers_copy(&b, p->headers, skip);
    /* signedint as the plugin writes it; long when it does not fit */
    wr_tb_add_int(&b, "x-delay", -delay >= INT32_MIN ? 'I' : 'l', -delay);
    wr_tb_end(&b);
    if (b.err != WR_OK)
        goto done;
    np.headers = wr_tb_table(&b);
    cap = (size_t)m->props_len + b.len + 16;
    pbuf = wr_malloc(cap);
    if (pbuf == NULL || wr_props_encode(&np, pbuf, cap, &plen) != WR_OK)
        goto done;
    sp.exchange = wr_msg_exchange(m);
    sp.rkey = wr_msg_rkey(m);
    sp.props = pbuf;
    sp.props_len = (uint32_t)plen;
    sp.decoded = &np;
    sp.bcc = (struct wr_bytes){wr_msg_bcc(m).ptr, m->bcc_len};
    sp.share_body = m;
    out = wr_msg_build(&sp);
done:
    wr_free(pbuf);
    wr_free(hbuf);
    return out;
}

static void arm(struct wr_vhost *vh, struct wr_exchange *x);

static void
due_cb(void *arg)
{
    struct wr_exchange *x = arg;
    struct wr_vhost *vh = x->broker;
    struct wr_route_set set = {0};
    int64_t now = wr_now_ms();
    struct wr_msg *m;
    uint64_t tag;

    while ((m = wr_delayed_take(x, now, &tag)) != NULL) {
        wr_vhost_route_msg(vh, x, m, &set);
        wr_vhost_enqueue(vh, m, &set, now);
        x->n_out += set.count;
        if (set.count == 0)
            vh->stats.dropped++;
        /* after the queues wrote theirs: a crash between the two delivers
         * it twice rather than never */
        if (tag != 0 && vh->srv->msgs != NULL)
            wr_held_release(vh->srv->msgs, x->store_id, tag - 1, m,
                            wr_wall_ms());
        wr_msg_unref(&m);
    }
    if (vh->srv->msgs != NULL)
        wr_persist_dirty(vh->srv);
    wr_route_set_cleanup(&set);
    /* Overflowed messages with a dead-letter exchange move on now. */
    wr_vhost_drain_dead_letters(vh);
    arm(vh, x);
}

static void
arm(struct wr_vhost *vh, struct wr_exchange *x)
{
    int64_t due;

    if (!wr_delayed_next(x, &due))
        return;
    if (x->timer == NULL) {
        x->timer = wr_timer_new(vh->srv, due_cb, x);
        if (x->timer == NULL)
            return;
    }
    /* Early by the loop's clock: due_cb finds nothing due and re-arms. */
    wr_timer_arm(x->timer, due - wr_now_ms());
}

/* Holds m (a reference taken) until due, with its store tag. */
static int
hold(struct wr_vhost *vh, struct wr_exchange *x, struct wr_msg *m, int64_t due,
     uint64_t tag)
{
    int64_t first;
    bool had = wr_delayed_next(x, &first);

    if (wr_delayed_hold(x, m, due, tag) != WR_OK)
        return WR_ERR_NOMEM;
    if (!had || due < first)
        arm(vh, x);
    return WR_OK;
}

enum wr_delay
wr_vhost_delay(struct wr_vhost *vh, struct wr_exchange *x, struct wr_msg *m)
{
    struct wr_server *s = vh->srv;
    struct wr_props p;
    struct wr_msg *held;
    int64_t delay, now, wall;
    uint64_t entry = 0;
    bool write;
    int rc;

    if (x->type != &wr_exch_delayed || m->props_len < 2 ||
        !((((unsigned)wr_msg_props_data(m)[0] << 8) | wr_msg_props_data(m)[1]) &
          WR_PROP_HEADERS) ||
        wr_msg_props(m, &p) != WR_OK || !wr_delay_header(p.headers, &delay))
        return WR_DELAY_NO;
    held = swapped(m, &p, delay);
    if (held == NULL)
        return WR_DELAY_NO; /* out of memory: routed at once, not lost */
    now = wr_now_ms();
    wall = wr_wall_ms();
    write = x->store_id != 0 && held->persistent && s->msgs != NULL;
    if (write) {
        if (s->store_failed) {
            wr_msg_unref(&held);
            return WR_DELAY_REFUSED;
        }
        rc = wr_held_write(s->msgs, x->store_id, held, wall + delay, wall,
                           &entry);
        if (rc != WR_OK) {
            if (rc == WR_ERR_IO)
                wr_persist_fail(s, s->msgs);
            wr_msg_unref(&held);
            return WR_DELAY_REFUSED; /* nacked: it could not be kept */
        }
        wr_persist_dirty(s);
    }
    if (hold(vh, x, held, now + delay, write ? entry + 1 : 0) != WR_OK) {
        if (write)
            wr_held_release(s->msgs, x->store_id, entry, held, wall);
        wr_msg_unref(&held);
        return write ? WR_DELAY_REFUSED : WR_DELAY_NO;
    }
    wr_msg_unref(&held); /* the exchange holds its own reference */
    return write ? WR_DELAY_STORED : WR_DELAY_HELD;
}

int
wr_vhost_delayed_restore(void *arg, struct wr_msg *m, uint64_t entry,
                         int64_t due_wall)
{
    struct wr_exchange *x = arg;
    /* the deadline is absolute: what came due while the broker was down
     * is due now, and the heap keeps due order (ties: log order) */
    int64_t due = wr_now_ms() + (due_wall - wr_wall_ms());
    int rc = hold(x->broker, x, m, due, entry + 1);

    wr_msg_unref(&m); /* the heap took its own */
    return rc;
}

void
wr_vhost_delayed_stop(struct wr_exchange *x)
{
    struct wr_vhost *vh = x->broker;
    struct wr_msg *m;
    uint64_t tag;

    wr_timer_free(x->timer);
    x->timer = NULL;
    /* Deleted, or the broker stops: the records stay on disk; a deleted
     * exchange's id is never seen again, so recovery ignores them. */
    while ((m = wr_delayed_take(x, INT64_MAX, &tag)) != NULL) {
        if (tag != 0 && vh != NULL && vh->srv->msgs != NULL)
            wr_held_drop(vh->srv->msgs, tag - 1, m);
        wr_msg_unref(&m);
    }
}
