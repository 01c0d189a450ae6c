/* SPDX-License-Identifier: MIT */
/* rabbitmqctl's command names, where operators type them by habit:
 * list_queues, list_exchanges, list_bindings, list_connections,
 * list_consumers, list_channels (rabbitmqctl's default columns, or the
 * info items named as arguments), close_connection, purge_queue,
 * delete_queue, set_log_level. */
#include "warrenctl.h"

#include <string.h>

/* A rabbitmqctl info item and where the management API's JSON has it
 * (path NULL: the constant value). */
struct item {
    const char *name;
    const char *path;
    const char *value;
};

struct ctl_list {
    const char *cmd;
    const char *api;             /* the API's list */
    bool per_vhost;              /* rabbitmqctl's -p VHOST applies */
    const char *const *defaults; /* rabbitmqctl's default info items */
    const struct item *items;
};

static const struct item queue_items[] = {
    {"name", "name", NULL},
    {"vhost", "vhost", NULL},
    {"durable", "durable", NULL},
    {"auto_delete", "auto_delete", NULL},
    {"exclusive", "exclusive", NULL},
    {"arguments", "arguments", NULL},
    {"policy", "policy", NULL},
    {"messages", "messages", NULL},
    {"messages_ready", "messages_ready", NULL},
    {"messages_unacknowledged", "messages_unacknowledged", NULL},
    {"message_bytes", "message_bytes", NULL},
    {"message_bytes_ready", "message_bytes_ready", NULL},
    {"message_bytes_unacknowledged", "message_bytes_unacknowledged", NULL},
    {"messages_ram", "messages_ram", NULL},
    {"message_bytes_ram", "message_bytes_ram", NULL},
    {"messages_persistent", "messages_persistent", NULL},
    {"message_bytes_persistent", "message_bytes_persistent", NULL},
    {"consumers", "consumers", NULL},
    {"memory", "memory", NULL},
    {"state", "state", NULL},
    {"type", "type", NULL},
    {NULL, NULL, NULL},
};
static const char *const queue_defaults[] = {"name", "messages", NULL};

static const struct item exchange_items[] = {
    {"name", "name", NULL},
    {"vhost", "vhost", NULL},
    {"type", "type", NULL},
    {"durable", "durable", NULL},
    {"auto_delete", "auto_delete", NULL},
    {"internal", "internal", NULL},
    {"arguments", "arguments", NULL},
    {"policy", "policy", NULL},
    {NULL, NULL, NULL},
};
static const char *const exchange_defaults[] = {"name", "type", NULL};

static const struct item binding_items[] = {
    {"source_name", "source", NULL},
    {"source_kind", NULL, "exchange"},
    {"destination_name", "destination", NULL},
    {"destination_kind", "destination_type", NULL},
    {"routing_key", "routing_key", NULL},
    {"arguments", "arguments", NULL},
    {"vhost", "vhost", NULL},
    {NULL, NULL, NULL},
};
static const char *const binding_defaults[] = {"source_name",
                                               "source_kind",
                                               "destination_name",
                                               "destination_kind",
                                               "routing_key",
                                               "arguments",
                                               NULL};

static const struct item connection_items[] = {
    {"name", "name", NULL},
    {"user", "user", NULL},
    {"vhost", "vhost", NULL},
    {"peer_host", "peer_host", NULL},
    {"peer_port", "peer_port", NULL},
    {"host", "host", NULL},
    {"port", "port", NULL},
    {"state", "state", NULL},
    {"channels", "channels", NULL},
    {"protocol", "protocol", NULL},
    {"auth_mechanism", "auth_mechanism", NULL},
    {"ssl", "ssl", NULL},
    {"timeout", "timeout", NULL},
    {"frame_max", "frame_max", NULL},
    {"channel_max", "channel_max", NULL},
    {"client_properties", "client_properties", NULL},
    {"recv_oct", "recv_oct", NULL},
    {"send_oct", "send_oct", NULL},
    {"connected_at", "connected_at", NULL},
    {NULL, NULL, NULL},
};
static const char *const connection_defaults[] = {"user", "peer_host",
                                                  "peer_port", "state", NULL};

