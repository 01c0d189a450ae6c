/* SPDX-License-Identifier: MIT */
/* x-delayed-message on the vhost's side: a message published with a
 * positive x-delay to such an exchange is held by it (exchanges/delayed.c
 * keeps the heap) under a copy whose x-delay is minus the delay, as the
 * plugin's swap_delay_header writes it; one timer per exchange fires at
 * the earliest due time and routes what is due through the inner type.
 * Held messages live in memory: a restart loses them (the broker has no
 * persistence yet). */
#include "vhost_internal.h"

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

    while ((m = wr_delayed_take(x, now)) != NULL) {
        wr_vhost_route_msg(vh, x, m, &set);
        wr_vhost_enqueue(vh, m, &set, now);
        x->n_out += set.count;
        if (set.count == 0)
            vh->stats.dropped++;
        wr_msg_unref(&m);
    }
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

bool
wr_vhost_delay(struct wr_vhost *vh, struct wr_exchange *x, struct wr_msg *m)
{
    struct wr_props p;
    struct wr_msg *held;
    int64_t delay, due, first;
    bool had;

    if (x->type != &wr_exch_delayed || m->props_len < 2 ||
        !((((unsigned)wr_msg_props_data(m)[0] << 8) | wr_msg_props_data(m)[1]) &
          WR_PROP_HEADERS) ||
        wr_msg_props(m, &p) != WR_OK || !wr_delay_header(p.headers, &delay))
        return false;
    held = swapped(m, &p, delay);
    if (held == NULL)
        return false; /* out of memory: routed at once rather than lost */
    due = wr_now_ms() + delay;
    had = wr_delayed_next(x, &first);
    if (wr_delayed_hold(x, held, due) != WR_OK) {
        wr_msg_unref(&held);
        return false;
    }
    wr_msg_unref(&held); /* the exchange holds its own reference */
    if (!had || due < first)
        arm(vh, x);
    return true;
}

void
wr_vhost_delayed_stop(struct wr_exchange *x)
{
    wr_timer_free(x->timer);
    x->timer = NULL;
}
