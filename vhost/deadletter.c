/* SPDX-License-Identifier: MIT */
/* Dead-lettering, as RabbitMQ does it (rabbit_dead_letter): a message that
 * dies in a queue with x-dead-letter-exchange (rejected without requeue,
 * expired, dropped or refused by a length limit, past its delivery limit)
 * is republished to that exchange as a new message that shares the body and
 * carries an updated x-death header; routing cuts fully automatic cycles.
 * Dead letters queue up per vhost and are routed after the operation that
 * killed them, never from inside a queue operation. */
#include "vhost_internal.h"

#include <string.h>
#include <time.h>

/* One message on its way to its dead-letter exchange. */
struct wr_dead_letter {
    struct wr_list link; /* in vh->dead_letters */
    struct wr_msg *msg;  /* reference held: the new message */
    uint8_t reason;      /* enum wr_dead_reason */
};

/* ---- building the new message ------------------------------------------ */

static bool
entry_str_is(struct wr_table t, const char *key, struct wr_bytes want)
{
    struct wr_value v;

    return wr_table_get(t, key, &v) == WR_OK && v.type == WR_FT_LONGSTR &&
           wr_bytes_eq(v.v.str, want);
}

/* The fields of the x-death entry for this death: new with count 1, or
 * the matching (queue, reason, exchange) one with its count bumped
 * (RabbitMQ keeps its other fields, time and routing-keys included). */
static void
death_fields(struct wr_tb *b, const struct wr_props *p, struct wr_table match,
             bool matched, struct wr_bytes qname, const char *reason,
             struct wr_bytes exchange, struct wr_bytes rkey,
             struct wr_value *cc)
{
    static const char *const skip_count[] = {"count", NULL};
    struct wr_value v;
    int64_t n = 0;

    if (matched) {
        if (wr_table_get(match, "count", &v) == WR_OK)
            wr_value_int(&v, &n);
        wr_tb_add_int(b, "count", WR_FT_I64, n + 1);
        wr_headers_copy(b, match, skip_count);
        return;
    }
    wr_tb_add_int(b, "count", WR_FT_I64, 1);
    wr_tb_add_str(b, "reason", wr_bytes_str(reason));
    wr_tb_add_str(b, "queue", qname);
    wr_tb_add_u64(b, "time", WR_FT_TIMESTAMP, (uint64_t)time(NULL));
    wr_tb_add_str(b, "exchange", exchange);
    /* the routing key and the CC keys, not BCC (stripped at publish) */
    wr_tb_begin_array(b, "routing-keys");
    wr_tb_elem_str(b, rkey);
    if (cc != NULL) {
        struct wr_array_iter it;
        wr_array_iter_init(&it, cc->v.array);
        while (wr_array_next(&it, &v) == WR_OK)
            if (v.type == WR_FT_LONGSTR)
                wr_tb_elem_str(b, v.v.str);
    }
    wr_tb_end(b);
    if (p->flags & WR_PROP_EXPIRATION)
        wr_tb_add_str(b, "original-expiration", p->expiration);
}

/* Adds the x-death entry for this death to the array open in b. The first
 * one has its fields in the order above; one added to an existing x-death
 * (new or bumped) has them sorted by key, as RabbitMQ 3.10 writes them
 * (rabbit_misc:set_table_value sorts). */
static void
add_death(struct wr_tb *b, const struct wr_props *p, bool has_xd,
          struct wr_table match, bool matched, struct wr_bytes qname,
          const char *reason, struct wr_bytes exchange, struct wr_bytes rkey,
          struct wr_value *cc)
{
    struct wr_tb t;
    uint8_t *buf;
    size_t cap;

    wr_tb_elem_begin_table(b);
    if (!has_xd) {
        death_fields(b, p, match, matched, qname, reason, exchange, rkey, cc);
        wr_tb_end(b);
        return;
    }
    /* Every length here is that of a field of one message. */
    cap = 256 + (size_t)match.len + qname.len + strlen(reason) + exchange.len +
          rkey.len + (cc ? (size_t)cc->v.array.len : 0) + p->expiration.len;
    buf = wr_malloc(cap);
    wr_tb_init(&t, buf, cap);
    death_fields(&t, p, match, matched, qname, reason, exchange, rkey, cc);
    wr_tb_end(&t);
    if (t.err != WR_OK)
        b->err = t.err;
    else
        wr_headers_copy_sorted(b, wr_tb_table(&t));
    wr_free(buf);
    wr_tb_end(b);
}

/* Writes m's headers as they are after dying in q for reason into b, in
 * the order they are built here (dead_message sorts them). */
