/* SPDX-License-Identifier: MIT */
/* amqp:// and amqps:// URLs, as in RabbitMQ's URI spec
 * (https://www.rabbitmq.com/uri-spec.html) and its query parameters. */
#include "client_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A percent-decoded copy of s[0..n) in *out. WR_OK, WR_ERR_INVALID (bad
 * escape or an encoded NUL) or WR_ERR_NOMEM. */
static int
decode(const char *s, size_t n, char **out)
{
    char *d = wr_malloc(n + 1), *o = d;

    if (d == NULL)
        return WR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (n - i < 3 || wr_hex_digit(s[i + 1]) < 0 ||
            wr_hex_digit(s[i + 2]) < 0 ||
            (wr_hex_digit(s[i + 1]) | wr_hex_digit(s[i + 2])) == 0) {
            wr_free(d);
            return WR_ERR_INVALID;
        }
        *o++ = (char)(wr_hex_digit(s[i + 1]) * 16 + wr_hex_digit(s[i + 2]));
        i += 2;
    }
    *o = '\0';
    *out = d;
    return WR_OK;
}

static int
fail(char *err, size_t errlen, int rc, const char *what)
{
    snprintf(err, errlen, "%s", rc == WR_ERR_NOMEM ? "out of memory" : what);
    return rc;
}

/* A decimal in [lo, hi]. */
static bool
number(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    if (*s == '\0' || !isdigit((unsigned char)*s))
        return false;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* One key=value of the query (both already decoded). */
static int
query_param(struct wr_client_url *u, const char *k, char *v, char *err,
            size_t errlen)
{
    char **slot = NULL;
    long long n;

    if (strcmp(k, "heartbeat") == 0) {
        if (!number(v, 0, 65535, &n))
            goto bad;
        u->heartbeat = (int)n;
    } else if (strcmp(k, "connection_timeout") == 0) {
        if (!number(v, 1, 3600000, &n))
            goto bad;
        u->connection_timeout = (int)n;
    } else if (strcmp(k, "channel_max") == 0) {
        if (!number(v, 0, 65535, &n))
            goto bad;
        u->channel_max = (int)n;
    } else if (strcmp(k, "frame_max") == 0) {
        if (!number(v, 0, UINT32_MAX, &n) || (n != 0 && n < WR_FRAME_MIN_SIZE))
            goto bad;
        u->frame_max = n;
    } else if (strcmp(k, "verify") == 0) {
        if (strcmp(v, "verify_peer") == 0)
            u->verify = 1;
        else if (strcmp(v, "verify_none") == 0)
            u->verify = 0;
        else
            goto bad;
    } else if (strcmp(k, "cacertfile") == 0) {
        slot = &u->cacertfile;
    } else if (strcmp(k, "certfile") == 0) {
        slot = &u->certfile;
    } else if (strcmp(k, "keyfile") == 0) {
        slot = &u->keyfile;
    } else if (strcmp(k, "server_name_indication") == 0) {
        slot = &u->sni;
    } else if (strcmp(k, "auth_mechanism") == 0) {
        if (strcasecmp(v, "plain") != 0)
            goto bad;
    } else {
        snprintf(err, errlen, "unknown URL parameter '%s'", k);
        wr_free(v);
        return WR_ERR_INVALID;
    }
    if (slot != NULL) {
        wr_free(*slot);
        *slot = v;
        return WR_OK;
    }
    wr_free(v);
    return WR_OK;
bad:
    snprintf(err, errlen, "bad value '%s' for URL parameter '%s'", v, k);
    wr_free(v);
    return WR_ERR_INVALID;
}

static int
parse_query(struct wr_client_url *u, const char *q, char *err, size_t errlen)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&;");
        const char *eq = memchr(q, '=', n);
        char *k = NULL, *v = NULL;
        int rc;

        if (n == 0) {
            q++;
            continue;
        }
        if (eq == NULL) {
            snprintf(err, errlen, "URL parameter '%.*s' has no value", (int)n,
                     q);
            return WR_ERR_INVALID;
        }
        rc = decode(q, (size_t)(eq - q), &k);
        if (rc == WR_OK &&
            (rc = decode(eq + 1, n - (size_t)(eq - q) - 1, &v)) != WR_OK)
            wr_free(k);
        if (rc != WR_OK)
            return fail(err, errlen, rc, "bad %-escape in the query");
        rc = query_param(u, k, v, err, errlen);
        wr_free(k);
        if (rc != WR_OK)
            return rc;
        q += n + (q[n] != '\0');
    }
    return WR_OK;
}

