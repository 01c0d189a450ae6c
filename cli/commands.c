/* SPDX-License-Identifier: MIT */
/* warrenctl's commands, each one or two calls of the management API:
 * declare, delete, list, purge, publish, get, status, export, import. */
#include "warrenctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- name=value arguments -------------------------------------------------
 */

#define MAX_KV 16

struct kv {
    const char *key[MAX_KV];
    const char *val[MAX_KV];
    size_t n;
};

/* Splits argv into name=value pairs; allowed is a NULL-terminated list. */
static int
parse_kv(const char *cmd, int argc, char **argv, struct kv *kv,
         const char *const *allowed)
{
    kv->n = 0;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        size_t j;
        if (eq == NULL || eq == argv[i])
            return wc_usage(cmd, "expected NAME=VALUE, got '%s'", argv[i]);
        *eq = '\0';
        for (j = 0; allowed[j] && strcmp(allowed[j], argv[i]) != 0; j++)
            ;
        if (allowed[j] == NULL)
            return wc_usage(cmd, "unknown argument '%s'", argv[i]);
        for (j = 0; j < kv->n; j++)
            if (strcmp(kv->key[j], argv[i]) == 0)
                return wc_usage(cmd, "'%s' given twice", argv[i]);
        if (kv->n == MAX_KV)
            return wc_usage(cmd, "too many arguments");
        kv->key[kv->n] = argv[i];
        kv->val[kv->n++] = eq + 1;
    }
    return WC_EXIT_OK;
}

static const char *
kv_get(const struct kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0)
            return kv->val[i];
    return NULL;
}

static int
kv_need(const char *cmd, const struct kv *kv, const char *key, const char **out)
{
    *out = kv_get(kv, key);
    if (*out == NULL)
        return wc_usage(cmd, "missing %s=...", key);
    return WC_EXIT_OK;
}

/* Adds key as a JSON boolean when given. */
static int
kv_bool(const char *cmd, const struct kv *kv, const char *key, json_t *body)
{
    const char *v = kv_get(kv, key);

    if (v == NULL)
        return WC_EXIT_OK;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        json_object_set_new(body, key, json_true());
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        json_object_set_new(body, key, json_false());
    else
        return wc_usage(cmd, "%s: expected true or false, got '%s'", key, v);
    return WC_EXIT_OK;
}

/* Adds key as parsed JSON (an object) when given. */
static int
kv_json(const char *cmd, const struct kv *kv, const char *key, json_t *body)
{
    const char *v = kv_get(kv, key);
    json_error_t err;
    json_t *j;

    if (v == NULL)
        return WC_EXIT_OK;
    j = json_loads(v, 0, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        return wc_usage(
            cmd, "%s: expected a JSON object, as in %s='{\"k\": 1}'", key, key);
    }
    json_object_set_new(body, key, j);
    return WC_EXIT_OK;
}

static int
kv_int(const char *cmd, const struct kv *kv, const char *key, long lo,
       json_t *body)
{
    const char *v = kv_get(kv, key);
    char *end;
    long n;

    if (v == NULL)
        return WC_EXIT_OK;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < lo)
        return wc_usage(cmd, "%s: expected an integer of at least %ld", key,
                        lo);
    json_object_set_new(body, key, json_integer(n));
    return WC_EXIT_OK;
}

/* ---- shared helpers ---------------------------------------------------------
 */

