/* SPDX-License-Identifier: MIT */
/* warrenctl's commands, each one or two calls of the management API:
 * declare, delete, list, purge, status, export, import (messages.c has
 * publish, get, peek and move). */
#include "warrenctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- declare, delete, purge -----------------------------------------------
 */

int
wc_cmd_declare(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const xkeys[] = {"name",        "type",     "durable",
                                        "auto_delete", "internal", "arguments",
                                        NULL};
    static const char *const qkeys[] = {"name", "durable", "auto_delete",
                                        "arguments", NULL};
    static const char *const bkeys[] = {"source",           "destination",
                                        "destination_type", "routing_key",
                                        "arguments",        NULL};
    char v[800], a[800], b[800], path[3000], what[1200];
    const char *name, *src, *dest, *type;
    json_t *body = json_object();
    struct wc_reply rep;
    struct wc_kv kv;
    int rc;

    if (argc < 1) {
        rc = wc_usage("declare", "expected exchange, queue or binding");
        goto done;
    }
    wc_seg(s->vhost, v, sizeof(v));
    if (strcmp(argv[0], "exchange") == 0) {
        if ((rc = wc_kv_parse("declare", argc - 1, argv + 1, &kv, xkeys)) ||
            (rc = wc_kv_need("declare", &kv, "name", &name)) ||
            (rc = wc_kv_bool("declare", &kv, "durable", body)) ||
            (rc = wc_kv_bool("declare", &kv, "auto_delete", body)) ||
            (rc = wc_kv_bool("declare", &kv, "internal", body)) ||
            (rc = wc_kv_json("declare", &kv, "arguments", body)))
            goto done;
        type = wc_kv_get(&kv, "type");
        json_object_set_new(body, "type", json_string(type ? type : "direct"));
        snprintf(path, sizeof(path), "exchanges/%s/%s", v,
                 wc_seg(name, a, sizeof(a)));
        snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
        if ((rc = wc_call(s, "PUT", path, body, what, &rep)) == WC_EXIT_OK)
            wc_say(s, "exchange '%s' declared", name);
    } else if (strcmp(argv[0], "queue") == 0) {
        if ((rc = wc_kv_parse("declare", argc - 1, argv + 1, &kv, qkeys)) ||
            (rc = wc_kv_need("declare", &kv, "name", &name)) ||
            (rc = wc_kv_bool("declare", &kv, "durable", body)) ||
            (rc = wc_kv_bool("declare", &kv, "auto_delete", body)) ||
            (rc = wc_kv_json("declare", &kv, "arguments", body)))
            goto done;
        snprintf(path, sizeof(path), "queues/%s/%s", v,
                 wc_seg(name, a, sizeof(a)));
        snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
        if ((rc = wc_call(s, "PUT", path, body, what, &rep)) == WC_EXIT_OK)
            wc_say(s, "queue '%s' declared", name);
    } else if (strcmp(argv[0], "binding") == 0) {
        const char *dt, *key;
        if ((rc = wc_kv_parse("declare", argc - 1, argv + 1, &kv, bkeys)) ||
            (rc = wc_kv_need("declare", &kv, "source", &src)) ||
            (rc = wc_kv_need("declare", &kv, "destination", &dest)) ||
            (rc = wc_kv_json("declare", &kv, "arguments", body)))
            goto done;
        dt = wc_kv_get(&kv, "destination_type");
        dt = dt ? dt : "queue";
        if (strcmp(dt, "queue") != 0 && strcmp(dt, "exchange") != 0) {
            rc = wc_usage("declare", "destination_type: queue or exchange");
            goto done;
        }
        key = wc_kv_get(&kv, "routing_key");
        json_object_set_new(body, "routing_key", json_string(key ? key : ""));
        snprintf(path, sizeof(path), "bindings/%s/e/%s/%c/%s", v,
                 wc_seg(wc_xpath(src), a, sizeof(a)), dt[0],
                 wc_seg(dest, b, sizeof(b)));
        snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
        if ((rc = wc_call(s, "POST", path, body, what, &rep)) == WC_EXIT_OK)
            wc_say(s, "binding %s -> %s '%s' declared", src, dt, dest);
    } else {
        rc = wc_usage("declare",
                      "expected exchange, queue or binding, got '%s'", argv[0]);
        goto done;
    }
    if (rc == WC_EXIT_OK)
        wc_reply_cleanup(&rep);
done:
    json_decref(body);
    return rc;
}

