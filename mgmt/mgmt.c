/* SPDX-License-Identifier: MIT */
/* The HTTP management API: the evhttp listeners (HTTP and HTTPS), basic
 * auth, the route table (RabbitMQ's paths) and the reply helpers every
 * handler uses. */
#include "mgmt_internal.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- routes ------------------------------------------------------------- */

/* A path pattern after "/api/": literal segments and "*" for one name. */
/* Who may use a route beyond a management login (rabbit_mgmt_util's
 * is_authorized_admin / _monitor); per-vhost checks are the handlers'. */
enum route_access {
    ANY,         /* any management user */
    MONITOR,     /* monitoring or administrator */
    ADMIN,       /* administrator, every method */
    ADMIN_WRITE, /* GET for any management user; PUT / DELETE administrator */
    POLICY,      /* policymaker or administrator (is_authorized_policies) */
};

struct route {
    const char *pattern;
    wr_mgmt_handler_cb get, put, post, del;
    enum route_access access;
};

/* RabbitMQ's paths (rabbit_mgmt_dispatcher), the subset warren serves.
 * /queues/{vhost}/{name}/peek and .../move are warren's own. */
static const struct route routes[] = {
    {"overview", wr_mgmt_get_overview, NULL, NULL, NULL, ANY},
    {"whoami", wr_mgmt_get_whoami, NULL, NULL, NULL, ANY},
    {"nodes", wr_mgmt_get_nodes, NULL, NULL, NULL, MONITOR},
    {"nodes/*", wr_mgmt_get_node, NULL, NULL, NULL, MONITOR},
    {"vhosts", wr_mgmt_get_vhosts, NULL, NULL, NULL, ANY},
    {"vhosts/*", wr_mgmt_get_vhost, wr_mgmt_put_vhost, NULL,
     wr_mgmt_delete_vhost, ADMIN_WRITE},
    {"vhosts/*/permissions", wr_mgmt_get_vhost_permissions, NULL, NULL, NULL,
     ADMIN},
    {"vhosts/*/topic-permissions", wr_mgmt_get_vhost_topic_permissions, NULL,
     NULL, NULL, ADMIN},
    {"users", wr_mgmt_get_users, NULL, NULL, NULL, ADMIN},
    {"users/*", wr_mgmt_get_user, wr_mgmt_put_user, NULL, wr_mgmt_delete_user,
     ADMIN},
    {"users/*/permissions", wr_mgmt_get_user_permissions, NULL, NULL, NULL,
     ADMIN},
    {"users/*/topic-permissions", wr_mgmt_get_user_topic_permissions, NULL,
     NULL, NULL, ADMIN},
    {"permissions", wr_mgmt_get_permissions, NULL, NULL, NULL, ADMIN},
    {"permissions/*/*", wr_mgmt_get_permission, wr_mgmt_put_permission, NULL,
     wr_mgmt_delete_permission, ADMIN},
    {"topic-permissions", wr_mgmt_get_topic_permissions, NULL, NULL, NULL,
     ADMIN},
    {"topic-permissions/*/*", wr_mgmt_get_topic_permission,
     wr_mgmt_put_topic_permission, NULL, wr_mgmt_delete_topic_permission,
     ADMIN},
    {"vhosts/*/connections", wr_mgmt_get_connections, NULL, NULL, NULL, ANY},
    {"vhosts/*/channels", wr_mgmt_get_channels, NULL, NULL, NULL, ANY},
    {"connections", wr_mgmt_get_connections, NULL, NULL, NULL, ANY},
    {"connections/*", wr_mgmt_get_connection, NULL, NULL,
     wr_mgmt_delete_connection, ANY},
    {"connections/*/channels", wr_mgmt_get_connection_channels, NULL, NULL,
     NULL, ANY},
    {"channels", wr_mgmt_get_channels, NULL, NULL, NULL, ANY},
    {"channels/*", wr_mgmt_get_channel, NULL, NULL, NULL, ANY},
    {"consumers", wr_mgmt_get_consumers, NULL, NULL, NULL, ANY},
    {"consumers/*", wr_mgmt_get_consumers, NULL, NULL, NULL, ANY},
    {"exchanges", wr_mgmt_get_exchanges, NULL, NULL, NULL, ANY},
    {"exchanges/*", wr_mgmt_get_exchanges, NULL, NULL, NULL, ANY},
    {"exchanges/*/*", wr_mgmt_get_exchange, wr_mgmt_put_exchange, NULL,
     wr_mgmt_delete_exchange, ANY},
    {"exchanges/*/*/bindings/source", wr_mgmt_get_exchange_bindings, NULL, NULL,
     NULL, ANY},
    {"exchanges/*/*/bindings/destination", wr_mgmt_get_exchange_bindings, NULL,
     NULL, NULL, ANY},
    {"exchanges/*/*/publish", NULL, NULL, wr_mgmt_post_publish, NULL, ANY},
    {"queues", wr_mgmt_get_queues, NULL, NULL, NULL, ANY},
    {"queues/*", wr_mgmt_get_queues, NULL, NULL, NULL, ANY},
    {"queues/*/*", wr_mgmt_get_queue, wr_mgmt_put_queue, NULL,
     wr_mgmt_delete_queue, ANY},
    {"queues/*/*/bindings", wr_mgmt_get_queue_bindings, NULL, NULL, NULL, ANY},
    {"queues/*/*/contents", NULL, NULL, NULL, wr_mgmt_delete_queue_contents,
     ANY},
    {"queues/*/*/get", NULL, NULL, wr_mgmt_post_get, NULL, ANY},
    {"queues/*/*/peek", wr_mgmt_get_peek, NULL, NULL, NULL, ANY},
    {"queues/*/*/move", NULL, NULL, wr_mgmt_post_move, NULL, ANY},
    {"bindings", wr_mgmt_get_bindings, NULL, NULL, NULL, ANY},
    {"bindings/*", wr_mgmt_get_bindings, NULL, NULL, NULL, ANY},
    {"bindings/*/e/*/q/*", wr_mgmt_get_bindings_between, NULL,
     wr_mgmt_post_binding, NULL, ANY},
    {"bindings/*/e/*/e/*", wr_mgmt_get_bindings_between, NULL,
     wr_mgmt_post_binding, NULL, ANY},
    {"bindings/*/e/*/q/*/*", wr_mgmt_get_binding, NULL, NULL,
     wr_mgmt_delete_binding, ANY},
    {"bindings/*/e/*/e/*/*", wr_mgmt_get_binding, NULL, NULL,
     wr_mgmt_delete_binding, ANY},
    {"definitions", wr_mgmt_get_definitions, NULL, wr_mgmt_post_definitions,
     NULL, ADMIN},
    {"definitions/*", wr_mgmt_get_definitions, NULL, wr_mgmt_post_definitions,
     NULL, ADMIN},
    {"vhost-limits", wr_mgmt_get_vhost_limits, NULL, NULL, NULL, ADMIN},
    {"vhost-limits/*", wr_mgmt_get_vhost_limit, NULL, NULL, NULL, ADMIN},
    {"vhost-limits/*/*", NULL, wr_mgmt_put_vhost_limit, NULL,
     wr_mgmt_delete_vhost_limit, ADMIN},
    {"user-limits", wr_mgmt_get_user_limits, NULL, NULL, NULL, ADMIN},
    {"user-limits/*", wr_mgmt_get_user_limit, NULL, NULL, NULL, ADMIN},
    {"user-limits/*/*", NULL, wr_mgmt_put_user_limit, NULL,
     wr_mgmt_delete_user_limit, ADMIN},
    {"aliveness-test/*", wr_mgmt_get_aliveness, NULL, NULL, NULL, ANY},
    {"health/checks/alarms", wr_mgmt_get_health_alarms, NULL, NULL, NULL, ANY},
    {"health/checks/local-alarms", wr_mgmt_get_health_local_alarms, NULL, NULL,
     NULL, ANY},
    {"health/checks/virtual-hosts", wr_mgmt_get_health_ok, NULL, NULL, NULL,
     ANY},
    {"health/checks/node-is-quorum-critical", wr_mgmt_get_health_single_node,
     NULL, NULL, NULL, ANY},
    {"health/checks/node-is-mirror-sync-critical",
     wr_mgmt_get_health_single_node, NULL, NULL, NULL, ANY},
    {"health/checks/port-listener/*", wr_mgmt_get_health_port_listener, NULL,
     NULL, NULL, ANY},
    {"health/checks/protocol-listener/*", wr_mgmt_get_health_protocol_listener,
     NULL, NULL, NULL, ANY},
    {"healthchecks/node", wr_mgmt_get_healthchecks_node, NULL, NULL, NULL, ANY},
    {"cluster-name", wr_mgmt_get_cluster_name, NULL, NULL, NULL, ANY},
    {"log-level", wr_mgmt_get_log_level, wr_mgmt_put_log_level, NULL, NULL,
     ADMIN},
    {"policies", wr_mgmt_get_policies, NULL, NULL, NULL, POLICY},
    {"policies/*", wr_mgmt_get_policies, NULL, NULL, NULL, POLICY},
    {"policies/*/*", wr_mgmt_get_policy, wr_mgmt_put_policy, NULL,
     wr_mgmt_delete_policy, POLICY},
    {"operator-policies", wr_mgmt_get_policies, NULL, NULL, NULL, ADMIN},
    {"operator-policies/*", wr_mgmt_get_policies, NULL, NULL, NULL, ADMIN},
    {"operator-policies/*/*", wr_mgmt_get_policy, wr_mgmt_put_policy, NULL,
     wr_mgmt_delete_policy, ADMIN},
};

