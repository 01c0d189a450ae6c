/* SPDX-License-Identifier: MIT */
/* The management API's exchanges, queues and bindings: listing, declare
 * (PUT), delete, bind (POST) and unbind, and queue purge. Declare, delete
 * and bind go through vhost_ops.c, as AMQP does, so the checks and error
 * texts are the same. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

/* RabbitMQ names the default exchange "amq.default" in paths. */
static struct wr_bytes
exchange_seg(const struct wr_mgmt_req *r, int i)
{
    struct wr_bytes n = wr_mgmt_seg(r, i);

    return wr_bytes_eq_str(n, "amq.default") ? WR_BYTES_LIT("") : n;
}

/* ---- sorted snapshots ------------------------------------------------------
 */

static int
cmp_queue(const void *a, const void *b)
{
    return strcmp((*(struct wr_queue *const *)a)->name,
                  (*(struct wr_queue *const *)b)->name);
}

static int
cmp_exchange(const void *a, const void *b)
{
    return strcmp((*(struct wr_exchange *const *)a)->name,
                  (*(struct wr_exchange *const *)b)->name);
}

static int
cmp_vhost(const void *a, const void *b)
{
    return strcmp((*(struct wr_vhost *const *)a)->name,
                  (*(struct wr_vhost *const *)b)->name);
}

static size_t
snapshot(const struct wr_hmap *h, void ***out,
         int (*cmp)(const void *, const void *))
{
    void **arr = wr_calloc(h->count ? h->count : 1, sizeof(*arr));
    size_t it = 0, n = 0;
    void *v;

    while (wr_hmap_next(h, &it, NULL, NULL, &v))
        arr[n++] = v;
    qsort(arr, n, sizeof(*arr), cmp);
    *out = arr;
    return n;
}

size_t
wr_mgmt_sorted_queues(struct wr_vhost *vh, struct wr_queue ***out)
{
    return snapshot(&vh->queues, (void ***)out, cmp_queue);
}

size_t
wr_mgmt_sorted_exchanges(struct wr_vhost *vh, struct wr_exchange ***out)
{
    return snapshot(&vh->exchanges, (void ***)out, cmp_exchange);
}

size_t
wr_mgmt_sorted_vhosts(struct wr_server *s, struct wr_vhost ***out)
{
    return snapshot(&s->vhosts, (void ***)out, cmp_vhost);
}

/* ---- JSON of objects ---------------------------------------------------- */

static json_t *
args_json(const uint8_t *raw, uint32_t len)
{
    return wr_json_from_table((struct wr_table){raw, len});
}

static json_t *
exchange_json(struct wr_mgmt *m, struct wr_vhost *vh, struct wr_exchange *x)
{
    struct wr_mgmt_counters c;
    double rates[WR_MC_N];
    json_t *o = json_object();

    wr_mgmt_exchange_counters(x, &c);
    wr_mgmt_rates(m, WR_MGMT_K_EXCHANGE, vh->name, x->name, rates);
    json_object_set_new(o, "name", wr_json_bytes(x->name, x->name_len));
    json_object_set_new(o, "vhost", json_string(vh->name));
    json_object_set_new(o, "type", json_string(x->type->name));
    json_object_set_new(o, "durable", json_boolean(x->durable));
    json_object_set_new(o, "auto_delete", json_boolean(x->auto_delete));
    json_object_set_new(o, "internal", json_boolean(x->internal));
    json_object_set_new(o, "arguments",
                        args_json(x->raw_args, x->raw_args_len));
    json_object_set_new(
        o, "message_stats",
        wr_mgmt_json_message_stats(WR_MGMT_K_EXCHANGE, &c, rates));
    {
        const struct wr_policy *p =
            wr_policy_match(&vh->policies, false, x->name, x->name_len);
        json_object_set_new(o, "policy",
                            p ? json_string(wr_policy_name(p)) : json_null());
    }
    return o;
}

/* Bytes a queue accounts for, approximately: its messages and entries. */
static uint64_t
queue_memory(const struct wr_queue *q)
{
    const struct wr_queue_counts *n = wr_queue_counts(q);

    return 512 + q->name_len + q->raw_args_len + n->ready_bytes +
           (n->ready + n->unacked) * (sizeof(struct wr_msg) + 32);
}

