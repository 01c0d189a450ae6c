/* SPDX-License-Identifier: MIT */
/* Super streams over the API: PUT /api/stream/super-streams/{vhost}/{name}
 * as RabbitMQ's rabbitmq_stream_management has it (a body with
 * "partitions": N or "binding-keys": "a,b,c", and "arguments" with the
 * partitions' stream settings under RabbitMQ's names), and, warren's
 * additions, GET (one, a vhost's, all) and DELETE. The layout is made by
 * vhost/superstream.c. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

/* RabbitMQ's names for the partitions' arguments (rabbit_stream_manager:
 * stream_queue_arguments) and the queue arguments they become. */
static const struct {
    const char *name, *arg;
} arg_names[] = {
    {"max-length-bytes", "x-max-length-bytes"},
    {"max-age", "x-max-age"},
    {"stream-max-segment-size-bytes", "x-stream-max-segment-size-bytes"},
    {"initial-cluster-size", "x-initial-cluster-size"},
    {"queue-leader-locator", "x-queue-leader-locator"},
    {"stream-filter-size-bytes", "x-stream-filter-size-bytes"},
};

/* The queue arguments for the API's "arguments": RabbitMQ's names mapped,
 * numbers given as strings ("1000000") made numbers, as RabbitMQ coerces
 * them; x-max-age and x-queue-leader-locator stay strings; other keys
 * are ignored, as RabbitMQ ignores them. New reference. */
static json_t *
partition_args(const json_t *given)
{
    json_t *o = json_object();

    if (!json_is_object(given))
        return o;
    for (size_t i = 0; i < WR_ARRAY_LEN(arg_names); i++) {
        json_t *v = json_object_get(given, arg_names[i].name);
        bool is_str = strcmp(arg_names[i].name, "max-age") == 0 ||
                      strcmp(arg_names[i].name, "queue-leader-locator") == 0;
        if (v == NULL)
            continue;
        if (!is_str && json_is_string(v)) {
            char *end;
            long long n = strtoll(json_string_value(v), &end, 10);
            if (*json_string_value(v) && *end == '\0')
                v = json_integer(n);
            else
                v = json_incref(v); /* the declare refuses it */
        } else {
            v = json_incref(v);
        }
        json_object_set_new(o, arg_names[i].arg, v);
    }
    return o;
}

/* Splits "a, b,c" into trimmed non-empty keys (views into s). */
static size_t
split_keys(const char *s, struct wr_bytes *keys, size_t cap)
{
    size_t n = 0;

    while (*s) {
        const char *e = strchr(s, ','), *b = s, *t;
        if (e == NULL)
            e = s + strlen(s);
        t = e;
        while (b < t && (*b == ' ' || *b == '\t'))
            b++;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > b) {
            if (n == cap)
                return cap + 1;
            keys[n++] =
                (struct wr_bytes){(const uint8_t *)b, (uint32_t)(t - b)};
        }
        s = *e ? e + 1 : e;
    }
    return n;
}