static bool
route_match(const char *pattern, const struct wr_mgmt_req *r)
{
    const char *p = pattern;

    for (int i = 0; i < r->nseg; i++) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0)
            return false; /* pattern shorter than the path */
        if (!(n == 1 && p[0] == '*') &&
            (n != r->seglen[i] || memcmp(p, r->seg[i], n) != 0))
            return false;
        p += n;
        if (*p == '/')
            p++;
        else if (i + 1 < r->nseg)
            return false;
    }
    return *p == '\0';
}

/* ---- request helpers ---------------------------------------------------- */

struct wr_bytes
wr_mgmt_seg(const struct wr_mgmt_req *r, int i)
{
    return (struct wr_bytes){(const uint8_t *)r->seg[i], r->seglen[i]};
}

const char *
wr_mgmt_query(struct wr_mgmt_req *r, const char *key)
{
    return evhttp_find_header(&r->query, key);
}

struct wr_vhost *
wr_mgmt_vhost(struct wr_mgmt_req *r, int i)
{
    struct wr_vhost *vh = wr_hmap_get(&r->srv->vhosts, r->seg[i], r->seglen[i]);

    if (vh == NULL) {
        wr_mgmt_not_found(r);
    } else if (!wr_mgmt_vhost_visible(r, vh->name)) {
        wr_mgmt_error(r, 401, "not_authorised",
                      "User not authorised to access virtual host");
        vh = NULL;
    }
    return vh;
}

