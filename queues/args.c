/* SPDX-License-Identifier: MIT */
/* queue.declare arguments: types, ranges and reasons as RabbitMQ checks
 * them (rabbit_amqqueue:declare_args), so a client sees the same 406. */
#include "queues.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* RabbitMQ's ceiling for x-message-ttl and x-expires (?MAX_EXPIRY_TIMER). */
#define MAX_EXPIRY INT64_C(4294967295)

/* RabbitMQ (rabbit_amqqueue:check_max_priority_arg) takes any integer type
 * from 0 to 255; 0 makes a single-level queue, which behaves as a FIFO. */
#define MAX_PRIORITY 255

static bool
is_int_type(uint8_t t)
{
    switch (t) {
    case WR_FT_I8:
    case WR_FT_U8:
    case WR_FT_I16:
    case WR_FT_U16:
    case WR_FT_I32:
    case WR_FT_U32:
    case WR_FT_I64:
    case WR_FT_U64:
        return true;
    }
    return false;
}

const char *
wr_field_type_name(uint8_t t)
{
    switch (t) {
    case WR_FT_BOOL:
        return "bool";
    case WR_FT_I8:
        return "byte";
    case WR_FT_U8:
        return "unsignedbyte";
    case WR_FT_I16:
        return "short";
    case WR_FT_U16:
        return "unsignedshort";
    case WR_FT_I32:
        return "signedint";
    case WR_FT_U32:
        return "unsignedint";
    case WR_FT_I64:
    case WR_FT_U64:
        return "long";
    case WR_FT_FLOAT:
        return "float";
    case WR_FT_DOUBLE:
        return "double";
    case WR_FT_DECIMAL:
        return "decimal";
    case WR_FT_LONGSTR:
        return "longstr";
    case WR_FT_BYTES:
        return "binary";
    case WR_FT_ARRAY:
        return "array";
    case WR_FT_TIMESTAMP:
        return "timestamp";
    case WR_FT_TABLE:
        return "table";
    case WR_FT_VOID:
        return "void";
    }
    return "unknown";
}

struct parse {
    struct wr_table args;
    struct wr_args_error *err;
};

static int fail(struct parse *ps, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parse *ps, const char *arg, const char *fmt, ...)
{
    va_list ap;

    if (ps->err) {
        ps->err->arg = arg;
        va_start(ap, fmt);
        vsnprintf(ps->err->why, sizeof(ps->err->why), fmt, ap);
        va_end(ap);
    }
    return WR_ERR_INVALID;
}

/* An integer argument: absent (*found false) or an integer >= min (and
 * <= max when max >= 0). RabbitMQ's check_int_arg and friends. */
static int
int_arg(struct parse *ps, const char *key, int64_t min, int64_t max,
        bool *found, int64_t *out)
{
    struct wr_value v;
    int64_t n;

    *found = false;
    if (wr_table_get(ps->args, key, &v) != WR_OK)
        return WR_OK;
    if (!is_int_type(v.type) || wr_value_int(&v, &n) != WR_OK)
        return fail(ps, key, "\"expected integer, got %s\"",
                    wr_field_type_name(v.type));
    if (n < 0 && min >= 0)
        return fail(ps, key, "{value_negative,%" PRId64 "}", n);
    if (n < min)
        return fail(ps, key, "{value_zero,%" PRId64 "}", n);
    if (max >= 0 && n > max)
        return fail(ps, key, "{value_too_large,%" PRId64 "}", n);
    *found = true;
    *out = n;
    return WR_OK;
}

/* A long-string argument: absent (*found false) or *out. */
static int
str_arg(struct parse *ps, const char *key, bool *found, struct wr_bytes *out)
{
    struct wr_value v;

    *found = false;
    if (wr_table_get(ps->args, key, &v) != WR_OK)
        return WR_OK;
    if (v.type != WR_FT_LONGSTR)
        return fail(ps, key, "{unacceptable_type,%s}",
                    wr_field_type_name(v.type));
    *found = true;
    *out = v.v.str;
    return WR_OK;
}

static int
parse_lengths(struct parse *ps, struct wr_queue_args *out)
{
    struct wr_bytes s;
    bool found;
    int64_t n;

    if (int_arg(ps, "x-max-length", 0, -1, &out->has_max_length, &n))
        return WR_ERR_INVALID;
    if (out->has_max_length)
        out->max_length = (uint64_t)n;
    if (int_arg(ps, "x-max-length-bytes", 0, -1, &out->has_max_bytes, &n))
        return WR_ERR_INVALID;
    if (out->has_max_bytes)
        out->max_bytes = (uint64_t)n;
    if (str_arg(ps, "x-overflow", &found, &s))
        return WR_ERR_INVALID;
    out->has_overflow = found;
    if (!found || wr_bytes_eq_str(s, "drop-head"))
        out->overflow = WR_OVERFLOW_DROP_HEAD;
    else if (wr_bytes_eq_str(s, "reject-publish"))
        out->overflow = WR_OVERFLOW_REJECT;
    else if (wr_bytes_eq_str(s, "reject-publish-dlx"))
        out->overflow = WR_OVERFLOW_REJECT_DLX;
    else
        return fail(ps, "x-overflow", "invalid_overflow");
    return WR_OK;
}

