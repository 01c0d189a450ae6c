/* SPDX-License-Identifier: MIT */
/* Durable definitions in the defs/ store (docs/internals/STORE.md, "Record
 * types"): a record per change of a durable exchange, a durable queue (with
 * its 64-bit id, never reused), a binding between durable things, a policy
 * or an operator policy, or a vhost's deletion; replayed in log order at
 * start through the same functions that made them, so what comes back is
 * what the declares built. Payloads are AMQP field tables. The log is
 * rewritten whole (a snapshot of what is live) when more than half of it
 * is dead. */
#include "vhost_internal.h"

#include "../store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The state of the definitions log (wr_server.defs_log). */
struct wr_defs_log {
    uint64_t next_qid;        /* the next durable queue's id */
    bool replaying;           /* recovery: apply, do not write */
    bool closed;              /* shutting down: write nothing more */
    uint64_t records;         /* records in the current generation */
    uint64_t check_at;        /* count live things when records reach it */
    struct wr_store_loc *gen; /* the records we hold a reference on */
    size_t ngen, capgen;
    struct wr_store_loc *old; /* the generation a snapshot replaces */
    size_t nold;
    uint64_t snap_end; /* the old one goes once this offset is durable */
    uint64_t applied, skipped; /* recovery counters */
};

#define CHECK_MIN 64 /* no compaction below this many records */

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

static void
hold(struct wr_defs_log *l, const struct wr_store_loc *loc)
{
    if (l->ngen == l->capgen) {
        l->capgen = l->capgen ? l->capgen * 2 : 64;
        l->gen = wr_realloc(l->gen, l->capgen * sizeof(*l->gen));
    }
    l->gen[l->ngen++] = *loc;
    l->records++;
}

static void maybe_compact(struct wr_server *s);

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
               wr_strerror(rc));
        return;
    }
    hold(l, &loc);
    /* compaction waits for the end of the turn (defs_before_flush): in
     * here the change being written may be half made */
    wr_persist_dirty(s);
}

static void
rec_vhost(struct rec *r, const struct wr_vhost *vh)
{
    put_str(r, "vhost", vh->name, strlen(vh->name));
}

static bool
std_exchange(const struct wr_exchange *x)
{
    return x->name_len == 0 || strncmp(x->name, "amq.", 4) == 0;
}

static bool
exchange_stored(const struct wr_exchange *x)
{
    return x->durable && !std_exchange(x);
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
    if (stored(vh->srv->defs_log) && exchange_stored(x))
        write_exchange(vh->srv, vh, x);
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
            if (!std_exchange(v)) {
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
        break;
    }
    case WR_DREC_EXCHANGE_DEL: {
        struct wr_exchange *x = wr_vhost_exchange(vh, d->name);
        if (x && !std_exchange(x))
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
    hold(s->defs_log, loc);
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

/* Reads msgs/ back into the stored queues. */
static int
recover_msgs(struct wr_server *s, uint64_t *nmsgs, uint64_t *nbytes)
{
    struct wr_queues_recovery out;
    struct wr_queue **qs = NULL;
    size_t it = 0, nq = 0, cap = 0;
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
    rc = wr_queues_recover(s->msgs, qs, nq, msgs_damage, NULL, wr_now_ms(),
                           wr_wall_ms(), &out);
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
    return rc;
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
    l->check_at = 2 * (l->records > CHECK_MIN ? l->records : CHECK_MIN);
    wr_log(WR_LOG_INFO, "defs: compacted: %zu records replaced by %llu",
           l->nold, (unsigned long long)l->records);
}

static void
maybe_compact(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;
    uint64_t live = count_live(s);

    if (l->records > 2 * live && l->old == NULL) {
        snapshot(s);
        return;
    }
    l->check_at = 2 * (live > CHECK_MIN ? live : CHECK_MIN);
    if (l->check_at <= l->records)
        l->check_at = l->records + CHECK_MIN;
}

/* The end of a loop turn, before the write: every change is complete. */
static void
defs_before_flush(struct wr_server *s)
{
    struct wr_defs_log *l = s->defs_log;

    if (l && !l->closed && l->records >= l->check_at)
        maybe_compact(s);
}

static void
defs_durable(struct wr_server *s, uint64_t durable)
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

/* ---- recovery ----------------------------------------------------------- */

int
wr_vhost_recover(struct wr_server *s)
{
    struct wr_defs_log *l = wr_calloc(1, sizeof(*l));
    struct recov rc = {.s = s};
    struct timespec t0, t1;
    uint64_t nmsgs = 0, nbytes = 0, nqueues = 0;
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
    s->defs_durable_cb = defs_durable;
    s->defs_before_flush = defs_before_flush;
    r = wr_store_recover(s->defs, defs_record, defs_damage, &rc, wr_wall_ms());
    l->replaying = false;
    if (r != WR_OK) {
        wr_log(WR_LOG_ERROR, "defs: recovery failed: %s", wr_strerror(r));
        return r;
    }
    r = recover_msgs(s, &nmsgs, &nbytes);
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
    wr_log(WR_LOG_NOTICE,
           "recovered %llu queues, %llu messages, %llu bytes "
           "in %.3f s",
           (unsigned long long)nqueues, (unsigned long long)nmsgs,
           (unsigned long long)nbytes,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    /* the log is rewritten at start when most of it is dead */
    l->check_at = l->records + 1;
    if (l->records >= CHECK_MIN)
        maybe_compact(s);
    else
        l->check_at = 2 * CHECK_MIN;
    return WR_OK;
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