static void
death_headers(struct wr_tb *b, struct wr_queue *q, struct wr_msg *m,
              const struct wr_props *p, const char *reason)
{
    struct wr_bytes qname = {(const uint8_t *)q->name, q->name_len};
    struct wr_bytes exchange = wr_msg_exchange(m), rkey = wr_msg_rkey(m);
    struct wr_value xd, cc, e;
    struct wr_table match = {0};
    bool has_xd = false, has_cc = false, matched = false;
    struct wr_array_iter it;
    const char *skip[6];
    size_t ns = 0;

    if (p->flags & WR_PROP_HEADERS) {
        has_xd = wr_table_get(p->headers, "x-death", &xd) == WR_OK &&
                 xd.type == WR_FT_ARRAY;
        has_cc = wr_table_get(p->headers, "CC", &cc) == WR_OK &&
                 cc.type == WR_FT_ARRAY;
    }
    /* Keep everything else. x-first-death-* are written with the first
     * x-death only; a dead-letter routing key replaces the CC keys. */
    skip[ns++] = "x-death";
    if (q->eff.has_dlrk)
        skip[ns++] = "CC";
    if (!has_xd) {
        skip[ns++] = "x-first-death-reason";
        skip[ns++] = "x-first-death-queue";
        skip[ns++] = "x-first-death-exchange";
    }
    skip[ns] = NULL;
    if (p->flags & WR_PROP_HEADERS)
        wr_headers_copy(b, p->headers, skip);
    if (!has_xd) {
        wr_tb_add_str(b, "x-first-death-reason", wr_bytes_str(reason));
        wr_tb_add_str(b, "x-first-death-queue", qname);
        wr_tb_add_str(b, "x-first-death-exchange", exchange);
    }
    if (has_xd) {
        wr_array_iter_init(&it, xd.v.array);
        while (!matched && wr_array_next(&it, &e) == WR_OK)
            if (e.type == WR_FT_TABLE &&
                entry_str_is(e.v.table, "queue", qname) &&
                entry_str_is(e.v.table, "reason", wr_bytes_str(reason)) &&
                entry_str_is(e.v.table, "exchange", exchange)) {
                matched = true;
                match = e.v.table;
            }
    }
    /* The newest death first, then the others in their order. */
    wr_tb_begin_array(b, "x-death");
    add_death(b, p, has_xd, match, matched, qname, reason, exchange, rkey,
              has_cc ? &cc : NULL);
    if (has_xd) {
        wr_array_iter_init(&it, xd.v.array);
        while (wr_array_next(&it, &e) == WR_OK)
            if (!(matched && e.type == WR_FT_TABLE &&
                  e.v.table.ptr == match.ptr))
                wr_tb_elem_value(b, &e);
    }
    wr_tb_end(b);
    wr_tb_end(b);
}

/* The message m becomes when it dies in q: a new reference, or NULL. */
static struct wr_msg *
dead_message(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why)
{
    struct wr_props p;
    struct wr_tb b, sorted;
    struct wr_msg_spec sp = {0};
    struct wr_msg *out = NULL;
    size_t cap, plen;
    uint8_t *hbuf = NULL, *sbuf = NULL, *pbuf = NULL;

    if (wr_msg_props(m, &p) != WR_OK)
        return NULL;
    /* Grow until the headers fit (rarely more than once). */
    for (cap = (size_t)p.headers.len + 1024 + 4 * (size_t)q->name_len;;
         cap *= 2) {
        hbuf = wr_malloc(cap);
        wr_tb_init(&b, hbuf, cap);
        death_headers(&b, q, m, &p, wr_dead_reason_name(why));
        if (b.err == WR_OK)
            break;
        wr_free(hbuf);
        if (b.err != WR_ERR_NOSPACE || cap > ((size_t)64 << 20))
            return NULL;
    }
    /* RabbitMQ sorts the headers it rewrites by key. The same entries
     * make a table the same size; should that not hold, keep the order
     * they were built in rather than lose the message. */
    sbuf = wr_malloc(b.len);
    wr_tb_init(&sorted, sbuf, b.len);
    wr_headers_copy_sorted(&sorted, wr_tb_table(&b));
    wr_tb_end(&sorted);
    p.flags |= WR_PROP_HEADERS;
    p.headers =
        wr_tb_table(sorted.err == WR_OK && sorted.len == b.len ? &sorted : &b);
    /* RabbitMQ drops the expiration so the message does not expire again
     * wherever it goes; x-death keeps it as original-expiration. */
    p.flags &= (uint16_t)~WR_PROP_EXPIRATION;
    cap = (size_t)m->props_len + b.len + 16;
    pbuf = wr_malloc(cap);
    if (wr_props_encode(&p, pbuf, cap, &plen) == WR_OK) {
        sp.exchange = q->eff.dlx;
        sp.rkey = q->eff.has_dlrk ? q->eff.dlrk : wr_msg_rkey(m);
        sp.props = pbuf;
        sp.props_len = (uint32_t)plen;
        if (!q->eff.has_dlrk)
            sp.bcc = (struct wr_bytes){wr_msg_bcc(m).ptr, m->bcc_len};
        /* The body is shared, not copied: dead-lettering a million large
         * messages costs their headers only. */
        sp.decoded = &p;
        sp.share_body = m;
        out = wr_msg_build(&sp);
    }
    wr_free(pbuf);
    wr_free(sbuf);
    wr_free(hbuf);
    return out;
}

