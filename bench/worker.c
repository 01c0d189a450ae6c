/* SPDX-License-Identifier: MIT */
/* warren-bench producers and consumers: one thread and one connection
 * each. The body carries the send time (ns) and a sequence number; no
 * allocation per message. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_EVERY 64 /* publishes buffered before a write */

uint64_t
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned
hist_index(uint64_t ns)
{
    int msb;

    if (ns < HIST_LINEAR)
        return (unsigned)ns;
    msb = 63 - __builtin_clzll(ns);
    if (msb >= 40)
        return HIST_BUCKETS - 1;
    return HIST_LINEAR + (unsigned)(msb - 10) * HIST_SUB +
           (unsigned)((ns >> (msb - 6)) & (HIST_SUB - 1));
}

/* Lowest value of a bucket. */
static uint64_t
hist_value(unsigned i)
{
    unsigned msb, sub;

    if (i < HIST_LINEAR)
        return i;
    msb = (i - HIST_LINEAR) / HIST_SUB + 10;
    sub = (i - HIST_LINEAR) % HIST_SUB;
    return ((uint64_t)1 << msb) | ((uint64_t)sub << (msb - 6));
}

void
bench_hist_add(struct bench_hist *h, uint64_t ns)
{
    h->count[hist_index(ns)]++;
    h->n++;
    if (ns > h->max)
        h->max = ns;
}

void
bench_hist_merge(struct bench_hist *into, const struct bench_hist *h)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->count[i] += h->count[i];
    into->n += h->n;
    if (h->max > into->max)
        into->max = h->max;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
    uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;

    if (h->n == 0)
        return 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen > want)
            return hist_value(i);
    }
    return h->max;
}

int
bench_connect(struct bench_thread *t)
{
    int rc = warren_conn_new(&t->conn);

    if (rc == WARREN_OK)
        rc = warren_connect_url(t->conn, t->sh->o->uri);
    if (rc == WARREN_OK)
        rc = warren_channel_open(t->conn, &t->ch);
    if (rc != WARREN_OK) {
        const struct warren_close *why =
            t->conn ? warren_last_close(t->conn) : NULL;
        snprintf(t->err, sizeof(t->err), "%.40s%s%.255s", warren_strerror(rc),
                 why && why->reply_text[0] ? ": " : "",
                 why ? why->reply_text : "");
        atomic_fetch_add(&t->sh->errors, 1);
    }
    return rc;
}

/* ---- producers ---------------------------------------------------------- */

static void
on_confirm(struct warren_channel *ch, uint64_t seq, bool multiple, bool ack,
           void *arg)
{
    struct bench_thread *t = arg;
    uint64_t n = multiple ? seq - t->confirmed : 1;
    uint64_t now = bench_now_ns(), cap = (uint64_t)t->sh->o->confirm;

    (void)ch;
    /* confirm latency: sequence s is message s - 1, whose send time is
     * kept until it is confirmed (at most `confirm` in flight) */
    for (uint64_t s = multiple ? t->confirmed + 1 : seq; s <= seq; s++)
        bench_hist_add(&t->hist, now - t->sent_at[(s - 1) % cap]);
    if (multiple || seq > t->confirmed)
        t->confirmed = multiple ? seq : t->confirmed + 1;
    atomic_fetch_add(ack ? &t->sh->confirmed : &t->sh->nacked, n);
}

static const char *
routing_key(struct bench_thread *t, uint64_t i, char *buf, size_t cap)
{
    const struct bench_opts *o = t->sh->o;

    if (o->topic_bindings > 0) {
        snprintf(buf, cap, "bench.%u.x",
                 (unsigned)((i * 2654435761u + (unsigned)t->index) %
                            (unsigned)o->topic_bindings));
        return buf;
    }
    if (o->routing_key)
        return o->routing_key;
    /* default exchange: spread over the queues */
    return t->sh->queue_names[(i + (uint64_t)t->index) % (unsigned)o->queues];
}

