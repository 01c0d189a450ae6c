/* SPDX-License-Identifier: MIT */
/* Stream queues over AMQP 0-9-1, as RabbitMQ has them: a consumer needs
 * its own prefetch and manual acks, says where it starts with
 * x-stream-offset, and what a log cannot do (basic.get, purge, nack,
 * reject, global qos, consumer priorities) is refused with RabbitMQ's
 * codes and texts. */
#include "amqp_internal.h"

#include <string.h>

#define RS "queue '%s' in vhost '%s'" /* rabbit_misc:rs(QName) */

bool
wr_chan_stream_refused(struct wr_chan *ch, struct wr_queue *q, uint32_t mid)
{
    const char *what = mid == WR_BASIC_GET ? "basic.get" : "queue.purge";

    if (!wr_queue_is_stream(q))
        return false;
    wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, mid,
                  "%s not supported by stream queues " RS, what, q->name,
                  ch->conn->vh->name);
    return true;
}

/* Where a consumer starts: x-stream-offset (RabbitMQ's
 * rabbit_stream_queue:parse_offset_arg). */
static bool
parse_offset(struct wr_chan *ch, struct wr_queue *q, struct wr_table args,
             struct wr_stream_offset *from)
{
    struct wr_value v;
    uint64_t ms;
    int64_t n;

    memset(from, 0, sizeof *from);
    from->start = WR_STREAM_NEXT;
    if (wr_table_get(args, "x-stream-offset", &v) != WR_OK)
        return true;
    if (v.type == WR_FT_TIMESTAMP) {
        from->start = WR_STREAM_TIME;
        from->time_ms =
            (int64_t)WR_MIN(v.v.u, (uint64_t)INT64_MAX / 1000) * 1000;
        return true;
    }
    if (v.type != WR_FT_BOOL && wr_value_int(&v, &n) == WR_OK) {
        from->start = WR_STREAM_OFFSET;
        from->offset = n < 0 ? 0 : (uint64_t)n;
        return true;
    }
    if (v.type == WR_FT_LONGSTR || v.type == WR_FT_BYTES) {
        struct wr_bytes s = v.v.str;
        if (wr_bytes_eq_str(s, "first")) {
            from->start = WR_STREAM_FIRST;
            return true;
        }
        if (wr_bytes_eq_str(s, "last")) {
            from->start = WR_STREAM_LAST;
            return true;
        }
        if (wr_bytes_eq_str(s, "next"))
            return true;
        if (wr_max_age_parse(s, &ms) == WR_OK) {
            from->start = WR_STREAM_TIME;
            from->time_ms = wr_wall_ms() - (int64_t)ms;
            return true;
        }
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "invalid arg 'x-stream-offset' for " RS
                      ": {invalid_stream_offset_arg,{%s,<<\"%.*s\">>}}",
                      q->name, ch->conn->vh->name, wr_field_type_name(v.type),
                      (int)WR_MIN(s.len, 64u), (const char *)s.ptr);
        return false;
    }
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                  "invalid arg 'x-stream-offset' for " RS
                  ": {invalid_stream_offset_arg,%s}",
                  q->name, ch->conn->vh->name, wr_field_type_name(v.type));
    return false;
}

/* x-stream-filter (a string or a list of strings) and
 * x-stream-match-unfiltered (a boolean), RabbitMQ 3.13's. The values stay
 * views into the frame until the consumer is set up (basic_consume). */
#define MAX_FILTER 64

static bool
parse_filter(struct wr_chan *ch, struct wr_queue *q, struct wr_table args,
             struct wr_stream_offset *from)
{
    static struct wr_bytes vals[MAX_FILTER];
    const char *vh = ch->conn->vh->name;
    struct wr_value v;
    uint32_t n = 0;

    if (wr_table_get(args, "x-stream-match-unfiltered", &v) == WR_OK) {
        if (v.type != WR_FT_BOOL) {
            wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                          "invalid arg 'x-stream-match-unfiltered' for " RS
                          ": {unacceptable_type,%s}",
                          q->name, vh, wr_field_type_name(v.type));
            return false;
        }
        from->match_unfiltered = v.v.b;
    }
    if (wr_table_get(args, "x-stream-filter", &v) != WR_OK)
        return true;
    if (v.type == WR_FT_LONGSTR) {
        vals[n++] = v.v.str;
    } else if (v.type == WR_FT_ARRAY) {
        struct wr_array_iter it;
        struct wr_value e;

        wr_array_iter_init(&it, v.v.array);
        while (wr_array_next(&it, &e) == WR_OK) {
            if (e.type != WR_FT_LONGSTR || n == MAX_FILTER)
                goto bad;
            vals[n++] = e.v.str;
        }
    } else {
        goto bad;
    }
    from->filter = vals;
    from->nfilter = n;
    return true;