static json_t *
queue_json(struct wr_mgmt *m, struct wr_vhost *vh, struct wr_queue *q,
           bool detail)
{
    struct wr_mgmt_counters c;
    double rates[WR_MC_N];
    json_t *o = json_object();
    struct wr_list *pos, *tmp;

    wr_mgmt_queue_counters(q, &c);
    wr_mgmt_rates(m, WR_MGMT_K_QUEUE, vh->name, q->name, rates);
    json_object_set_new(o, "name", wr_json_bytes(q->name, q->name_len));
    json_object_set_new(o, "vhost", json_string(vh->name));
    json_object_set_new(o, "durable", json_boolean(q->durable));
    json_object_set_new(o, "auto_delete", json_boolean(q->auto_delete));
    json_object_set_new(o, "exclusive", json_boolean(q->exclusive));
    json_object_set_new(o, "arguments",
                        args_json(q->raw_args, q->raw_args_len));
    json_object_set_new(o, "node", json_string(m->node));
    json_object_set_new(o, "state", json_string("running"));
    json_object_set_new(o, "type", json_string("classic"));
    {
        /* RabbitMQ's policy, operator_policy, effective_policy_definition */
        const struct wr_policy *p =
            wr_policy_match(&vh->policies, true, q->name, q->name_len);
        const struct wr_policy *op =
            wr_policy_match(&vh->op_policies, true, q->name, q->name_len);
        json_object_set_new(o, "policy",
                            p ? json_string(wr_policy_name(p)) : json_null());
        json_object_set_new(o, "operator_policy",
                            op ? json_string(wr_policy_name(op)) : json_null());
        json_object_set_new(o, "effective_policy_definition",
                            wr_policy_effective_json(p, op));
    }
    json_object_set_new(o, "exclusive_consumer_tag", json_null());
    json_object_set_new(o, "consumers", json_integer(q->consumer_count));
    wr_mgmt_json_counter(o, "messages", c.v[WR_MC_MESSAGES],
                         rates[WR_MC_MESSAGES]);
    wr_mgmt_json_counter(o, "messages_ready", c.v[WR_MC_READY],
                         rates[WR_MC_READY]);
    wr_mgmt_json_counter(o, "messages_unacknowledged", c.v[WR_MC_UNACKED],
                         rates[WR_MC_UNACKED]);
    json_object_set_new(o, "messages_ram",
                        json_integer((json_int_t)c.v[WR_MC_MESSAGES]));
    json_object_set_new(
        o, "message_bytes_ready",
        json_integer((json_int_t)wr_queue_counts(q)->ready_bytes));
    json_object_set_new(o, "memory", json_integer((json_int_t)queue_memory(q)));
    json_object_set_new(o, "message_stats",
                        wr_mgmt_json_message_stats(WR_MGMT_K_QUEUE, &c, rates));
    if (q->exclusive && q->exclusive_owner) {
        const struct wr_conn *owner = q->exclusive_owner;
        char name[200];
        wr_mgmt_conn_name(owner, name, sizeof(name));
        json_object_set_new(o, "owner_pid_details",
                            json_pack("{s:s}", "name", name));
    }
    if (detail) {
        json_t *list = json_array();
        wr_list_for_each_safe(pos, tmp, &q->consumers)
        {
            struct wr_consumer *wc =
                WR_CONTAINER_OF(pos, struct wr_consumer, link);
            json_array_append_new(list, wr_mgmt_json_consumer(WR_CONTAINER_OF(
                                            wc, struct wr_bconsumer, base)));
        }
        json_object_set_new(o, "consumer_details", list);
        json_object_set_new(o, "incoming", json_array());
        json_object_set_new(o, "deliveries", json_array());
    }
    return o;
}

/* ---- bindings ----------------------------------------------------------- */

/* Percent-encodes for a path segment: RFC 3986's unreserved characters
 * are kept, except that plus mode (RabbitMQ's quote_plus for properties
 * keys) writes ' ' as '+' and escapes '~', the key's separator. */
static size_t
url_escape(const void *vp, size_t n, char *out, size_t cap, bool plus)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *p = vp;
    size_t o = 0;

    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        uint8_t c = p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            (c == '~' && !plus)) {
            out[o++] = (char)c;
        } else if (c == ' ' && plus) {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

void
wr_mgmt_props_key(struct wr_bytes key, struct wr_table args, char *out,
                  size_t cap)
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o;
    uint64_t h;

    if (key.len == 0 && args.len == 0) {
        snprintf(out, cap, "~");
        return;
    }
    /* rabbit_mgmt_format: quote_plus of the key, "~" escaped too. */
    o = url_escape(key.ptr, key.len, out, cap - 14, true);
    if (args.len == 0)
        return;
    h = wr_hash_bytes(args.ptr, args.len);
    out[o++] = '~';
    for (int i = 0; i < 11; i++, h >>= 6)
        out[o++] = b64url[h & 63];
    out[o] = '\0';
}