void *
bench_producer(void *arg)
{
    struct bench_thread *t = arg;
    const struct bench_opts *o = t->sh->o;
    struct warren_callbacks cbs = {.on_confirm = on_confirm, .arg = t};
    uint8_t body[1 << 16];
    struct warren_props props = {0};
    uint64_t start, i = 0, rng = 88172645463325252ull ^ (uint64_t)t->index;
    size_t size = o->size < 16 ? 16 : o->size;
    char key[64];
    int rc;

    if (size > sizeof(body))
        size = sizeof(body);
    memset(body, 'w', size);
    if (o->confirm) {
        t->sent_at = calloc((size_t)o->confirm, sizeof(*t->sent_at));
        if (t->sent_at == NULL) {
            snprintf(t->err, sizeof(t->err), "producer %d: out of memory",
                     t->index);
            atomic_fetch_add(&t->sh->errors, 1);
            return NULL;
        }
    }
    if (o->persistent) {
        props.flags = WARREN_PROP_DELIVERY_MODE;
        props.delivery_mode = 2;
    }
    if (warren_conn_new(&t->conn) != WARREN_OK ||
        warren_set_callbacks(t->conn, &cbs) != WARREN_OK ||
        warren_connect_url(t->conn, o->uri) != WARREN_OK ||
        warren_channel_open(t->conn, &t->ch) != WARREN_OK ||
        (o->confirm && warren_confirm_select(t->ch) != WARREN_OK)) {
        snprintf(t->err, sizeof(t->err), "producer %d: cannot connect",
                 t->index);
        atomic_fetch_add(&t->sh->errors, 1);
        return NULL;
    }
    start = bench_now_ns();
    while (
        !atomic_load_explicit(&t->sh->stop_producers, memory_order_relaxed) &&
        (o->pmessages == 0 || i < o->pmessages)) {
        uint64_t now;

        if (o->rate > 0) {
            /* Paced: every message that is due goes out now, those due
             * together in one write; then sleep until the next is due. */
            uint64_t due = start + (uint64_t)((double)i * 1e9 / o->rate);
            now = bench_now_ns();
            if (now < due) {
                if ((rc = warren_flush(t->conn)) != WARREN_OK)
                    goto failed;
                if (o->confirm) {
                    /* wait reading: confirms are timed as they arrive */
                    if (warren_process(t->conn, 1) < WARREN_AGAIN)
                        goto out;
                    continue;
                }
                struct timespec ts = {0,
                                      (long)WR_BENCH_MIN(due - now, 1000000)};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        if (o->confirm) {
            while (i - t->confirmed >= (uint64_t)o->confirm &&
                   !atomic_load(&t->sh->stop_producers)) {
                if (warren_process(t->conn, 100) < WARREN_AGAIN)
                    goto out;
            }
        }
        if (o->random_priority) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            props.flags |= WARREN_PROP_PRIORITY;
            props.priority = (uint8_t)(rng % (unsigned)(o->max_priority + 1));
        }
        now = bench_now_ns();
        memcpy(body, &now, 8);
        memcpy(body + 8, &i, 8);
        if (o->confirm)
            t->sent_at[i % (uint64_t)o->confirm] = now;
        /* No write per message: one write per FLUSH_EVERY messages (the
         * library writes sooner when its buffer reaches 64 KiB). */
        rc = warren_publish(
            t->ch, o->exchange, routing_key(t, i, key, sizeof(key)),
            (i + 1) % FLUSH_EVERY ? WARREN_MORE : 0,
            o->random_priority || o->persistent ? &props : NULL, body, size);
        if (rc != WARREN_OK)
            goto failed;
        i++;
        if ((i & 1023) == 0)
            atomic_fetch_add(&t->sh->sent, 1024);
    }
    warren_flush(t->conn);
    atomic_fetch_add(&t->sh->sent, i & 1023);
    if (o->confirm)
        warren_wait_confirms(t->ch, 10000);
out:
    t->sent = i;
    return NULL;
failed:
    snprintf(t->err, sizeof(t->err), "producer %d: publish failed: %s",
             t->index, warren_strerror(rc));
    atomic_fetch_add(&t->sh->errors, 1);
    t->sent = i;
    return NULL;
}

/* ---- consumers ---------------------------------------------------------- */

/* --latency-log: keeps each message's send and receive time; the
 * array doubles as needed (no allocation for most messages). */
static void
log_pair(struct bench_thread *t, uint64_t sent_at, uint64_t now)
{
    if (t->nlog == t->caplog) {
        size_t cap = t->caplog ? t->caplog * 2 : 1 << 16;
        uint64_t *p = realloc(t->log, cap * 2 * sizeof(*p));

        if (p == NULL)
            return;
        t->log = p;
        t->caplog = cap;
    }
    t->log[2 * t->nlog] = sent_at;
    t->log[2 * t->nlog + 1] = now;
    t->nlog++;
}

static void
on_delivery(const struct warren_delivery *d, void *arg)
{
    struct bench_thread *t = arg;
    const struct bench_opts *o = t->sh->o;
    uint64_t sent_at, now;

    /* A time-bound run counts what arrived inside its window only, as
     * PerfTest does; what is still queued is the backlog. */
    if (atomic_load_explicit(&t->sh->stop_consumers, memory_order_relaxed))
        return;
    now = bench_now_ns();
    if (t->received == 0)
        t->first_ns = now;
    t->last_ns = now;
    if (d->body.len >= 8) {
        memcpy(&sent_at, d->body.ptr, 8);
        bench_hist_add(&t->hist, now - sent_at);
        if (o->latency_log)
            log_pair(t, sent_at, now);
    }
    t->received++;
    if ((t->received & 1023) == 0)
        atomic_fetch_add(&t->sh->received, 1024);
    if (!o->autoack && ++t->unacked >= (uint64_t)o->multi_ack) {
        warren_ack(t->ch, d->delivery_tag,
                   o->multi_ack > 1 ? WARREN_MULTIPLE : 0);
        t->unacked = 0;
    }
}

void *
bench_consumer(void *arg)
{
    struct bench_thread *t = arg;
    const struct bench_opts *o = t->sh->o;
    const char *queue;
    uint64_t idle_since = 0;
    struct warren_table *args = NULL;
    int rc;

    if (bench_connect(t) != WARREN_OK)
        return NULL;
    queue = t->sh->queue_names[t->index % o->queues];
    if (o->stream_offset) {
        /* an offset (a long) when all digits, else first / last / next or
         * an interval such as "10m" (a string) */
        const char *p = o->stream_offset;
        while (*p >= '0' && *p <= '9')
            p++;
        warren_table_new(&args);
        if (*p == '\0' && p != o->stream_offset)
            warren_table_add_int(args, "x-stream-offset",
                                 (int64_t)strtoll(o->stream_offset, NULL, 10));
        else
            warren_table_add_str(args, "x-stream-offset", o->stream_offset);
    }
    rc = o->prefetch ? warren_qos(t->ch, (uint16_t)o->prefetch, 0) : WARREN_OK;
    if (rc == WARREN_OK)
        rc = warren_consume(t->ch, queue, NULL, o->autoack ? WARREN_NO_ACK : 0,
                            args, on_delivery, t, NULL);
    warren_table_free(args);
    if (rc != WARREN_OK) {
        const struct warren_close *why = warren_last_close(t->conn);
        snprintf(t->err, sizeof(t->err),
                 "consumer %d: cannot consume %.64s%s%.200s", t->index, queue,
                 why ? ": " : "", why ? why->reply_text : "");
        atomic_fetch_add(&t->sh->errors, 1);
        return NULL;
    }
    for (;;) {
        rc = warren_process(t->conn, 50);

        if (rc != WARREN_OK && rc != WARREN_AGAIN) {
            snprintf(t->err, sizeof(t->err), "consumer %d: %s", t->index,
                     warren_strerror(rc));
            atomic_fetch_add(&t->sh->errors, 1);
            break;
        }
        if (o->cmessages && t->received >= o->cmessages)
            break;
        if (atomic_load(&t->sh->stop_consumers))
            break;
        /* After the producers stop, drain until 500 ms of silence. */
        if (atomic_load(&t->sh->stop_producers) && !o->cmessages) {
            if (rc == WARREN_AGAIN) {
                if (idle_since == 0)
                    idle_since = bench_now_ns();
                else if (bench_now_ns() - idle_since > 500000000ull)
                    break;
            } else {
                idle_since = 0;
            }
        }
    }
    if (!o->autoack && t->unacked)
        warren_ack(t->ch, 0, WARREN_MULTIPLE);
    warren_flush(t->conn);
    atomic_fetch_add(&t->sh->received, t->received & 1023);
    return NULL;
}
