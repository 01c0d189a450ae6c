/* SPDX-License-Identifier: MIT */
/* Definitions export (GET /api/definitions[/{vhost}]) and import (POST), in
 * RabbitMQ's format: exchanges, queues and bindings here; users, vhosts,
 * permissions, topic permissions, vhost limits, policies and operator
 * policies through defs.c, the codec of the definitions file. */
#include "mgmt_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WR_DEFS_VERSION "3.10.0"

/* ---- export ------------------------------------------------------------- */

static bool
builtin_exchange(const struct wr_exchange *x)
{
    return x->name_len == 0 ||
           (x->name_len >= 4 && memcmp(x->name, "amq.", 4) == 0);
}

/* Adds one vhost's objects to the three lists; with_vhost names the vhost
 * in every item (a whole-broker export). */
static void
export_vhost(struct wr_vhost *vh, bool with_vhost, json_t *queues,
             json_t *exchanges, json_t *bindings)
{
    struct wr_queue **qs;
    struct wr_exchange **xs;
    size_t nq = wr_mgmt_sorted_queues(vh, &qs);
    size_t nx = wr_mgmt_sorted_exchanges(vh, &xs);
    struct wr_list *pos, *tmp;

    for (size_t i = 0; i < nx; i++) {
        struct wr_exchange *x = xs[i];
        json_t *o;
        if (builtin_exchange(x))
            continue;
        o = json_object();
        json_object_set_new(o, "name", wr_json_bytes(x->name, x->name_len));
        if (with_vhost)
            json_object_set_new(o, "vhost", json_string(vh->name));
        json_object_set_new(o, "type", json_string(x->type->name));
        json_object_set_new(o, "durable", json_boolean(x->durable));
        json_object_set_new(o, "auto_delete", json_boolean(x->auto_delete));
        json_object_set_new(o, "internal", json_boolean(x->internal));
        json_object_set_new(o, "arguments",
                            wr_json_from_table((struct wr_table){
                                x->raw_args, x->raw_args_len}));
        json_array_append_new(exchanges, o);
    }
    /* Exclusive queues belong to a connection: RabbitMQ leaves them out. */
    for (size_t i = 0; i < nq; i++) {
        struct wr_queue *q = qs[i];
        json_t *o;
        if (q->exclusive)
            continue;
        o = json_object();
        json_object_set_new(o, "name", wr_json_bytes(q->name, q->name_len));
        if (with_vhost)
            json_object_set_new(o, "vhost", json_string(vh->name));
        json_object_set_new(o, "durable", json_boolean(q->durable));
        json_object_set_new(o, "auto_delete", json_boolean(q->auto_delete));
        json_object_set_new(o, "arguments",
                            wr_json_from_table((struct wr_table){
                                q->raw_args, q->raw_args_len}));
        json_array_append_new(queues, o);
    }
    for (size_t i = 0; i < nx; i++) {
        wr_list_for_each_safe(pos, tmp, &xs[i]->bindings)
        {
            struct wr_binding *b =
                WR_CONTAINER_OF(pos, struct wr_binding, src_link);
            json_t *o;
            if (b->dest_kind == WR_DEST_QUEUE && b->dest.queue->exclusive)
                continue;
            o = wr_mgmt_json_binding(vh, b);
            json_object_del(o, "properties_key");
            if (!with_vhost)
                json_object_del(o, "vhost");
            json_array_append_new(bindings, o);
        }
    }
    wr_free(qs);
    wr_free(xs);
}

void
wr_mgmt_get_definitions(struct wr_mgmt_req *r)
{
    json_t *o = json_object(), *queues = json_array(),
           *exchanges = json_array(), *bindings = json_array();
    struct wr_vhost *one = NULL, **vhs;
    size_t nv;

    if (r->nseg == 2 && (one = wr_mgmt_vhost(r, 1)) == NULL) {
        json_decref(o);
        json_decref(queues);
        json_decref(exchanges);
        json_decref(bindings);
        return;
    }
    json_object_set_new(o, "rabbit_version", json_string(WR_DEFS_VERSION));
    json_object_set_new(o, "rabbitmq_version", json_string(WR_DEFS_VERSION));
    json_object_set_new(o, "product_name", json_string(WR_PRODUCT));
    json_object_set_new(o, "product_version", json_string(WR_VERSION));
    if (one) {
        json_t *policies = json_array(), *params = json_array();
        export_vhost(one, false, queues, exchanges, bindings);
        wr_defs_export_policies(one, false, policies, params);
        json_object_set_new(o, "parameters", params);
        json_object_set_new(o, "policies", policies);
    } else {
        nv = wr_mgmt_sorted_vhosts(r->srv, &vhs);
        for (size_t i = 0; i < nv; i++)
            export_vhost(vhs[i], true, queues, exchanges, bindings);
        wr_free(vhs);
        /* users, vhosts, permissions, topic_permissions, parameters,
         * policies */
        wr_defs_export(r->srv, o);
        json_object_set_new(o, "global_parameters", json_array());
    }
    json_object_set_new(o, "queues", queues);
    json_object_set_new(o, "exchanges", exchanges);
    json_object_set_new(o, "bindings", bindings);
    wr_mgmt_reply(r, 200, o);
}