static json_t *
binding_json(const char *vhost, const char *src, uint32_t src_len,
             const char *dest, uint32_t dest_len, bool to_queue,
             struct wr_bytes key, struct wr_table args)
{
    char pk[1024];
    json_t *o = json_object();

    wr_mgmt_props_key(key, args, pk, sizeof(pk));
    json_object_set_new(o, "source", wr_json_bytes(src, src_len));
    json_object_set_new(o, "vhost", json_string(vhost));
    json_object_set_new(o, "destination", wr_json_bytes(dest, dest_len));
    json_object_set_new(o, "destination_type",
                        json_string(to_queue ? "queue" : "exchange"));
    json_object_set_new(o, "routing_key", wr_json_bytes(key.ptr, key.len));
    json_object_set_new(o, "arguments", wr_json_from_table(args));
    json_object_set_new(o, "properties_key", json_string(pk));
    return o;
}

json_t *
wr_mgmt_json_binding(const struct wr_vhost *vh, const struct wr_binding *b)
{
    bool to_queue = b->dest_kind == WR_DEST_QUEUE;
    const char *dn = to_queue ? b->dest.queue->name : b->dest.exchange->name;
    uint32_t dl =
        to_queue ? b->dest.queue->name_len : b->dest.exchange->name_len;

    return binding_json(vh->name, b->source->name, b->source->name_len, dn, dl,
                        to_queue,
                        (struct wr_bytes){(const uint8_t *)b->key, b->key_len},
                        (struct wr_table){b->args, b->args_len});
}

json_t *
wr_mgmt_json_default_binding(const struct wr_vhost *vh,
                             const struct wr_queue *q)
{
    return binding_json(
        vh->name, "", 0, q->name, q->name_len, true,
        (struct wr_bytes){(const uint8_t *)q->name, q->name_len},
        (struct wr_table){NULL, 0});
}

/* Appends every binding of vh: the default exchange's implicit ones
 * first, then each exchange's in order. */
static void
vhost_bindings(struct wr_vhost *vh, json_t *arr)
{
    struct wr_queue **qs;
    struct wr_exchange **xs;
    size_t nq = wr_mgmt_sorted_queues(vh, &qs);
    size_t nx = wr_mgmt_sorted_exchanges(vh, &xs);
    struct wr_list *pos, *tmp;

    for (size_t i = 0; i < nq; i++)
        json_array_append_new(arr, wr_mgmt_json_default_binding(vh, qs[i]));
    for (size_t i = 0; i < nx; i++) {
        wr_list_for_each_safe(pos, tmp, &xs[i]->bindings)
        {
            json_array_append_new(
                arr,
                wr_mgmt_json_binding(
                    vh, WR_CONTAINER_OF(pos, struct wr_binding, src_link)));
        }
    }
    wr_free(qs);
    wr_free(xs);
}

/* ---- exchanges ---------------------------------------------------------- */

void
wr_mgmt_get_exchanges(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs, *one;
    size_t nv;

    if (r->nseg == 2) {
        if ((one = wr_mgmt_vhost(r, 1)) == NULL) {
            json_decref(arr);
            return;
        }
        vhs = wr_calloc(1, sizeof(*vhs));
        vhs[0] = one;
        nv = 1;
    } else {
        nv = wr_mgmt_visible_vhosts(r, &vhs);
    }
    for (size_t v = 0; v < nv; v++) {
        struct wr_exchange **xs;
        size_t n = wr_mgmt_sorted_exchanges(vhs[v], &xs);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, exchange_json(r->m, vhs[v], xs[i]));
        wr_free(xs);
    }
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

/* The exchange named by segments 1 (vhost) and 2, or NULL after 404. */
static struct wr_exchange *
path_exchange(struct wr_mgmt_req *r, struct wr_vhost **vh)
{
    struct wr_exchange *x;

    if ((*vh = wr_mgmt_vhost(r, 1)) == NULL)
        return NULL;
    x = wr_vhost_exchange(*vh, exchange_seg(r, 2));
    if (x == NULL)
        wr_mgmt_not_found(r);
    return x;
}

void
wr_mgmt_get_exchange(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_exchange *x = path_exchange(r, &vh);

    if (x)
        wr_mgmt_reply(r, 200, exchange_json(r->m, vh, x));
}

