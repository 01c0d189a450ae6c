/* SPDX-License-Identifier: MIT */
/* Paging of durable queues (docs/internals/STORE.md, "Paging"): a
 * persistent entry whose records are in the store need not keep its
 * message in memory. While a queue is short its messages stay resident
 * (delivering from memory is the fast path); past the paging thresholds,
 * or under memory pressure, entries are paged out: the ring slot keeps
 * the entry, a 16-byte location beside it says where its MSG record is,
 * and the message is dropped. Before a paged-out entry is handed out it
 * is read back, a batch at a time from the head of its ring. */
#include "queues_internal.h"

#include <string.h>

/* A message-less stand-in for the slots of paged-out entries. */
struct wr_msg wr_msg_paged;

/* The thresholds (wr_queues_set_paging) and memory pressure. */
static uint64_t keep_msgs = WR_PAGING_KEEP_MSGS;
static uint64_t keep_bytes = WR_PAGING_KEEP_BYTES;
static bool pressure;

/* One read-back batch: at most this many entries or bytes, the slots
 * scanned bounded too (resident entries among paged-out ones). */
#define FILL_MAX 256
#define FILL_BYTES (1u << 20)
#define FILL_SCAN (4 * FILL_MAX)

void
wr_queues_set_paging(uint64_t msgs, uint64_t bytes)
{
    keep_msgs = msgs;
    keep_bytes = bytes;
}

void
wr_queues_set_memory_pressure(bool on)
{
    pressure = on;
}

bool
wr_queues_memory_pressure(void)
{
    return pressure;
}

/* Whether the ready entries of q kept in memory are over the thresholds. */
bool
wr_dur_over(const struct wr_queue *q, uint64_t more_bytes)
{
    uint64_t msgs = q->counts.ready - q->counts.paged;
    uint64_t bytes = q->counts.ready_bytes - q->counts.paged_bytes;

    return pressure || msgs + (more_bytes ? 1 : 0) > keep_msgs ||
           bytes + more_bytes > keep_bytes;
}

/* Whether the resident entry (id, m) of q can be paged out, and where its
 * message is then. Only an entry whose message is exactly its MSG record:
 * persistent, written, with no delivery count of its own (a message
 * redelivered under a delivery limit carries an x-delivery-count header
 * that is not in the record). */
static bool
pageable(const struct wr_queue *q, uint64_t id, const struct wr_msg *m,
         struct wr_ploc *pl)
{
    uint64_t len, meta;

    if (!m->persistent || !m->stored || m->delivery_count != 0 ||
        m->body_owner != NULL || (id & ((UINT64_C(1) << 24) - 1)) != 0 ||
        m->store_off >= WR_PLOC_OFF_MAX)
        return false;
    (void)q;
    meta = (uint64_t)WR_PREC_MSG_HDR + m->exchange_len + m->rkey_len +
           m->props_len;
    len = meta + m->body_size;
    if (meta > WR_PLOC_META_MAX || len > UINT32_MAX)
        return false;
    pl->off_meta = m->store_off << 16 | meta;
    pl->pos = m->store_pos;
    pl->len = (uint32_t)len;
    return true;
}

/* Pages out the resident entry at offset off of f when it can be. */
static bool
page_out_at(struct wr_queue *q, struct wr_fifo *f, size_t off)
{
    const struct wr_rslot *r = wr_fifo_at(f, off);
    struct wr_ploc pl;
    struct wr_msg *m;

    if (r->msg == NULL || r->msg == WR_PAGED ||
        !pageable(q, r->tag >> 1, r->msg, &pl))
        return false;
    wr_fifo_page_out(f, off, &pl, &m);
    if (m == NULL)
        return false;
    q->counts.paged++;
    q->counts.paged_bytes += m->body_size;
    wr_msg_unref(&m);
    return true;
}

void
wr_dur_pushed(struct wr_queue *q, struct wr_fifo *f)
{
    if (f->count > 0 && wr_dur_over(q, 0))
        (void)page_out_at(q, f, f->count - 1);
}

uint64_t
wr_queue_page_out(struct wr_queue *q)
{
    const struct wr_ring_ops *r = q->kind->rings;
    uint64_t n = 0;

    if (q->store == NULL || r == NULL || q->counts.paged >= q->counts.ready)
        return 0;
    for (uint32_t l = 0; l < r->levels(q); l++) {
        struct wr_fifo *f = r->ring(q, l);
        for (size_t off = f->count; off-- > 0;)
            n += page_out_at(q, f, off) ? 1 : 0;
    }
    return n;
}