static const struct item consumer_items[] = {
    {"queue_name", "queue.name", NULL},
    {"channel_pid", "channel_details.name", NULL},
    {"consumer_tag", "consumer_tag", NULL},
    {"ack_required", "ack_required", NULL},
    {"prefetch_count", "prefetch_count", NULL},
    {"active", "active", NULL},
    {"activity_status", "activity_status", NULL},
    {"exclusive", "exclusive", NULL},
    {"arguments", "arguments", NULL},
    {NULL, NULL, NULL},
};
static const char *const consumer_defaults[] = {
    "queue_name",      "channel_pid",    "consumer_tag",
    "ack_required",    "prefetch_count", "active",
    "activity_status", "arguments",      NULL};

static const struct item channel_items[] = {
    {"pid", "name", NULL},
    {"name", "name", NULL},
    {"connection", "connection_details.name", NULL},
    {"number", "number", NULL},
    {"user", "user", NULL},
    {"vhost", "vhost", NULL},
    {"transactional", "transactional", NULL},
    {"confirm", "confirm", NULL},
    {"consumer_count", "consumer_count", NULL},
    {"messages_unacknowledged", "messages_unacknowledged", NULL},
    {"messages_unconfirmed", "messages_unconfirmed", NULL},
    {"prefetch_count", "prefetch_count", NULL},
    {"global_prefetch_count", "global_prefetch_count", NULL},
    {NULL, NULL, NULL},
};
static const char *const channel_defaults[] = {"pid", "user", "consumer_count",
                                               "messages_unacknowledged", NULL};

static const struct ctl_list lists[] = {
    {"list_queues", "queues", true, queue_defaults, queue_items},
    {"list_exchanges", "exchanges", true, exchange_defaults, exchange_items},
    {"list_bindings", "bindings", true, binding_defaults, binding_items},
    {"list_connections", "connections", false, connection_defaults,
     connection_items},
    {"list_consumers", "consumers", true, consumer_defaults, consumer_items},
    {"list_channels", "channels", false, channel_defaults, channel_items},
};

static const struct item *
find_item(const struct item *items, const char *name)
{
    for (; items->name; items++)
        if (strcmp(items->name, name) == 0)
            return items;
    return NULL;
}

static int
ctl_list(const struct wc_settings *s, const char *cmd, int argc, char **argv)
{
    const struct ctl_list *l = NULL;
    const struct item *sel[32];
    struct wc_column cols[32];
    size_t n = 0, i;
    char v[800], path[1000], what[600];
    struct wc_reply rep;
    json_t *rows, *item;
    int rc;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        if (strcmp(lists[i].cmd, cmd) == 0)
            l = &lists[i];
    if (argc > 32)
        return wc_usage(cmd, "too many columns");
    for (int a = 0; a < argc; a++) {
        if ((sel[n] = find_item(l->items, argv[a])) == NULL) {
            size_t o = 0;
            char known[1000];
            for (const struct item *it = l->items; it->name; it++)
                o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
                                      o ? ", " : "", it->name);
            return wc_usage(cmd, "invalid info key '%s' (one of: %s)", argv[a],
                            known);
        }
        n++;
    }
    if (argc == 0)
        for (; l->defaults[n]; n++)
            sel[n] = find_item(l->items, l->defaults[n]);
    if (l->per_vhost)
        snprintf(path, sizeof(path), "%s/%s", l->api,
                 wc_seg(s->vhost, v, sizeof(v)));
    else
        snprintf(path, sizeof(path), "%s", l->api);
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    rc = wc_get_list(s, cmd, path, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    /* One object per row with rabbitmqctl's names as keys, printed in
     * the order asked for. */
    rows = json_array();
    json_array_foreach(rep.json, i, item)
    {
        json_t *row = json_object();
        for (size_t c = 0; c < n; c++) {
            json_t *val = sel[c]->path ? wc_path_get(item, sel[c]->path)
                                       : json_string(sel[c]->value);
            json_object_set(row, sel[c]->name, val ? val : json_null());
            if (sel[c]->path == NULL)
                json_decref(val);
        }
        json_array_append_new(rows, row);
    }
    for (size_t c = 0; c < n; c++) {
        cols[c].path = sel[c]->name;
        cols[c].header = sel[c]->name;
    }
    wc_print_list(s, rows, cols, n);
    json_decref(rows);
    wc_reply_cleanup(&rep);
    return WC_EXIT_OK;
}