static bool
check_name(struct wr_mgmt_req *r, struct wr_bytes n, const char *what)
{
    if (n.len > 255) {
        wr_mgmt_error(r, 400, "bad_request", "%s name is longer than 255 bytes",
                      what);
        return false;
    }
    if (!wr_json_utf8_ok(n.ptr, n.len)) {
        wr_mgmt_error(r, 400, "bad_request", "%s name is not valid UTF-8",
                      what);
        return false;
    }
    return true;
}

void
wr_mgmt_put_exchange(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    struct wr_exchange_decl d = {.name = exchange_seg(r, 2)};
    const char *type;
    size_t type_len;
    uint8_t *args = NULL;
    char why[160];
    struct wr_exchange *x;
    struct wr_op_err err;
    bool created;

    if (body == NULL || !check_name(r, wr_mgmt_seg(r, 2), "exchange"))
        return;
    if (wr_mgmt_field_str(r, body, "type", "direct", &type, &type_len) ||
        wr_mgmt_field_bool(r, body, "durable", false, &d.durable) ||
        wr_mgmt_field_bool(r, body, "auto_delete", false, &d.auto_delete) ||
        wr_mgmt_field_bool(r, body, "internal", false, &d.internal))
        return;
    d.type = (struct wr_bytes){(const uint8_t *)type, (uint32_t)type_len};
    if (wr_json_to_table(json_object_get(body, "arguments"), &args, &d.args,
                         why, sizeof(why)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "arguments: %s", why);
        return;
    }
    /* The same permissions as exchange.declare (chan_exchange.c). */
    if (!wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "exchange", d.name))
        goto out;
    {
        struct wr_value ae;
        if (wr_table_get(d.args, "alternate-exchange", &ae) == WR_OK &&
            ae.type == WR_FT_LONGSTR &&
            (!wr_mgmt_access(r, vh, WR_PERM_WRITE, "exchange", ae.v.str) ||
             !wr_mgmt_access(r, vh, WR_PERM_READ, "exchange", d.name)))
            goto out;
    }
    if (wr_vhost_declare_exchange(vh, &d, &x, &created, &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, created ? 201 : 204);
out:
    wr_free(args);
}

void
wr_mgmt_delete_exchange(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    const char *if_unused = wr_mgmt_query(r, "if-unused");
    struct wr_op_err err;

    if (vh == NULL || !wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "exchange",
                                      exchange_seg(r, 2)))
        return;
    if (wr_vhost_remove_exchange(vh, exchange_seg(r, 2),
                                 if_unused && strcmp(if_unused, "true") == 0,
                                 &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 204);
}

/* GET /api/exchanges/{vhost}/{name}/bindings/source|destination */
void
wr_mgmt_get_exchange_bindings(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_exchange *x = path_exchange(r, &vh);
    bool source = r->seg[4][0] == 's';
    struct wr_list *pos, *tmp;
    json_t *arr;

    if (x == NULL)
        return;
    arr = json_array();
    if (source && x->name_len == 0) {
        struct wr_queue **qs;
        size_t n = wr_mgmt_sorted_queues(vh, &qs);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, wr_mgmt_json_default_binding(vh, qs[i]));
        wr_free(qs);
    } else if (source) {
        wr_list_for_each_safe(pos, tmp, &x->bindings)
        {
            json_array_append_new(
                arr,
                wr_mgmt_json_binding(
                    vh, WR_CONTAINER_OF(pos, struct wr_binding, src_link)));
        }
    } else {
        wr_list_for_each_safe(pos, tmp, &x->bindings_in)
        {
            json_array_append_new(
                arr,
                wr_mgmt_json_binding(
                    vh, WR_CONTAINER_OF(pos, struct wr_binding, dest_link)));
        }
    }
    wr_mgmt_reply_list(r, arr);
}

/* ---- queues ------------------------------------------------------------- */

/* The fields of a queue cheap enough for a stub (see queue_stub). */
static const char *const stub_keys[] = {
    "name",
    "vhost",
    "durable",
    "auto_delete",
    "exclusive",
    "state",
    "type",
    "consumers",
    "messages",
    "messages_ready",
    "messages_unacknowledged",
    "message_bytes_ready",
    "memory",
};

struct queue_ref {
    struct wr_vhost *vh;
    struct wr_queue *q;
};

struct queue_refs {
    struct wr_mgmt *m;
    struct queue_ref *v;
};

/* A paged list (the web UI's, 10,000 queues and more) sorted by a field
 * of stub_keys is filtered, sorted and paged over stubs of the name, the
 * vhost and that field; only the page gets the whole JSON (policies,
 * arguments, rates). */
