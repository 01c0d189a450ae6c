/* SPDX-License-Identifier: MIT */
/* warrenctl's stream commands: add_super_stream and delete_super_stream
 * (named and shaped as rabbitmq-streams'), list_super_streams,
 * list_streams, list_stream_consumers and list_stream_tracking. */
#include "warrenctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char wc_add_super_stream_help[] =
    "NAME\n"
    "    warrenctl add_super_stream - create a super stream (partitioned\n"
    "    stream)\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] add_super_stream NAME [--partitions N |\n"
    "              --routing-keys K1,K2,...] [--max-length-bytes SIZE]\n"
    "              [--max-age DURATION]\n"
    "              [--stream-max-segment-size-bytes SIZE]\n"
    "              [--leader-locator LOCATOR] [--initial-cluster-size N]\n"
    "\n"
    "DESCRIPTION\n"
    "    As rabbitmq-streams add_super_stream: creates a durable direct\n"
    "    exchange NAME with the argument x-super-stream = true and one\n"
    "    stream queue per partition, bound from NAME with the binding\n"
    "    argument x-stream-partition-order (0, 1, ...). With --partitions N\n"
    "    (default 3) the streams are NAME-0 .. NAME-(N-1), bound with the\n"
    "    routing keys \"0\" .. \"N-1\"; with --routing-keys (or\n"
    "    --binding-keys) K1,K2 they are NAME-K1, NAME-K2, bound with K1,\n"
    "    K2. Publishing to the exchange with a partition's key reaches that\n"
    "    partition; a consumer reads one partition. Nothing is made when\n"
    "    the exchange or one of the streams exists already.\n"
    "    PUT /api/stream/super-streams/VHOST/NAME (RabbitMQ's path).\n"
    "\n"
    "ARGUMENTS\n"
    "    --max-length-bytes SIZE   each partition's x-max-length-bytes:\n"
    "                              bytes, or with a unit: 500mb, 20gb\n"
    "                              (1000s), 20GiB (1024s)\n"
    "    --max-age DURATION        each partition's x-max-age: an ISO 8601\n"
    "                              duration (PT10M30S, P5DT8H, sent as\n"
    "                              seconds, \"630s\") or x-max-age's own\n"
    "                              form (7D, 30m)\n"
    "    --stream-max-segment-size-bytes SIZE   x-stream-max-segment-\n"
    "                              size-bytes\n"
    "    --leader-locator L        x-queue-leader-locator (client-local,\n"
    "                              balanced; accepted, one node)\n"
    "    --initial-cluster-size N  x-initial-cluster-size (accepted)\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl add_super_stream invoices --partitions 3\n"
    "    warrenctl add_super_stream orders --routing-keys amer,emea,apac \\\n"
    "        --max-length-bytes 20gb --max-age P7D\n";

const char wc_delete_super_stream_help[] =
    "NAME\n"
    "    warrenctl delete_super_stream - delete a super stream\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] delete_super_stream NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    As rabbitmq-streams delete_super_stream: deletes the exchange NAME\n"
    "    and every partition stream it is bound to, with their messages.\n"
    "    Exit 5 when NAME is not a super stream.\n"
    "    DELETE /api/stream/super-streams/VHOST/NAME (warren's).\n";

const char wc_list_super_streams_help[] =
    "NAME\n"
    "    warrenctl list_super_streams - list super streams\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] list_super_streams\n"
    "\n"
    "DESCRIPTION\n"
    "    The vhost's super streams: name, partitions (in partition order)\n"
    "    and their binding keys. GET /api/stream/super-streams/VHOST\n"
    "    (warren's).\n";

const char wc_list_streams_help[] =
    "NAME\n"
    "    warrenctl list_streams - list stream queues and their logs\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] list_streams\n"
    "\n"
    "DESCRIPTION\n"
    "    The vhost's stream queues (type stream in GET /api/queues/VHOST):\n"
    "    name, messages held, first_offset and last_offset (the oldest and\n"
    "    newest offsets the stream holds, empty while it holds nothing),\n"
    "    disk_bytes (the size of its segment files), segments and\n"
    "    consumers. -f json prints the API's queue objects, with\n"
    "    committed_offset (the last durable offset) too.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_streams\n"
    "    warrenctl -V orders -f json list_streams\n";

const char wc_list_stream_consumers_help[] =
    "NAME\n"
    "    warrenctl list_stream_consumers - stream consumers and their lag\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] list_stream_consumers\n"
    "\n"
    "DESCRIPTION\n"
    "    The consumers of the vhost's stream queues: stream, consumer_tag,\n"
    "    channel, offset (the next offset the consumer is given) and\n"
    "    offset_lag (how many messages the stream holds past it), as\n"
    "    rabbitmq-streams list_stream_consumers names them. -f json\n"
    "    prints the API's consumer objects (the stream is queue.name).\n";