static int
parse_expiry(struct parse *ps, struct wr_queue_args *out)
{
    bool found;
    int64_t n;

    if (int_arg(ps, "x-message-ttl", 0, MAX_EXPIRY, &found, &n))
        return WR_ERR_INVALID;
    out->has_message_ttl = found;
    out->message_ttl = found ? n : 0;
    if (int_arg(ps, "x-expires", 1, MAX_EXPIRY, &found, &n))
        return WR_ERR_INVALID;
    out->expires = found ? n : 0;
    return WR_OK;
}

static int
parse_dead_letter(struct parse *ps, struct wr_queue_args *out)
{
    bool found;
    int64_t n;

    if (str_arg(ps, "x-dead-letter-exchange", &out->has_dlx, &out->dlx))
        return WR_ERR_INVALID;
    if (str_arg(ps, "x-dead-letter-routing-key", &out->has_dlrk, &out->dlrk))
        return WR_ERR_INVALID;
    if (out->has_dlrk && !out->has_dlx)
        return fail(ps, "x-dead-letter-routing-key",
                    "routing_key_but_no_dlx_defined");
    /* RabbitMQ 3.10 has this for quorum queues only; warren's classic
     * queues have it too. */
    if (int_arg(ps, "x-delivery-limit", 0, -1, &found, &n))
        return WR_ERR_INVALID;
    out->has_delivery_limit = found;
    out->delivery_limit = found ? (uint64_t)n : 0;
    /* RabbitMQ 3.12's per-queue consumer_timeout (ms). */
    if (int_arg(ps, "x-consumer-timeout", 0, UINT32_MAX, &found, &n))
        return WR_ERR_INVALID;
    out->has_consumer_timeout = found;
    out->consumer_timeout = found ? (uint64_t)n : 0;
    return WR_OK;
}

static int
parse_kind(struct parse *ps, struct wr_queue_args *out)
{
    struct wr_value v;
    struct wr_bytes s;
    bool found;
    int64_t n;

    /* the type and sign checks are check_non_neg_int_arg's, then its own
     * {max_value_exceeded,N} */
    if (int_arg(ps, "x-max-priority", 0, -1, &found, &n))
        return WR_ERR_INVALID;
    if (found && n > MAX_PRIORITY)
        return fail(ps, "x-max-priority", "{max_value_exceeded,%" PRId64 "}",
                    n);
    if (found)
        out->max_priority = (uint8_t)n;
    if (wr_table_get(ps->args, "x-single-active-consumer", &v) == WR_OK) {
        if (v.type != WR_FT_BOOL)
            return fail(ps, "x-single-active-consumer",
                        "{unacceptable_type,%s}", wr_field_type_name(v.type));
        out->single_active = v.v.b;
    }
    if (str_arg(ps, "x-queue-type", &found, &s))
        return WR_ERR_INVALID;
    if (found && wr_bytes_eq_str(s, "stream")) {
        out->stream = true;
    } else if (found && !wr_bytes_eq_str(s, "classic")) {
        if (wr_bytes_eq_str(s, "quorum"))
            return fail(ps, "x-queue-type",
                        "queue type '%.*s' is not supported by warren yet; "
                        "declare a classic queue",
                        (int)s.len, (const char *)s.ptr);
        /* RabbitMQ formats its reason string with ~p: in double quotes */
        return fail(ps, "x-queue-type", "\"unsupported queue type '%.*s'\"",
                    (int)WR_MIN(s.len, 64u), (const char *)s.ptr);
    }
    return WR_OK;
}

int
wr_max_age_parse(struct wr_bytes s, uint64_t *ms)
{
    uint64_t n = 0, unit;
    size_t i = 0;

    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
        if (n > UINT64_C(1) << 40)
            return WR_ERR_INVALID;
        n = n * 10 + (uint64_t)(s.ptr[i++] - '0');
    }
    if (i == 0 || i + 1 != s.len || n == 0)
        return WR_ERR_INVALID;
    switch (s.ptr[i]) {
    case 'Y':
        unit = 365ull * 86400;
        break;
    case 'M':
        unit = 30ull * 86400;
        break;
    case 'D':
        unit = 86400;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'm':
        unit = 60;
        break;
    case 's':
        unit = 1;
        break;
    default:
        return WR_ERR_INVALID;
    }
    *ms = n * unit * 1000;
    return WR_OK;
}

/* The arguments of stream queues (RabbitMQ's declare_args and
 * rabbit_stream_queue's capabilities). */