static bool
has_tag(const struct wr_mgmt_req *r, const char *tag)
{
    return r->u && wr_user_has_tag(r->u, tag);
}

static bool
is_monitor(const struct wr_mgmt_req *r)
{
    return has_tag(r, "administrator") || has_tag(r, "monitoring");
}

bool
wr_mgmt_vhost_visible(const struct wr_mgmt_req *r, const char *vhost)
{
    return is_monitor(r) || (r->u && wr_user_perm(r->u, vhost) != NULL);
}

bool
wr_mgmt_conn_visible(const struct wr_mgmt_req *r, const struct wr_conn *c)
{
    return is_monitor(r) || (c->user && strcmp(c->user, r->user) == 0);
}

size_t
wr_mgmt_visible_vhosts(struct wr_mgmt_req *r, struct wr_vhost ***out)
{
    size_t n = wr_mgmt_sorted_vhosts(r->srv, out), k = 0;

    for (size_t i = 0; i < n; i++)
        if (wr_mgmt_vhost_visible(r, (*out)[i]->name))
            (*out)[k++] = (*out)[i];
    return k;
}

bool
wr_mgmt_access(struct wr_mgmt_req *r, struct wr_vhost *vh,
               enum wr_perm_kind kind, const char *what, struct wr_bytes name)
{
    struct wr_op_err err;

    if (wr_access_allowed(r->u, vh->name, kind, what, name, &err))
        return true;
    wr_mgmt_op_error(r, &err);
    return false;
}

bool
wr_mgmt_access_topic(struct wr_mgmt_req *r, struct wr_vhost *vh,
                     const struct wr_exchange *x, enum wr_perm_kind kind,
                     struct wr_bytes rkey)
{
    struct wr_op_err err;

    if (x == NULL ||
        wr_access_topic_allowed(r->u, vh->name, x, kind, rkey, &err))
        return true;
    wr_mgmt_op_error(r, &err);
    return false;
}

void
wr_mgmt_saved(struct wr_mgmt_req *r)
{
    wr_server_save_definitions(r->srv);
}

static const char *
status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    }
    return "Internal Server Error";
}

static int
dump_cb(const char *buf, size_t n, void *arg)
{
    return evbuffer_add(arg, buf, n);
}

static void
send_reply(struct wr_mgmt_req *r, int status, struct evbuffer *body,
           const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Server", WR_PRODUCT "/" WR_VERSION);
    evhttp_send_reply(r->req, status, status_text(status), body);
    r->status = status;
}

