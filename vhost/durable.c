/* SPDX-License-Identifier: MIT */
/* Durable definitions in the defs/ store (docs/internals/STORE.md, "Record
 * types"): a record per change of a durable exchange, a durable queue (with
 * its 64-bit id, never reused), a binding between durable things, a policy
 * or an operator policy, or a vhost's deletion; replayed in log order at
 * start through the same functions that made them, so what comes back is
 * what the declares built. Payloads are AMQP field tables. The log is
 * rewritten whole (a snapshot of what is live) when more than half of it
 * is dead. Decoding, replay and recovery at start: recover.c. */
#include "vhost_internal.h"

#include "../store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- encoding ----------------------------------------------------------- */

/* A record being built: a field table in a buffer of its own. */
struct rec {
    struct wr_tb tb;
    uint8_t *buf;
};

static void
rec_begin(struct rec *r, size_t extra)
{
    size_t cap = 512 + extra;

    r->buf = wr_malloc(cap);
    wr_tb_init(&r->tb, r->buf, cap);
}

static void
put_str(struct rec *r, const char *key, const char *v, size_t len)
{
    wr_tb_add_str(&r->tb, key,
                  (struct wr_bytes){(const uint8_t *)v, (uint32_t)len});
}

static void
put_args(struct rec *r, const uint8_t *args, uint32_t len)
{
    wr_tb_add_bytes(&r->tb, "args", (struct wr_bytes){args, len});
}

static bool
stored(struct wr_defs_log *l)
{
    return l != NULL && !l->replaying && !l->closed;
}

void
wr_defs_hold(struct wr_defs_log *l, const struct wr_store_loc *loc)
{
    if (l->ngen == l->capgen) {
        l->capgen = l->capgen ? l->capgen * 2 : 64;
        l->gen = wr_realloc(l->gen, l->capgen * sizeof(*l->gen));
    }
    l->gen[l->ngen++] = *loc;
    l->records++;
}

/* Appends r as a record of type t (frees r's buffer). */
static void
rec_write(struct wr_server *s, struct rec *r, uint8_t t)
{
    struct wr_defs_log *l = s->defs_log;
    struct wr_store_loc loc;
    struct wr_bytes part;
    int rc;

    wr_tb_end(&r->tb);
    if (r->tb.err != WR_OK) {
        wr_log(WR_LOG_ERROR, "defs: record %u too large, not written", t);
        wr_free(r->buf);
        return;
    }
    part = (struct wr_bytes){r->buf, (uint32_t)r->tb.len};
    rc = wr_store_append(s->defs, t, &part, 1, wr_wall_ms(), &loc);
    wr_free(r->buf);
    if (rc == WR_ERR_IO) {
        wr_persist_fail(s, s->defs);
        return;
    }
    if (rc != WR_OK) {
        wr_log(WR_LOG_ERROR, "defs: a definition was not written: %s",
               rc == WR_ERR_FULL ? "the disk is full" : wr_strerror(rc));
        return;
    }
    wr_defs_hold(l, &loc);
    /* compaction waits for the end of the turn (wr_defs_before_flush): in
     * here the change being written may be half made */
    wr_persist_dirty(s);
}

static void
rec_vhost(struct rec *r, const struct wr_vhost *vh)
{
    put_str(r, "vhost", vh->name, strlen(vh->name));
}

bool
wr_defs_std_exchange(const struct wr_exchange *x)
{
    return x->name_len == 0 || strncmp(x->name, "amq.", 4) == 0;
}

static bool
exchange_stored(const struct wr_exchange *x)
{
    return x->durable && !wr_defs_std_exchange(x);
}

bool
wr_bqueue_stored(const struct wr_queue *q)
{
    const struct wr_bqueue *bq = q->broker;

    return bq != NULL && bq->store_id != 0;
}

static void
write_exchange(struct wr_server *s, struct wr_vhost *vh, struct wr_exchange *x)
{
    struct rec r;

    rec_begin(&r, x->name_len + strlen(vh->name) + x->raw_args_len);
    rec_vhost(&r, vh);
    put_str(&r, "name", x->name, x->name_len);
    put_str(&r, "type", x->type->name, strlen(x->type->name));
    wr_tb_add_bool(&r.tb, "auto_delete", x->auto_delete);
    wr_tb_add_bool(&r.tb, "internal", x->internal);
    put_args(&r, x->raw_args, x->raw_args_len);
    if (x->store_id != 0) /* a delayed exchange's, for what it holds */
        wr_tb_add_u64(&r.tb, "id", WR_FT_U64, x->store_id);
    rec_write(s, &r, WR_DREC_EXCHANGE);
}

