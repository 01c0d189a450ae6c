/* SPDX-License-Identifier: MIT */
/* Where the broker is: defaults, the rc file (~/.warrenctl.conf),
 * WARREN_URL and WARREN_MGMT_URL; command-line flags come last (main.c). */
#include "warrenctl.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies src, cut to fit. */
static void
copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies a URL part out of u (percent-decoded when decode). */
static bool
part(CURLU *u, CURLUPart what, unsigned flags, char *out, size_t cap)
{
    char *v = NULL;

    if (curl_url_get(u, what, &v, flags) != CURLUE_OK || v == NULL)
        return false;
    copy(out, cap, v);
    curl_free(v);
    return true;
}

int
wc_settings_url(struct wc_settings *s, const char *url)
{
    CURLU *u = curl_url();
    char scheme[16] = "", host[300] = "", port[16] = "", path[400] = "";
    bool amqp;
    int rc = -1, w;

    /* Every part is a piece of the URL: one that fits in the smallest
     * field (user, password, vhost: 255 bytes) fits in each of them. */
    if (strlen(url) >= sizeof(s->user))
        goto too_long;
    if (u == NULL ||
        curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
            CURLUE_OK ||
        !part(u, CURLUPART_SCHEME, 0, scheme, sizeof(scheme)) ||
        !part(u, CURLUPART_HOST, 0, host, sizeof(host))) {
        fprintf(stderr, "warrenctl: bad URL '%s'\n", url);
        goto done;
    }
    amqp = strcmp(scheme, "amqp") == 0 || strcmp(scheme, "amqps") == 0;
    if (!amqp && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        fprintf(stderr,
                "warrenctl: bad URL '%s': expected http://, https:// or "
                "amqp://\n",
                url);
        goto done;
    }
    part(u, CURLUPART_USER, CURLU_URLDECODE, s->user, sizeof(s->user));
    part(u, CURLUPART_PASSWORD, CURLU_URLDECODE, s->pass, sizeof(s->pass));
    part(u, CURLUPART_PORT, 0, port, sizeof(port));
    part(u, CURLUPART_PATH, CURLU_URLDECODE, path, sizeof(path));
    if (amqp) {
        /* The vhost is the path ("/" is "", "%2F" is "/"), as in
         * RabbitMQ's URI spec; the API is on its default port. */
        if (strlen(path) > 1)
            copy(s->vhost, sizeof(s->vhost), path + 1);
        w = snprintf(s->base, sizeof(s->base), "%s://%s:15672",
                     strcmp(scheme, "amqps") == 0 ? "https" : "http", host);
    } else {
        size_t n;
        if (port[0])
            w = snprintf(s->base, sizeof(s->base), "%s://%s:%s%s", scheme, host,
                         port, strcmp(path, "/") == 0 ? "" : path);
        else
            w = snprintf(s->base, sizeof(s->base), "%s://%s%s", scheme, host,
                         strcmp(path, "/") == 0 ? "" : path);
        if (w < 0 || (size_t)w >= sizeof(s->base))
            goto too_long;
        n = strlen(s->base);
        while (n > 0 && s->base[n - 1] == '/')
            s->base[--n] = '\0';
        /* "http://host:15672/api" names the API itself. */
        if (n >= 4 && strcmp(s->base + n - 4, "/api") == 0)
            s->base[n - 4] = '\0';
    }
    if (w < 0 || (size_t)w >= sizeof(s->base))
        goto too_long;
    rc = 0;
    goto done;
too_long:
    fprintf(stderr, "warrenctl: URL too long: '%s'\n", url);
done:
    curl_url_cleanup(u);
    return rc;
}

static char *
trim(char *p)
{
    char *e;

    while (isspace((unsigned char)*p))
        p++;
    e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return p;
}

int
wc_settings_format(struct wc_settings *s, const char *v)
{
    if (strcmp(v, "table") == 0)
        s->format = WC_FMT_TABLE;
    else if (strcmp(v, "tsv") == 0)
        s->format = WC_FMT_TSV;
    else if (strcmp(v, "json") == 0)
        s->format = WC_FMT_JSON;
    else
        return -1;
    return 0;
}

/* key = value lines; '#' comments. */
static int
read_rc(struct wc_settings *s, const char *path, bool must_exist)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0;

    if (f == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "warrenctl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *p = trim(line), *eq, *k, *v;
        lineno++;
        if (*p == '\0' || *p == '#')
            continue;
        eq = strchr(p, '=');
        if (eq == NULL)
            goto bad;
        *eq = '\0';
        k = trim(p);
        v = trim(eq + 1);
        if (strcmp(k, "url") == 0) {
            if (wc_settings_url(s, v) != 0)
                goto bad;
        } else if (strcmp(k, "username") == 0 || strcmp(k, "user") == 0) {
            copy(s->user, sizeof(s->user), v);
        } else if (strcmp(k, "password") == 0) {
            copy(s->pass, sizeof(s->pass), v);
        } else if (strcmp(k, "vhost") == 0) {
            copy(s->vhost, sizeof(s->vhost), v);
        } else if (strcmp(k, "format") == 0) {
            if (wc_settings_format(s, v) != 0)
                goto bad;
        } else if (strcmp(k, "timeout") == 0) {
            s->timeout = atol(v);
            if (s->timeout <= 0)
                goto bad;
        } else {
            goto bad;
        }
    }
    fclose(f);
    return 0;
bad:
    fprintf(stderr,
            "warrenctl: %s:%d: expected url, username, password, vhost, "
            "format or timeout = VALUE\n",
            path, lineno);
    fclose(f);
    return -1;
}

int
wc_settings_load(struct wc_settings *s, const char *rc_path)
{
    const char *env, *home = getenv("HOME");
    char path[1024];

    memset(s, 0, sizeof(*s));
    copy(s->base, sizeof(s->base), "http://127.0.0.1:15672");
    copy(s->user, sizeof(s->user), "guest");
    copy(s->pass, sizeof(s->pass), "guest");
    copy(s->vhost, sizeof(s->vhost), "/");
    s->format = WC_FMT_TABLE;
    s->timeout = 10;
    if (rc_path == NULL)
        rc_path = getenv("WARRENCTL_CONFIG");
    if (rc_path) {
        if (read_rc(s, rc_path, true) != 0)
            return -1;
    } else if (home && *home) {
        snprintf(path, sizeof(path), "%s/.warrenctl.conf", home);
        if (read_rc(s, path, false) != 0)
            return -1;
    }
    if ((env = getenv("WARREN_URL")) && *env && wc_settings_url(s, env) != 0)
        return -1;
    if ((env = getenv("WARREN_MGMT_URL")) && *env &&
        wc_settings_url(s, env) != 0)
        return -1;
    return 0;
}
