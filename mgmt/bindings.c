/* SPDX-License-Identifier: MIT */
/* The management API's bindings: their JSON (with RabbitMQ's properties
 * key), listing per vhost and between two ends, bind (POST) and unbind
 * (DELETE). Bind and unbind go through vhost_ops.c, as AMQP does. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

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

/* ---- bindings ----------------------------------------------------------- */

void
wr_mgmt_get_bindings(struct wr_mgmt_req *r)
{
    json_t *arr = json_array();
    struct wr_vhost **vhs;
    size_t nv;

    if (!wr_mgmt_list_vhosts(r, 1, &vhs, &nv)) {
        json_decref(arr);
        return;
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
    e->src = wr_vhost_exchange(e->vh, wr_mgmt_exchange_seg(r, 3));
    e->dest =
        e->kind == WR_DEST_QUEUE
            ? (void *)wr_vhost_queue(e->vh, wr_mgmt_seg(r, 5))
            : (void *)wr_vhost_exchange(e->vh, wr_mgmt_exchange_seg(r, 5));
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
    struct wr_bytes src = wr_mgmt_exchange_seg(r, 3);
    struct wr_bytes dest =
        kind == WR_DEST_QUEUE ? wr_mgmt_seg(r, 5) : wr_mgmt_exchange_seg(r, 5);
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
                                                : wr_mgmt_exchange_seg(r, 5)) ||
        !wr_mgmt_access(r, e.vh, WR_PERM_READ, "exchange",
                        wr_mgmt_exchange_seg(r, 3)) ||
        !wr_mgmt_access_topic(r, e.vh, e.src->name_len ? e.src : NULL,
                              WR_PERM_READ, key)) {
        wr_free(copy);
        return;
    }
    if (wr_vhost_unbind(e.vh, e.kind, wr_mgmt_exchange_seg(r, 3),
                        e.kind == WR_DEST_QUEUE ? wr_mgmt_seg(r, 5)
                                                : wr_mgmt_exchange_seg(r, 5),
                        key, args, NULL, &existed, &err) != WR_OK)
        wr_mgmt_op_error(r, &err);
    else
        wr_mgmt_reply_empty(r, 204);
    wr_free(copy);
}