const char wc_list_stream_tracking_help[] =
    "NAME\n"
    "    warrenctl list_stream_tracking - the offsets stored for a stream's\n"
    "    tracked consumers\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-V VHOST] list_stream_tracking STREAM [--all | --offset\n"
    "              | --writer]\n"
    "\n"
    "DESCRIPTION\n"
    "    As rabbitmq-streams list_stream_tracking: what server-side offset\n"
    "    tracking stored for STREAM, one row per consumer tag: type\n"
    "    (offset), name (the consumer tag) and tracking_value (the offset a\n"
    "    consumer with that tag and x-stream-automatic-offset-tracking\n"
    "    starts at: the first one it has not acked), by tag, whether a\n"
    "    consumer with the tag is connected or not. --offset (and --all,\n"
    "    the default) lists them; --writer lists publisher (deduplication)\n"
    "    tracking, which warren does not keep: nothing. Exit 5 when there\n"
    "    is no queue STREAM, 1 when it is not a stream. -f json prints the\n"
    "    rows as objects with these three keys. The tracked_offsets of\n"
    "    GET /api/queues/VHOST/STREAM.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_stream_tracking events\n"
    "    warrenctl -V orders -f json list_stream_tracking invoices-0\n";

/* RabbitMQ's information units (rabbit_resource_monitor_misc): digits,
 * then k, ki, kib (1024), kb (1000), and the same for m, g, t, p; case
 * does not matter. Returns 0, or -1 when s is not one. */
static int
parse_size(const char *s, long long *out)
{
    static const char units[] = "kmgtp";
    char *end;
    long long v, m;
    const char *u;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    if (*end == '\0') {
        *out = v;
        return 0;
    }
    u = strchr(units, tolower((unsigned char)*end));
    if (u == NULL)
        return -1;
    if (end[1] == '\0' || !strcasecmp(end + 1, "i") ||
        !strcasecmp(end + 1, "ib"))
        m = 1024;
    else if (!strcasecmp(end + 1, "b"))
        m = 1000;
    else
        return -1;
    for (int i = 0; i <= u - units; i++) {
        if (v > INT64_MAX / m)
            return -1;
        v *= m;
    }
    *out = v;
    return 0;
}

/* An ISO 8601 duration (PnYnMnDTnHnMnS, years of 365 days and months of
 * 30, as rabbitmq-streams counts them) as "Ns"; anything else is passed
 * as it is (x-max-age's own "7D", "30m"; the broker checks it). */
static void
max_age(const char *s, char *out, size_t cap)
{
    long long total = 0;
    bool time = false;
    const char *p = s + 1;

    if (s[0] != 'P' || s[1] == '\0') {
        snprintf(out, cap, "%s", s);
        return;
    }
    while (*p) {
        char *end;
        long long v;
        if (*p == 'T' && !time) {
            time = true;
            p++;
            continue;
        }
        v = strtoll(p, &end, 10);
        if (end == p) {
            snprintf(out, cap, "%s", s);
            return;
        }
        switch (*end) {
        case 'Y':
            total += v * 365 * 86400;
            break;
        case 'M':
            total += time ? v * 60 : v * 30 * 86400;
            break;
        case 'W':
            total += v * 7 * 86400;
            break;
        case 'D':
            total += v * 86400;
            break;
        case 'H':
            total += v * 3600;
            break;
        case 'S':
            total += v;
            break;
        default:
            snprintf(out, cap, "%s", s);
            return;
        }
        p = end + 1;
    }
    snprintf(out, cap, "%llds", total);
}

