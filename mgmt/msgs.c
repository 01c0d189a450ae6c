/* SPDX-License-Identifier: MIT */
/* Messages through the management API: POST .../publish routes a message
 * exactly as basic.publish does (wr_vhost_publish); POST .../get takes
 * messages as basic.get does, then acks or requeues them (ackmode). */
#include "mgmt_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encodes props; *buf is a new allocation (wr_free it). */
static int
encode_props(const struct wr_props *p, uint8_t **buf, size_t *len)
{
    for (size_t cap = 512; cap <= WR_JSON_TABLE_MAX * 2; cap *= 4) {
        int rc;
        *buf = wr_malloc(cap);
        rc = wr_props_encode(p, *buf, cap, len);
        if (rc == WR_OK)
            return WR_OK;
        wr_free(*buf);
        *buf = NULL;
        if (rc != WR_ERR_NOSPACE)
            return rc;
    }
    return WR_ERR_NOSPACE;
}

void
wr_mgmt_post_publish(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL;
    struct wr_bytes xname = wr_mgmt_seg(r, 2);
    struct wr_exchange *x;
    const char *rkey, *payload, *enc;
    size_t rkey_len, payload_len, props_len = 0, body_len;
    struct wr_props props;
    uint8_t *hdrs = NULL, *pbuf = NULL;
    struct wr_msg *m;
    char why[200];
    bool routed, rejected;

    if (body == NULL)
        return;
    if (wr_bytes_eq_str(xname, "amq.default"))
        xname = WR_BYTES_LIT("");
    x = wr_vhost_exchange(vh, xname);
    if (x == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    if (!wr_mgmt_access(r, vh, WR_PERM_WRITE, "exchange", xname))
        return;
    if (x->internal) { /* RabbitMQ: 400, not the usual 401 for a 403 */
        wr_mgmt_error(r, 400, "bad_request",
                      "ACCESS_REFUSED - cannot publish to internal exchange "
                      "'%s' in vhost '%s'",
                      x->name, vh->name);
        return;
    }
    if (wr_mgmt_field_str(r, body, "routing_key", NULL, &rkey, &rkey_len) ||
        wr_mgmt_field_str(r, body, "payload", NULL, &payload, &payload_len) ||
        wr_mgmt_field_str(r, body, "payload_encoding", "string", &enc, NULL))
        return;
    if (rkey_len > 255) {
        wr_mgmt_error(r, 400, "bad_request",
                      "routing_key is longer than 255 bytes");
        return;
    }
    if (!wr_mgmt_access_topic(
            r, vh, x, WR_PERM_WRITE,
            (struct wr_bytes){(const uint8_t *)rkey, (uint32_t)rkey_len}))
        return;
    if (strcmp(enc, "string") != 0 && strcmp(enc, "base64") != 0) {
        wr_mgmt_error(r, 400, "bad_request",
                      "payload_encoding must be string or base64");
        return;
    }
    if (wr_json_to_props(json_object_get(body, "properties"), &props, &hdrs,
                         why, sizeof(why)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "%s", why);
        return;
    }
    if (encode_props(&props, &pbuf, &props_len) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "properties are too large");
        goto done;
    }
    body_len = enc[0] == 'b' ? payload_len / 4 * 3 + 3 : payload_len;
    if (body_len > r->srv->cfg.max_message_size + 3) {
        wr_mgmt_error(r, 400, "bad_request",
                      "payload is larger than max_message_size (%llu bytes)",
                      (unsigned long long)r->srv->cfg.max_message_size);
        goto done;
    }
    m = wr_msg_new((struct wr_bytes){(const uint8_t *)x->name, x->name_len},
                   (struct wr_bytes){(const uint8_t *)rkey, (uint32_t)rkey_len},
                   pbuf, (uint32_t)props_len, body_len);
    if (m == NULL) {
        wr_mgmt_error(r, 500, "internal_error", "cannot create the message");
        goto done;
    }
    if (enc[0] == 'b') {
        size_t n;
        if (wr_json_b64_decode(payload, payload_len, wr_msg_body(m), body_len,
                               &n) != WR_OK) {
            wr_msg_unref(&m);
            wr_mgmt_error(r, 400, "bad_request", "payload is not base64");
            goto done;
        }
        m->body_size = n;
    } else if (payload_len) {
        memcpy(wr_msg_body(m), payload, payload_len);
    }
    if (m->body_size > r->srv->cfg.max_message_size) {
        wr_msg_unref(&m);
        wr_mgmt_error(r, 400, "bad_request",
                      "payload is larger than max_message_size (%llu bytes)",
                      (unsigned long long)r->srv->cfg.max_message_size);
        goto done;
    }
    wr_vhost_publish(vh, x, m, false, &r->m->route, &routed, &rejected);
    wr_msg_unref(&m);
    wr_mgmt_reply(r, 200, json_pack("{s:b}", "routed", routed));
done:
    wr_free(hdrs);
    wr_free(pbuf);
}