int
wr_dur_load(struct wr_queue *q, const struct wr_ploc *pl, struct wr_msg **out)
{
    struct wr_store_loc loc = {wr_ploc_offset(pl), pl->pos, pl->len};
    uint8_t small[2048];
    uint8_t *buf = small;
    struct wr_prec p;
    uint8_t type;
    int rc;

    *out = NULL;
    if (pl->len > sizeof small) {
        buf = wr_malloc(pl->len);
        if (buf == NULL)
            return WR_ERR_NOMEM;
    }
    rc = wr_store_read(q->store, &loc, buf, pl->len, &type);
    if (rc == WR_OK && type != WR_PREC_MSG)
        rc = WR_ERR_SYNTAX;
    if (rc == WR_OK)
        rc = wr_prec_decode(WR_PREC_MSG, (struct wr_bytes){buf, pl->len}, &p);
    if (rc == WR_OK && p.msg.body.len != wr_ploc_body(pl))
        rc = WR_ERR_SYNTAX;
    if (rc == WR_OK) {
        *out = wr_prec_msg_build(&p.msg);
        if (*out == NULL) /* or properties that do not decode */
            rc = WR_ERR_NOMEM;
    }
    if (*out != NULL) {
        (*out)->stored = 1;
        (*out)->store_off = loc.offset;
        (*out)->store_pos = loc.pos;
    }
    if (buf != small)
        wr_free(buf);
    return rc;
}

void
wr_dur_settle_paged(struct wr_queue *q, uint64_t id, const struct wr_ploc *pl)
{
    struct wr_msg fake = {0};

    /* wr_dur_settle reads only these of the message */
    fake.persistent = 1;
    fake.stored = 1;
    fake.store_off = wr_ploc_offset(pl);
    fake.body_size = wr_ploc_body(pl);
    wr_dur_settle(q, id, &fake);
}

/* Reads back the paged-out entries among the first `scan` slots of f,
 * at most `max` of them and about `max_bytes`. An entry that cannot be
 * read (damaged, or its file gone: STORE.md "Dispatch and get") is
 * dropped, as recovery would have dropped it, and counted lost. Stops
 * when out of memory. */
static void
fill(struct wr_queue *q, struct wr_fifo *f, size_t scan, size_t max,
     size_t max_bytes)
{
    size_t loaded = 0, bytes = 0;

    for (size_t off = 0; off < f->count && off < scan && f->paged > 0 &&
                         loaded < max && bytes < max_bytes;
         off++) {
        struct wr_ploc pl;
        struct wr_msg *m;
        uint64_t body;
        int rc;

        if (wr_fifo_at(f, off)->msg != WR_PAGED)
            continue;
        pl = *wr_fifo_ploc(f, off);
        body = wr_ploc_body(&pl);
        rc = wr_dur_load(q, &pl, &m);
        if (rc == WR_ERR_NOMEM)
            return;
        q->counts.paged--;
        q->counts.paged_bytes -= body;
        if (rc != WR_OK) {
            uint64_t id = wr_fifo_drop_paged(f, off);
            q->counts.ready--;
            q->counts.ready_bytes -= body;
            q->counts.lost++;
            wr_dur_settle_paged(q, id, &pl);
            continue;
        }
        wr_fifo_page_in(f, off, m);
        loaded++;
        bytes += pl.len;
    }
}

bool
wr_dur_fill(struct wr_queue *q, struct wr_fifo *f)
{
    fill(q, f, FILL_SCAN, FILL_MAX, FILL_BYTES);
    return !wr_fifo_head_paged(f);
}

uint64_t
wr_queue_page_in(struct wr_queue *q, uint64_t n)
{
    const struct wr_ring_ops *r = q->kind->rings;
    uint64_t done = 0;

    if (r == NULL || q->counts.paged == 0)
        return 0;
    /* in delivery order: the highest level first */
    for (uint32_t l = r->levels(q); l-- > 0 && done < n;) {
        struct wr_fifo *f = r->ring(q, l);
        size_t k = (size_t)WR_MIN((uint64_t)f->count, n - done);
        fill(q, f, k, k, SIZE_MAX);
        done += wr_fifo_live(f) < k ? wr_fifo_live(f) : k;
    }
    return done;
}