void
wr_mgmt_reply(struct wr_mgmt_req *r, int status, json_t *j)
{
    struct evbuffer *b = evbuffer_new();

    json_dump_callback(j, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    send_reply(r, status, b, "application/json");
    evbuffer_free(b);
}

void
wr_mgmt_reply_empty(struct wr_mgmt_req *r, int status)
{
    send_reply(r, status, NULL, NULL);
}

void
wr_mgmt_error(struct wr_mgmt_req *r, int status, const char *error,
              const char *fmt, ...)
{
    char reason[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    wr_mgmt_reply(r, status,
                  json_pack("{s:s, s:o}", "error", error, "reason",
                            wr_json_bytes(reason, strlen(reason))));
}

void
wr_mgmt_not_found(struct wr_mgmt_req *r)
{
    wr_mgmt_error(r, 404, "Object Not Found", "Not Found");
}

void
wr_mgmt_op_error(struct wr_mgmt_req *r, const struct wr_op_err *err)
{
    const char *name = wr_reply_name(err->code);

    if (err->bare) {
        wr_mgmt_error(r, 400, "bad_request", "%s", err->text);
        return;
    }
    switch (err->code) {
    case WR_REPLY_NOT_FOUND:
        wr_mgmt_error(r, 404, "not_found", "%s - %s", name, err->text);
        return;
    case WR_REPLY_ACCESS_REFUSED: /* rabbit_mgmt_util:not_authorised */
        wr_mgmt_error(r, 401, "not_authorised", "%s - %s", name, err->text);
        return;
    case WR_REPLY_INTERNAL_ERROR:
        wr_mgmt_error(r, 500, "internal_error", "%s - %s", name, err->text);
        return;
    }
    wr_mgmt_error(r, 400, "bad_request", "%s - %s", name, err->text);
}

json_t *
wr_mgmt_body(struct wr_mgmt_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    json_error_t jerr;
    const char *p;

    if (r->body)
        return r->body;
    if (n == 0) {
        r->body = json_object();
        return r->body;
    }
    p = (const char *)evbuffer_pullup(in, -1);
    r->body = json_loadb(p, n, 0, &jerr);
    if (r->body == NULL || !json_is_object(r->body)) {
        json_decref(r->body);
        r->body = NULL;
        wr_mgmt_error(r, 400, "bad_request", "not_json");
        return NULL;
    }
    return r->body;
}

int
wr_mgmt_field_bool(struct wr_mgmt_req *r, const json_t *o, const char *key,
                   bool def, bool *out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && (strcmp(json_string_value(v), "true") == 0 ||
                              strcmp(json_string_value(v), "false") == 0)) {
        *out = json_string_value(v)[0] == 't';
        return 0;
    }
    wr_mgmt_error(r, 400, "bad_request", "%s: expected true or false", key);
    return WR_ERR_INVALID;
}

int
wr_mgmt_field_int(struct wr_mgmt_req *r, const json_t *o, const char *key,
                  int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    long long n;
    char *end;

    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v) && json_string_value(v)[0] != '\0') {
        n = strtoll(json_string_value(v), &end, 10);
        if (*end)
            goto bad;
    } else {
        goto bad;
    }
    if (n < lo || n > hi)
        goto bad;
    *out = n;
    return 0;
bad:
    wr_mgmt_error(r, 400, "bad_request",
                  "%s: expected an integer from %lld to %lld", key,
                  (long long)lo, (long long)hi);
    return WR_ERR_INVALID;
}

int
wr_mgmt_field_str(struct wr_mgmt_req *r, const json_t *o, const char *key,
                  const char *def, const char **out, size_t *len)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v)) {
        if (def == NULL) {
            wr_mgmt_error(r, 400, "bad_request", "%s: missing", key);
            return WR_ERR_INVALID;
        }
        *out = def;
        if (len)
            *len = strlen(def);
        return 0;
    }
    if (!json_is_string(v)) {
        wr_mgmt_error(r, 400, "bad_request", "%s: expected a string", key);
        return WR_ERR_INVALID;
    }
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 0;
}

/* ---- lists: columns, sort, pagination ------------------------------------ */

/* The value at a dotted path ("message_stats.publish"), or NULL. */
static json_t *
path_get(json_t *o, const char *path)
{
    char key[256];

    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_is_object(o) ? json_object_get(o, key) : NULL;
        path += n + (dot != NULL);
    }
    return o;
}

/* Copies the value at path into out, creating the intermediate objects. */
static void
path_copy(json_t *out, json_t *in, const char *path)
{
    json_t *v = path_get(in, path);
    char key[256];

    if (v == NULL)
        return;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        json_t *next;
        if (n >= sizeof(key))
            return;
        memcpy(key, path, n);
        key[n] = '\0';
        if (dot == NULL) {
            json_object_set(out, key, v);
            return;
        }
        next = json_object_get(out, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(out, key, next);
        }
        out = next;
        path = dot + 1;
    }
}

static json_t *
project(json_t *item, const char *columns)
{
    json_t *out = json_object();
    char col[256];

    while (*columns) {
        const char *comma = strchr(columns, ',');
        size_t n = comma ? (size_t)(comma - columns) : strlen(columns);
        if (n > 0 && n < sizeof(col)) {
            memcpy(col, columns, n);
            col[n] = '\0';
            path_copy(out, item, col);
        }
        columns += n + (comma != NULL);
    }
    return out;
}

struct sort_ctx {
    const char *key;
    bool reverse;
};

