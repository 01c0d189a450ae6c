/* SPDX-License-Identifier: MIT */
/* warren-bench internals: options, per-thread state, the latency
 * histogram. */
#ifndef WR_BENCH_H
#define WR_BENCH_H

#include "../client/warren.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_QUEUES 1024
#define WR_BENCH_MIN(a, b) ((a) < (b) ? (a) : (b))
/* Latency histogram: exact below 1024 ns, then 64 sub-buckets per power
 * of two (1.6% resolution) up to 2^40 ns. */
#define HIST_LINEAR 1024
#define HIST_SUB 64
#define HIST_BUCKETS (HIST_LINEAR + (40 - 10) * HIST_SUB)

struct bench_hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, max;
};

struct bench_opts {
    const char *uri;
    int producers, consumers;
    size_t size;
    const char *exchange; /* "" = default exchange, routed by queue name */
    const char *type;     /* exchange type to declare */
    const char *routing_key;
    const char *queue_prefix;
    int queues;
    int topic_bindings; /* topic: wildcard bindings spread over the queues */
    int max_priority;   /* x-max-priority, 0 = plain queue */
    const char *queue_type;    /* x-queue-type (stream, quorum), or NULL */
    const char *stream_offset; /* consumer x-stream-offset, or NULL */
    bool random_priority;
    bool durable;    /* declare durable queues and exchange */
    bool persistent; /* delivery mode 2 */
    int prefetch;
    bool autoack;
    int multi_ack; /* ack every N deliveries with multiple */
    int confirm;   /* in-flight confirm window, 0 = no confirms */
    double rate;   /* per producer, msg/s, 0 = unlimited */
    double seconds;
    uint64_t pmessages; /* per producer, 0 = time bound */
    uint64_t cmessages; /* per consumer, 0 = until producers stop */
    bool keep;          /* do not delete queues at the end */
    bool no_declare;
    int idle_connections;
    double hold;
    bool json;
    const char *latency_log; /* per message: send and receive time, ns */
};

struct bench_shared {
    const struct bench_opts *o;
    atomic_bool stop_producers;
    atomic_bool stop_consumers;
    atomic_uint_fast64_t sent, confirmed, nacked, received;
    atomic_int errors;
    char queue_names[BENCH_MAX_QUEUES][64];
};

struct bench_thread {
    struct bench_shared *sh;
    int index;
    pthread_t tid;
    struct warren_conn *conn;
    struct warren_channel *ch;
    uint64_t sent, received, unacked, confirmed;
    uint64_t first_ns, last_ns; /* first and last delivery */
    /* consumers: publish to consume; producers: publish to confirm */
    struct bench_hist hist;
    uint64_t *log; /* latency_log: pairs of send, receive time */
    size_t nlog, caplog;
    uint64_t *sent_at; /* producers with confirms: send time by sequence */
    char err[320];
};

uint64_t bench_now_ns(void);
void bench_hist_add(struct bench_hist *h, uint64_t ns);
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *h);
/* The value below which fraction q (0..1) of the samples lie, in ns. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

void *bench_producer(void *arg);
void *bench_consumer(void *arg);
/* Connects and opens one channel; on failure fills t->err. */
int bench_connect(struct bench_thread *t);

#endif