static void
write_queue(struct wr_server *s, struct wr_vhost *vh, struct wr_queue *q)
{
    const struct wr_bqueue *bq = q->broker;
    struct rec r;

    rec_begin(&r, q->name_len + strlen(vh->name) + q->raw_args_len);
    rec_vhost(&r, vh);
    put_str(&r, "name", q->name, q->name_len);
    wr_tb_add_u64(&r.tb, "id", WR_FT_U64, bq->store_id);
    put_args(&r, q->raw_args, q->raw_args_len);
    rec_write(s, &r, WR_DREC_QUEUE);
}

static void
write_binding(struct wr_server *s, struct wr_vhost *vh, uint8_t t,
              const struct wr_exchange *src, enum wr_dest_kind kind,
              struct wr_bytes dest, struct wr_bytes key, struct wr_table args)
{
    struct rec r;

    rec_begin(&r,
              src->name_len + dest.len + key.len + args.len + strlen(vh->name));
    rec_vhost(&r, vh);
    put_str(&r, "source", src->name, src->name_len);
    wr_tb_add_bool(&r.tb, "to_exchange", kind == WR_DEST_EXCHANGE);
    wr_tb_add_str(&r.tb, "destination", dest);
    wr_tb_add_str(&r.tb, "key", key);
    put_args(&r, args.ptr, args.len);
    rec_write(s, &r, t);
}

static void
write_policy(struct wr_server *s, struct wr_vhost *vh, bool op,
             const struct wr_policy *p)
{
    json_t *o = wr_policy_json(NULL, p);
    char *text = json_dumps(o, JSON_COMPACT);
    struct rec r;

    json_decref(o);
    if (text == NULL)
        return;
    rec_begin(&r, strlen(text) + strlen(vh->name));
    rec_vhost(&r, vh);
    wr_tb_add_bool(&r.tb, "operator", op);
    put_str(&r, "policy", text, strlen(text));
    wr_free(text); /* jansson allocates through wr_malloc */
    rec_write(s, &r, WR_DREC_POLICY);
}

static void
write_named(struct wr_server *s, struct wr_vhost *vh, uint8_t t,
            const char *name, size_t len, bool op)
{
    struct rec r;

    rec_begin(&r, len + strlen(vh->name));
    rec_vhost(&r, vh);
    put_str(&r, "name", name, len);
    wr_tb_add_bool(&r.tb, "operator", op);
    rec_write(s, &r, t);
}

static void
write_next_qid(struct wr_server *s)
{
    struct rec r;

    rec_begin(&r, 0);
    wr_tb_add_u64(&r.tb, "id", WR_FT_U64, s->defs_log->next_qid);
    rec_write(s, &r, WR_DREC_NEXT_QID);
}

/* ---- the hooks: vhost.c, vhost_ops.c and policy.c call these ---------- */

void
wr_defs_exchange_added(struct wr_vhost *vh, struct wr_exchange *x)
{
    struct wr_defs_log *l = vh->srv->defs_log;

    if (!stored(l) || !exchange_stored(x))
        return;
    /* A delayed exchange writes the persistent messages it holds under
     * an id of the queues' (never reused: a redeclared one of the same
     * name never finds a deleted one's messages). */
    if (x->type == &wr_exch_delayed && vh->srv->msgs != NULL)
        x->store_id = l->next_qid++;
    write_exchange(vh->srv, vh, x);
}

/* A durable delayed exchange whose EXCHANGE record has no id was declared
 * by a warren that kept delayed messages in memory only: it gets its id
 * now, in an EXCHANGE record appended after the old one (recovery takes
 * the id from the later record), so the persistent messages it holds from
 * now on are written as a newly declared one's are. */