/* Finds the properties key of the binding src -> dest with key and args. */
static int
find_binding(const struct wc_settings *s, const char *base, const char *src,
             const char *dest, const char *key, json_t *args, char *pk,
             size_t cap)
{
    struct wc_reply rep;
    char what[1200];
    size_t i;
    json_t *b;
    int rc;

    snprintf(what, sizeof(what), "exchange '%s' or '%s' in vhost '%s'", src,
             dest, s->vhost);
    if ((rc = wc_call(s, "GET", base, NULL, what, &rep)) != WC_EXIT_OK)
        return rc;
    rc = WC_EXIT_NOT_FOUND;
    json_array_foreach(rep.json, i, b)
    {
        json_t *rk = json_object_get(b, "routing_key");
        json_t *ba = json_object_get(b, "arguments");
        if (json_is_string(rk) && strcmp(json_string_value(rk), key) == 0 &&
            json_equal(ba, args)) {
            snprintf(pk, cap, "%s",
                     json_string_value(json_object_get(b, "properties_key")));
            rc = WC_EXIT_OK;
            break;
        }
    }
    wc_reply_cleanup(&rep);
    if (rc != WC_EXIT_OK)
        fprintf(stderr,
                "warrenctl: not found: binding from '%s' to '%s' with "
                "routing key '%s' in vhost '%s'\n",
                src, dest, key, s->vhost);
    return rc;
}

int
wc_cmd_delete(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const xkeys[] = {"name", "if_unused", NULL};
    static const char *const qkeys[] = {"name", "if_unused", "if_empty", NULL};
    static const char *const bkeys[] = {
        "source",      "destination", "destination_type",
        "routing_key", "arguments",   "properties_key",
        NULL};
    char v[800], a[800], b[800], c[3000], path[6000], what[1200];
    const char *name, *src, *dest;
    json_t *flags = json_object();
    struct wc_reply rep;
    struct wc_kv kv;
    int rc;

    if (argc < 1) {
        rc = wc_usage("delete", "expected exchange, queue or binding");
        goto done;
    }
    wc_seg(s->vhost, v, sizeof(v));
    if (strcmp(argv[0], "exchange") == 0 || strcmp(argv[0], "queue") == 0) {
        bool queue = argv[0][0] == 'q';
        if ((rc = wc_kv_parse("delete", argc - 1, argv + 1, &kv,
                              queue ? qkeys : xkeys)) ||
            (rc = wc_kv_need("delete", &kv, "name", &name)) ||
            (rc = wc_kv_bool("delete", &kv, "if_unused", flags)) ||
            (rc = wc_kv_bool("delete", &kv, "if_empty", flags)))
            goto done;
        snprintf(path, sizeof(path), "%s/%s/%s%s%s%s",
                 queue ? "queues" : "exchanges", v,
                 wc_seg(queue ? name : wc_xpath(name), a, sizeof(a)),
                 json_object_size(flags) ? "?" : "",
                 json_is_true(json_object_get(flags, "if_unused"))
                     ? "if-unused=true&"
                     : "",
                 json_is_true(json_object_get(flags, "if_empty"))
                     ? "if-empty=true"
                     : "");
        snprintf(what, sizeof(what), "%s '%s' in vhost '%s'", argv[0], name,
                 s->vhost);
        if ((rc = wc_call(s, "DELETE", path, NULL, what, &rep)) != WC_EXIT_OK)
            goto done;
        wc_reply_cleanup(&rep);
        wc_say(s, "%s '%s' deleted", argv[0], name);
    } else if (strcmp(argv[0], "binding") == 0) {
        const char *dt, *key, *pk;
        char found[2000];
        json_t *args = json_object();
        if ((rc = wc_kv_parse("delete", argc - 1, argv + 1, &kv, bkeys)) ||
            (rc = wc_kv_need("delete", &kv, "source", &src)) ||
            (rc = wc_kv_need("delete", &kv, "destination", &dest)) ||
            (rc = wc_kv_json("delete", &kv, "arguments", args))) {
            json_decref(args);
            goto done;
        }
        dt = wc_kv_get(&kv, "destination_type");
        dt = dt ? dt : "queue";
        if (strcmp(dt, "queue") != 0 && strcmp(dt, "exchange") != 0) {
            json_decref(args);
            rc = wc_usage("delete", "destination_type: queue or exchange");
            goto done;
        }
        key = wc_kv_get(&kv, "routing_key");
        pk = wc_kv_get(&kv, "properties_key");
        snprintf(c, sizeof(c), "bindings/%s/e/%s/%c/%s", v,
                 wc_seg(wc_xpath(src), a, sizeof(a)), dt[0],
                 wc_seg(dest, b, sizeof(b)));
        if (pk == NULL) {
            json_t *given = json_object_get(args, "arguments");
            json_t *empty = json_object();
            rc = find_binding(s, c, src, dest, key ? key : "",
                              given ? given : empty, found, sizeof(found));
            json_decref(empty);
            pk = found;
        }
        json_decref(args);
        if (rc != WC_EXIT_OK)
            goto done;
        snprintf(path, sizeof(path), "%s/%s", c, wc_seg(pk, b, sizeof(b)));
        snprintf(what, sizeof(what),
                 "binding '%.200s' from '%.200s' to '%.200s'", pk, src, dest);
        if ((rc = wc_call(s, "DELETE", path, NULL, what, &rep)) != WC_EXIT_OK)
            goto done;
        wc_reply_cleanup(&rep);
        wc_say(s, "binding %s -> %s '%s' deleted", src, dt, dest);
    } else {
        rc = wc_usage("delete", "expected exchange, queue or binding, got '%s'",
                      argv[0]);
    }
done:
    json_decref(flags);
    return rc;
}