int
wc_cmd_list_queues(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_queues", argc, argv);
}

int
wc_cmd_list_exchanges(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_exchanges", argc, argv);
}

int
wc_cmd_list_bindings(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_bindings", argc, argv);
}

int
wc_cmd_list_connections(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_connections", argc, argv);
}

int
wc_cmd_list_consumers(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_consumers", argc, argv);
}

int
wc_cmd_list_channels(const struct wc_settings *s, int argc, char **argv)
{
    return ctl_list(s, "list_channels", argc, argv);
}

int
wc_cmd_close_connection(const struct wc_settings *s, int argc, char **argv)
{
    struct wc_settings with_reason = *s;
    char c[800], path[900], what[900];
    struct wc_reply rep;
    int rc;

    if (argc != 2)
        return wc_usage("close_connection",
                        "expected: close_connection NAME EXPLANATION");
    with_reason.x_reason = argv[1];
    snprintf(path, sizeof(path), "connections/%s",
             wc_seg(argv[0], c, sizeof(c)));
    snprintf(what, sizeof(what), "connection '%s'", argv[0]);
    rc = wc_call(&with_reason, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "connection '%s' closed", argv[0]);
    return WC_EXIT_OK;
}

/* queues/VHOST/NAME plus suffix */
static void
queue_path(const struct wc_settings *s, const char *q, const char *suffix,
           char *path, size_t cap, char *what, size_t wcap)
{
    char v[800], n[800];

    snprintf(path, cap, "queues/%s/%s%s", wc_seg(s->vhost, v, sizeof(v)),
             wc_seg(q, n, sizeof(n)), suffix);
    snprintf(what, wcap, "queue '%s' in vhost '%s'", q, s->vhost);
}

int
wc_cmd_purge_queue(const struct wc_settings *s, int argc, char **argv)
{
    char path[2000], what[1800];
    struct wc_reply rep;
    int rc;

    if (argc != 1)
        return wc_usage("purge_queue", "expected: purge_queue [-p VHOST] "
                                       "QUEUE");
    queue_path(s, argv[0], "/contents", path, sizeof(path), what, sizeof(what));
    rc = wc_call(s, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "queue '%s' purged", argv[0]);
    return WC_EXIT_OK;
}

int
wc_cmd_delete_queue(const struct wc_settings *s, int argc, char **argv)
{
    const char *q = NULL;
    bool if_empty = false, if_unused = false;
    char path[2000], what[1800], suffix[64];
    struct wc_reply rep;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "if-empty") == 0)
            if_empty = true;
        else if (strcmp(argv[i], "if-unused") == 0)
            if_unused = true;
        else if (q == NULL)
            q = argv[i];
        else
            q = "";
    }
    if (q == NULL || *q == '\0')
        return wc_usage("delete_queue",
                        "expected: delete_queue [-p VHOST] QUEUE "
                        "[--if-empty] [--if-unused]");
    snprintf(suffix, sizeof(suffix), "%s%s%s", if_empty || if_unused ? "?" : "",
             if_empty ? "if-empty=true" : "",
             if_unused ? (if_empty ? "&if-unused=true" : "if-unused=true")
                       : "");
    queue_path(s, q, suffix, path, sizeof(path), what, sizeof(what));
    rc = wc_call(s, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "queue '%s' deleted", q);
    return WC_EXIT_OK;
}

int
wc_cmd_set_log_level(const struct wc_settings *s, int argc, char **argv)
{
    struct wc_reply rep;
    json_t *body;
    int rc;

    if (argc != 1)
        return wc_usage("set_log_level",
                        "expected: set_log_level debug|info|notice|warning|"
                        "error|critical|none");
    body = json_pack("{s:s}", "level", argv[0]);
    rc = wc_call(s, "PUT", "log-level", body, "the log level", &rep);
    json_decref(body);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "log level set to %s", argv[0]);
    return WC_EXIT_OK;
}