void
wr_defs_give_held_ids(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;
    size_t it = 0;
    void *v;

    if (!stored(l) || s->msgs == NULL)
        return;
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        struct wr_vhost *vh = v;
        size_t jt = 0;
        void *w;
        while (wr_hmap_next(&vh->exchanges, &jt, NULL, NULL, &w)) {
            struct wr_exchange *x = w;
            if (x->type != &wr_exch_delayed || x->store_id != 0 ||
                !exchange_stored(x))
                continue;
            x->store_id = l->next_qid++;
            write_exchange(s, vh, x);
            wr_log(WR_LOG_NOTICE,
                   "defs: delayed exchange '%.*s' in vhost '%s' (declared "
                   "by an older warren) now stores its persistent delayed "
                   "messages",
                   (int)x->name_len, x->name, vh->name);
        }
    }
}

void
wr_defs_exchange_deleted(struct wr_vhost *vh, struct wr_exchange *x)
{
    if (stored(vh->srv->defs_log) && exchange_stored(x))
        write_named(vh->srv, vh, WR_DREC_EXCHANGE_DEL, x->name, x->name_len,
                    false);
}

void
wr_defs_queue_added(struct wr_vhost *vh, struct wr_queue *q)
{
    struct wr_defs_log *l = vh->srv->defs_log;
    struct wr_bqueue *bq = q->broker;

    /* RabbitMQ keeps durable queues; exclusive and auto-delete ones go
     * with their connection or consumer, so a restart never has them. */
    if (!stored(l) || !q->durable || q->exclusive || q->auto_delete)
        return;
    bq->store_id = l->next_qid++;
    if (wr_queue_is_stream(q))
        wr_vhost_stream_attach(vh, q);
    else
        wr_queue_set_store(q, vh->srv->msgs, bq->store_id);
    write_queue(vh->srv, vh, q);
}

void
wr_defs_queue_deleted(struct wr_vhost *vh, struct wr_queue *q)
{
    if (stored(vh->srv->defs_log) && wr_bqueue_stored(q))
        write_named(vh->srv, vh, WR_DREC_QUEUE_DEL, q->name, q->name_len,
                    false);
}

static bool
binding_stored(const struct wr_exchange *src, enum wr_dest_kind kind,
               const void *dest)
{
    if (!src->durable || src->name_len == 0)
        return false;
    if (kind == WR_DEST_QUEUE)
        return wr_bqueue_stored(dest);
    return ((const struct wr_exchange *)dest)->durable;
}

void
wr_defs_bound(struct wr_vhost *vh, bool bind, const struct wr_exchange *src,
              enum wr_dest_kind kind, const void *dest, struct wr_bytes key,
              struct wr_table args)
{
    struct wr_bytes dn;

    if (!stored(vh->srv->defs_log) || !binding_stored(src, kind, dest))
        return;
    if (kind == WR_DEST_QUEUE) {
        const struct wr_queue *q = dest;
        dn = (struct wr_bytes){(const uint8_t *)q->name, q->name_len};
    } else {
        const struct wr_exchange *x = dest;
        dn = (struct wr_bytes){(const uint8_t *)x->name, x->name_len};
    }
    write_binding(vh->srv, vh, bind ? WR_DREC_BIND : WR_DREC_UNBIND, src, kind,
                  dn, key, args);
}

void
wr_defs_policy_set(struct wr_vhost *vh, bool op, const struct wr_policy *p)
{
    if (stored(vh->srv->defs_log))
        write_policy(vh->srv, vh, op, p);
}

void
wr_defs_policy_cleared(struct wr_vhost *vh, bool op, const char *name)
{
    if (stored(vh->srv->defs_log))
        write_named(vh->srv, vh, WR_DREC_POLICY_DEL, name, strlen(name), op);
}

void
wr_defs_vhost_deleted(struct wr_vhost *vh)
{
    struct rec r;

    if (!stored(vh->srv->defs_log))
        return;
    rec_begin(&r, strlen(vh->name));
    rec_vhost(&r, vh);
    rec_write(vh->srv, &r, WR_DREC_VHOST_DEL);
}

/* ---- snapshot / compaction ---------------------------------------------- */