static json_t *
queue_stub(struct wr_queue *q, struct wr_vhost *vh, size_t i, const char *sort)
{
    json_t *o = json_pack("{s:o, s:s, s:I}", "name",
                          wr_json_bytes(q->name, q->name_len), "vhost",
                          vh->name, "#i", (json_int_t)i);
    const struct wr_queue_counts *n = wr_queue_counts(q);
    json_t *v = NULL;

    if (sort == NULL || *sort == '\0' || strcmp(sort, "name") == 0 ||
        strcmp(sort, "vhost") == 0)
        return o;
    if (strcmp(sort, "durable") == 0)
        v = json_boolean(q->durable);
    else if (strcmp(sort, "auto_delete") == 0)
        v = json_boolean(q->auto_delete);
    else if (strcmp(sort, "exclusive") == 0)
        v = json_boolean(q->exclusive);
    else if (strcmp(sort, "state") == 0)
        v = json_string("running");
    else if (strcmp(sort, "type") == 0)
        v = json_string("classic");
    else if (strcmp(sort, "consumers") == 0)
        v = json_integer(q->consumer_count);
    else if (strcmp(sort, "messages") == 0)
        v = json_integer((json_int_t)(n->ready + n->unacked));
    else if (strcmp(sort, "messages_ready") == 0)
        v = json_integer((json_int_t)n->ready);
    else if (strcmp(sort, "messages_unacknowledged") == 0)
        v = json_integer((json_int_t)n->unacked);
    else if (strcmp(sort, "message_bytes_ready") == 0)
        v = json_integer((json_int_t)n->ready_bytes);
    else if (strcmp(sort, "memory") == 0)
        v = json_integer((json_int_t)queue_memory(q));
    if (v)
        json_object_set_new(o, sort, v);
    return o;
}

static json_t *
queue_expand(void *ctx, json_t *stub)
{
    struct queue_refs *refs = ctx;
    struct queue_ref *ref =
        &refs->v[json_integer_value(json_object_get(stub, "#i"))];

    return queue_json(refs->m, ref->vh, ref->q, false);
}

/* Whether the request pages and sorts by a field a stub has. */
static bool
stubs_will_do(struct wr_mgmt_req *r)
{
    const char *sort = wr_mgmt_query(r, "sort");

    if (wr_mgmt_query(r, "page") == NULL)
        return false;
    if (sort == NULL || *sort == '\0')
        return true;
    for (size_t i = 0; i < WR_ARRAY_LEN(stub_keys); i++)
        if (strcmp(sort, stub_keys[i]) == 0)
            return true;
    return false;
}

void
wr_mgmt_get_queues(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs, *one;
    struct queue_refs refs = {r->m, NULL};
    bool stubs = stubs_will_do(r);
    size_t nv, total = 0, k = 0;

    if (r->nseg == 2) {
        if ((one = wr_mgmt_vhost(r, 1)) == NULL) {
            json_decref(arr);
            return;
        }
        vhs = wr_calloc(1, sizeof(*vhs));
        vhs[0] = one;
        nv = 1;
    } else {
        nv = wr_mgmt_visible_vhosts(r, &vhs);
    }
    if (stubs) {
        for (size_t v = 0; v < nv; v++)
            total += vhs[v]->queues.count;
        refs.v = wr_calloc(total ? total : 1, sizeof(*refs.v));
    }
    for (size_t v = 0; v < nv; v++) {
        struct wr_queue **qs;
        size_t n = wr_mgmt_sorted_queues(vhs[v], &qs);
        for (size_t i = 0; i < n; i++) {
            if (stubs && k < total) {
                refs.v[k] = (struct queue_ref){vhs[v], qs[i]};
                json_array_append_new(
                    arr,
                    queue_stub(qs[i], vhs[v], k++, wr_mgmt_query(r, "sort")));
            } else if (!stubs) {
                json_array_append_new(arr,
                                      queue_json(r->m, vhs[v], qs[i], false));
            }
        }
        wr_free(qs);
    }
    wr_free(vhs);
    if (stubs)
        wr_mgmt_reply_list_stubs(r, arr, queue_expand, &refs);
    else
        wr_mgmt_reply_list(r, arr);
    wr_free(refs.v);
}

static struct wr_queue *
path_queue(struct wr_mgmt_req *r, struct wr_vhost **vh)
{
    struct wr_queue *q;

    if ((*vh = wr_mgmt_vhost(r, 1)) == NULL)
        return NULL;
    q = wr_vhost_queue(*vh, wr_mgmt_seg(r, 2));
    if (q == NULL)
        wr_mgmt_not_found(r);
    return q;
}