static json_t *
message_json(struct wr_queue *q, struct wr_msg *m, bool redelivered,
             bool base64, int64_t truncate)
{
    json_t *o = json_object(), *props;
    struct wr_props p;
    size_t n = (size_t)m->body_size;
    struct wr_bytes x = wr_msg_exchange(m), k = wr_msg_rkey(m);

    if (truncate >= 0 && (uint64_t)truncate < m->body_size)
        n = (size_t)truncate;
    if (m->props_len && wr_msg_props(m, &p) == WR_OK)
        props = wr_json_from_props(&p);
    else
        props = json_object();
    json_object_set_new(o, "payload_bytes",
                        json_integer((json_int_t)m->body_size));
    json_object_set_new(o, "redelivered", json_boolean(redelivered));
    json_object_set_new(o, "exchange", wr_json_bytes(x.ptr, x.len));
    json_object_set_new(o, "routing_key", wr_json_bytes(k.ptr, k.len));
    json_object_set_new(o, "message_count",
                        json_integer((json_int_t)wr_queue_counts(q)->ready));
    json_object_set_new(o, "properties", props);
    if (!base64 && wr_json_utf8_ok(wr_msg_body(m), n)) {
        json_object_set_new(o, "payload", wr_json_bytes(wr_msg_body(m), n));
        json_object_set_new(o, "payload_encoding", json_string("string"));
    } else {
        json_object_set_new(o, "payload",
                            wr_json_b64_encode(wr_msg_body(m), n));
        json_object_set_new(o, "payload_encoding", json_string("base64"));
    }
    return o;
}