static uint64_t
count_live(struct wr_server *s)
{
    size_t it = 0;
    void *v;
    uint64_t n = 1;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        struct wr_vhost *vh = v;
        size_t jt = 0;
        void *w;
        n += vh->policies.n + vh->op_policies.n;
        while (wr_hmap_next(&vh->exchanges, &jt, NULL, NULL, &w)) {
            struct wr_exchange *x = w;
            n += exchange_stored(x) ? 1 : 0;
            n += x->binding_count;
        }
        jt = 0;
        while (wr_hmap_next(&vh->queues, &jt, NULL, NULL, &w))
            n += wr_bqueue_stored(w) ? 1 : 0;
    }
    return n;
}

static void
snapshot_vhost(struct wr_server *s, struct wr_vhost *vh)
{
    size_t it = 0;
    void *v;
    struct wr_list *pos, *tmp;

    while (wr_hmap_next(&vh->exchanges, &it, NULL, NULL, &v))
        if (exchange_stored(v))
            write_exchange(s, vh, v);
    it = 0;
    while (wr_hmap_next(&vh->queues, &it, NULL, NULL, &v))
        if (wr_bqueue_stored(v))
            write_queue(s, vh, v);
    it = 0;
    while (wr_hmap_next(&vh->exchanges, &it, NULL, NULL, &v)) {
        struct wr_exchange *x = v;
        wr_list_for_each_safe(pos, tmp, &x->bindings)
        {
            struct wr_binding *b =
                WR_CONTAINER_OF(pos, struct wr_binding, src_link);
            const void *dest = b->dest_kind == WR_DEST_QUEUE
                                   ? (const void *)b->dest.queue
                                   : (const void *)b->dest.exchange;
            if (binding_stored(x, b->dest_kind, dest))
                wr_defs_bound(
                    vh, true, x, b->dest_kind, dest,
                    (struct wr_bytes){(const uint8_t *)b->key, b->key_len},
                    (struct wr_table){b->args, b->args_len});
        }
    }
    for (size_t i = 0; i < vh->policies.n; i++)
        write_policy(s, vh, false, vh->policies.v[i]);
    for (size_t i = 0; i < vh->op_policies.n; i++)
        write_policy(s, vh, true, vh->op_policies.v[i]);
}

/* Rewrites the log whole: what is live, as new records; the old ones are
 * released once the snapshot is durable (wr_defs_durable). */
static void
snapshot(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;
    size_t it = 0;
    void *v;

    if (l->old != NULL) /* the previous one is not durable yet */
        return;
    l->old = l->gen;
    l->nold = l->ngen;
    l->gen = NULL;
    l->ngen = l->capgen = 0;
    l->records = 0;
    l->check_at = UINT64_MAX; /* no nested snapshot */
    write_next_qid(s);
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        snapshot_vhost(s, v);
    l->snap_end = wr_store_end(s->defs);
    l->check_at =
        2 * (l->records > WR_DEFS_CHECK_MIN ? l->records : WR_DEFS_CHECK_MIN);
    wr_log(WR_LOG_INFO, "defs: compacted: %zu records replaced by %llu",
           l->nold, (unsigned long long)l->records);
}

void
wr_defs_maybe_compact(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;
    uint64_t live = count_live(s);

    if (l->records > 2 * live && l->old == NULL) {
        snapshot(s);
        return;
    }
    l->check_at = 2 * (live > WR_DEFS_CHECK_MIN ? live : WR_DEFS_CHECK_MIN);
    if (l->check_at <= l->records)
        l->check_at = l->records + WR_DEFS_CHECK_MIN;
}

/* The end of a loop turn, before the write: every change is complete. */
void
wr_defs_before_flush(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;

    if (l && !l->closed && l->records >= l->check_at)
        wr_defs_maybe_compact(s);
}

void
wr_defs_durable(struct wr_server *s, uint64_t durable)
{
    struct wr_defs_log *l = s->defs_log;

    if (l == NULL || l->old == NULL || durable < l->snap_end)
        return;
    for (size_t i = 0; i < l->nold; i++)
        wr_store_unref(s->defs, &l->old[i]);
    wr_free(l->old);
    l->old = NULL;
    l->nold = 0;
}

void
wr_defs_log_close(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;

    if (l == NULL)
        return;
    l->closed = true;
}

void
wr_defs_log_free(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;

    if (l == NULL)
        return;
    wr_free(l->gen);
    wr_free(l->old);
    wr_free(l);
    s->defs_log = NULL;
}