void
wr_mgmt_put_super_stream(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 2);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    struct wr_super_stream_decl d = {.name = wr_mgmt_seg(r, 3)};
    json_t *parts, *bkeys, *qargs = NULL;
    struct wr_bytes *keys = NULL;
    char(*nums)[24] = NULL;
    uint8_t *args = NULL;
    char why[160], q[300];
    struct wr_op_err err;
    int64_t n = 0;

    if (body == NULL)
        return;
    if (d.name.len > 255 || !wr_json_utf8_ok(d.name.ptr, d.name.len)) {
        wr_mgmt_error(r, 400, "bad_request",
                      "{validation_failed,\"not a correct name for a super "
                      "stream\"}");
        return;
    }
    parts = json_object_get(body, "partitions");
    bkeys = json_object_get(body, "binding-keys");
    if (bkeys == NULL)
        bkeys =
            json_object_get(body, "routing-keys"); /* rabbitmq-streams 3.10 */
    if (parts == NULL && bkeys == NULL) {
        wr_mgmt_error(r, 400, "bad_request",
                      "Must specify partitions or binding keys");
        return;
    }
    if (parts != NULL && bkeys != NULL) {
        wr_mgmt_error(r, 400, "bad_request",
                      "Specify partitions or binding keys, not both");
        return;
    }
    keys = wr_calloc(WR_SUPER_STREAM_MAX + 1, sizeof(*keys));
    if (parts != NULL) {
        if (wr_mgmt_field_int(r, body, "partitions", 0, INT64_MIN, INT64_MAX,
                              &n) != WR_OK)
            goto out;
        if (n < 1) {
            wr_mgmt_error(r, 400, "bad_request",
                          "The partition number must be greater than 0");
            goto out;
        }
        if (n > WR_SUPER_STREAM_MAX) {
            wr_mgmt_error(r, 400, "bad_request",
                          "The partition number must not exceed %d",
                          WR_SUPER_STREAM_MAX);
            goto out;
        }
        nums = wr_calloc((size_t)n, sizeof(*nums));
        for (int64_t i = 0; i < n; i++) {
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)i);
            keys[i] = wr_bytes_str(nums[i]);
        }
    } else if (json_is_string(bkeys)) {
        size_t k =
            split_keys(json_string_value(bkeys), keys, WR_SUPER_STREAM_MAX);
        if (k == 0) {
            wr_mgmt_error(r, 400, "bad_request",
                          "The number of binding keys must be greater than 0");
            goto out;
        }
        if (k > WR_SUPER_STREAM_MAX) {
            wr_mgmt_error(r, 400, "bad_request",
                          "The number of binding keys must not exceed %d",
                          WR_SUPER_STREAM_MAX);
            goto out;
        }
        n = (int64_t)k;
    } else {
        wr_mgmt_error(r, 400, "bad_request",
                      "binding-keys must be a comma-separated string");
        goto out;
    }
    d.keys = keys;
    d.n = (size_t)n;
    qargs = partition_args(json_object_get(body, "arguments"));
    if (wr_json_to_table(qargs, &args, &d.args, why, sizeof(why)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "arguments: %s", why);
        goto out;
    }
    /* The permissions of the declares and binds it stands for. */
    if (!wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "exchange", d.name) ||
        !wr_mgmt_access(r, vh, WR_PERM_READ, "exchange", d.name))
        goto out;
    for (size_t i = 0; i < d.n; i++) {
        snprintf(q, sizeof(q), "%.*s-%.*s", (int)d.name.len, d.name.ptr,
                 (int)keys[i].len, keys[i].ptr);
        if (!wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "queue",
                            wr_bytes_str(q)) ||
            !wr_mgmt_access(r, vh, WR_PERM_WRITE, "queue", wr_bytes_str(q)))
            goto out;
    }
    if (wr_vhost_add_super_stream(vh, &d, &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 201);
out:
    json_decref(qargs);
    wr_free(args);
    wr_free(nums);
    wr_free(keys);
}

void
wr_mgmt_delete_super_stream(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 2);
    struct wr_exchange *x;
    const struct wr_binding **parts;
    struct wr_op_err err;
    size_t n;

    if (vh == NULL)
        return;
    x = wr_vhost_exchange(vh, wr_mgmt_seg(r, 3));
    if (x == NULL || !wr_exchange_is_super_stream(x)) {
        wr_mgmt_not_found(r);
        return;
    }
    if (!wr_mgmt_access(r, vh, WR_PERM_CONFIGURE, "exchange",
                        wr_mgmt_seg(r, 3)))
        return;
    n = wr_super_stream_partitions(x, &parts);
    for (size_t i = 0; i < n; i++) {
        const struct wr_queue *q = parts[i]->dest.queue;
        if (!wr_mgmt_access(
                r, vh, WR_PERM_CONFIGURE, "queue",
                (struct wr_bytes){(const uint8_t *)q->name, q->name_len})) {
            wr_free(parts);
            return;
        }
    }
    wr_free(parts);
    if (wr_vhost_delete_super_stream(vh, wr_mgmt_seg(r, 3), &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 204);
}

static json_t *
super_stream_json(struct wr_vhost *vh, struct wr_exchange *x)
{
    const struct wr_binding **parts;
    size_t n = wr_super_stream_partitions(x, &parts);
    json_t *names = json_array(), *keys = json_array();

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(names,
                              wr_json_bytes(parts[i]->dest.queue->name,
                                            parts[i]->dest.queue->name_len));
        json_array_append_new(keys,
                              wr_json_bytes(parts[i]->key, parts[i]->key_len));
    }
    wr_free(parts);
    return json_pack("{s:o,s:s,s:o,s:o}", "name",
                     wr_json_bytes(x->name, x->name_len), "vhost", vh->name,
                     "partitions", names, "binding_keys", keys);
}

void
wr_mgmt_get_super_streams(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs, *one;
    size_t nv;

    if (r->nseg == 3) {
        if ((one = wr_mgmt_vhost(r, 2)) == NULL) {
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
            if (wr_exchange_is_super_stream(xs[i]))
                json_array_append_new(arr, super_stream_json(vhs[v], xs[i]));
        wr_free(xs);
    }
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_get_super_stream(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 2);
    struct wr_exchange *x;

    if (vh == NULL)
        return;
    x = wr_vhost_exchange(vh, wr_mgmt_seg(r, 3));
    if (x == NULL || !wr_exchange_is_super_stream(x))
        wr_mgmt_not_found(r);
    else
        wr_mgmt_reply(r, 200, super_stream_json(vh, x));
}