/* "name value" or "name=value" for an option main() turned into a word. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static const char *const super_opts[] = {"partitions",
                                         "routing-keys",
                                         "binding-keys",
                                         "max-length-bytes",
                                         "max-age",
                                         "stream-max-segment-size-bytes",
                                         "leader-locator",
                                         "initial-cluster-size",
                                         NULL};

bool
wc_super_stream_option(const char *word)
{
    for (size_t i = 0; super_opts[i]; i++) {
        size_t n = strlen(super_opts[i]);
        if (strncmp(word, super_opts[i], n) == 0 &&
            (word[n] == '\0' || word[n] == '='))
            return true;
    }
    return false;
}

int
wc_cmd_add_super_stream(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const cmd = "add_super_stream";
    const char *name = NULL, *val[8] = {0};
    json_t *body, *args;
    char v[800], n[800], path[1800], what[1200], age[64];
    struct wc_reply rep;
    long long size;
    int rc;

    for (int i = 0; i < argc; i++) {
        size_t k;
        for (k = 0; super_opts[k]; k++) {
            const char *x = opt_value(argc, argv, &i, super_opts[k]);
            if (x) {
                val[k] = x;
                break;
            }
        }
        if (super_opts[k])
            continue;
        if (name || wc_super_stream_option(argv[i]))
            return wc_usage(cmd, "unexpected '%s'", argv[i]);
        name = argv[i];
    }
    if (name == NULL)
        return wc_usage(cmd, "expected: add_super_stream NAME [--partitions "
                             "N | --routing-keys K1,K2,...]");
    if (val[1] && val[2])
        return wc_usage(cmd, "Specify --binding-keys only.");
    if (val[0] && (val[1] || val[2]))
        return wc_usage(cmd, "Specify --partitions or --binding-keys, not "
                             "both.");
    body = json_object();
    if (val[1] || val[2]) {
        json_object_set_new(body, "binding-keys",
                            json_string(val[1] ? val[1] : val[2]));
    } else {
        char *end;
        long long p = val[0] ? strtoll(val[0], &end, 10) : 3;
        if (val[0] && (*val[0] == '\0' || *end)) {
            json_decref(body);
            return wc_usage(cmd, "--partitions: expected a number");
        }
        if (p < 1) {
            json_decref(body);
            return wc_usage(cmd, "The partition number must be greater "
                                 "than 0");
        }
        json_object_set_new(body, "partitions", json_integer(p));
    }
    args = json_object();
    if (val[3]) {
        if (parse_size(val[3], &size)) {
            json_decref(args);
            json_decref(body);
            return wc_usage(cmd, "Invalid value for --max-length-bytes, valid "
                                 "example values: 100gb, 50mb");
        }
        json_object_set_new(args, "max-length-bytes", json_integer(size));
    }
    if (val[4]) {
        max_age(val[4], age, sizeof(age));
        json_object_set_new(args, "max-age", json_string(age));
    }
    if (val[5]) {
        if (parse_size(val[5], &size)) {
            json_decref(args);
            json_decref(body);
            return wc_usage(cmd, "Invalid value for "
                                 "--stream-max-segment-size-bytes, valid "
                                 "example values: 100gb, 50mb");
        }
        json_object_set_new(args, "stream-max-segment-size-bytes",
                            json_integer(size));
    }
    if (val[6])
        json_object_set_new(args, "queue-leader-locator", json_string(val[6]));
    if (val[7]) {
        char *end;
        long long c = strtoll(val[7], &end, 10);
        if (*val[7] == '\0' || *end || c < 1) {
            json_decref(args);
            json_decref(body);
            return wc_usage(cmd, "Invalid value for --initial-cluster-size, "
                                 "the value must be a positive integer.");
        }
        json_object_set_new(args, "initial-cluster-size", json_integer(c));
    }
    json_object_set_new(body, "arguments", args);
    snprintf(path, sizeof(path), "stream/super-streams/%s/%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(name, n, sizeof(n)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    rc = wc_call(s, "PUT", path, body, what, &rep);
    json_decref(body);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "Super stream %s has been created", name);
    return WC_EXIT_OK;
}

int
wc_cmd_delete_super_stream(const struct wc_settings *s, int argc, char **argv)
{
    char v[800], n[800], path[1800], what[1200];
    struct wc_reply rep;
    int rc;

    if (argc != 1)
        return wc_usage("delete_super_stream",
                        "expected: delete_super_stream NAME");
    snprintf(path, sizeof(path), "stream/super-streams/%s/%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(argv[0], n, sizeof(n)));
    snprintf(what, sizeof(what), "super stream '%s' in vhost '%s'", argv[0],
             s->vhost);
    rc = wc_call(s, "DELETE", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    wc_say(s, "Super stream %s has been deleted", argv[0]);
    return WC_EXIT_OK;
}

int
wc_cmd_list_super_streams(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"name", "name"},
                                            {"partitions", "partitions"},
                                            {"binding_keys", "binding_keys"}};
    char v[800], path[900], what[400];

    (void)argv;
    if (argc != 0)
        return wc_usage("list_super_streams", "expected: list_super_streams");
    snprintf(path, sizeof(path), "stream/super-streams/%s",
             wc_seg(s->vhost, v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, sizeof(cols) / sizeof(cols[0]));
}

/* GETs path and prints the items for which keep says yes. */
static int
list_filtered(const struct wc_settings *s, const char *cmd, const char *path,
              bool (*keep)(json_t *), const struct wc_column *cols,
              size_t ncols)
{
    char what[400];
    struct wc_reply rep;
    json_t *rows, *item;
    size_t i;
    int rc;

    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    rc = wc_get_list(s, cmd, path, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    rows = json_array();
    json_array_foreach(rep.json, i, item)
    {
        if (keep(item))
            json_array_append(rows, item);
    }
    wc_print_list(s, rows, cols, ncols);
    json_decref(rows);
    wc_reply_cleanup(&rep);
    return WC_EXIT_OK;
}

static bool
is_stream(json_t *q)
{
    const char *t = json_string_value(json_object_get(q, "type"));

    return t && strcmp(t, "stream") == 0;
}

static bool
has_offset(json_t *c)
{
    return json_object_get(c, "offset") != NULL;
}

int
wc_cmd_list_streams(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"name", "name"},
                                            {"messages", "messages"},
                                            {"first_offset", "first_offset"},
                                            {"last_offset", "last_offset"},
                                            {"disk_bytes", "disk_bytes"},
                                            {"segments", "segments"},
                                            {"consumers", "consumers"}};
    char v[800], path[900];

    (void)argv;
    if (argc != 0)
        return wc_usage("list_streams", "expected: list_streams");
    snprintf(path, sizeof(path), "queues/%s", wc_seg(s->vhost, v, sizeof(v)));
    return list_filtered(s, "list_streams", path, is_stream, cols,
                         sizeof(cols) / sizeof(cols[0]));
}