void
wr_mgmt_post_get(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    json_t *body = vh ? wr_mgmt_body(r) : NULL, *arr;
    struct wr_queue *q;
    const char *ackmode, *enc;
    int64_t count, truncate;
    bool requeue, ack, keep;
    struct wr_delivery *taken;
    int64_t now = wr_now_ms();
    struct wr_op_err err;
    size_t n = 0;

    if (body == NULL)
        return;
    if (!wr_mgmt_access(r, vh, WR_PERM_READ, "queue", wr_mgmt_seg(r, 2)))
        return;
    q = wr_vhost_queue(vh, wr_mgmt_seg(r, 2));
    if (q == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    if (wr_mgmt_field_int(r, body, "count", 1, 0, INT32_MAX, &count) ||
        wr_mgmt_field_str(r, body, "ackmode", "ack_requeue_true", &ackmode,
                          NULL) ||
        wr_mgmt_field_str(r, body, "encoding", "auto", &enc, NULL) ||
        wr_mgmt_field_int(r, body, "truncate", -1, 0, INT64_MAX, &truncate))
        return;
    if (strcmp(ackmode, "ack_requeue_true") != 0 &&
        strcmp(ackmode, "ack_requeue_false") != 0 &&
        strcmp(ackmode, "reject_requeue_true") != 0 &&
        strcmp(ackmode, "reject_requeue_false") != 0) {
        wr_mgmt_error(r, 400, "bad_request",
                      "ackmode must be ack_requeue_true, ack_requeue_false, "
                      "reject_requeue_true or reject_requeue_false");
        return;
    }
    if (strcmp(enc, "auto") != 0 && strcmp(enc, "base64") != 0) {
        wr_mgmt_error(r, 400, "bad_request", "encoding must be auto or base64");
        return;
    }
    if (wr_vhost_queue_check_access(vh, q, NULL, &err) != WR_OK) {
        wr_mgmt_op_error(r, &err);
        return;
    }
    requeue = strstr(ackmode, "requeue_true") != NULL;
    ack = ackmode[0] == 'a';
    /* reject_requeue_false drops what it takes: a no-ack get. */
    keep = requeue || ack;
    if ((uint64_t)count > wr_queue_counts(q)->ready)
        count = (int64_t)wr_queue_counts(q)->ready;
    taken = wr_calloc(count ? (size_t)count : 1, sizeof(*taken));
    arr = json_array();
    /* As basic.get on a channel of its own, then basic.ack or
     * basic.nack(requeue) of everything at the end, as RabbitMQ does: a
     * requeued message is not taken twice by one request. */
    while (n < (size_t)count) {
        struct wr_delivery e;
        if (!wr_queue_get(q, now, !keep, &e))
            break;
        taken[n++] = e;
        json_array_append_new(arr, message_json(q, e.msg, e.redelivered,
                                                enc[0] == 'b', truncate));
    }
    for (size_t i = n; i-- > 0;) {
        if (keep)
            wr_queue_settle(q, taken[i].id, taken[i].handle,
                            requeue ? WR_SETTLE_REQUEUE : WR_SETTLE_ACK, now);
        else
            wr_msg_unref(&taken[i].msg);
    }
    if (requeue && n)
        wr_queue_dispatch(q, now);
    wr_free(taken);
    wr_mgmt_reply(r, 200, arr);
}

/* Parses an optional non-negative integer query parameter. */
static int
query_int(struct wr_mgmt_req *r, const char *key, int64_t dflt, int64_t max,
          int64_t *out)
{
    const char *v = wr_mgmt_query(r, key);
    char *end;
    long long n;

    *out = dflt;
    if (v == NULL)
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (*v == '\0' || *end || errno || n < 0 || n > max) {
        wr_mgmt_error(r, 400, "bad_request",
                      "%s must be an integer from 0 to %lld", key,
                      (long long)max);
        return WR_ERR_INVALID;
    }
    *out = n;
    return 0;
}

void
wr_mgmt_get_peek(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    const char *enc;
    struct wr_queue *q;
    struct wr_qentry *seen;
    struct wr_op_err err;
    int64_t count, truncate;
    size_t n;
    json_t *arr;

    if (vh == NULL ||
        !wr_mgmt_access(r, vh, WR_PERM_READ, "queue", wr_mgmt_seg(r, 2)))
        return;
    q = wr_vhost_queue(vh, wr_mgmt_seg(r, 2));
    if (q == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    enc = wr_mgmt_query(r, "encoding");
    if (enc == NULL)
        enc = "auto";
    if (query_int(r, "count", 1, 10000, &count) ||
        query_int(r, "truncate", -1, INT64_MAX, &truncate))
        return;
    if (strcmp(enc, "auto") != 0 && strcmp(enc, "base64") != 0) {
        wr_mgmt_error(r, 400, "bad_request", "encoding must be auto or base64");
        return;
    }
    if (wr_vhost_queue_check_access(vh, q, NULL, &err) != WR_OK) {
        wr_mgmt_op_error(r, &err);
        return;
    }
    seen = wr_calloc(count ? (size_t)count : 1, sizeof(*seen));
    /* a durable queue's first entries may be paged out: read them back */
    wr_queue_page_in(q, (uint64_t)count);
    n = wr_queue_peek(q, wr_now_ms(), seen, (size_t)count);
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              message_json(q, seen[i].msg, seen[i].redelivered,
                                           enc[0] == 'b', truncate));
    wr_free(seen);
    wr_mgmt_reply(r, 200, arr);
}