/* Splits "[user[:pass]@]host[:port]" (authority = s[0..n)). */
static int
parse_authority(struct wr_client_url *u, const char *s, size_t n, char *err,
                size_t errlen)
{
    const char *at = NULL, *h, *end = s + n, *colon;
    int rc;

    for (const char *p = s; p < end; p++)
        if (*p == '@')
            at = p; /* the last '@': passwords may not hold one raw */
    if (at != NULL) {
        const char *c = memchr(s, ':', (size_t)(at - s));

        rc = decode(s, (size_t)((c ? c : at) - s), &u->user);
        if (rc == WR_OK && c != NULL)
            rc = decode(c + 1, (size_t)(at - c - 1), &u->pass);
        if (rc != WR_OK)
            return fail(err, errlen, rc, "bad %-escape in the user info");
        h = at + 1;
    } else {
        h = s;
    }
    if (h < end && *h == '[') { /* RFC 3986 IPv6 literal */
        const char *rb = memchr(h, ']', (size_t)(end - h));

        if (rb == NULL)
            return fail(err, errlen, WR_ERR_INVALID, "unclosed '[' in host");
        if ((u->host = wr_strndup(h + 1, (size_t)(rb - h - 1))) == NULL)
            return fail(err, errlen, WR_ERR_NOMEM, "");
        colon = rb + 1 < end ? rb + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return fail(err, errlen, WR_ERR_INVALID, "junk after ']'");
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        rc = decode(h, (size_t)((colon ? colon : end) - h), &u->host);
        if (rc != WR_OK)
            return fail(err, errlen, rc, "bad %-escape in the host");
    }
    if (colon != NULL) {
        char port[8];
        size_t pl = (size_t)(end - colon - 1);
        long long v;

        if (pl == 0 || pl >= sizeof(port))
            return fail(err, errlen, WR_ERR_INVALID, "bad port");
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
        if (!number(port, 1, 65535, &v))
            return fail(err, errlen, WR_ERR_INVALID, "bad port");
        u->port = (int)v;
    }
    return WR_OK;
}

static int
parse(const char *url, struct wr_client_url *u, char *err, size_t errlen)
{
    const char *s, *path, *query;
    int rc;

    if (strncasecmp(url, "amqp://", 7) == 0) {
        s = url + 7;
    } else if (strncasecmp(url, "amqps://", 8) == 0) {
        s = url + 8;
        u->tls = true;
    } else {
        return fail(err, errlen, WR_ERR_INVALID,
                    "the URL must start with amqp:// or amqps://");
    }
    path = s + strcspn(s, "/?#");
    if (*path == '#')
        return fail(err, errlen, WR_ERR_INVALID, "fragments are not allowed");
    if ((rc = parse_authority(u, s, (size_t)(path - s), err, errlen)) != WR_OK)
        return rc;
    query = strchr(path, '?');
    if (strchr(path, '#') != NULL)
        return fail(err, errlen, WR_ERR_INVALID, "fragments are not allowed");
    if (*path == '/') {
        size_t n = query ? (size_t)(query - path - 1) : strlen(path + 1);

        if (memchr(path + 1, '/', n) != NULL)
            return fail(err, errlen, WR_ERR_INVALID,
                        "a vhost containing '/' must be written %2F");
        /* An empty path means the default vhost, as in most clients. */
        if (n > 0 && (rc = decode(path + 1, n, &u->vhost)) != WR_OK)
            return fail(err, errlen, rc, "bad %-escape in the vhost");
    }
    if (query != NULL && (rc = parse_query(u, query + 1, err, errlen)) != WR_OK)
        return rc;
    /* Defaults, as RabbitMQ's URI spec gives them. */
    if ((u->host == NULL || u->host[0] == '\0') &&
        (wr_free(u->host), u->host = wr_strdup("localhost")) == NULL)
        return fail(err, errlen, WR_ERR_NOMEM, "");
    if (u->user == NULL && (u->user = wr_strdup("guest")) == NULL)
        return fail(err, errlen, WR_ERR_NOMEM, "");
    if (u->pass == NULL && (u->pass = wr_strdup("guest")) == NULL)
        return fail(err, errlen, WR_ERR_NOMEM, "");
    if (u->vhost == NULL && (u->vhost = wr_strdup("/")) == NULL)
        return fail(err, errlen, WR_ERR_NOMEM, "");
    if (strlen(u->vhost) > 255)
        return fail(err, errlen, WR_ERR_INVALID, "vhost over 255 bytes");
    if (u->port < 0)
        u->port = u->tls ? 5671 : 5672;
    return WR_OK;
}

int
wr_client_url_parse(const char *url, struct wr_client_url *u, char *err,
                    size_t errlen)
{
    int rc;

    memset(u, 0, sizeof(*u));
    u->port = u->heartbeat = u->connection_timeout = u->channel_max = -1;
    u->frame_max = -1;
    u->verify = -1;
    rc = parse(url, u, err, errlen);
    if (rc != WR_OK)
        wr_client_url_cleanup(u);
    return rc;
}

void
wr_client_url_cleanup(struct wr_client_url *u)
{
    wr_free(u->host);
    wr_free(u->user);
    wr_free(u->pass);
    wr_free(u->vhost);
    wr_free(u->cacertfile);
    wr_free(u->certfile);
    wr_free(u->keyfile);
    wr_free(u->sni);
    memset(u, 0, sizeof(*u));
}