void
wr_mgmt_get_queue(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_queue *q = path_queue(r, &vh);

    if (q)
        wr_mgmt_reply(r, 200, queue_json(r->m, vh, q, true));
}

void
wr_mgmt_put_queue(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    struct wr_queue_decl d = {.name = wr_mgmt_seg(r, 2)};
    uint8_t *args = NULL;
    char why[160];
    struct wr_queue *q;
    struct wr_op_err err;
    bool created;

    if (body == NULL || !check_name(r, d.name, "queue"))
        return;
    if (d.name.len == 0) {
        wr_mgmt_error(r, 400, "bad_request", "queue name is empty");
        return;
    }
    /* The API declares no exclusive queues (there is no connection to own
     * one); "exclusive" in the body is ignored, as RabbitMQ does. */
    if (wr_mgmt_field_bool(r, body, "durable", false, &d.durable) ||
        wr_mgmt_field_bool(r, body, "auto_delete", false, &d.auto_delete))
        return;
    if (wr_json_to_table(json_object_get(body, "arguments"), &args, &d.args,
                         why, sizeof(why)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "arguments: %s", why);
        return;
    }
    /* The same permissions as queue.declare (chan_queue.c). */
    if (!wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "queue", d.name))
        goto out;
    {
        struct wr_value dlx;
        if (wr_table_get(d.args, "x-dead-letter-exchange", &dlx) == WR_OK &&
            dlx.type == WR_FT_LONGSTR &&
            (!wr_mgmt_access(r, vh, WR_PERM_WRITE, "exchange", dlx.v.str) ||
             !wr_mgmt_access(r, vh, WR_PERM_READ, "queue", d.name)))
            goto out;
    }
    if (wr_vhost_declare_queue(vh, &d, NULL, &q, &created, &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, created ? 201 : 204);
out:
    wr_free(args);
}

void
wr_mgmt_delete_queue(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    const char *if_unused = wr_mgmt_query(r, "if-unused");
    const char *if_empty = wr_mgmt_query(r, "if-empty");
    struct wr_op_err err;
    uint64_t n;

    if (vh == NULL ||
        !wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "queue", wr_mgmt_seg(r, 2)))
        return;
    if (wr_vhost_remove_queue(vh, wr_mgmt_seg(r, 2), NULL,
                              if_unused && strcmp(if_unused, "true") == 0,
                              if_empty && strcmp(if_empty, "true") == 0, &n,
                              &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 204);
}

void
wr_mgmt_delete_queue_contents(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_queue *q = path_queue(r, &vh);
    struct wr_op_err err;

    if (q == NULL ||
        !wr_mgmt_access(r, vh, WR_PERM_READ, "queue", wr_mgmt_seg(r, 2)))
        return;
    if (wr_vhost_queue_check_access(vh, q, NULL, &err) != WR_OK) {
        wr_mgmt_op_error(r, &err);
        return;
    }
    wr_queue_purge(q);
    wr_mgmt_reply_empty(r, 204);
}

void
wr_mgmt_get_queue_bindings(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_queue *q = path_queue(r, &vh);
    struct wr_list *pos, *tmp;
    json_t *arr;

    if (q == NULL)
        return;
    arr = json_array();
    json_array_append_new(arr, wr_mgmt_json_default_binding(vh, q));
    wr_list_for_each_safe(pos, tmp, &q->bindings_in)
    {
        json_array_append_new(
            arr, wr_mgmt_json_binding(
                     vh, WR_CONTAINER_OF(pos, struct wr_binding, dest_link)));
    }
    wr_mgmt_reply_list(r, arr);
}

/* ---- bindings ----------------------------------------------------------- */

