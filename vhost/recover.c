/* SPDX-License-Identifier: MIT */
/* Reading the definitions log back (docs/internals/STORE.md, "Record
 * types"): decoding its records, replaying them through the same functions
 * that made them, and recovery at start, which also hands msgs/ back to
 * the stored queues. Writing the log and compacting it: durable.c. */
#include "vhost_internal.h"

#include "../store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- decoding (what recovery reads back from disk) --------------------- */

static int
get_str(struct wr_table t, const char *key, struct wr_bytes *out)
{
    struct wr_value v;

    if (wr_table_get(t, key, &v) != WR_OK || v.type != WR_FT_LONGSTR)
        return WR_ERR_SYNTAX;
    *out = v.v.str;
    return WR_OK;
}

static bool
get_bool(struct wr_table t, const char *key)
{
    struct wr_value v;

    return wr_table_get(t, key, &v) == WR_OK && v.type == WR_FT_BOOL && v.v.b;
}

static int
get_args(struct wr_table t, struct wr_table *out)
{
    struct wr_value v;

    if (wr_table_get(t, "args", &v) != WR_OK || v.type != WR_FT_BYTES)
        return WR_ERR_SYNTAX;
    if (wr_table_validate(v.v.str.ptr, v.v.str.len, WR_TABLE_MAX_DEPTH) !=
        WR_OK)
        return WR_ERR_SYNTAX;
    *out = (struct wr_table){v.v.str.ptr, v.v.str.len};
    return WR_OK;
}

static int
get_id(struct wr_table t, uint64_t *out)
{
    struct wr_value v;

    if (wr_table_get(t, "id", &v) != WR_OK || v.type != WR_FT_U64)
        return WR_ERR_SYNTAX;
    *out = v.v.u;
    return WR_OK;
}

