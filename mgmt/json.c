/* SPDX-License-Identifier: MIT */
/* JSON <-> AMQP conversions for the HTTP API: field tables both ways (queue
 * and exchange arguments, binding arguments, message headers), the basic
 * properties, base64 payloads. RabbitMQ's rabbit_mgmt_format decides the
 * shapes. */
#include "mgmt_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- strings ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p[0..n), or 0 if invalid. */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
    uint32_t cp;
    size_t len;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        len = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* overlong forms, surrogates, past U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return len;
}

bool
wr_json_utf8_ok(const void *vp, size_t n)
{
    const uint8_t *p = vp;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0 || p[i] == 0)
            return false;
        i += k;
    }
    return true;
}

json_t *
wr_json_bytes(const void *vp, size_t n)
{
    const uint8_t *p = vp;
    uint8_t *fixed;
    size_t o = 0;
    json_t *j;

    if (wr_json_utf8_ok(p, n))
        return json_stringn((const char *)p, n);
    /* Each bad byte becomes U+FFFD (3 bytes); NUL becomes U+FFFD too. */
    fixed = wr_malloc(n * 3 + 1);
    for (size_t i = 0; i < n;) {
        size_t k = p[i] ? utf8_seq(p + i, n - i) : 0;
        if (k == 0) {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(fixed + o, p + i, k);
        o += k;
        i += k;
    }
    j = json_stringn((const char *)fixed, o);
    wr_free(fixed);
    return j;
}

/* ---- tables to JSON ----------------------------------------------------- */

static json_t *value_json(const struct wr_value *v, int depth);

static json_t *
table_json(struct wr_table t, int depth)
{
    json_t *o = json_object();
    struct wr_table_iter it;
    struct wr_bytes key;
    struct wr_value v;
    char k[256];

    wr_table_iter_init(&it, t);
    while (wr_table_next(&it, &key, &v) == WR_OK) {
        /* Keys are short strings: at most 255 bytes. */
        json_t *s = wr_json_bytes(key.ptr, WR_MIN(key.len, 255u));
        snprintf(k, sizeof(k), "%s", json_string_value(s));
        json_decref(s);
        json_object_set_new(o, k, value_json(&v, depth + 1));
    }
    return o;
}

static json_t *
array_json(struct wr_array a, int depth)
{
    json_t *arr = json_array();
    struct wr_array_iter it;
    struct wr_value v;

    wr_array_iter_init(&it, a);
    while (wr_array_next(&it, &v) == WR_OK)
        json_array_append_new(arr, value_json(&v, depth + 1));
    return arr;
}

static json_t *
real_or_null(double d)
{
    return isfinite(d) ? json_real(d) : json_null();
}

static json_t *
value_json(const struct wr_value *v, int depth)
{
    int64_t i;

    if (depth > WR_TABLE_MAX_DEPTH) /* validated tables cannot get here */
        return json_null();
    if (v->type == WR_FT_U64 && v->v.u > INT64_MAX)
        return json_real((double)v->v.u);
    if (wr_value_int(v, &i) == WR_OK)
        return json_integer(i);
    switch (v->type) {
    case WR_FT_BOOL:
        return json_boolean(v->v.b);
    case WR_FT_FLOAT:
        return real_or_null(v->v.f);
    case WR_FT_DOUBLE:
        return real_or_null(v->v.d);
    case WR_FT_DECIMAL:
        return real_or_null(v->v.decimal.value / pow(10.0, v->v.decimal.scale));
    case WR_FT_LONGSTR:
    case WR_FT_BYTES:
        return wr_json_bytes(v->v.str.ptr, v->v.str.len);
    case WR_FT_TABLE:
        return table_json(v->v.table, depth);
    case WR_FT_ARRAY:
        return array_json(v->v.array, depth);
    }
    return json_null();
}

json_t *
wr_json_from_table(struct wr_table t)
{
    return table_json(t, 0);
}

/* ---- JSON to tables ----------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Appends value j under key (NULL inside an array). */
static void
put_value(struct wr_tb *b, const char *key, const json_t *j)
{
    size_t i;
    const char *k;
    json_t *v;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (key)
            wr_tb_begin_table(b, key);
        else
            wr_tb_elem_begin_table(b);
        json_object_foreach((json_t *)j, k, v) put_value(b, k, v);
        wr_tb_end(b);
        return;
    case JSON_ARRAY:
        wr_tb_begin_array(b, key);
        json_array_foreach(j, i, v) put_value(b, NULL, v);
        wr_tb_end(b);
        return;
    case JSON_STRING:
        wr_tb_add_str(b, key,
                      (struct wr_bytes){(const uint8_t *)json_string_value(j),
                                        (uint32_t)json_string_length(j)});
        return;
    case JSON_INTEGER: {
        /* The narrowest of signed 32 / signed 64, as the Java client and
         * pika encode integers (pika reads 'l' as unsigned). */
        json_int_t n = json_integer_value(j);
        wr_tb_add_int(b, key,
                      n >= INT32_MIN && n <= INT32_MAX ? WR_FT_I32 : WR_FT_I64,
                      n);
        return;
    }
    case JSON_REAL:
        wr_tb_add_double(b, key, json_real_value(j));
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        wr_tb_add_bool(b, key, json_is_true(j));
        return;
    case JSON_NULL:
        wr_tb_add_void(b, key);
        return;
    }
}