/* ---- the queue hooks ------------------------------------------------------
 */

static bool
hook_dead(struct wr_queue *q, struct wr_msg *m, enum wr_dead_reason why)
{
    struct wr_bqueue *bq = q->broker;
    struct wr_dead_letter *dl;
    struct wr_msg *n;

    if (bq == NULL || q->deleted || !q->eff.has_dlx) {
        wr_msg_unref(&m);
        return false;
    }
    n = dead_message(q, m, why);
    wr_msg_unref(&m);
    if (n == NULL)
        return false;
    dl = wr_malloc(sizeof(*dl));
    dl->msg = n;
    dl->reason = (uint8_t)why;
    wr_list_push_back(&bq->vh->dead_letters, &dl->link);
    wr_timer_defer(bq->vh->dead_ev);
    return true;
}

const struct wr_queue_hooks wr_bqueue_hooks = {
    .dead = hook_dead,
    .deadline = wr_queue_arm_expiry,
    .stream_dirty = wr_vhost_stream_dirty,
};

/* ---- routing them ----------------------------------------------------------
 */

/* RabbitMQ's is_cycle: the message already died in queue qname and no
 * death since (that one included) was a rejection, so nobody but the
 * broker moved it around: a fully automatic cycle. */
static bool
is_cycle(struct wr_array deaths, struct wr_bytes qname)
{
    struct wr_array_iter it;
    struct wr_value e;

    wr_array_iter_init(&it, deaths);
    while (wr_array_next(&it, &e) == WR_OK) {
        if (e.type != WR_FT_TABLE ||
            entry_str_is(e.v.table, "reason", WR_BYTES_LIT("rejected")))
            return false; /* a client was involved */
        if (entry_str_is(e.v.table, "queue", qname))
            return true;
    }
    return false;
}

/* Drops from set the queues m would cycle back into. */
static void
cut_cycles(struct wr_vhost *vh, struct wr_msg *m, struct wr_route_set *set)
{
    struct wr_props p;
    struct wr_value xd;
    size_t w = 0;

    if (wr_msg_props(m, &p) != WR_OK || !(p.flags & WR_PROP_HEADERS) ||
        wr_table_get(p.headers, "x-death", &xd) != WR_OK ||
        xd.type != WR_FT_ARRAY)
        return;
    for (size_t i = 0; i < set->count; i++) {
        struct wr_queue *q = set->queues[i];
        if (is_cycle(xd.v.array, (struct wr_bytes){(const uint8_t *)q->name,
                                                   q->name_len})) {
            wr_log(WR_LOG_DEBUG,
                   "vhost '%s': dead-letter cycle into queue '%s' cut "
                   "(message dropped there)",
                   vh->name, q->name);
            continue;
        }
        set->queues[w++] = q;
    }
    set->count = w;
}

void
wr_vhost_drain_dead_letters(struct wr_vhost *vh)
{
    if (vh->draining)
        return;
    vh->draining = true;
    while (!wr_list_empty(&vh->dead_letters)) {
        struct wr_dead_letter *dl =
            WR_CONTAINER_OF(vh->dead_letters.next, struct wr_dead_letter, link);
        struct wr_msg *m = dl->msg;
        struct wr_exchange *x = wr_vhost_exchange(vh, wr_msg_exchange(m));

        wr_list_remove(&dl->link);
        /* A dead-letter exchange that does not exist drops the message, as
         * in RabbitMQ. Dying on the way may add more dead letters: this
         * loop routes them too (cycles are cut, so it ends). */
        if (x != NULL) {
            x->n_in++;
            wr_vhost_route_msg(vh, x, m, &vh->dead_route);
            if (dl->reason != WR_DEAD_REJECTED)
                cut_cycles(vh, m, &vh->dead_route);
            x->n_out += vh->dead_route.count;
            wr_vhost_enqueue(vh, m, &vh->dead_route, wr_now_ms());
        }
        wr_msg_unref(&dl->msg);
        wr_free(dl);
    }
    vh->draining = false;
}

static void
dead_cb(void *arg)
{
    wr_vhost_drain_dead_letters(arg);
}

void
wr_vhost_dead_letters_init(struct wr_vhost *vh)
{
    wr_list_init(&vh->dead_letters);
    vh->dead_ev = wr_timer_new(vh->srv, dead_cb, vh);
}

void
wr_vhost_dead_letters_cleanup(struct wr_vhost *vh)
{
    while (!wr_list_empty(&vh->dead_letters)) {
        struct wr_dead_letter *dl =
            WR_CONTAINER_OF(vh->dead_letters.next, struct wr_dead_letter, link);
        wr_list_remove(&dl->link);
        wr_msg_unref(&dl->msg);
        wr_free(dl);
    }
    wr_timer_free(vh->dead_ev);
    vh->dead_ev = NULL;
    wr_route_set_cleanup(&vh->dead_route);
}