void
wr_mgmt_get_bindings(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs, *one;
    size_t nv;

    if (r->nseg == 2) {
        if ((one = wr_mgmt_vhost(r, 1)) == NULL) {
            json_decref(arr);
            return;
        }
        vhs = wr_calloc(1, sizeof(*vhs));
        vhs[0] = one;
        nv = 1;
    } else {
        nv = wr_mgmt_visible_vhosts(r, &vhs);
    }
    for (size_t v = 0; v < nv; v++)
        vhost_bindings(vhs[v], arr);
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

/* The two ends named by /bindings/{vhost}/e/{src}/{q|e}/{dest}[/...]:
 * NULL after a 404 when the vhost or either end is missing. */
struct ends {
    struct wr_vhost *vh;
    struct wr_exchange *src;
    enum wr_dest_kind kind;
    void *dest;
};

static bool
binding_ends(struct wr_mgmt_req *r, struct ends *e)
{
    if ((e->vh = wr_mgmt_vhost(r, 1)) == NULL)
        return false;
    e->kind = r->seg[4][0] == 'q' ? WR_DEST_QUEUE : WR_DEST_EXCHANGE;
    e->src = wr_vhost_exchange(e->vh, exchange_seg(r, 3));
    e->dest = e->kind == WR_DEST_QUEUE
                  ? (void *)wr_vhost_queue(e->vh, wr_mgmt_seg(r, 5))
                  : (void *)wr_vhost_exchange(e->vh, exchange_seg(r, 5));
    if (e->src == NULL || e->dest == NULL) {
        wr_mgmt_not_found(r);
        return false;
    }
    return true;
}

/* A properties key from a path, in the form wr_mgmt_props_key writes.
 * Clients send it URL-encoded once more (rabbitmqadmin: "a.%2523" for
 * "a.%23"), and the router has decoded that; some send it only once
 * ("a.%23" arrives as "a.#"). RabbitMQ unquotes the routing-key part
 * again, so both name the binding of "a.#": unquote and quote again. */
static void
canonical_props_key(const char *pk, char *out, size_t cap)
{
    const char *tilde = strchr(pk, '~');
    size_t n = tilde ? (size_t)(tilde - pk) : strlen(pk);
    char raw[512] = "";
    size_t r = 0, o;

    for (size_t i = 0; i < n && r < sizeof(raw); i++) {
        int hi, lo;
        if (pk[i] == '%' && i + 2 < n && (hi = wr_hex_digit(pk[i + 1])) >= 0 &&
            (lo = wr_hex_digit(pk[i + 2])) >= 0) {
            raw[r++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            raw[r++] = pk[i] == '+' ? ' ' : pk[i];
        }
    }
    o = url_escape(raw, r, out, cap - 16, true);
    if (tilde)
        snprintf(out + o, cap - o, "%.15s", tilde);
}

/* Appends the bindings from e->src to e->dest (all, or the one whose
 * properties key is pk), the default exchange's implicit one included. */
static size_t
between(const struct ends *e, const char *pk_in, json_t *arr,
        struct wr_binding **found)
{
    struct wr_list *pos, *tmp;
    size_t n = 0;
    char key[1024], canon[1024];
    const char *pk = NULL;

    if (pk_in) {
        canonical_props_key(pk_in, canon, sizeof(canon));
        pk = canon;
    }

    if (e->src->name_len == 0) {
        const struct wr_queue *q = e->dest;
        if (e->kind != WR_DEST_QUEUE)
            return 0;
        wr_mgmt_props_key(
            (struct wr_bytes){(const uint8_t *)q->name, q->name_len},
            (struct wr_table){NULL, 0}, key, sizeof(key));
        if (pk && strcmp(pk, key) != 0)
            return 0;
        if (arr)
            json_array_append_new(arr, wr_mgmt_json_default_binding(e->vh, q));
        return 1;
    }
    wr_list_for_each_safe(pos, tmp, &e->src->bindings)
    {
        struct wr_binding *b =
            WR_CONTAINER_OF(pos, struct wr_binding, src_link);
        void *d = b->dest_kind == WR_DEST_QUEUE ? (void *)b->dest.queue
                                                : (void *)b->dest.exchange;
        if (b->dest_kind != e->kind || d != e->dest)
            continue;
        if (pk) {
            wr_mgmt_props_key(
                (struct wr_bytes){(const uint8_t *)b->key, b->key_len},
                (struct wr_table){b->args, b->args_len}, key, sizeof(key));
            if (strcmp(pk, key) != 0)
                continue;
            if (found)
                *found = b;
        }
        if (arr)
            json_array_append_new(arr, wr_mgmt_json_binding(e->vh, b));
        n++;
    }
    return n;
}

void
wr_mgmt_get_bindings_between(struct wr_mgmt_req *r)
{
    struct ends e;
    json_t *arr;

    if (!binding_ends(r, &e))
        return;
    arr = json_array();
    between(&e, NULL, arr, NULL);
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_post_binding(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    enum wr_dest_kind kind =
        r->seg[4][0] == 'q' ? WR_DEST_QUEUE : WR_DEST_EXCHANGE;
    struct wr_bytes src = exchange_seg(r, 3);
    struct wr_bytes dest =
        kind == WR_DEST_QUEUE ? wr_mgmt_seg(r, 5) : exchange_seg(r, 5);
    const char *key;
    size_t key_len;
    uint8_t *args = NULL;
    struct wr_table t;
    char why[160], pk[1024], loc[3200], *o;
    struct wr_op_err err;

    if (body == NULL)
        return;
    if (wr_mgmt_field_str(r, body, "routing_key", "", &key, &key_len))
        return;
    if (key_len > 255) {
        wr_mgmt_error(r, 400, "bad_request",
                      "routing_key is longer than 255 bytes");
        return;
    }
    if (wr_json_to_table(json_object_get(body, "arguments"), &args, &t, why,
                         sizeof(why)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "arguments: %s", why);
        return;
    }
    /* queue.bind / exchange.bind: write on the destination, read on the
     * source, topic read with the key. */
    if (!wr_mgmt_access(r, vh, WR_PERM_WRITE,
                        kind == WR_DEST_QUEUE ? "queue" : "exchange", dest) ||
        !wr_mgmt_access(r, vh, WR_PERM_READ, "exchange", src) ||
        !wr_mgmt_access_topic(
            r, vh, src.len ? wr_vhost_exchange(vh, src) : NULL, WR_PERM_READ,
            (struct wr_bytes){(const uint8_t *)key, (uint32_t)key_len})) {
        wr_free(args);
        return;
    }
    if (wr_vhost_bind(
            vh, kind, src, dest,
            (struct wr_bytes){(const uint8_t *)key, (uint32_t)key_len}, t, NULL,
            &err) != WR_OK) {
        wr_mgmt_op_error(r, &err);
        wr_free(args);
        return;
    }
    /* Location: DEST/PROPERTIES_KEY, relative, as RabbitMQ sends it. */
    wr_mgmt_props_key(
        (struct wr_bytes){(const uint8_t *)key, (uint32_t)key_len}, t, pk,
        sizeof(pk));
    o = loc + url_escape(dest.ptr, dest.len, loc, 1000, false);
    *o++ = '/';
    url_escape(pk, strlen(pk), o, sizeof(loc) - (size_t)(o - loc), false);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Location",
                      loc);
    wr_mgmt_reply_empty(r, 201);
    wr_free(args);
}

void
wr_mgmt_get_binding(struct wr_mgmt_req *r)
{
    struct ends e;
    json_t *arr;

    if (!binding_ends(r, &e))
        return;
    arr = json_array();
    if (between(&e, r->seg[6], arr, NULL) == 0) {
        json_decref(arr);
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_reply(r, 200, json_incref(json_array_get(arr, 0)));
    json_decref(arr);
}

void
wr_mgmt_delete_binding(struct wr_mgmt_req *r)
{
    struct ends e;
    struct wr_binding *b = NULL;
    struct wr_op_err err;
    bool existed;
    struct wr_bytes key;
    struct wr_table args;
    uint8_t kbuf[256], *copy = NULL;

    if (!binding_ends(r, &e))
        return;
    if (between(&e, r->seg[6], NULL, &b) == 0) {
        wr_mgmt_not_found(r);
        return;
    }
    if (b == NULL) { /* the default exchange's implicit binding */
        key = wr_mgmt_seg(r, 5);
        args = (struct wr_table){NULL, 0};
    } else {
        /* Copies: unbinding frees the binding these would view. */
        memcpy(kbuf, b->key, b->key_len);
        key = (struct wr_bytes){kbuf, b->key_len};
        copy = wr_malloc(b->args_len ? b->args_len : 1);
        if (b->args_len)
            memcpy(copy, b->args, b->args_len);
        args = (struct wr_table){copy, b->args_len};
    }
    if (!wr_mgmt_access(r, e.vh, WR_PERM_WRITE,
                        e.kind == WR_DEST_QUEUE ? "queue" : "exchange",
                        e.kind == WR_DEST_QUEUE ? wr_mgmt_seg(r, 5)
                                                : exchange_seg(r, 5)) ||
        !wr_mgmt_access(r, e.vh, WR_PERM_READ, "exchange",
                        exchange_seg(r, 3)) ||
        !wr_mgmt_access_topic(r, e.vh, e.src->name_len ? e.src : NULL,
                              WR_PERM_READ, key)) {
        wr_free(copy);
        return;
    }
    if (wr_vhost_unbind(e.vh, e.kind, exchange_seg(r, 3),
                        e.kind == WR_DEST_QUEUE ? wr_mgmt_seg(r, 5)
                                                : exchange_seg(r, 5),
                        key, args, NULL, &existed, &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 204);
    wr_free(copy);
}