int
wr_json_to_table(const json_t *obj, uint8_t **buf, struct wr_table *t,
                 char *err, size_t errlen)
{
    size_t cap = 1024;
    const char *k;
    json_t *v;

    *buf = NULL;
    *t = (struct wr_table){NULL, 0};
    if (obj == NULL || json_is_null(obj))
        return WR_OK;
    if (!json_is_object(obj)) {
        seterr(err, errlen, "expected a JSON object");
        return WR_ERR_INVALID;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strlen(k) > 255) {
            seterr(err, errlen, "key '%.40s...' is longer than 255 bytes", k);
            return WR_ERR_INVALID;
        }
    }
    for (;;) {
        struct wr_tb b;
        *buf = wr_malloc(cap);
        wr_tb_init(&b, *buf, cap);
        json_object_foreach((json_t *)obj, k, v) put_value(&b, k, v);
        wr_tb_end(&b);
        if (b.err == WR_OK) {
            *t = wr_tb_table(&b);
            return WR_OK;
        }
        wr_free(*buf);
        *buf = NULL;
        if (b.err == WR_ERR_NOSPACE && cap < WR_JSON_TABLE_MAX) {
            cap *= 4;
            continue;
        }
        seterr(err, errlen, "%s",
               b.err == WR_ERR_NOSPACE    ? "table too large"
               : b.err == WR_ERR_TOO_DEEP ? "tables nested too deeply"
                                          : "a key is longer than 255 bytes");
        return WR_ERR_INVALID;
    }
}

/* ---- properties --------------------------------------------------------- */

static const struct {
    const char *name;
    uint16_t flag;
    size_t off; /* of the struct wr_bytes for short strings */
} str_props[] = {
    {"content_type", WR_PROP_CONTENT_TYPE,
     offsetof(struct wr_props, content_type)},
    {"content_encoding", WR_PROP_CONTENT_ENCODING,
     offsetof(struct wr_props, content_encoding)},
    {"correlation_id", WR_PROP_CORRELATION_ID,
     offsetof(struct wr_props, correlation_id)},
    {"reply_to", WR_PROP_REPLY_TO, offsetof(struct wr_props, reply_to)},
    {"expiration", WR_PROP_EXPIRATION, offsetof(struct wr_props, expiration)},
    {"message_id", WR_PROP_MESSAGE_ID, offsetof(struct wr_props, message_id)},
    {"type", WR_PROP_TYPE, offsetof(struct wr_props, type)},
    {"user_id", WR_PROP_USER_ID, offsetof(struct wr_props, user_id)},
    {"app_id", WR_PROP_APP_ID, offsetof(struct wr_props, app_id)},
    {"cluster_id", WR_PROP_CLUSTER_ID, offsetof(struct wr_props, cluster_id)},
};

json_t *
wr_json_from_props(const struct wr_props *p)
{
    json_t *o = json_object();

    for (size_t i = 0; i < WR_ARRAY_LEN(str_props); i++) {
        const struct wr_bytes *s =
            (const void *)((const char *)p + str_props[i].off);
        if (p->flags & str_props[i].flag)
            json_object_set_new(o, str_props[i].name,
                                wr_json_bytes(s->ptr, s->len));
    }
    if (p->flags & WR_PROP_HEADERS)
        json_object_set_new(o, "headers", wr_json_from_table(p->headers));
    if (p->flags & WR_PROP_DELIVERY_MODE)
        json_object_set_new(o, "delivery_mode", json_integer(p->delivery_mode));
    if (p->flags & WR_PROP_PRIORITY)
        json_object_set_new(o, "priority", json_integer(p->priority));
    if (p->flags & WR_PROP_TIMESTAMP)
        json_object_set_new(o, "timestamp",
                            p->timestamp > INT64_MAX
                                ? json_real((double)p->timestamp)
                                : json_integer((json_int_t)p->timestamp));
    return o;
}