bad:
    wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                  "invalid arg 'x-stream-filter' for " RS
                  ": expected a string or a list of at most %d strings",
                  q->name, vh, MAX_FILTER);
    return false;
}

/* x-stream-automatic-offset-tracking (LavinMQ's argument): true or false,
 * a boolean or the string "true" / "false" (LavinMQ takes both). Tracking
 * is by consumer tag, so a tag the server would make up (random) is
 * refused. */
static bool
parse_tracking(struct wr_chan *ch, struct wr_queue *q,
               const struct wr_basic_consume *a, struct wr_stream_offset *from)
{
    static const char name[] = "x-stream-automatic-offset-tracking";
    const char *vh = ch->conn->vh->name;
    struct wr_value v;

    if (wr_table_get(a->arguments, name, &v) != WR_OK)
        return true;
    if (v.type == WR_FT_BOOL) {
        from->track = v.v.b;
    } else if ((v.type == WR_FT_LONGSTR || v.type == WR_FT_BYTES) &&
               (wr_bytes_eq_str(v.v.str, "true") ||
                wr_bytes_eq_str(v.v.str, "false"))) {
        from->track = wr_bytes_eq_str(v.v.str, "true");
    } else {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "invalid arg '%s' for " RS ": {unacceptable_type,%s}",
                      name, q->name, vh, wr_field_type_name(v.type));
        return false;
    }
    if (from->track && a->consumer_tag.len == 0) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "invalid arg '%s' for " RS
                      ": offsets are tracked by consumer tag, and this "
                      "consumer has none",
                      name, q->name, vh);
        return false;
    }
    return true;
}

bool
wr_chan_stream_consume(struct wr_chan *ch, struct wr_queue *q,
                       const struct wr_basic_consume *a,
                       struct wr_stream_offset *from)
{
    const char *vh = ch->conn->vh->name;
    struct wr_value v;

    /* RabbitMQ's order: the prefetch, automatic acks, global qos, then the
     * arguments */
    if (ch->prefetch_default == 0) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "consumer prefetch count is not set for '" RS "'",
                      q->name, vh);
        return false;
    }
    if (a->no_ack) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_CONSUME,
                      "automatic acknowledgement not supported by stream "
                      "queues " RS,
                      q->name, vh);
        return false;
    }
    if (ch->prefetch_global != 0) {
        wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, WR_BASIC_CONSUME,
                      RS " does not support global qos", q->name, vh);
        return false;
    }
    if (wr_table_get(a->arguments, "x-priority", &v) == WR_OK) {
        wr_chan_error(ch, WR_REPLY_PRECONDITION_FAILED, WR_BASIC_CONSUME,
                      "invalid arg 'x-priority' for " RS
                      " of queue type rabbit_stream_queue",
                      q->name, vh);
        return false;
    }
    return parse_offset(ch, q, a->arguments, from) &&
           parse_filter(ch, q, a->arguments, from) &&
           parse_tracking(ch, q, a, from);
}

bool
wr_chan_stream_nack_refused(struct wr_chan *ch, uint32_t mid, uint64_t tag,
                            bool multiple)
{
    uint64_t lo = multiple ? ch->first_tag : tag;

    if (multiple && tag == 0)
        tag = ch->next_tag - 1;
    if (tag >= ch->next_tag)
        return false;
    for (uint64_t t = WR_MAX(lo, ch->first_tag); t <= tag; t++) {
        struct wr_queue *q = ch->ring[t & (ch->ring_cap - 1)].queue;
        if (q && wr_queue_is_stream(q)) {
            wr_conn_error(ch->conn, WR_REPLY_NOT_IMPLEMENTED, mid,
                          "basic.nack and basic.reject not supported by "
                          "stream queues " RS,
                          q->name, ch->conn->vh->name);
            return true;
        }
    }
    return false;
}
