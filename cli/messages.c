/* SPDX-License-Identifier: MIT */
/* warrenctl's message commands: publish, get, peek, move. */
#include "warrenctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
    struct wc_kv kv;
    int rc;

    if ((rc = wc_kv_parse("publish", argc, argv, &kv, keys)) ||
        (rc = wc_kv_need("publish", &kv, "routing_key", &key)) ||
        (rc = wc_kv_json("publish", &kv, "properties", body)))
        goto done;
    x = wc_kv_get(&kv, "exchange");
    x = x ? x : "";
    payload = wc_kv_get(&kv, "payload");
    enc = wc_kv_get(&kv, "payload_encoding");
    enc = enc ? enc : "string";
    if (strcmp(enc, "string") != 0 && strcmp(enc, "base64") != 0) {
        rc = wc_usage("publish", "payload_encoding: string or base64");
        goto done;
    }
    json_object_set_new(body, "routing_key", json_string(key));
    if (json_object_get(body, "properties") == NULL)
        json_object_set_new(body, "properties", json_object());
    snprintf(path, sizeof(path), "exchanges/%s/%s/publish",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(wc_xpath(x), a, sizeof(a)));
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
    struct wc_kv kv;
    size_t i;
    int rc;

    if ((rc = wc_kv_parse("get", argc, argv, &kv, keys)) ||
        (rc = wc_kv_need("get", &kv, "queue", &queue)) ||
        (rc = wc_kv_int("get", &kv, "count", 1, body)) ||
        (rc = wc_kv_int("get", &kv, "truncate", 0, body)))
        goto done;
    mode = wc_kv_get(&kv, "ackmode");
    mode = mode ? mode : "requeue";
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(mode, modes[i].in) == 0)
            break;
    if (i == sizeof(modes) / sizeof(modes[0])) {
        rc = wc_usage("get", "ackmode: requeue, ack, reject or "
                             "reject_requeue");
        goto done;
    }
    enc = wc_kv_get(&kv, "encoding");
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
    struct wc_kv kv;
    int rc;

    if ((rc = wc_kv_parse("peek", argc, argv, &kv, keys)) ||
        (rc = wc_kv_need("peek", &kv, "queue", &queue)) ||
        (rc = wc_kv_int("peek", &kv, "count", 1, nums)) ||
        (rc = wc_kv_int("peek", &kv, "truncate", 0, nums)))
        goto done;
    enc = wc_kv_get(&kv, "encoding");
    if (enc && strcmp(enc, "auto") != 0 && strcmp(enc, "base64") != 0) {
        rc = wc_usage("peek", "encoding: auto or base64");
        goto done;
    }
    count = wc_kv_get(&kv, "count");
    trunc = wc_kv_get(&kv, "truncate");
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
    struct wc_kv kv;
    int rc;

    if ((rc = wc_kv_parse("move", argc, argv, &kv, keys)) ||
        (rc = wc_kv_need("move", &kv, "queue", &queue)) ||
        (rc = wc_kv_need("move", &kv, "to", &to)) ||
        (rc = wc_kv_int("move", &kv, "count", 0, body)))
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