int
wc_cmd_purge(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const keys[] = {"name", NULL};
    char v[800], a[800], path[2000], what[1000];
    const char *name;
    struct wc_reply rep;
    struct wc_kv kv;
    int rc;

    if (argc < 1 || strcmp(argv[0], "queue") != 0)
        return wc_usage("purge", "expected: purge queue name=QUEUE");
    if ((rc = wc_kv_parse("purge", argc - 1, argv + 1, &kv, keys)) ||
        (rc = wc_kv_need("purge", &kv, "name", &name)))
        return rc;
    snprintf(path, sizeof(path), "queues/%s/%s/contents",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(name, a, sizeof(a)));
    snprintf(what, sizeof(what), "queue '%s' in vhost '%s'", name, s->vhost);
    if ((rc = wc_call(s, "DELETE", path, NULL, what, &rep)) != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "queue '%s' purged", name);
    return WC_EXIT_OK;
}

/* ---- list ------------------------------------------------------------------
 */

struct listing {
    const char *name;
    bool per_vhost; /* exchanges/{vhost} rather than all */
    struct wc_column cols[10];
};

static const struct listing listings[] = {
    {"queues",
     true,
     {{"name", "name"},
      {"messages_ready", "ready"},
      {"messages_unacknowledged", "unacked"},
      {"messages", "messages"},
      {"consumers", "consumers"},
      {"message_stats.publish_details.rate", "publish/s"},
      {"message_stats.deliver_get_details.rate", "deliver/s"},
      {"durable", "durable"},
      {"messages_persistent", "persistent"}}},
    {"exchanges",
     true,
     {{"name", "name"},
      {"type", "type"},
      {"durable", "durable"},
      {"auto_delete", "auto_delete"},
      {"internal", "internal"},
      {"message_stats.publish_in_details.rate", "in/s"},
      {"message_stats.publish_out_details.rate", "out/s"}}},
    {"bindings",
     true,
     {{"source", "source"},
      {"destination", "destination"},
      {"destination_type", "destination_type"},
      {"routing_key", "routing_key"},
      {"arguments", "arguments"}}},
    {"connections",
     false,
     {{"name", "name"},
      {"user", "user"},
      {"vhost", "vhost"},
      {"state", "state"},
      {"channels", "channels"},
      {"client_properties.connection_name", "client"}}},
    {"channels",
     false,
     {{"name", "name"},
      {"user", "user"},
      {"vhost", "vhost"},
      {"consumer_count", "consumers"},
      {"messages_unacknowledged", "unacked"},
      {"prefetch_count", "prefetch"},
      {"confirm", "confirm"}}},
    {"consumers",
     true,
     {{"queue.name", "queue"},
      {"consumer_tag", "consumer_tag"},
      {"channel_details.name", "channel"},
      {"ack_required", "ack_required"},
      {"prefetch_count", "prefetch"},
      {"exclusive", "exclusive"}}},
    {"vhosts",
     false,
     {{"name", "name"},
      {"messages", "messages"},
      {"messages_ready", "ready"},
      {"messages_unacknowledged", "unacked"}}},
};

