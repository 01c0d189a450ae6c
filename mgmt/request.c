/* SPDX-License-Identifier: MIT */
/* What every handler of the API uses: path segments and the vhost they
 * name, who may see what, JSON replies and errors in RabbitMQ's shapes,
 * request bodies and their fields, and lists with RabbitMQ's columns,
 * sort and pagination parameters. */
#include "mgmt_internal.h"

#include <event2/buffer.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request helpers ---------------------------------------------------- */

bool
wr_mgmt_has_tag(const struct wr_mgmt_req *r, const char *tag)
{
    return r->u && wr_user_has_tag(r->u, tag);
}

bool
wr_mgmt_is_monitor(const struct wr_mgmt_req *r)
{
    return wr_mgmt_has_tag(r, "administrator") ||
           wr_mgmt_has_tag(r, "monitoring");
}

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

bool
wr_mgmt_vhost_visible(const struct wr_mgmt_req *r, const char *vhost)
{
    return wr_mgmt_is_monitor(r) || (r->u && wr_user_perm(r->u, vhost) != NULL);
}

bool
wr_mgmt_conn_visible(const struct wr_mgmt_req *r, const struct wr_conn *c)
{
    return wr_mgmt_is_monitor(r) || (c->user && strcmp(c->user, r->user) == 0);
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
wr_mgmt_list_vhosts(struct wr_mgmt_req *r, int i, struct wr_vhost ***out,
                    size_t *n)
{
    struct wr_vhost *one;

    if (r->nseg <= i) {
        *n = wr_mgmt_visible_vhosts(r, out);
        return true;
    }
    if ((one = wr_mgmt_vhost(r, i)) == NULL)
        return false;
    *out = wr_calloc(1, sizeof(**out));
    (*out)[0] = one;
    *n = 1;
    return true;
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

/* RabbitMQ names the default exchange "amq.default" in paths. */
struct wr_bytes
wr_mgmt_exchange_seg(const struct wr_mgmt_req *r, int i)
{
    struct wr_bytes n = wr_mgmt_seg(r, i);

    return wr_bytes_eq_str(n, "amq.default") ? WR_BYTES_LIT("") : n;
}