/* "amq.default" names the default exchange in paths. */
static const char *
xpath(const char *name)
{
    return *name ? name : "amq.default";
}

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
    struct kv kv;
    int rc;

    if (argc < 1) {
        rc = wc_usage("declare", "expected exchange, queue or binding");
        goto done;
    }
    wc_seg(s->vhost, v, sizeof(v));
    if (strcmp(argv[0], "exchange") == 0) {
        if ((rc = parse_kv("declare", argc - 1, argv + 1, &kv, xkeys)) ||
            (rc = kv_need("declare", &kv, "name", &name)) ||
            (rc = kv_bool("declare", &kv, "durable", body)) ||
            (rc = kv_bool("declare", &kv, "auto_delete", body)) ||
            (rc = kv_bool("declare", &kv, "internal", body)) ||
            (rc = kv_json("declare", &kv, "arguments", body)))
            goto done;
        type = kv_get(&kv, "type");
        json_object_set_new(body, "type", json_string(type ? type : "direct"));
        snprintf(path, sizeof(path), "exchanges/%s/%s", v,
                 wc_seg(name, a, sizeof(a)));
        snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
        if ((rc = wc_call(s, "PUT", path, body, what, &rep)) == WC_EXIT_OK)
            wc_say(s, "exchange '%s' declared", name);
    } else if (strcmp(argv[0], "queue") == 0) {
        if ((rc = parse_kv("declare", argc - 1, argv + 1, &kv, qkeys)) ||
            (rc = kv_need("declare", &kv, "name", &name)) ||
            (rc = kv_bool("declare", &kv, "durable", body)) ||
            (rc = kv_bool("declare", &kv, "auto_delete", body)) ||
            (rc = kv_json("declare", &kv, "arguments", body)))
            goto done;
        snprintf(path, sizeof(path), "queues/%s/%s", v,
                 wc_seg(name, a, sizeof(a)));
        snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
        if ((rc = wc_call(s, "PUT", path, body, what, &rep)) == WC_EXIT_OK)
            wc_say(s, "queue '%s' declared", name);
    } else if (strcmp(argv[0], "binding") == 0) {
        const char *dt, *key;
        if ((rc = parse_kv("declare", argc - 1, argv + 1, &kv, bkeys)) ||
            (rc = kv_need("declare", &kv, "source", &src)) ||
            (rc = kv_need("declare", &kv, "destination", &dest)) ||
            (rc = kv_json("declare", &kv, "arguments", body)))
            goto done;
        dt = kv_get(&kv, "destination_type");
        dt = dt ? dt : "queue";
        if (strcmp(dt, "queue") != 0 && strcmp(dt, "exchange") != 0) {
            rc = wc_usage("declare", "destination_type: queue or exchange");
            goto done;
        }
        key = kv_get(&kv, "routing_key");
        json_object_set_new(body, "routing_key", json_string(key ? key : ""));
        snprintf(path, sizeof(path), "bindings/%s/e/%s/%c/%s", v,
                 wc_seg(xpath(src), a, sizeof(a)), dt[0],
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
    struct kv kv;
    int rc;

    if (argc < 1) {
        rc = wc_usage("delete", "expected exchange, queue or binding");
        goto done;
    }
    wc_seg(s->vhost, v, sizeof(v));
    if (strcmp(argv[0], "exchange") == 0 || strcmp(argv[0], "queue") == 0) {
        bool queue = argv[0][0] == 'q';
        if ((rc = parse_kv("delete", argc - 1, argv + 1, &kv,
                           queue ? qkeys : xkeys)) ||
            (rc = kv_need("delete", &kv, "name", &name)) ||
            (rc = kv_bool("delete", &kv, "if_unused", flags)) ||
            (rc = kv_bool("delete", &kv, "if_empty", flags)))
            goto done;
        snprintf(path, sizeof(path), "%s/%s/%s%s%s%s",
                 queue ? "queues" : "exchanges", v,
                 wc_seg(queue ? name : xpath(name), a, sizeof(a)),
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
        if ((rc = parse_kv("delete", argc - 1, argv + 1, &kv, bkeys)) ||
            (rc = kv_need("delete", &kv, "source", &src)) ||
            (rc = kv_need("delete", &kv, "destination", &dest)) ||
            (rc = kv_json("delete", &kv, "arguments", args))) {
            json_decref(args);
            goto done;
        }
        dt = kv_get(&kv, "destination_type");
        dt = dt ? dt : "queue";
        if (strcmp(dt, "queue") != 0 && strcmp(dt, "exchange") != 0) {
            json_decref(args);
            rc = wc_usage("delete", "destination_type: queue or exchange");
            goto done;
        }
        key = kv_get(&kv, "routing_key");
        pk = kv_get(&kv, "properties_key");
        snprintf(c, sizeof(c), "bindings/%s/e/%s/%c/%s", v,
                 wc_seg(xpath(src), a, sizeof(a)), dt[0],
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
    struct kv kv;
    int rc;

    if (argc < 1 || strcmp(argv[0], "queue") != 0)
        return wc_usage("purge", "expected: purge queue name=QUEUE");
    if ((rc = parse_kv("purge", argc - 1, argv + 1, &kv, keys)) ||
        (rc = kv_need("purge", &kv, "name", &name)))
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

/* ---- publish, get -----------------------------------------------------------
 */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes base64 of everything on in to out, streaming. */
static void
b64_stream(FILE *in, FILE *out)
{
    unsigned char buf[3 * 1024];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)buf[i] << 16;
            if (i + 1 < n)
                v |= (unsigned)buf[i + 1] << 8;
            if (i + 2 < n)
                v |= buf[i + 2];
            fputc(b64[(v >> 18) & 63], out);
            fputc(b64[(v >> 12) & 63], out);
            fputc(i + 1 < n ? b64[(v >> 6) & 63] : '=', out);
            fputc(i + 2 < n ? b64[v & 63] : '=', out);
        }
        if (n < sizeof(buf))
            break;
    }
}

int
wc_cmd_publish(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const keys[] = {"exchange",   "routing_key",
                                       "payload",    "payload_encoding",
                                       "properties", NULL};
    char v[800], a[800], path[2000], what[1000];
    const char *x, *key, *payload, *enc;
    json_t *body = json_object();
    struct wc_reply rep;
    FILE *up = NULL;
    struct kv kv;
    int rc;

    if ((rc = parse_kv("publish", argc, argv, &kv, keys)) ||
        (rc = kv_need("publish", &kv, "routing_key", &key)) ||
        (rc = kv_json("publish", &kv, "properties", body)))
        goto done;
    x = kv_get(&kv, "exchange");
    x = x ? x : "";
    payload = kv_get(&kv, "payload");
    enc = kv_get(&kv, "payload_encoding");
    enc = enc ? enc : "string";
    if (strcmp(enc, "string") != 0 && strcmp(enc, "base64") != 0) {
        rc = wc_usage("publish", "payload_encoding: string or base64");
        goto done;
    }
    json_object_set_new(body, "routing_key", json_string(key));
    if (json_object_get(body, "properties") == NULL)
        json_object_set_new(body, "properties", json_object());
    snprintf(path, sizeof(path), "exchanges/%s/%s/publish",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(xpath(x), a, sizeof(a)));
    snprintf(what, sizeof(what), "exchange '%s' in vhost '%s'", x, s->vhost);
    if (payload) {
        json_t *p = json_string(payload);
        if (p == NULL) {
            rc = wc_usage("publish", "payload: not valid UTF-8 (use "
                                     "payload_encoding=base64)");
            goto done;
        }
        json_object_set_new(body, "payload", p);
        json_object_set_new(body, "payload_encoding", json_string(enc));
        rc = wc_http(s, "POST", path, body, NULL, &rep);
    } else {
        /* The payload is standard input, sent base64-encoded. */
        if ((up = tmpfile()) == NULL) {
            rc = WC_EXIT_ERROR;
            fprintf(stderr, "warrenctl: cannot create a temporary file\n");
            goto done;
        }
        static char rest[256 * 1024];
        size_t n = json_dumpb(body, rest, sizeof(rest), JSON_COMPACT);
        if (n >= sizeof(rest) || n < 2) {
            rc = wc_usage("publish", "properties are too large");
            goto done;
        }
        /* {"payload_encoding":"base64","payload":"...", then the rest of
         * the body without its opening brace. */
        fputs("{\"payload_encoding\":\"base64\",\"payload\":\"", up);
        b64_stream(stdin, up);
        fputs("\",", up);
        fwrite(rest + 1, 1, n - 1, up);
        rc = wc_http(s, "POST", path, NULL, up, &rep);
    }
    if (rc != WC_EXIT_OK)
        goto done;
    if (rep.status != 200) {
        rc = wc_fail(s, &rep, what);
    } else if (s->format == WC_FMT_JSON) {
        json_dumpf(rep.json, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (json_is_true(json_object_get(rep.json, "routed"))) {
        wc_say(s, "message published");
    } else {
        wc_say(s, "message published but not routed to any queue");
    }
    wc_reply_cleanup(&rep);
done:
    if (up)
        fclose(up);
    json_decref(body);
    return rc;
}

/* Prints the messages of a get or peek reply (rep->json, an array). */
static int
print_messages(const struct wc_settings *s, const struct wc_reply *rep,
               const char *queue)
{
    static const struct wc_column cols[] = {
        {"routing_key", "routing_key"}, {"exchange", "exchange"},
        {"message_count", "remaining"}, {"payload_bytes", "bytes"},
        {"redelivered", "redelivered"}, {"payload_encoding", "encoding"},
        {"payload", "payload"},
    };

    if (!json_is_array(rep->json)) {
        fprintf(stderr, "warrenctl: the broker's answer is not a list\n");
        return WC_EXIT_ERROR;
    }
    if (json_array_size(rep->json) == 0 && s->format == WC_FMT_TABLE)
        wc_say(s, "queue '%s' is empty", queue);
    else
        wc_print_list(s, rep->json, cols, sizeof(cols) / sizeof(cols[0]));
    return WC_EXIT_OK;
}

int
wc_cmd_get(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const keys[] = {"queue",    "count",    "ackmode",
                                       "encoding", "truncate", NULL};
    static const struct {
        const char *in, *out;
    } modes[] = {
        {"requeue", "ack_requeue_true"},
        {"ack", "ack_requeue_false"},
        {"reject", "reject_requeue_false"},
        {"reject_requeue", "reject_requeue_true"},
        {"ack_requeue_true", "ack_requeue_true"},
        {"ack_requeue_false", "ack_requeue_false"},
        {"reject_requeue_true", "reject_requeue_true"},
        {"reject_requeue_false", "reject_requeue_false"},
    };
    char v[800], a[800], path[2000], what[1000];
    const char *queue, *mode, *enc;
    json_t *body = json_object();
    struct wc_reply rep;
    struct kv kv;
    size_t i;
    int rc;

    if ((rc = parse_kv("get", argc, argv, &kv, keys)) ||
        (rc = kv_need("get", &kv, "queue", &queue)) ||
        (rc = kv_int("get", &kv, "count", 1, body)) ||
        (rc = kv_int("get", &kv, "truncate", 0, body)))
        goto done;
    mode = kv_get(&kv, "ackmode");
    mode = mode ? mode : "requeue";
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(mode, modes[i].in) == 0)
            break;
    if (i == sizeof(modes) / sizeof(modes[0])) {
        rc = wc_usage("get", "ackmode: requeue, ack, reject or "
                             "reject_requeue");
        goto done;
    }
    enc = kv_get(&kv, "encoding");
    if (enc && strcmp(enc, "auto") != 0 && strcmp(enc, "base64") != 0) {
        rc = wc_usage("get", "encoding: auto or base64");
        goto done;
    }
    if (json_object_get(body, "count") == NULL)
        json_object_set_new(body, "count", json_integer(1));
    json_object_set_new(body, "ackmode", json_string(modes[i].out));
    json_object_set_new(body, "encoding", json_string(enc ? enc : "auto"));
    snprintf(path, sizeof(path), "queues/%s/%s/get",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(queue, a, sizeof(a)));
    snprintf(what, sizeof(what), "queue '%s' in vhost '%s'", queue, s->vhost);
    if ((rc = wc_call(s, "POST", path, body, what, &rep)) != WC_EXIT_OK)
        goto done;
    rc = print_messages(s, &rep, queue);
    wc_reply_cleanup(&rep);
done:
    json_decref(body);
    return rc;
}

int
wc_cmd_peek(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const keys[] = {"queue", "count", "encoding", "truncate",
                                       NULL};
    char v[800], a[800], path[2100], what[1000];
    const char *queue, *enc, *count, *trunc;
    json_t *nums = json_object();
    struct wc_reply rep;
    struct kv kv;
    int rc;

    if ((rc = parse_kv("peek", argc, argv, &kv, keys)) ||
        (rc = kv_need("peek", &kv, "queue", &queue)) ||
        (rc = kv_int("peek", &kv, "count", 1, nums)) ||
        (rc = kv_int("peek", &kv, "truncate", 0, nums)))
        goto done;
    enc = kv_get(&kv, "encoding");
    if (enc && strcmp(enc, "auto") != 0 && strcmp(enc, "base64") != 0) {
        rc = wc_usage("peek", "encoding: auto or base64");
        goto done;
    }
    count = kv_get(&kv, "count");
    trunc = kv_get(&kv, "truncate");
    snprintf(path, sizeof(path), "queues/%s/%s/peek?count=%s&encoding=%s%s%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(queue, a, sizeof(a)),
             count ? count : "1", enc ? enc : "auto", trunc ? "&truncate=" : "",
             trunc ? trunc : "");
    snprintf(what, sizeof(what), "queue '%s' in vhost '%s'", queue, s->vhost);
    if ((rc = wc_call(s, "GET", path, NULL, what, &rep)) != WC_EXIT_OK)
        goto done;
    rc = print_messages(s, &rep, queue);
    wc_reply_cleanup(&rep);
done:
    json_decref(nums);
    return rc;
}

/* POST .../move: ready messages from the head of one queue to the tail of
 * another (warren's addition to RabbitMQ's API). */
int
wc_cmd_move(const struct wc_settings *s, int argc, char **argv)
{
    static const char *const keys[] = {"queue", "to", "count", NULL};
    char v[800], a[800], path[2000], what[1000];
    const char *queue, *to;
    json_t *body = json_object(), *moved;
    struct wc_reply rep;
    struct kv kv;
    int rc;

    if ((rc = parse_kv("move", argc, argv, &kv, keys)) ||
        (rc = kv_need("move", &kv, "queue", &queue)) ||
        (rc = kv_need("move", &kv, "to", &to)) ||
        (rc = kv_int("move", &kv, "count", 0, body)))
        goto done;
    json_object_set_new(body, "destination", json_string(to));
    snprintf(path, sizeof(path), "queues/%s/%s/move",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(queue, a, sizeof(a)));
    snprintf(what, sizeof(what), "queue '%s' in vhost '%s'", queue, s->vhost);
    if ((rc = wc_call(s, "POST", path, body, what, &rep)) != WC_EXIT_OK)
        goto done;
    moved = json_object_get(rep.json, "moved");
    if (s->format == WC_FMT_JSON && !s->quiet && rep.json) {
        json_dumpf(rep.json, stdout, JSON_COMPACT);
        putchar('\n');
    }
    wc_say(s, "moved %lld message%s from '%s' to '%s'",
           (long long)json_integer_value(moved),
           json_integer_value(moved) == 1 ? "" : "s", queue, to);
    wc_reply_cleanup(&rep);
done:
    json_decref(body);
    return rc;
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
    struct kv kv;
    int rc;

    if (argc < 1 || strchr(argv[0], '=') != NULL)
        return wc_usage(cmd, "expected a FILE ('-' for standard %s)",
                        cmd[0] == 'e' ? "output" : "input");
    *file = argv[0];
    if ((rc = parse_kv(cmd, argc - 1, argv + 1, &kv, keys)) != WC_EXIT_OK)
        return rc;
    vh = kv_get(&kv, "vhost");
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