/* Short names for the rate columns. */
static const struct {
    const char *alias, *path;
} aliases[] = {
    {"publish_rate", "message_stats.publish_details.rate"},
    {"deliver_rate", "message_stats.deliver_get_details.rate"},
    {"ack_rate", "message_stats.ack_details.rate"},
    {"in_rate", "message_stats.publish_in_details.rate"},
    {"out_rate", "message_stats.publish_out_details.rate"},
    {"ready", "messages_ready"},
    {"unacked", "messages_unacknowledged"},
};

int
wc_cmd_list(const struct wc_settings *s, int argc, char **argv)
{
    const struct listing *l = NULL;
    struct wc_column cols[32];
    size_t ncols = 0;
    char v[800], path[4000], what[600], q[3000] = "";

    if (argc < 1)
        return wc_usage("list", "expected what to list: queues, exchanges, "
                                "bindings, connections, channels, "
                                "consumers or vhosts");
    for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++)
        if (strcmp(argv[0], listings[i].name) == 0)
            l = &listings[i];
    if (l == NULL)
        return wc_usage("list", "cannot list '%s'", argv[0]);
    if (argc - 1 > 32)
        return wc_usage("list", "too many columns");
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        for (size_t k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
            if (strcmp(p, aliases[k].alias) == 0)
                p = aliases[k].path;
        if (*p == '\0' || strchr(p, ',') || strchr(p, '&'))
            return wc_usage("list", "bad column '%s'", argv[i]);
        cols[ncols].path = p;
        cols[ncols++].header = argv[i];
    }
    if (ncols == 0)
        for (; ncols < 10 && l->cols[ncols].path; ncols++)
            cols[ncols] = l->cols[ncols];
    /* The API projects the columns (so --format json shows just them). */
    if (argc > 1) {
        size_t o = 0;
        for (size_t c = 0; c < ncols && o < sizeof(q) - 1; c++)
            o += (size_t)snprintf(q + o, sizeof(q) - o, "%s%s",
                                  c ? "," : "?columns=", cols[c].path);
    }
    if (l->per_vhost)
        snprintf(path, sizeof(path), "%s/%s%s", l->name,
                 wc_seg(s->vhost, v, sizeof(v)), q);
    else
        snprintf(path, sizeof(path), "%s%s", l->name, q);
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, ncols);
}

/* ---- status, export, import ------------------------------------------------
 */

static void
fmt_path(json_t *o, const char *path, char *out, size_t cap)
{
    wc_cell(o, path, out, cap);
    if (out[0] == '\0')
        snprintf(out, cap, "-");
}

int
wc_cmd_status(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const labels[] = {
        "broker",   "node",    "api",       "amqp",      "connections",
        "channels", "queues",  "exchanges", "consumers", "messages",
        "ready",    "unacked", "publish/s", "deliver/s", "ack/s",
    };
    char vals[15][300], amqp[300] = "-", name[300], ver[300], api[300];
    const char *values[15];
    struct wc_reply rep;
    json_t *o, *l;
    size_t i;
    int rc;

    (void)argv;
    if (argc > 0)
        return wc_usage("status", "takes no arguments");
    if ((rc = wc_call(s, "GET", "overview", NULL, "the overview", &rep)) !=
        WC_EXIT_OK)
        return rc;
    o = rep.json;
    if (s->format == WC_FMT_JSON) {
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        wc_reply_cleanup(&rep);
        return WC_EXIT_OK;
    }
    json_array_foreach(json_object_get(o, "listeners"), i, l)
    {
        json_t *p = json_object_get(l, "protocol");
        if (json_is_string(p) && strcmp(json_string_value(p), "amqp") == 0)
            snprintf(amqp, sizeof(amqp), "%s:%lld",
                     json_string_value(json_object_get(l, "ip_address")),
                     (long long)json_integer_value(json_object_get(l, "port")));
    }
    fmt_path(o, "product_name", name, sizeof(name));
    fmt_path(o, "product_version", ver, sizeof(ver));
    fmt_path(o, "management_version", api, sizeof(api));
    snprintf(vals[0], sizeof(vals[0]), "%.100s %.100s", name, ver);
    fmt_path(o, "node", vals[1], sizeof(vals[1]));
    snprintf(vals[2], sizeof(vals[2]), "%.200s (RabbitMQ management API %.60s)",
             s->base, api);
    snprintf(vals[3], sizeof(vals[3]), "%s", amqp);
    fmt_path(o, "object_totals.connections", vals[4], sizeof(vals[4]));
    fmt_path(o, "object_totals.channels", vals[5], sizeof(vals[5]));
    fmt_path(o, "object_totals.queues", vals[6], sizeof(vals[6]));
    fmt_path(o, "object_totals.exchanges", vals[7], sizeof(vals[7]));
    fmt_path(o, "object_totals.consumers", vals[8], sizeof(vals[8]));
    fmt_path(o, "queue_totals.messages", vals[9], sizeof(vals[9]));
    fmt_path(o, "queue_totals.messages_ready", vals[10], sizeof(vals[10]));
    fmt_path(o, "queue_totals.messages_unacknowledged", vals[11],
             sizeof(vals[11]));
    fmt_path(o, "message_stats.publish_details.rate", vals[12],
             sizeof(vals[12]));
    fmt_path(o, "message_stats.deliver_get_details.rate", vals[13],
             sizeof(vals[13]));
    fmt_path(o, "message_stats.ack_details.rate", vals[14], sizeof(vals[14]));
    for (i = 0; i < 15; i++)
        values[i] = vals[i];
    wc_print_pairs(s, labels, values, 15);
    wc_reply_cleanup(&rep);
    return WC_EXIT_OK;
}