static int
json_cmp(json_t *a, json_t *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b));
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) - json_is_true(b);
    return (int)json_typeof(a) - (int)json_typeof(b);
}

static int
sort_cmp(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *c = arg;
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int d = json_cmp(path_get(a, c->key), path_get(b, c->key));

    return c->reverse ? -d : d;
}

static bool
name_matches(json_t *item, const char *filter, regex_t *re)
{
    json_t *n = json_object_get(item, "name");
    const char *s = json_is_string(n) ? json_string_value(n) : "";

    if (re)
        return regexec(re, s, 0, NULL, 0) == 0;
    return strcasestr(s, filter) != NULL;
}

void
wr_mgmt_reply_list(struct wr_mgmt_req *r, json_t *arr)
{
    wr_mgmt_reply_list_stubs(r, arr, NULL, NULL);
}

void
wr_mgmt_reply_list_stubs(struct wr_mgmt_req *r, json_t *arr,
                         wr_mgmt_expand_cb expand, void *ctx)
{
    const char *columns = wr_mgmt_query(r, "columns");
    const char *sort = wr_mgmt_query(r, "sort");
    const char *rev = wr_mgmt_query(r, "sort_reverse");
    const char *page_s = wr_mgmt_query(r, "page");
    const char *size_s = wr_mgmt_query(r, "page_size");
    const char *name = wr_mgmt_query(r, "name");
    const char *use_re = wr_mgmt_query(r, "use_regex");
    size_t total = json_array_size(arr), n = 0, first = 0, count;
    long page = 1, page_size = 100;
    json_t **items = wr_calloc(total ? total : 1, sizeof(*items));
    json_t *out = json_array(), *v;
    regex_t re;
    bool have_re = false;
    size_t i;

    if (page_s) {
        char *end;
        page = strtol(page_s, &end, 10);
        if (*page_s == '\0' || *end)
            goto bad_page;
        if (size_s) {
            page_size = strtol(size_s, &end, 10);
            if (*size_s == '\0' || *end)
                goto bad_page;
        }
        if (page < 1 || page_size < 1 || page_size > 500) {
            wr_mgmt_error(r, 400, "invalid_pagination_parameters",
                          "Invalid pagination parameters: page number %ld, "
                          "page size %ld",
                          page, page_size);
            goto done;
        }
        if (name && *name && use_re && strcmp(use_re, "true") == 0) {
            if (regcomp(&re, name, REG_EXTENDED | REG_NOSUB | REG_ICASE))
                goto bad_page;
            have_re = true;
        }
    }
    json_array_foreach(arr, i, v)
    {
        if (page_s && name && *name &&
            !name_matches(v, name, have_re ? &re : NULL))
            continue;
        items[n++] = v;
    }
    if (sort && *sort) {
        struct sort_ctx c = {sort, rev && strcmp(rev, "true") == 0};
        qsort_r(items, n, sizeof(*items), sort_cmp, &c);
    }
    count = n;
    if (page_s) {
        size_t pages = (n + (size_t)page_size - 1) / (size_t)page_size;
        if ((size_t)page > WR_MAX(pages, 1)) {
            wr_mgmt_error(r, 400, "page_out_of_range",
                          "Page out of range, page: %ld page size: %ld, len: "
                          "%zu",
                          page, page_size, n);
            goto done;
        }
        first = (size_t)(page - 1) * (size_t)page_size;
        count = first < n ? WR_MIN(n - first, (size_t)page_size) : 0;
    }
    for (i = first; i < first + count; i++) {
        json_t *item = expand ? expand(ctx, items[i]) : json_incref(items[i]);
        if (columns) {
            json_array_append_new(out, project(item, columns));
            json_decref(item);
        } else {
            json_array_append_new(out, item);
        }
    }
    if (page_s) {
        json_t *o = json_object();
        json_object_set_new(o, "filtered_count", json_integer((json_int_t)n));
        json_object_set_new(o, "item_count", json_integer((json_int_t)count));
        json_object_set_new(o, "items", out);
        json_object_set_new(o, "page", json_integer(page));
        json_object_set_new(
            o, "page_count",
            json_integer(
                (json_int_t)((n + (size_t)page_size - 1) / (size_t)page_size)));
        json_object_set_new(o, "page_size", json_integer(page_size));
        json_object_set_new(o, "total_count", json_integer((json_int_t)total));
        out = o;
    }
    wr_mgmt_reply(r, 200, out);
    out = NULL;
    goto done;
bad_page:
    wr_mgmt_error(r, 400, "bad_request", "Pagination parameters are invalid");
done:
    if (have_re)
        regfree(&re);
    json_decref(out);
    json_decref(arr);
    wr_free(items);
}

/* ---- authentication ------------------------------------------------------ */