/* ---- import ------------------------------------------------------------- */

struct import {
    struct wr_mgmt_req *r;
    struct wr_vhost *only; /* POST /api/definitions/{vhost} */
    bool apply;            /* false: check the document only */
    char err[600];
};

static bool bad(struct import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
bad(struct import *im, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(im->err, sizeof(im->err), fmt, ap);
    va_end(ap);
    return false;
}

/* A string field of an item (required unless def). */
static bool
item_str(struct import *im, json_t *o, const char *what, size_t i,
         const char *key, const char *def, struct wr_bytes *out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL && def) {
        *out = wr_bytes_str(def);
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) > 255)
        return bad(im, "%s[%zu]: '%s' must be a string of at most 255 bytes",
                   what, i, key);
    *out = (struct wr_bytes){(const uint8_t *)json_string_value(v),
                             (uint32_t)json_string_length(v)};
    return true;
}

static bool
item_bool(struct import *im, json_t *o, const char *what, size_t i,
          const char *key, bool *out)
{
    json_t *v = json_object_get(o, key);

    *out = false;
    if (v == NULL || json_is_null(v))
        return true;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
                              strcmp(json_string_value(v), "false") == 0)) {
        *out = json_string_value(v)[0] == 't';
        return true;
    }
    return bad(im, "%s[%zu]: '%s' must be true or false", what, i, key);
}

/* The vhost an item names (or the one of the path). */
static bool
item_vhost(struct import *im, json_t *o, const char *what, size_t i,
           struct wr_vhost **vh)
{
    struct wr_bytes name;

    *vh = im->only;
    if (im->only)
        return true;
    if (!item_str(im, o, what, i, "vhost", NULL, &name))
        return false;
    *vh = wr_hmap_get(&im->r->srv->vhosts, name.ptr, name.len);
    if (*vh == NULL && im->apply)
        return bad(im, "%s[%zu]: no vhost '%.*s'", what, i, (int)name.len,
                   name.ptr);
    return true;
}

static bool
item_args(struct import *im, json_t *o, const char *what, size_t i,
          uint8_t **buf, struct wr_table *t)
{
    char why[160];

    if (wr_json_to_table(json_object_get(o, "arguments"), buf, t, why,
                         sizeof(why)) != WR_OK)
        return bad(im, "%s[%zu]: arguments: %s", what, i, why);
    return true;
}

static bool
op_failed(struct import *im, const char *what, size_t i,
          const struct wr_op_err *e)
{
    return bad(im, "%s[%zu]: %s - %s", what, i, wr_reply_name(e->code),
               e->text);
}

/* Each list must be an array of objects when present. */
static bool
list_of(struct import *im, json_t *body, const char *key, json_t **out)
{
    size_t i;
    json_t *v;

    *out = json_object_get(body, key);
    if (*out == NULL || json_is_null(*out)) {
        *out = NULL;
        return true;
    }
    if (!json_is_array(*out))
        return bad(im, "'%s' must be an array", key);
    json_array_foreach(*out, i, v) if (!json_is_object(v)) return bad(
        im, "%s[%zu] must be an object", key, i);
    return true;
}

static bool
import_exchanges(struct import *im, json_t *list)
{
    size_t i;
    json_t *o;

    json_array_foreach(list, i, o)
    {
        struct wr_exchange_decl d = {0};
        struct wr_vhost *vh;
        struct wr_exchange *x;
        struct wr_op_err e;
        uint8_t *args = NULL;
        bool created, ok;

        if (!item_vhost(im, o, "exchanges", i, &vh) ||
            !item_str(im, o, "exchanges", i, "name", NULL, &d.name) ||
            !item_str(im, o, "exchanges", i, "type", NULL, &d.type) ||
            !item_bool(im, o, "exchanges", i, "durable", &d.durable) ||
            !item_bool(im, o, "exchanges", i, "auto_delete", &d.auto_delete) ||
            !item_bool(im, o, "exchanges", i, "internal", &d.internal) ||
            !item_args(im, o, "exchanges", i, &args, &d.args))
            return false;
        if (wr_exch_type_find(d.type) == NULL) {
            wr_free(args);
            return bad(im, "exchanges[%zu]: unknown exchange type '%.*s'", i,
                       (int)d.type.len, d.type.ptr);
        }
        ok = !im->apply ||
             wr_vhost_declare_exchange(vh, &d, &x, &created, &e) == WR_OK ||
             op_failed(im, "exchanges", i, &e);
        wr_free(args);
        if (!ok)
            return false;
    }
    return true;
}

