/* SPDX-License-Identifier: MIT */
/* Persistent messages held outside a queue until a deadline: what a
 * durable x-delayed-message exchange holds (vhost/delayed.c). They are
 * written as a durable queue writes its entries (docs/internals/STORE.md,
 * "Delayed messages"): the MSG record once, an ENQ record under the
 * holder's id (from the same never-reused id space as queues) whose
 * deadline is the due time on the wall clock, and a SETTLE when the
 * message leaves. wr_queues_recover hands them back to their holder. */
#include "queues_internal.h"

int
wr_held_write(struct wr_store *st, uint64_t holder, struct wr_msg *m,
              int64_t due_wall, int64_t wall, uint64_t *entry)
{
    struct wr_store_loc eloc;
    struct wr_prec_enq e = {0};
    int rc;

    wr_assert(m->persistent && holder != 0);
    e.queue_id = holder;
    e.priority = m->priority;
    e.expires_ms = due_wall > 0 ? due_wall : 1;
    rc = wr_dur_write_enq(st, m, &e, wall, &eloc);
    if (rc != WR_OK)
        return rc;
    *entry = eloc.offset;
    return WR_OK;
}

void
wr_held_release(struct wr_store *st, uint64_t holder, uint64_t entry,
                const struct wr_msg *m, int64_t wall)
{
    struct wr_prec_ref r = {holder, entry, 0};
    uint8_t buf[WR_PREC_REF_SIZE];
    struct wr_bytes part = {buf, sizeof buf};
    struct wr_store_loc loc, enq = {entry, 0, WR_PREC_ENQ_SIZE};

    wr_prec_ref_encode(buf, &r);
    /* a failed store says so through runtime/; a restart decides */
    if (wr_store_append(st, WR_PREC_SETTLE, &part, 1, wall, &loc) == WR_OK) {
        /* it must outlive the ENQ it ends (STORE.md "Settle") */
        wr_store_pin(st, &loc, &enq);
        wr_store_unref(st, &loc);
    }
    wr_held_drop(st, entry, m);
}

void
wr_held_drop(struct wr_store *st, uint64_t entry, const struct wr_msg *m)
{
    struct wr_store_loc mloc = wr_dur_msg_loc(m);

    wr_store_unref(st, &(struct wr_store_loc){entry, 0, 0});
    wr_store_unref(st, &mloc);
}