int
wr_drec_decode(uint8_t type, struct wr_bytes p, struct wr_drec *d)
{
    struct wr_table t;
    uint32_t len;
    int rc = WR_OK;

    memset(d, 0, sizeof(*d));
    d->type = type;
    if (p.len < 4)
        return WR_ERR_SYNTAX;
    len = (uint32_t)p.ptr[0] << 24 | (uint32_t)p.ptr[1] << 16 |
          (uint32_t)p.ptr[2] << 8 | p.ptr[3];
    if (len != p.len - 4 ||
        wr_table_validate(p.ptr + 4, len, WR_TABLE_MAX_DEPTH) != WR_OK)
        return WR_ERR_SYNTAX;
    t = (struct wr_table){p.ptr + 4, len};
    if (type == WR_DREC_NEXT_QID)
        return get_id(t, &d->id);
    if (get_str(t, "vhost", &d->vhost) != WR_OK)
        return WR_ERR_SYNTAX;
    switch (type) {
    case WR_DREC_EXCHANGE:
        if (get_str(t, "name", &d->name) || get_str(t, "type", &d->xtype) ||
            get_args(t, &d->args))
            rc = WR_ERR_SYNTAX;
        /* a delayed exchange's store id; none in other records */
        if (get_id(t, &d->id) != WR_OK)
            d->id = 0;
        d->auto_delete = get_bool(t, "auto_delete");
        d->internal = get_bool(t, "internal");
        break;
    case WR_DREC_QUEUE:
        if (get_str(t, "name", &d->name) || get_id(t, &d->id) ||
            get_args(t, &d->args) || d->id == 0)
            rc = WR_ERR_SYNTAX;
        break;
    case WR_DREC_BIND:
    case WR_DREC_UNBIND:
        if (get_str(t, "source", &d->name) ||
            get_str(t, "destination", &d->dest) || get_str(t, "key", &d->key) ||
            get_args(t, &d->args))
            rc = WR_ERR_SYNTAX;
        d->to_exchange = get_bool(t, "to_exchange");
        break;
    case WR_DREC_POLICY:
        if (get_str(t, "policy", &d->policy))
            rc = WR_ERR_SYNTAX;
        d->op = get_bool(t, "operator");
        break;
    case WR_DREC_EXCHANGE_DEL:
    case WR_DREC_QUEUE_DEL:
    case WR_DREC_POLICY_DEL:
        if (get_str(t, "name", &d->name))
            rc = WR_ERR_SYNTAX;
        d->op = get_bool(t, "operator");
        break;
    case WR_DREC_VHOST_DEL:
        break;
    default:
        rc = WR_ERR_INVALID;
    }
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

static struct wr_vhost *
find_vhost(struct wr_server *s, struct wr_bytes name)
{
    return wr_hmap_get(&s->vhosts, name.ptr, name.len);
}

static char *
cstr(struct wr_bytes b)
{
    char *p = wr_malloc(b.len + 1);

    memcpy(p, b.ptr, b.len);
    p[b.len] = '\0';
    return p;
}

static void
empty_vhost(struct wr_vhost *vh)
{
    size_t it = 0;
    void *v;
    bool again = true;

    while (wr_hmap_next(&vh->queues, &it, NULL, NULL, &v)) {
        wr_vhost_delete_queue(vh, v);
        it = 0;
    }
    while (again) {
        again = false;
        it = 0;
        while (wr_hmap_next(&vh->exchanges, &it, NULL, NULL, &v)) {
            if (!wr_defs_std_exchange(v)) {
                wr_vhost_delete_exchange(vh, v);
                again = true;
                break;
            }
        }
    }
    wr_policy_list_cleanup(&vh->policies);
    wr_policy_list_cleanup(&vh->op_policies);
    wr_vhost_policies_changed(vh);
}

static int
apply_policy(struct wr_vhost *vh, const struct wr_drec *d, char *why,
             size_t cap)
{
    json_error_t jerr;
    json_t *o =
        json_loadb((const char *)d->policy.ptr, d->policy.len, 0, &jerr);
    json_t *name = o ? json_object_get(o, "name") : NULL;
    struct wr_policy *p = NULL;
    int rc;

    if (!json_is_string(name)) {
        json_decref(o);
        snprintf(why, cap, "bad policy record");
        return WR_ERR_SYNTAX;
    }
    rc = wr_policy_parse(json_string_value(name), o, d->op, &p, why, cap);
    json_decref(o);
    if (rc != WR_OK)
        return rc;
    wr_vhost_set_policy(vh, d->op, p);
    return WR_OK;
}

/* Applies one decoded record. Returns WR_OK, or an error with why. */
static int
apply(struct wr_server *s, const struct wr_drec *d, char *why, size_t cap)
{
    struct wr_defs_log *l = s->defs_log;
    struct wr_vhost *vh;
    struct wr_op_err oe = {0};
    int rc = WR_OK;

    if (d->type == WR_DREC_NEXT_QID) {
        if (d->id > l->next_qid)
            l->next_qid = d->id;
        return WR_OK;
    }
    vh = find_vhost(s, d->vhost);
    if (vh == NULL) {
        snprintf(why, cap, "no vhost '%.*s'", (int)d->vhost.len, d->vhost.ptr);
        return WR_ERR_NOT_FOUND;
    }
    switch (d->type) {
    case WR_DREC_EXCHANGE: {
        struct wr_exchange_decl xd = {.name = d->name,
                                      .type = d->xtype,
                                      .durable = true,
                                      .auto_delete = d->auto_delete,
                                      .internal = d->internal,
                                      .args = d->args};
        struct wr_exchange *x;
        bool created;
        rc = wr_vhost_declare_exchange(vh, &xd, &x, &created, &oe);
        /* the id of a later record too: an exchange of an older warren
         * is given one after its first record (wr_defs_give_held_ids) */
        if (rc == WR_OK && (created || x->store_id == 0) && d->id != 0 &&
            x->type == &wr_exch_delayed) {
            x->store_id = d->id;
            if (d->id >= l->next_qid)
                l->next_qid = d->id + 1;
        }
        break;
    }
    case WR_DREC_EXCHANGE_DEL: {
        struct wr_exchange *x = wr_vhost_exchange(vh, d->name);
        if (x && !wr_defs_std_exchange(x))
            wr_vhost_delete_exchange(vh, x);
        break;
    }
    case WR_DREC_QUEUE: {
        struct wr_queue_decl qd = {.name = d->name,
                                   .durable = true,
                                   .allow_reserved = true,
                                   .args = d->args};
        struct wr_queue *q = wr_vhost_queue(vh, d->name);
        bool created;
        if (q) /* a snapshot repeats what the log before it built */
            break;
        rc = wr_vhost_declare_queue(vh, &qd, NULL, &q, &created, &oe);
        if (rc == WR_OK) {
            ((struct wr_bqueue *)q->broker)->store_id = d->id;
            if (wr_queue_is_stream(q))
                wr_vhost_stream_attach(vh, q);
            else
                wr_queue_set_store(q, s->msgs, d->id);
            if (d->id >= l->next_qid)
                l->next_qid = d->id + 1;
        }
        break;
    }
    case WR_DREC_QUEUE_DEL: {
        struct wr_queue *q = wr_vhost_queue(vh, d->name);
        if (q)
            wr_vhost_delete_queue(vh, q);
        break;
    }
    case WR_DREC_BIND:
        rc =
            wr_vhost_bind(vh, d->to_exchange ? WR_DEST_EXCHANGE : WR_DEST_QUEUE,
                          d->name, d->dest, d->key, d->args, NULL, &oe);
        break;
    case WR_DREC_UNBIND: {
        bool existed;
        rc = wr_vhost_unbind(
            vh, d->to_exchange ? WR_DEST_EXCHANGE : WR_DEST_QUEUE, d->name,
            d->dest, d->key, d->args, NULL, &existed, &oe);
        break;
    }
    case WR_DREC_POLICY:
        return apply_policy(vh, d, why, cap);
    case WR_DREC_POLICY_DEL: {
        char *name = cstr(d->name);
        wr_vhost_clear_policy(vh, d->op, name);
        wr_free(name);
        break;
    }
    case WR_DREC_VHOST_DEL:
        empty_vhost(vh);
        break;
    default:
        break;
    }
    if (rc != WR_OK)
        snprintf(why, cap, "%s", oe.text);
    return rc;
}

int
wr_defs_replay(struct wr_server *s, uint8_t type, struct wr_bytes payload,
               char *why, size_t cap)
{
    struct wr_drec d;
    bool own = s->defs_log == NULL;
    int rc;

    if (own) {
        s->defs_log = wr_calloc(1, sizeof(*s->defs_log));
        s->defs_log->next_qid = 1;
    }
    s->defs_log->replaying = true;
    rc = wr_drec_decode(type, payload, &d);
    if (rc != WR_OK)
        snprintf(why, cap, "does not decode");
    else
        rc = apply(s, &d, why, cap);
    s->defs_log->replaying = false;
    if (own)
        wr_defs_log_free(s);
    return rc;
}

struct recov {
    struct wr_server *s;
    uint64_t damaged;
};

static int
defs_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
            struct wr_bytes payload, int64_t time_ms)
{
    struct recov *rc = arg;
    struct wr_server *s = rc->s;
    struct wr_drec d;
    char why[300] = "";