static bool
import_queues(struct import *im, json_t *list)
{
    size_t i;
    json_t *o;

    json_array_foreach(list, i, o)
    {
        struct wr_queue_decl d = {.allow_reserved = true};
        struct wr_vhost *vh;
        struct wr_queue *q;
        struct wr_op_err e;
        uint8_t *args = NULL;
        bool created, ok;

        if (!item_vhost(im, o, "queues", i, &vh) ||
            !item_str(im, o, "queues", i, "name", NULL, &d.name) ||
            !item_bool(im, o, "queues", i, "durable", &d.durable) ||
            !item_bool(im, o, "queues", i, "auto_delete", &d.auto_delete) ||
            !item_args(im, o, "queues", i, &args, &d.args))
            return false;
        if (d.name.len == 0) {
            wr_free(args);
            return bad(im, "queues[%zu]: empty name", i);
        }
        ok = !im->apply ||
             wr_vhost_declare_queue(vh, &d, NULL, &q, &created, &e) == WR_OK ||
             op_failed(im, "queues", i, &e);
        wr_free(args);
        if (!ok)
            return false;
    }
    return true;
}

static bool
import_bindings(struct import *im, json_t *list)
{
    size_t i;
    json_t *o;

    json_array_foreach(list, i, o)
    {
        struct wr_bytes src, dest, type, key;
        struct wr_table t;
        struct wr_vhost *vh;
        struct wr_op_err e;
        uint8_t *args = NULL;
        bool to_queue, ok;

        if (!item_vhost(im, o, "bindings", i, &vh) ||
            !item_str(im, o, "bindings", i, "source", NULL, &src) ||
            !item_str(im, o, "bindings", i, "destination", NULL, &dest) ||
            !item_str(im, o, "bindings", i, "destination_type", "queue",
                      &type) ||
            !item_str(im, o, "bindings", i, "routing_key", "", &key) ||
            !item_args(im, o, "bindings", i, &args, &t))
            return false;
        to_queue = wr_bytes_eq_str(type, "queue");
        if (!to_queue && !wr_bytes_eq_str(type, "exchange")) {
            wr_free(args);
            return bad(im,
                       "bindings[%zu]: destination_type must be queue or "
                       "exchange",
                       i);
        }
        ok = !im->apply ||
             wr_vhost_bind(vh, to_queue ? WR_DEST_QUEUE : WR_DEST_EXCHANGE, src,
                           dest, key, t, NULL, &e) == WR_OK ||
             op_failed(im, "bindings", i, &e);
        wr_free(args);
        if (!ok)
            return false;
    }
    return true;
}

static bool
import_all(struct import *im, json_t *body)
{
    json_t *vhosts, *exchanges, *queues, *bindings;

    if (!list_of(im, body, "vhosts", &vhosts) ||
        !list_of(im, body, "exchanges", &exchanges) ||
        !list_of(im, body, "queues", &queues) ||
        !list_of(im, body, "bindings", &bindings))
        return false;
    /* Users, vhosts and permissions first (defs.c checks its sections
     * whole before changing anything), then the topology. */
    if (im->apply && im->only == NULL &&
        wr_defs_import(im->r->srv, body, im->err, sizeof(im->err)) != 0)
        return false;
    /* A per-vhost document's policies go to that vhost; the whole
     * broker's were checked (and are applied) by wr_defs_import. */
    if ((im->only || !im->apply) &&
        wr_defs_policies(im->r->srv, im->only, body, im->apply, im->err,
                         sizeof(im->err)) != 0)
        return false;
    return (exchanges == NULL || import_exchanges(im, exchanges)) &&
           (queues == NULL || import_queues(im, queues)) &&
           (bindings == NULL || import_bindings(im, bindings));
}

void
wr_mgmt_post_definitions(struct wr_mgmt_req *r)
{
    struct import im = {.r = r};
    json_t *body;

    if (r->nseg == 2 && (im.only = wr_mgmt_vhost(r, 1)) == NULL)
        return;
    if ((body = wr_mgmt_body(r)) == NULL)
        return;
    /* Check the whole document first, so a malformed one changes nothing;
     * then apply it in RabbitMQ's order. A refusal while applying (an
     * inequivalent redeclare) stops there, like RabbitMQ's import. */
    if (!import_all(&im, body)) {
        wr_mgmt_error(r, 400, "bad_request", "%s", im.err);
        return;
    }
    im.apply = true;
    if (!import_all(&im, body)) {
        wr_mgmt_error(r, 400, "bad_request", "%s", im.err);
        return;
    }
    wr_log(WR_LOG_NOTICE, "definitions imported by user '%s'", r->user);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}

int
wr_mgmt_import_file(struct wr_server *s, const char *path, char *err,
                    size_t errlen)
{
    struct wr_mgmt_req r = {.srv = s};
    struct import im = {.r = &r};
    json_error_t je;
    json_t *body = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    bool ok;

    if (body == NULL) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return WR_ERR_INVALID;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        snprintf(err, errlen, "%s: expected a JSON object", path);
        return WR_ERR_INVALID;
    }
    ok = import_all(&im, body);
    if (ok) {
        im.apply = true;
        ok = import_all(&im, body);
    }
    json_decref(body);
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, im.err);
        return WR_ERR_INVALID;
    }
    wr_log(WR_LOG_NOTICE, "definitions imported from %s (load_definitions)",
           path);
    if (s->cfg.definitions_file[0])
        wr_server_save_definitions(s);
    return 0;
}