/* An integer property: a JSON integer or a string of digits (rabbitmqadmin
 * sends strings). */
static bool
prop_int(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s;
    char *end;
    long long n;

    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        if (*s == '\0')
            return false;
        n = strtoll(s, &end, 10);
        if (*end)
            return false;
    } else {
        return false;
    }
    if (n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

int
wr_json_to_props(const json_t *obj, struct wr_props *p, uint8_t **buf,
                 char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    int64_t n;

    memset(p, 0, sizeof(*p));
    *buf = NULL;
    if (obj == NULL || json_is_null(obj))
        return WR_OK;
    /* RabbitMQ shows empty properties as [] (an Erlang quirk); accept it. */
    if (json_is_array(obj) && json_array_size(obj) == 0)
        return WR_OK;
    if (!json_is_object(obj)) {
        seterr(err, errlen, "properties: expected a JSON object");
        return WR_ERR_INVALID;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i;
        for (i = 0; i < WR_ARRAY_LEN(str_props); i++)
            if (strcmp(k, str_props[i].name) == 0)
                break;
        if (i < WR_ARRAY_LEN(str_props)) {
            struct wr_bytes *s = (void *)((char *)p + str_props[i].off);
            if (!json_is_string(v) || json_string_length(v) > 255) {
                seterr(err, errlen,
                       "property %s: expected a string of at most 255 bytes",
                       k);
                goto fail;
            }
            *s = (struct wr_bytes){(const uint8_t *)json_string_value(v),
                                   (uint32_t)json_string_length(v)};
            p->flags |= str_props[i].flag;
        } else if (strcmp(k, "delivery_mode") == 0 ||
                   strcmp(k, "priority") == 0) {
            if (!prop_int(v, 0, 255, &n)) {
                seterr(err, errlen, "property %s: expected an integer 0..255",
                       k);
                goto fail;
            }
            if (k[0] == 'd') {
                p->delivery_mode = (uint8_t)n;
                p->flags |= WR_PROP_DELIVERY_MODE;
            } else {
                p->priority = (uint8_t)n;
                p->flags |= WR_PROP_PRIORITY;
            }
        } else if (strcmp(k, "timestamp") == 0) {
            if (!prop_int(v, 0, INT64_MAX, &n)) {
                seterr(err, errlen, "property timestamp: expected seconds");
                goto fail;
            }
            p->timestamp = (uint64_t)n;
            p->flags |= WR_PROP_TIMESTAMP;
        } else if (strcmp(k, "headers") == 0) {
            char why[128];
            if (wr_json_to_table(v, buf, &p->headers, why, sizeof(why)) !=
                WR_OK) {
                seterr(err, errlen, "property headers: %s", why);
                goto fail;
            }
            p->flags |= WR_PROP_HEADERS;
        } else {
            seterr(err, errlen, "unknown property '%.60s'", k);
            goto fail;
        }
    }
    return WR_OK;
fail:
    /* headers may have been encoded before a later property failed */
    wr_free(*buf);
    *buf = NULL;
    return WR_ERR_INVALID;
}

/* ---- base64 ------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *
wr_json_b64_encode(const void *vp, size_t n)
{
    const uint8_t *p = vp;
    size_t olen = (n + 2) / 3 * 4, o = 0;
    char *out = wr_malloc(olen + 1);
    json_t *j;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    j = json_stringn(out, o);
    wr_free(out);
    return j;
}

static int
b64_value(char c)
{
    const char *at = c ? strchr(b64_alphabet, c) : NULL;

    return at ? (int)(at - b64_alphabet) : -1;
}

int
wr_json_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                   size_t *len)
{
    size_t o = 0, pad = 0;

    /* Whitespace (line breaks) is skipped, as most decoders do. */
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad)
            return WR_ERR_INVALID; /* data after padding */
        v = b64_value(c);
        if (v < 0)
            return WR_ERR_INVALID;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return WR_ERR_NOSPACE;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (pad > 2 || bits >= 6)
        return WR_ERR_INVALID;
    *len = o;
    return WR_OK;
}