    (void)time_ms;
    wr_store_ref(s->defs, loc);
    wr_defs_hold(s->defs_log, loc);
    if (wr_drec_decode(type, payload, &d) != WR_OK) {
        wr_log(WR_LOG_WARN,
               "defs: record %llu (type %u) does not decode: "
               "skipped",
               (unsigned long long)loc->offset, type);
        s->defs_log->skipped++;
        return WR_OK;
    }
    if (apply(s, &d, why, sizeof(why)) != WR_OK) {
        wr_log(WR_LOG_WARN, "defs: record %llu (type %u) not applied: %s",
               (unsigned long long)loc->offset, type, why);
        s->defs_log->skipped++;
        return WR_OK;
    }
    s->defs_log->applied++;
    return WR_OK;
}

static void
defs_damage(void *arg, const struct wr_store_damage *d)
{
    struct recov *rc = arg;

    rc->damaged++;
    wr_log(d->torn ? WR_LOG_NOTICE : WR_LOG_WARN,
           "defs: %s %s at byte %llu of %s (%llu bytes%s)",
           d->torn ? "torn tail cut:" : "corrupt data skipped:", d->what,
           (unsigned long long)d->pos, d->file, (unsigned long long)d->len,
           d->torn ? ", never confirmed" : "");
}

static void
msgs_damage(void *arg, const struct wr_store_damage *d)
{
    (void)arg;
    wr_log(d->torn ? WR_LOG_NOTICE : WR_LOG_WARN,
           "msgs: %s %s at byte %llu of %s (%llu bytes)",
           d->torn ? "torn tail cut:" : "corrupt data skipped:", d->what,
           (unsigned long long)d->pos, d->file, (unsigned long long)d->len);
}

/* A queue lost messages whose record could not be read back: say which
 * queue and which file (the damage itself was reported by the scan). */
static void
msgs_lost(void *arg, struct wr_queue *q, uint64_t n, uint64_t msg_offset)
{
    struct wr_server *s = arg;
    const struct wr_bqueue *bq = q->broker;
    char file[64] = "a segment that is gone";

    for (size_t i = 0; i < wr_store_segments(s->msgs); i++) {
        struct wr_store_seginfo si;
        wr_store_segment(s->msgs, i, &si);
        if (si.first <= msg_offset && msg_offset < si.end) {
            snprintf(file, sizeof file, "msgs/%020llu.seg",
                     (unsigned long long)si.first);
            break;
        }
    }
    wr_log(WR_LOG_WARN,
           "msgs: queue '%s' in vhost '%s': %llu message(s) could not be "
           "read back (damaged or missing records, the first at offset %llu "
           "in %s): dropped",
           q->name, bq && bq->vh ? bq->vh->name : "?", (unsigned long long)n,
           (unsigned long long)msg_offset, file);
}

/* The durable delayed exchanges, as holders for wr_queues_recover
 * (*hs, *nh; NULL and 0 when none or out of memory). */
