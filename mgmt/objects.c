/* SPDX-License-Identifier: MIT */
/* The management API's exchanges, queues and bindings: listing, declare
 * (PUT), delete, bind (POST) and unbind, and queue purge. Declare, delete
 * and bind go through vhost_ops.c, as AMQP does, so the checks and error
 * texts are the same. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (x->type == &wr_exch_delayed) /* held until due (x-delay) */
        json_object_set_new(o, "messages_delayed",
                            json_integer((json_int_t)wr_delayed_count(x)));
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

    uint64_t ram = n->ready + n->unacked - n->paged;

    /* a paged-out entry costs its 16-byte slot and 16-byte location */
    return 512 + q->name_len + q->raw_args_len + n->ready_bytes +
           n->unacked_bytes - n->paged_bytes +
           ram * (sizeof(struct wr_msg) + 32) + n->paged * 32;
}

/* A stream's log: RabbitMQ 3.10's members, online and readers (its
 * consumers, by node); the names of rabbitmq-streams stream_status for
 * first_offset (the oldest offset it holds), committed_offset (the last
 * durable one) and segments (its segment files); last_offset (the newest)
 * and disk_bytes (the size of its segment files). An offset is null while
 * the stream holds nothing. */
static void
stream_fields(struct wr_mgmt *m, const struct wr_queue *q, json_t *o)
{
    struct wr_stream_info si;
    bool empty;

    wr_stream_info(q, &si);
    empty = si.next <= si.first;
    json_object_set_new(o, "members", json_pack("[s]", m->node));
    json_object_set_new(o, "online", json_pack("[s]", m->node));
    json_object_set_new(o, "readers",
                        json_pack("{s:i}", m->node, (int)q->consumer_count));
    json_object_set_new(o, "first_offset",
                        empty ? json_null()
                              : json_integer((json_int_t)si.first));
    json_object_set_new(o, "last_offset",
                        empty ? json_null()
                              : json_integer((json_int_t)(si.next - 1)));
    json_object_set_new(o, "committed_offset",
                        si.committed > si.first
                            ? json_integer((json_int_t)(si.committed - 1))
                            : json_null());
    json_object_set_new(o, "disk_bytes", json_integer((json_int_t)si.bytes));
    json_object_set_new(o, "segments", json_integer((json_int_t)si.segments));
}

/* The offsets stored for consumer tags (x-stream-automatic-offset-tracking),
 * connected or not: [{"consumer_tag", "offset"}], by tag. */
static int
by_tag(const void *a, const void *b)
{
    const json_t *x = json_object_get(*(json_t *const *)a, "consumer_tag");
    const json_t *y = json_object_get(*(json_t *const *)b, "consumer_tag");
    size_t xl = json_string_length(x), yl = json_string_length(y);
    int c =
        memcmp(json_string_value(x), json_string_value(y), xl < yl ? xl : yl);

    return c ? c : (xl > yl) - (xl < yl);
}

static json_t *
tracked_json(const struct wr_queue *q)
{
    json_t *list = json_array(), **v;
    struct wr_bytes tag;
    uint64_t off;
    size_t pos = 0, n = 0;

    while (wr_stream_tracked_next(q, &pos, &tag, &off))
        json_array_append_new(
            list, json_pack("{s:o,s:I}", "consumer_tag",
                            wr_json_bytes((const char *)tag.ptr, tag.len),
                            "offset", (json_int_t)off));
    n = json_array_size(list);
    if (n < 2)
        return list;
    v = wr_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    qsort(v, n, sizeof *v, by_tag);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, v[i]);
    wr_free(v);
    return list;
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
    json_object_set_new(
        o, "type", json_string(wr_queue_is_stream(q) ? "stream" : "classic"));
    if (wr_queue_is_stream(q))
        stream_fields(m, q, o);
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
    wr_mgmt_json_message_counts(o, &c, rates);
    {
        /* in memory: ready and unacked, less what durable queues paged
         * out; persistent: entries with records in the store */
        const struct wr_queue_counts *n = wr_queue_counts(q);
        json_object_set_new(
            o, "messages_ram",
            json_integer((json_int_t)(n->ready + n->unacked - n->paged)));
        json_object_set_new(
            o, "message_bytes_ram",
            json_integer((json_int_t)(n->ready_bytes + n->unacked_bytes -
                                      n->paged_bytes)));
        json_object_set_new(o, "messages_persistent",
                            json_integer((json_int_t)n->persistent));
        json_object_set_new(o, "message_bytes_persistent",
                            json_integer((json_int_t)n->persistent_bytes));
        json_object_set_new(o, "message_bytes_unacknowledged",
                            json_integer((json_int_t)n->unacked_bytes));
        json_object_set_new(
            o, "message_bytes",
            json_integer((json_int_t)(n->ready_bytes + n->unacked_bytes)));
    }
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
            if (wc->ops->gone) /* a shovel's: no channel behind it */
                continue;
            json_array_append_new(list, wr_mgmt_json_consumer(WR_CONTAINER_OF(
                                            wc, struct wr_bconsumer, base)));
        }
        json_object_set_new(o, "consumer_details", list);
        if (wr_queue_is_stream(q))
            json_object_set_new(o, "tracked_offsets", tracked_json(q));
        json_object_set_new(o, "incoming", json_array());
        json_object_set_new(o, "deliveries", json_array());
    }
    return o;
}

/* ---- exchanges ---------------------------------------------------------- */

void
wr_mgmt_get_exchanges(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs;
    size_t nv;

    if (!wr_mgmt_list_vhosts(r, 1, &vhs, &nv)) {
        json_decref(arr);
        return;
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
    x = wr_vhost_exchange(*vh, wr_mgmt_exchange_seg(r, 2));
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
    struct wr_exchange_decl d = {.name = wr_mgmt_exchange_seg(r, 2)};
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
                                      wr_mgmt_exchange_seg(r, 2)))
        return;
    if (wr_vhost_remove_exchange(vh, wr_mgmt_exchange_seg(r, 2),
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
        v = json_string(wr_queue_is_stream(q) ? "stream" : "classic");
    else if (strcmp(sort, "consumers") == 0)
        v = json_integer(q->consumer_count);
    else if (strcmp(sort, "messages") == 0 ||
             strcmp(sort, "messages_ready") == 0 ||
             strcmp(sort, "messages_unacknowledged") == 0) {
        struct wr_mgmt_counters c; /* a stream's are its log's */
        wr_mgmt_queue_counters(q, &c);
        v = json_integer(
            (json_int_t)
                c.v[strcmp(sort, "messages") == 0         ? WR_MC_MESSAGES
                    : strcmp(sort, "messages_ready") == 0 ? WR_MC_READY
                                                          : WR_MC_UNACKED]);
    } else if (strcmp(sort, "message_bytes_ready") == 0)
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
    struct wr_vhost **vhs;
    struct queue_refs refs = {r->m, NULL};
    bool stubs = stubs_will_do(r);
    size_t nv, total = 0, k = 0;

    if (!wr_mgmt_list_vhosts(r, 1, &vhs, &nv)) {
        json_decref(arr);
        return;
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
