/* SPDX-License-Identifier: MIT */
/* warrenctl's HTTP client for the management API, on libcurl: bodies go
 * through temporary files (no buffer to size or cap by hand), errors map
 * to documented exit statuses. */
#include "warrenctl.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <string.h>

/* Largest answer read (a definitions export of a large broker fits). */
#define WC_REPLY_MAX (1024L * 1024 * 1024)

struct sink {
    FILE *f;
    long n;
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *k = arg;
    size_t n = size * nmemb;

    if ((long)n > WC_REPLY_MAX - k->n)
        return 0; /* curl reports CURLE_WRITE_ERROR */
    k->n += (long)n;
    return fwrite(p, 1, n, k->f);
}

char *
wc_seg(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap;
         p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return out;
}

void
wc_reply_cleanup(struct wc_reply *rep)
{
    json_decref(rep->json);
    rep->json = NULL;
    if (rep->raw)
        fclose(rep->raw);
    rep->raw = NULL;
}

int
wc_http(const struct wc_settings *s, const char *method, const char *path,
        json_t *body, FILE *upload, struct wc_reply *rep)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[4096], err[CURL_ERROR_SIZE] = "";
    struct sink k = {tmpfile(), 0};
    FILE *req = NULL;
    CURLcode rc;
    int ret = WC_EXIT_UNREACHABLE;

    memset(rep, 0, sizeof(*rep));
    if (c == NULL || k.f == NULL) {
        fprintf(stderr, "warrenctl: cannot set up an HTTP request\n");
        goto done;
    }
    snprintf(url, sizeof(url), "%s/api/%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->pass);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, s->timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "warrenctl");
    /* No proxy from the environment for what is usually loopback. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (s->cacert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cacert);
    if (s->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (body && (req = tmpfile()) != NULL) {
        json_dumpf(body, req, JSON_COMPACT);
        upload = req;
    }
    if (upload) {
        long size;
        fseek(upload, 0, SEEK_END);
        size = ftell(upload);
        rewind(upload);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
    }
    if (s->x_reason) {
        char h[1024];
        snprintf(h, sizeof(h), "X-Reason: %s", s->x_reason);
        hdrs = curl_slist_append(hdrs, h);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "warrenctl: cannot reach the broker at %s: %s\n",
                s->base, err[0] ? err : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
    rewind(k.f);
    if (k.n > 0) {
        json_error_t jerr;
        rep->json = json_loadf(k.f, JSON_DECODE_ANY, &jerr);
        rewind(k.f);
    }
    rep->raw = k.f;
    k.f = NULL;
    ret = WC_EXIT_OK;
done:
    if (req)
        fclose(req);
    if (k.f)
        fclose(k.f);
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return ret;
}

static const char *
reason_of(const struct wc_reply *rep)
{
    json_t *r =
        json_is_object(rep->json) ? json_object_get(rep->json, "reason") : NULL;

    return json_is_string(r) ? json_string_value(r) : NULL;
}

static const char *
error_of(const struct wc_reply *rep)
{
    json_t *e =
        json_is_object(rep->json) ? json_object_get(rep->json, "error") : NULL;

    return json_is_string(e) ? json_string_value(e) : "";
}

static bool
starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Prints a reason on one line: RabbitMQ's validation errors have blank
 * lines ("Validation failed\n\nmax-queues should be ..."). */
static void
print_reason(const char *reason)
{
    size_t n = strlen(reason);
    const char *q = strstr(reason, ",\"");

    /* rabbit_stream_manager's reasons are Erlang terms,
     * {reference_already_exists,"there is already ..."}: the text alone */
    if (reason[0] == '{' && q && n >= 4 && strcmp(reason + n - 2, "\"}") == 0 &&
        strspn(reason + 1, "abcdefghijklmnopqrstuvwxyz_") ==
            (size_t)(q - reason - 1)) {
        fprintf(stderr, "warrenctl: %.*s\n", (int)(reason + n - 2 - q - 2),
                q + 2);
        return;
    }
    fputs("warrenctl: ", stderr);
    for (const char *p = reason; *p; p++) {
        if (*p != '\n') {
            fputc(*p, stderr);
            continue;
        }
        while (p[1] == '\n')
            p++;
        if (p[1] != '\0')
            fputs(": ", stderr);
    }
    fputc('\n', stderr);
}

int
wc_fail(const struct wc_settings *s, const struct wc_reply *rep,
        const char *what)
{
    const char *reason = reason_of(rep);
    size_t rlen = reason ? strlen(reason) : 0;

    if (rep->status == 401 && strcmp(error_of(rep), "not_authorised") != 0) {
        fprintf(stderr,
                "warrenctl: authentication failed for user '%s' at %s\n",
                s->user, s->base);
        return WC_EXIT_AUTH;
    }
    if (rep->status == 404) {
        /* "Not Found", or RabbitMQ's "vhost_not_found" */
        if (reason == NULL || strcmp(reason, "Not Found") == 0 ||
            (rlen > 10 && strcmp(reason + rlen - 10, "_not_found") == 0))
            fprintf(stderr, "warrenctl: not found: %s\n", what);
        else
            print_reason(reason);
        return WC_EXIT_NOT_FOUND;
    }
    if (reason)
        print_reason(reason);
    else
        fprintf(stderr, "warrenctl: the broker answered HTTP status %ld\n",
                rep->status);
    if (rep->status == 401 || rep->status == 403 ||
        starts(reason, "ACCESS_REFUSED"))
        return WC_EXIT_ACCESS;
    /* a queue over its vhost's max-queues is 406 over AMQP; RabbitMQ's
     * API gives the text alone */
    if (starts(reason, "PRECONDITION_FAILED") ||
        (reason && strstr(reason, "queue limit in vhost")))
        return WC_EXIT_PRECONDITION;
    if (starts(reason, "RESOURCE_LOCKED"))
        return WC_EXIT_LOCKED;
    if (starts(reason, "NOT_FOUND"))
        return WC_EXIT_NOT_FOUND;
    return WC_EXIT_ERROR;
}

int
wc_call(const struct wc_settings *s, const char *method, const char *path,
        json_t *body, const char *what, struct wc_reply *rep)
{
    int rc = wc_http(s, method, path, body, NULL, rep);

    if (rc != WC_EXIT_OK)
        return rc;
    if (rep->status < 200 || rep->status > 299) {
        rc = wc_fail(s, rep, what);
        wc_reply_cleanup(rep);
    }
    return rc;
}