static int
parse_stream(struct parse *ps, struct wr_queue_args *out)
{
    static const char *const classic_only[] = {
        "x-max-priority",
        "x-message-ttl",
        "x-max-length",
        "x-dead-letter-exchange",
        "x-overflow",
        "x-expires",
        "x-single-active-consumer",
        "x-dead-letter-routing-key",
        "x-delivery-limit",
    };
    struct wr_bytes s;
    bool found;
    int64_t n;

    if (str_arg(ps, "x-max-age", &found, &s))
        return WR_ERR_INVALID;
    if (found && wr_max_age_parse(s, &out->max_age_ms) != WR_OK)
        return fail(ps, "x-max-age", "invalid_max_age");
    out->has_max_age = found;
    if (int_arg(ps, "x-stream-max-segment-size-bytes", 0, -1,
                &out->has_segment_size, &n))
        return WR_ERR_INVALID;
    out->segment_size = out->has_segment_size ? (uint64_t)n : 0;
    if (int_arg(ps, "x-initial-cluster-size", 1, -1, &found, &n))
        return WR_ERR_INVALID;
    if (int_arg(ps, "x-stream-filter-size-bytes", 0, -1, &found, &n))
        return WR_ERR_INVALID;
    if (str_arg(ps, "x-queue-leader-locator", &found, &s))
        return WR_ERR_INVALID;
    if (found && !wr_bytes_eq_str(s, "client-local") &&
        !wr_bytes_eq_str(s, "balanced"))
        return fail(ps, "x-queue-leader-locator", "invalid_queue_locator_arg");
    if (!out->stream)
        return WR_OK;
    for (size_t i = 0; i < WR_ARRAY_LEN(classic_only); i++) {
        struct wr_value v;
        if (wr_table_get(ps->args, classic_only[i], &v) == WR_OK) {
            fail(ps, classic_only[i], "rabbit_stream_queue");
            if (ps->err)
                ps->err->of_type = true;
            return WR_ERR_INVALID;
        }
    }
    return WR_OK;
}

int
wr_queue_args_parse(struct wr_table args, struct wr_queue_args *out,
                    struct wr_args_error *err)
{
    struct parse ps = {args, err};

    memset(out, 0, sizeof(*out));
    if (err) {
        err->arg = NULL;
        err->why[0] = '\0';
        err->of_type = false;
    }
    if (parse_kind(&ps, out) || parse_lengths(&ps, out) ||
        parse_expiry(&ps, out) || parse_dead_letter(&ps, out) ||
        parse_stream(&ps, out))
        return WR_ERR_INVALID;
    return WR_OK;
}

/* The smaller of two optional limits into *has / *v. */
static void
min_opt(bool *has, uint64_t *v, bool bhas, uint64_t b)
{
    if (bhas && (!*has || b < *v)) {
        *has = true;
        *v = b;
    }
}

static void
merge_one(struct wr_queue_args *out, const struct wr_queue_args *p)
{
    uint64_t v;
    bool has;

    min_opt(&out->has_max_length, &out->max_length, p->has_max_length,
            p->max_length);
    min_opt(&out->has_max_bytes, &out->max_bytes, p->has_max_bytes,
            p->max_bytes);
    min_opt(&out->has_delivery_limit, &out->delivery_limit,
            p->has_delivery_limit, p->delivery_limit);
    min_opt(&out->has_consumer_timeout, &out->consumer_timeout,
            p->has_consumer_timeout, p->consumer_timeout);
    has = out->has_message_ttl;
    v = (uint64_t)out->message_ttl;
    min_opt(&has, &v, p->has_message_ttl, (uint64_t)p->message_ttl);
    out->has_message_ttl = has;
    out->message_ttl = (int64_t)v;
    /* expires: 0 is "not set" (x-expires is at least 1) */
    has = out->expires > 0;
    v = (uint64_t)out->expires;
    min_opt(&has, &v, p->expires > 0, (uint64_t)p->expires);
    out->expires = has ? (int64_t)v : 0;
    /* the argument wins; among policies the first given */
    if (!out->has_dlx && p->has_dlx) {
        out->has_dlx = true;
        out->dlx = p->dlx;
    }
    if (!out->has_dlrk && p->has_dlrk) {
        out->has_dlrk = true;
        out->dlrk = p->dlrk;
    }
    min_opt(&out->has_max_age, &out->max_age_ms, p->has_max_age, p->max_age_ms);
    min_opt(&out->has_segment_size, &out->segment_size, p->has_segment_size,
            p->segment_size);
    if (!out->has_overflow && p->has_overflow) {
        out->has_overflow = true;
        out->overflow = p->overflow;
    }
}

void
wr_queue_args_merge(const struct wr_queue_args *declared,
                    const struct wr_queue_args *policy,
                    const struct wr_queue_args *op_policy,
                    struct wr_queue_args *out)
{
    *out = *declared;
    if (policy)
        merge_one(out, policy);
    if (op_policy)
        merge_one(out, op_policy);
}
