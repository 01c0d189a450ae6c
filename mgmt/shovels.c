/* SPDX-License-Identifier: MIT */
/* Shovels over the management API, in RabbitMQ's paths and shapes:
 * the runtime parameters of component "shovel"
 * (/api/parameters/shovel[/{vhost}[/{name}]]: GET, PUT {"value": {...}},
 * DELETE) and their status (/api/shovels[/{vhost}]). Policymaker or
 * administrator, as RabbitMQ's parameters. The engine is vhost/shovel.c. */
#include "mgmt_internal.h"

#include <string.h>
#include <time.h>

static void
each_shovel(struct wr_vhost *vh, json_t *arr,
            json_t *(*fn)(struct wr_mgmt_req *r, struct wr_vhost *vh,
                          struct wr_shovel *sh),
            struct wr_mgmt_req *r)
{
    struct wr_list *pos;

    for (pos = vh->shovels.next; pos != &vh->shovels; pos = pos->next)
        json_array_append_new(
            arr, fn(r, vh, WR_CONTAINER_OF(pos, struct wr_shovel, link)));
}

static json_t *
param_json(struct wr_mgmt_req *r, struct wr_vhost *vh, struct wr_shovel *sh)
{
    (void)r;
    return wr_defs_shovel_json(vh, sh);
}

/* GET /api/parameters, /api/parameters/shovel[/{vhost}]. */
void
wr_mgmt_get_shovel_params(struct wr_mgmt_req *r)
{
    struct wr_vhost **vhs;
    size_t n;
    json_t *arr;

    if (r->nseg >= 2 && strcmp(r->seg[1], "shovel") != 0) {
        /* other components' parameters: none here (vhost limits and
         * operator policies have their own paths) */
        wr_mgmt_reply_list(r, json_array());
        return;
    }
    if (!wr_mgmt_list_vhosts(r, 2, &vhs, &n))
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        each_shovel(vhs[i], arr, param_json, r);
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

static bool
is_shovel_component(struct wr_mgmt_req *r)
{
    if (strcmp(r->seg[1], "shovel") == 0)
        return true;
    wr_mgmt_error(r, 400, "bad_request",
                  "Validation failed\n\ncomponent %s not found\n", r->seg[1]);
    return false;
}

/* GET /api/parameters/shovel/{vhost}/{name} */
void
wr_mgmt_get_shovel_param(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_shovel *sh;

    if (strcmp(r->seg[1], "shovel") != 0) {
        wr_mgmt_not_found(r);
        return;
    }
    if ((vh = wr_mgmt_vhost(r, 2)) == NULL)
        return;
    sh = wr_vhost_shovel(vh, r->seg[3]);
    if (sh == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_reply(r, 200, wr_defs_shovel_json(vh, sh));
}

/* PUT /api/parameters/shovel/{vhost}/{name} {"value": {...}}: 201 when
 * created, 204 when replaced (the shovel restarts). A refusal is 400
 * with RabbitMQ's "Validation failed\n\n...\n". */
void
wr_mgmt_put_shovel_param(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    json_t *body, *val;
    char err[512];
    bool created;
    int rc;

    if (!is_shovel_component(r) || (vh = wr_mgmt_vhost(r, 2)) == NULL ||
        (body = wr_mgmt_body(r)) == NULL)
        return;
    if (r->seglen[3] == 0 || strlen(r->seg[3]) != r->seglen[3] ||
        r->seglen[3] > 255) {
        wr_mgmt_error(r, 400, "bad_request", "bad parameter name");
        return;
    }
    val = json_is_object(body) ? json_object_get(body, "value") : NULL;
    if (val == NULL) {
        wr_mgmt_error(r, 400, "bad_request", "[{key_missing,value}]");
        return;
    }
    rc = wr_vhost_set_shovel(vh, r->seg[3], val, &created, err, sizeof(err));
    if (rc == WR_ERR_INVALID) {
        wr_mgmt_error(r, 400, "bad_request", "Validation failed\n\n%s\n", err);
        return;
    }
    if (rc != WR_OK) {
        wr_mgmt_error(r, 500, "internal_error", "out of memory");
        return;
    }
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' set shovel '%s' in vhost '%s'",
           r->user, r->seg[3], vh->name);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, created ? 201 : 204);
}