/* FILE [vhost=NAME] */
static int
defs_args(const char *cmd, int argc, char **argv, const char **file, char *path,
          size_t cap)
{
    static const char *const keys[] = {"vhost", NULL};
    const char *vh;
    char v[800];
    struct wc_kv kv;
    int rc;

    if (argc < 1 || strchr(argv[0], '=') != NULL)
        return wc_usage(cmd, "expected a FILE ('-' for standard %s)",
                        cmd[0] == 'e' ? "output" : "input");
    *file = argv[0];
    if ((rc = wc_kv_parse(cmd, argc - 1, argv + 1, &kv, keys)) != WC_EXIT_OK)
        return rc;
    vh = wc_kv_get(&kv, "vhost");
    if (vh)
        snprintf(path, cap, "definitions/%s", wc_seg(vh, v, sizeof(v)));
    else
        snprintf(path, cap, "definitions");
    return WC_EXIT_OK;
}

int
wc_cmd_export(const struct wc_settings *s, int argc, char **argv)
{
    const char *file;
    char path[1000];
    struct wc_reply rep;
    FILE *out;
    int rc;

    if ((rc = defs_args("export", argc, argv, &file, path, sizeof(path))))
        return rc;
    if ((rc = wc_call(s, "GET", path, NULL, "vhost", &rep)) != WC_EXIT_OK)
        return rc;
    out = strcmp(file, "-") == 0 ? stdout : fopen(file, "w");
    if (out == NULL) {
        perror("warrenctl: export");
        wc_reply_cleanup(&rep);
        return WC_EXIT_ERROR;
    }
    json_dumpf(rep.json, out, JSON_INDENT(2));
    fputc('\n', out);
    if (out != stdout && fclose(out) != 0) {
        perror("warrenctl: export");
        rc = WC_EXIT_ERROR;
    } else if (out != stdout) {
        wc_say(s, "definitions exported to %s", file);
    }
    wc_reply_cleanup(&rep);
    return rc;
}

int
wc_cmd_import(const struct wc_settings *s, int argc, char **argv)
{
    const char *file;
    char path[1000];
    struct wc_reply rep;
    json_error_t err;
    json_t *doc;
    FILE *in;
    int rc;

    if ((rc = defs_args("import", argc, argv, &file, path, sizeof(path))))
        return rc;
    in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (in == NULL) {
        fprintf(stderr, "warrenctl: import: %s: %s\n", file, strerror(errno));
        return WC_EXIT_ERROR;
    }
    doc = json_loadf(in, 0, &err);
    if (in != stdin)
        fclose(in);
    if (!json_is_object(doc)) {
        fprintf(stderr,
                "warrenctl: import: %s:%d: not a definitions file: %s\n", file,
                err.line, doc ? "not a JSON object" : err.text);
        json_decref(doc);
        return WC_EXIT_ERROR;
    }
    rc = wc_call(s, "POST", path, doc, "vhost", &rep);
    json_decref(doc);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "definitions imported from %s", file);
    return WC_EXIT_OK;
}