static bool
management_user(const struct wr_user *u)
{
    static const char *const tags[] = {"management", "policymaker",
                                       "monitoring", "administrator"};

    for (size_t i = 0; i < WR_ARRAY_LEN(tags); i++)
        if (wr_user_has_tag(u, tags[i]))
            return true;
    return false;
}

enum wr_mgmt_auth
wr_mgmt_authenticate(struct wr_server *s, const char *user, const char *pass,
                     bool loopback, struct wr_user **out, const char **why)
{
    struct wr_user *u = wr_users_get(&s->users, user);

    /* The same answer for an unknown user and a wrong password. */
    if (u == NULL || !wr_user_check_password(u, pass, strlen(pass))) {
        *why = "Login failed";
        return WR_MGMT_AUTH_FAILED;
    }
    if (!loopback && wr_config_loopback_user(&s->cfg, user)) {
        *why = "User can only log in via localhost";
        return WR_MGMT_AUTH_REFUSED;
    }
    if (!management_user(u)) {
        *why = "Not management user";
        return WR_MGMT_AUTH_REFUSED;
    }
    *out = u;
    return WR_MGMT_AUTH_OK;
}

/* Whether the HTTP peer is on a loopback address. */
static bool
peer_loopback(struct wr_mgmt_req *r)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = ec ? evhttp_connection_get_bufferevent(ec) : NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (bev == NULL ||
        getpeername(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) != 0)
        return false;
    return wr_addr_is_loopback((struct sockaddr *)&ss);
}

/* Reads "Authorization: Basic base64(user:pass)" and checks it. */
static enum wr_mgmt_auth
check_auth(struct wr_mgmt_req *r, const char **why)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                       "Authorization");
    uint8_t dec[600];
    size_t n;
    char *colon;

    *why = "Login failed";
    if (h == NULL)
        return WR_MGMT_AUTH_FAILED;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Basic ", 6) != 0)
        return WR_MGMT_AUTH_FAILED;
    h += 6;
    while (*h == ' ')
        h++;
    if (wr_json_b64_decode(h, strlen(h), dec, sizeof(dec) - 1, &n) != WR_OK)
        return WR_MGMT_AUTH_FAILED;
    dec[n] = '\0';
    if (memchr(dec, '\0', n) != NULL)
        return WR_MGMT_AUTH_FAILED;
    colon = strchr((char *)dec, ':');
    if (colon == NULL || (size_t)(colon - (char *)dec) >= sizeof(r->user))
        return WR_MGMT_AUTH_FAILED;
    *colon = '\0';
    memcpy(r->user, dec, (size_t)(colon - (char *)dec) + 1);
    return wr_mgmt_authenticate(r->srv, r->user, colon + 1, peer_loopback(r),
                                &r->u, why);
}

/* ---- dispatch ------------------------------------------------------------ */

/* Splits the raw path after "/api/" into percent-decoded segments. A
 * trailing "/" is ignored. Returns false on a bad escape, a NUL, too many
 * or too long segments. */
static bool
split_path(struct wr_mgmt_req *r, const char *p)
{
    r->nseg = 0;
    while (*p) {
        size_t o = 0;
        if (r->nseg == WR_MGMT_MAX_SEGS)
            return false;
        while (*p && *p != '/') {
            int c = (unsigned char)*p;
            if (c == '%') {
                int hi = wr_hex_digit(p[1]),
                    lo = hi >= 0 ? wr_hex_digit(p[2]) : -1;
                if (hi < 0 || lo < 0)
                    return false;
                c = hi * 16 + lo;
                p += 2;
            }
            if (c == 0 || o + 1 >= WR_MGMT_SEG_MAX)
                return false;
            r->seg[r->nseg][o++] = (char)c;
            p++;
        }
        r->seg[r->nseg][o] = '\0';
        r->seglen[r->nseg++] = (uint32_t)o;
        if (*p == '/' && p[1] == '\0')
            break;
        if (*p == '/')
            p++;
    }
    return true;
}

static const char *
method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

static void
allow_header(struct wr_mgmt_req *r, const struct route *rt)
{
    char allow[64] = "";

    if (rt->get)
        strcat(allow, "GET, HEAD, ");
    if (rt->put)
        strcat(allow, "PUT, ");
    if (rt->post)
        strcat(allow, "POST, ");
    if (rt->del)
        strcat(allow, "DELETE, ");
    strcat(allow, "OPTIONS");
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow",
                      allow);
}