static void
holders(struct wr_server *s, struct wr_held_sink **hs, size_t *nh)
{
    size_t it = 0, cap = 0;
    void *v;

    *hs = NULL;
    *nh = 0;
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        size_t jt = 0;
        void *w;
        while (wr_hmap_next(&((struct wr_vhost *)v)->exchanges, &jt, NULL, NULL,
                            &w)) {
            struct wr_exchange *x = w;
            if (x->store_id == 0)
                continue;
            if (*nh == cap) {
                size_t nc = cap ? cap * 2 : 8;
                void *p = wr_realloc(*hs, nc * sizeof **hs);
                if (p == NULL)
                    return; /* the rest come back as if deleted */
                *hs = p;
                cap = nc;
            }
            (*hs)[(*nh)++] =
                (struct wr_held_sink){x->store_id, wr_vhost_delayed_restore, x};
        }
    }
}

/* Reads msgs/ back into the stored queues and delayed exchanges. */
static int
recover_msgs(struct wr_server *s, uint64_t *nmsgs, uint64_t *nbytes,
             uint64_t *nheld)
{
    struct wr_queues_recovery out;
    struct wr_queue **qs = NULL;
    struct wr_held_sink *hs;
    size_t it = 0, nq = 0, cap = 0, nh;
    void *v;
    int rc;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        size_t jt = 0;
        void *w;
        while (wr_hmap_next(&((struct wr_vhost *)v)->queues, &jt, NULL, NULL,
                            &w)) {
            if (!wr_bqueue_stored(w))
                continue;
            if (nq == cap) {
                size_t nc = cap ? cap * 2 : 16;
                void *p = wr_realloc(qs, nc * sizeof *qs);
                if (p == NULL) {
                    wr_free(qs);
                    return WR_ERR_NOMEM;
                }
                qs = p;
                cap = nc;
            }
            qs[nq++] = w;
        }
    }
    holders(s, &hs, &nh);
    rc = wr_queues_recover(s->msgs, qs, nq, hs, nh, msgs_damage, msgs_lost, s,
                           wr_now_ms(), wr_wall_ms(), &out);
    wr_free(hs);
    wr_free(qs);
    if (out.undecodable)
        wr_log(WR_LOG_WARN, "msgs: %llu record(s) could not be decoded",
               (unsigned long long)out.undecodable);
    if (out.unreadable)
        wr_log(WR_LOG_WARN,
               "msgs: %llu message(s) could not be read back: dropped",
               (unsigned long long)out.unreadable);
    *nmsgs = out.messages;
    *nbytes = out.bytes;
    *nheld = out.held;
    return rc;
}

/* ---- recovery ----------------------------------------------------------- */

int
wr_vhost_recover(struct wr_server *s)
{
    struct wr_defs_log *l = wr_calloc(1, sizeof(*l));
    struct recov rc = {.s = s};
    struct timespec t0, t1;
    uint64_t nmsgs = 0, nbytes = 0, nqueues = 0, nheld = 0;
    size_t it = 0;
    void *v;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* policies are JSON: jansson allocates through the broker's wrappers
     * (STYLE 5.10), before the management API would say so */
    json_set_alloc_funcs(wr_malloc, wr_free);
    l->next_qid = 1;
    l->replaying = true;
    s->defs_log = l;
    s->defs_durable_cb = wr_defs_durable;
    s->defs_before_flush = wr_defs_before_flush;
    r = wr_store_recover(s->defs, defs_record, defs_damage, &rc, wr_wall_ms());
    l->replaying = false;
    if (r != WR_OK) {
        wr_log(WR_LOG_ERROR, "defs: recovery failed: %s", wr_strerror(r));
        return r;
    }
    wr_defs_give_held_ids(s);
    r = recover_msgs(s, &nmsgs, &nbytes, &nheld);
    if (r != WR_OK) {
        wr_log(WR_LOG_ERROR, "msgs: recovery failed: %s", wr_strerror(r));
        return r;
    }
    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v)) {
        size_t jt = 0;
        void *w;
        while (
            wr_hmap_next(&((struct wr_vhost *)v)->queues, &jt, NULL, NULL, &w))
            nqueues += wr_bqueue_stored(w) ? 1 : 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (l->skipped)
        wr_log(WR_LOG_WARN, "defs: %llu record(s) could not be applied",
               (unsigned long long)l->skipped);
    if (nheld)
        wr_log(WR_LOG_NOTICE, "recovered %llu delayed message(s)",
               (unsigned long long)nheld);
    wr_log(WR_LOG_NOTICE,
           "recovered %llu queues, %llu messages, %llu bytes "
           "in %.3f s",
           (unsigned long long)nqueues, (unsigned long long)nmsgs,
           (unsigned long long)nbytes,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    /* the log is rewritten at start when most of it is dead */
    l->check_at = l->records + 1;
    if (l->records >= WR_DEFS_CHECK_MIN)
        wr_defs_maybe_compact(s);
    else
        l->check_at = 2 * WR_DEFS_CHECK_MIN;
    return WR_OK;
}