/* DELETE /api/parameters/shovel/{vhost}/{name}: 204, or 404. What the
 * shovel took reaches the destination; the rest stays in the source. */
void
wr_mgmt_delete_shovel_param(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;

    if (!is_shovel_component(r) || (vh = wr_mgmt_vhost(r, 2)) == NULL)
        return;
    if (!wr_vhost_clear_shovel(vh, r->seg[3])) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' cleared shovel '%s' in vhost '%s'",
           r->user, r->seg[3], vh->name);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}

static const char *
state_name(enum wr_shovel_state st)
{
    switch (st) {
    case WR_SHOVEL_RUNNING:
        return "running";
    case WR_SHOVEL_TERMINATED:
        return "terminated";
    case WR_SHOVEL_STARTING:
        break;
    }
    return "starting";
}

static json_t *
uri_json(const char *vhost)
{
    char buf[800];
    size_t o;

    if (strcmp(vhost, "/") == 0)
        return json_string("amqp://");
    o = (size_t)snprintf(buf, sizeof(buf), "amqp:///");
    for (const char *p = vhost; *p && o + 4 < sizeof(buf); p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%%%02X", c);
    }
    buf[o] = '\0';
    return json_string(buf);
}

/* One entry of /api/shovels, RabbitMQ's fields (plus warren's
 * messages_moved). */
static json_t *
status_json(struct wr_mgmt_req *r, struct wr_vhost *vh, struct wr_shovel *sh)
{
    const struct wr_shovel_def *d = &sh->def;
    json_t *o = json_object();
    char ts[32] = "";
    time_t t = (time_t)sh->since;
    struct tm tm;

    if (sh->since && gmtime_r(&t, &tm))
        strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    json_object_set_new(o, "node", json_string(r->m->node));
    json_object_set_new(o, "timestamp", json_string(ts));
    json_object_set_new(o, "name", json_string(sh->name));
    json_object_set_new(o, "vhost", json_string(vh->name));
    json_object_set_new(o, "type", json_string("dynamic"));
    json_object_set_new(o, "state", json_string(state_name(sh->state)));
    if (sh->state == WR_SHOVEL_TERMINATED)
        json_object_set_new(o, "reason", json_string(sh->reason));
    json_object_set_new(o, "src_protocol", json_string("amqp091"));
    json_object_set_new(o, "src_uri", uri_json(d->src_vhost));
    if (d->src_queue)
        json_object_set_new(o, "src_queue", json_string(d->src_queue));
    if (d->src_exchange) {
        json_object_set_new(o, "src_exchange", json_string(d->src_exchange));
        json_object_set_new(o, "src_exchange_key",
                            json_string(d->src_key ? d->src_key : ""));
    }
    json_object_set_new(o, "dest_protocol", json_string("amqp091"));
    json_object_set_new(o, "dest_uri", uri_json(d->dest_vhost));
    if (d->dest_queue)
        json_object_set_new(o, "dest_queue", json_string(d->dest_queue));
    if (d->dest_exchange) {
        json_object_set_new(o, "dest_exchange", json_string(d->dest_exchange));
        if (d->dest_key)
            json_object_set_new(o, "dest_exchange_key",
                                json_string(d->dest_key));
    }
    json_object_set_new(o, "blocked_status",
                        json_string(sh->paused ? "blocked" : "running"));
    json_object_set_new(o, "messages_moved",
                        json_integer((json_int_t)sh->moved));
    return o;
}

/* GET /api/shovels[/{vhost}] */
void
wr_mgmt_get_shovels(struct wr_mgmt_req *r)
{
    struct wr_vhost **vhs;
    size_t n;
    json_t *arr;

    if (!wr_mgmt_list_vhosts(r, 1, &vhs, &n))
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        each_shovel(vhs[i], arr, status_json, r);
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}