static void
dispatch(struct wr_mgmt_req *r, enum evhttp_cmd_type method)
{
    const struct route *rt = NULL;
    wr_mgmt_handler_cb fn = NULL;
    const char *why;
    bool write;

    for (size_t i = 0; i < WR_ARRAY_LEN(routes) && rt == NULL; i++)
        if (route_match(routes[i].pattern, r))
            rt = &routes[i];
    if (rt == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    switch (check_auth(r, &why)) {
    case WR_MGMT_AUTH_OK:
        break;
    case WR_MGMT_AUTH_FAILED:
        /* Not to the web UI (its fetches say X-Requested-With): a browser
         * would answer the challenge with its own login dialog. */
        if (evhttp_find_header(evhttp_request_get_input_headers(r->req),
                               "X-Requested-With") == NULL)
            evhttp_add_header(evhttp_request_get_output_headers(r->req),
                              "WWW-Authenticate",
                              "Basic realm=\"RabbitMQ Management\"");
        wr_mgmt_error(r, 401, "not_authorized", "%s", why);
        return;
    case WR_MGMT_AUTH_REFUSED:
        wr_mgmt_error(r, 401, "not_authorised", "%s", why);
        return;
    }
    r->tags = r->u->tags;
    write = method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD &&
            method != EVHTTP_REQ_OPTIONS;
    /* RabbitMQ answers these with 401 not_authorised, not 403: its tools
     * expect that. */
    if ((rt->access == ADMIN || (rt->access == ADMIN_WRITE && write)) &&
        !has_tag(r, "administrator")) {
        wr_mgmt_error(r, 401, "not_authorised", "Not administrator user");
        return;
    }
    if (rt->access == POLICY && !has_tag(r, "administrator") &&
        !has_tag(r, "policymaker")) {
        wr_mgmt_error(r, 401, "not_authorised",
                      "User not authorised to access object");
        return;
    }
    if (rt->access == MONITOR && !is_monitor(r)) {
        wr_mgmt_error(r, 401, "not_authorised", "Not monitor user");
        return;
    }
    switch (method) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        fn = rt->get;
        break;
    case EVHTTP_REQ_PUT:
        fn = rt->put;
        break;
    case EVHTTP_REQ_POST:
        fn = rt->post;
        break;
    case EVHTTP_REQ_DELETE:
        fn = rt->del;
        break;
    case EVHTTP_REQ_OPTIONS:
        allow_header(r, rt);
        wr_mgmt_reply_empty(r, 204);
        return;
    default:
        break;
    }
    if (fn == NULL) {
        allow_header(r, rt);
        wr_mgmt_error(r, 405, "Method Not Allowed", "%s is not allowed on %s",
                      method_name(method), rt->pattern);
        return;
    }
    fn(r);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct wr_mgmt *m = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct wr_mgmt_req *r;

    if (path && strcmp(path, "/metrics") == 0) {
        if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
            evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
        else
            wr_mgmt_metrics(m, req);
        return;
    }
    if (path && strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0) {
        wr_mgmt_ui_serve(m, req, path);
        return;
    }
    /* The request context holds the decoded path: keep it off the stack. */
    r = wr_calloc(1, sizeof(*r));
    r->m = m;
    r->srv = m->srv;
    r->req = req;
    TAILQ_INIT(&r->query);
    if (path == NULL || strncmp(path, "/api/", 5) != 0 ||
        !split_path(r, path + 5) || r->nseg == 0)
        wr_mgmt_not_found(r);
    else if (query && evhttp_parse_query_str(query, &r->query) != 0)
        wr_mgmt_error(r, 400, "bad_request", "malformed query string");
    else
        dispatch(r, method);
    wr_assert(r->status != 0); /* every path through dispatch replies */
    if (WR_LOG_INFO <= wr_log_level) {
        struct evhttp_connection *ec = evhttp_request_get_connection(req);
        char *addr = NULL;
        ev_uint16_t port = 0;
        if (ec)
            evhttp_connection_get_peer(ec, &addr, &port);
        wr_log(WR_LOG_INFO, "http %s:%u %s %s -> %d user '%s'",
               addr ? addr : "?", port, method_name(method),
               evhttp_request_get_uri(req), r->status, r->user);
    }
    evhttp_clear_headers(&r->query);
    json_decref(r->body);
    wr_free(r);
}

/* ---- lifecycle ----------------------------------------------------------- */

/* An evhttp serving the API with the limits of management.http.*. */
static struct evhttp *
http_new(struct wr_mgmt *m)
{
    struct evhttp *http = evhttp_new(m->srv->base);

    if (http == NULL)
        return NULL;
    evhttp_set_gencb(http, on_request, m);
    evhttp_set_allowed_methods(
        http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                  EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE);
    evhttp_set_max_body_size(http, (ev_ssize_t)m->srv->cfg.mgmt_max_body);
    evhttp_set_max_headers_size(http, 64 * 1024);
    evhttp_set_timeout(http, 60);
    return http;
}

/* Listens on addr:port and writes "ADDR:PORT" (the port it got) to
 * bound. Returns 0 or -1 after logging. */