int
wc_cmd_list_stream_consumers(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"queue.name", "stream"},
                                            {"consumer_tag", "consumer_tag"},
                                            {"channel_details.name", "channel"},
                                            {"offset", "offset"},
                                            {"offset_lag", "offset_lag"}};
    char v[800], path[900];

    (void)argv;
    if (argc != 0)
        return wc_usage("list_stream_consumers",
                        "expected: list_stream_consumers");
    snprintf(path, sizeof(path), "consumers/%s",
             wc_seg(s->vhost, v, sizeof(v)));
    return list_filtered(s, "list_stream_consumers", path, has_offset, cols,
                         sizeof(cols) / sizeof(cols[0]));
}

/* rabbitmq-streams' "list_stream_tracking S --all | --offset | --writer" */
bool
wc_stream_tracking_option(const char *word)
{
    return strcmp(word, "all") == 0 || strcmp(word, "offset") == 0 ||
           strcmp(word, "writer") == 0;
}

int
wc_cmd_list_stream_tracking(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const cmd = "list_stream_tracking";
    static const struct wc_column cols[] = {
        {"type", "type"},
        {"name", "name"},
        {"tracking_value", "tracking_value"}};
    const char *name = NULL, *kind = NULL;
    char v[800], n[800], path[1800], what[1200];
    struct wc_reply rep;
    json_t *rows, *list, *item;
    size_t i;
    int rc;

    /* the stream first, as rabbitmq-streams has it (a stream may be
     * called "all") */
    if (argc < 1)
        return wc_usage(cmd, "expected: list_stream_tracking STREAM [--all | "
                             "--offset | --writer]");
    name = argv[0];
    for (int k = 1; k < argc; k++) {
        if (!wc_stream_tracking_option(argv[k]))
            return wc_usage(cmd, "unexpected '%s'", argv[k]);
        if (kind)
            return wc_usage(cmd, "Specify only one of --all, --offset, "
                                 "--writer.");
        kind = argv[k];
    }
    snprintf(path, sizeof(path), "queues/%s/%s", wc_seg(s->vhost, v, sizeof(v)),
             wc_seg(name, n, sizeof(n)));
    snprintf(what, sizeof(what), "queue '%s' in vhost '%s'", name, s->vhost);
    rc = wc_call(s, "GET", path, NULL, what, &rep);
    if (rc != WC_EXIT_OK)
        return rc;
    if (!json_is_object(rep.json) || !is_stream(rep.json)) {
        fprintf(stderr, "warrenctl: %s is not a stream\n", what);
        wc_reply_cleanup(&rep);
        return WC_EXIT_ERROR;
    }
    list = json_object_get(rep.json, "tracked_offsets");
    rows = json_array();
    if (kind == NULL || strcmp(kind, "writer") != 0)
        json_array_foreach(list, i, item)
        {
            json_t *tag = json_object_get(item, "consumer_tag");
            json_t *off = json_object_get(item, "offset");
            if (tag && off)
                json_array_append_new(rows, json_pack("{s:s,s:O,s:O}", "type",
                                                      "offset", "name", tag,
                                                      "tracking_value", off));
        }
    wc_print_list(s, rows, cols, sizeof(cols) / sizeof(cols[0]));
    json_decref(rows);
    wc_reply_cleanup(&rep);
    return WC_EXIT_OK;
}