static int
http_bind(struct evhttp *http, const char *what, const char *addr, int port,
          char *bound, size_t cap)
{
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    sock = evhttp_bind_socket_with_handle(http, addr, (ev_uint16_t)port);
    if (sock == NULL) {
        wr_log(WR_LOG_ERROR,
               "management API: cannot listen for %s on %s "
               "port %d",
               what, addr, port);
        return WR_ERR_IO;
    }
    /* out of file descriptors: pause, do not spin (issue 7) */
    wr_listener_pause_on_error(evhttp_bound_socket_get_listener(sock));
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(bound, cap, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(bound, cap, "%s:%d", host, ntohs(in->sin_port));
    }
    return 0;
}

/* evhttp_set_bevcb: each HTTPS connection gets a TLS bufferevent from the
 * current context; evhttp sets its fd, which starts the handshake. A
 * failed handshake (plain HTTP, an untrusted client certificate) is an
 * error event: evhttp drops that connection only. */
static struct bufferevent *
https_bev(struct event_base *base, void *arg)
{
    struct wr_mgmt *m = arg;
    struct bufferevent *bev = wr_tls_bev_new(m->tls, base, -1);

    /* NULL would make evhttp serve plain HTTP here; it only happens when
     * out of memory, where the broker aborts anyway. */
    wr_assert(bev != NULL);
    return bev;
}

/* The HTTPS listener (management.ssl.*), when configured. */
static int
https_start(struct wr_mgmt *m)
{
    const struct wr_config *cfg = &m->srv->cfg;
    char err[512];

    m->tls = wr_tls_new(cfg, WR_TLS_MGMT, err, sizeof(err));
    if (m->tls == NULL) {
        wr_log(WR_LOG_ERROR, "management API: TLS: %s", err);
        return WR_ERR_IO;
    }
    m->https = http_new(m);
    if (m->https == NULL)
        return WR_ERR_IO;
    evhttp_set_bevcb(m->https, https_bev, m);
    return http_bind(
        m->https, "HTTPS",
        cfg->mgmt_ssl_bind[0] ? cfg->mgmt_ssl_bind : cfg->mgmt_bind,
        cfg->mgmt_ssl_port, m->https_bound, sizeof(m->https_bound));
}

/* The API's state on s, with its evhttp not yet listening. */
static struct wr_mgmt *
mgmt_new(struct wr_server *s)
{
    struct wr_mgmt *m = wr_calloc(1, sizeof(*m));
    char hn[64] = "localhost";

    /* jansson allocates through the broker's wrappers (STYLE 5.10). */
    json_set_alloc_funcs(wr_malloc, wr_free);
    m->srv = s;
    s->mgmt = m;
    wr_hmap_init(&m->samples);
    m->http = http_new(m);
    gethostname(hn, sizeof(hn) - 1);
    hn[sizeof(hn) - 1] = '\0';
    snprintf(m->node, sizeof(m->node), "warren@%s", hn);
    m->started_ms = wr_mgmt_now_ms();
    return m;
}

int
wr_mgmt_start(struct wr_server *s)
{
    struct wr_mgmt *m = mgmt_new(s);

    if (m->http == NULL ||
        http_bind(m->http, "HTTP", s->cfg.mgmt_bind, s->cfg.mgmt_port, m->bound,
                  sizeof(m->bound)) != 0)
        return WR_ERR_IO;
    if (s->cfg.mgmt_ssl_on && https_start(m) != 0)
        return WR_ERR_IO;
    wr_mgmt_prom_start(m);
    wr_mgmt_stats_start(m);
    return 0;
}

int
wr_mgmt_start_fd(struct wr_server *s, int fd)
{
    struct wr_mgmt *m = mgmt_new(s);

    if (m->http == NULL ||
        evhttp_accept_socket_with_handle(m->http, fd) == NULL) {
        close(fd);
        return WR_ERR_IO;
    }
    snprintf(m->bound, sizeof(m->bound), "fd %d", fd);
    wr_mgmt_stats_start(m);
    return 0;
}

const char *
wr_mgmt_https_address(const struct wr_mgmt *m)
{
    return m->https ? m->https_bound : NULL;
}

int
wr_mgmt_reload_tls(struct wr_mgmt *m, char *err, size_t errlen)
{
    if (m == NULL || m->tls == NULL)
        return 1;
    return wr_tls_reload(m->tls, &m->srv->cfg, err, errlen);
}

const char *
wr_mgmt_address(const struct wr_mgmt *m)
{
    return m->bound;
}

void
wr_mgmt_free(struct wr_mgmt *m)
{
    if (m == NULL)
        return;
    if (m->http)
        evhttp_free(m->http);
    /* after the connections using it are gone */
    if (m->https)
        evhttp_free(m->https);
    if (m->prom)
        evhttp_free(m->prom);
    wr_tls_free(m->tls);
    wr_mgmt_stats_cleanup(m);
    wr_route_set_cleanup(&m->route);
    wr_free(m);
}
