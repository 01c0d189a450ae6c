/* SPDX-License-Identifier: MIT */
/* warren-bench: an AMQP 0-9-1 load generator in the spirit of RabbitMQ's
 * PerfTest, usable against any broker. Declares the topology, runs
 * producer and consumer threads, prints a summary (and a JSON line). */
#include "bench.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "NAME\n"
    "    warren-bench - load generator for AMQP 0-9-1 brokers\n"
    "\n"
    "SYNOPSIS\n"
    "    warren-bench [OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "    Declares queues (and an exchange with bindings), starts producer\n"
    "    and consumer threads with one connection each, runs for a time or\n"
    "    a message count, and prints throughput and end-to-end latency\n"
    "    (from a send timestamp carried in each body). Works against any\n"
    "    AMQP 0-9-1 broker (warren, RabbitMQ, ...).\n"
    "    A time-bound run (-z) stops producers and consumers together, as\n"
    "    PerfTest does: sent/s and received/s are over the same window,\n"
    "    latency percentiles (p50, p95, p99, max) cover the messages\n"
    "    received in it, and the backlog is what was sent but not yet\n"
    "    received when it closed. Producers write once per 64 messages,\n"
    "    not once per message; at a rate (-r) the messages that are due\n"
    "    go out together in one write.\n"
    "\n"
    "OPTIONS\n"
    "    -u, --uri URI          broker (default amqp://guest:guest@127.0.0.1)\n"
    "    -x, --producers N      producer threads (default 1)\n"
    "    -y, --consumers N      consumer threads (default 1)\n"
    "    -s, --size BYTES       body size, at least 16 (default 16)\n"
    "    -e, --exchange NAME    publish to NAME (default: the default\n"
    "                           exchange, routing by queue name)\n"
    "    -t, --type TYPE        declare the exchange as TYPE (direct)\n"
    "    -k, --routing-key KEY  routing key (default: the queue name)\n"
    "    -q, --queues N         queues bench-0 .. bench-N-1 (default 1);\n"
    "                           consumer i reads queue i % N; with an\n"
    "                           exchange each queue is bound with KEY\n"
    "    -Q, --queue-prefix P   queue name prefix (default \"bench-\")\n"
    "        --topic-bindings N bind N wildcard patterns \"*.J.#\" spread\n"
    "                           over the queues of a topic exchange;\n"
    "                           producers publish to \"bench.J.x\"\n"
    "        --max-priority N   declare queues with x-max-priority N\n"
    "        --random-priority  publish with priorities 0..N at random\n"
    "        --queue-type TYPE  declare the queues with x-queue-type TYPE\n"
    "                           (stream, quorum: durable, as they must be)\n"
    "        --stream-offset OFF  consume with x-stream-offset OFF: first,\n"
    "                           last, next, an offset or an interval "
    "(\"10m\")\n"
    "        --durable          declare the queues (and exchange) durable\n"
    "        --persistent       publish persistent messages (delivery\n"
    "                           mode 2): with --durable, written to disk\n"
    "    -p, --prefetch N       basic.qos per consumer (default 0: none)\n"
    "    -a, --autoack          consume with no-ack\n"
    "    -m, --multi-ack N      ack every N deliveries, multiple (default 1)\n"
    "    -c, --confirm N        publisher confirms, at most N in flight\n"
    "    -r, --rate R           publish rate per producer, msg/s\n"
    "    -z, --time SECONDS     run time (default 10)\n"
    "    -C, --pmessages N      messages per producer (then stop)\n"
    "    -D, --cmessages N      messages per consumer (then stop)\n"
    "        --keep             leave the queues (and messages) behind\n"
    "        --no-declare       use existing queues as they are\n"
    "        --idle-connections N  open N connections with a channel each,\n"
    "                           hold them --hold SECONDS, close (no load)\n"
    "        --json             also print one JSON summary line\n"
    "        --latency-log FILE write one line per message received:\n"
    "                           send time and receive time (ns, the\n"
    "                           monotonic clock), for finding stalls\n"
    "    -h, --help             this text\n"
    "\n"
    "EXAMPLES\n"
    "    warren-bench -x 1 -y 1 -s 16 -a -z 10\n"
    "    warren-bench -y 1 -p 100 -c 1000 -z 10 --json\n"
    "    warren-bench --queue-type stream -x 1 -y 0 -C 1000000 -c 1000 --keep\n"
    "    warren-bench --queue-type stream --no-declare -x 0 -y 1 -D 1000000 "
    "\\\n"
    "                 -p 1000 -m 100 --stream-offset first -z 600\n"
    "    warren-bench -e bench.topic -t topic --topic-bindings 100 -q 4 \\\n"
    "                 -x 2 -y 4 -p 100\n"
    "\n"
    "EXIT STATUS\n"
    "    0 when the run completed, 1 on a connection or broker error,\n"
    "    2 on a usage error.\n";

enum {
    OPT_TOPIC = 256,
    OPT_MAXPRIO,
    OPT_RANDPRIO,
    OPT_DURABLE,
    OPT_PERSISTENT,
    OPT_KEEP,
    OPT_NODECLARE,
    OPT_IDLE,
    OPT_HOLD,
    OPT_JSON,
    OPT_QTYPE,
    OPT_SOFFSET,
    OPT_LATLOG,
};

static int
parse_opts(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        {"uri", required_argument, NULL, 'u'},
        {"producers", required_argument, NULL, 'x'},
        {"consumers", required_argument, NULL, 'y'},
        {"size", required_argument, NULL, 's'},
        {"exchange", required_argument, NULL, 'e'},
        {"type", required_argument, NULL, 't'},
        {"routing-key", required_argument, NULL, 'k'},
        {"queues", required_argument, NULL, 'q'},
        {"queue-prefix", required_argument, NULL, 'Q'},
        {"topic-bindings", required_argument, NULL, OPT_TOPIC},
        {"max-priority", required_argument, NULL, OPT_MAXPRIO},
        {"random-priority", no_argument, NULL, OPT_RANDPRIO},
        {"queue-type", required_argument, NULL, OPT_QTYPE},
        {"stream-offset", required_argument, NULL, OPT_SOFFSET},
        {"durable", no_argument, NULL, OPT_DURABLE},
        {"persistent", no_argument, NULL, OPT_PERSISTENT},
        {"prefetch", required_argument, NULL, 'p'},
        {"autoack", no_argument, NULL, 'a'},
        {"multi-ack", required_argument, NULL, 'm'},
        {"confirm", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"time", required_argument, NULL, 'z'},
        {"pmessages", required_argument, NULL, 'C'},
        {"cmessages", required_argument, NULL, 'D'},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"no-declare", no_argument, NULL, OPT_NODECLARE},
        {"idle-connections", required_argument, NULL, OPT_IDLE},
        {"hold", required_argument, NULL, OPT_HOLD},
        {"json", no_argument, NULL, OPT_JSON},
        {"latency-log", required_argument, NULL, OPT_LATLOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *o = (struct bench_opts){
        .uri = "amqp://guest:guest@127.0.0.1:5672/",
        .producers = 1,
        .consumers = 1,
        .size = 16,
        .exchange = "",
        .type = "direct",
        .queue_prefix = "bench-",
        .queues = 1,
        .multi_ack = 1,
        .seconds = 10,
        .hold = 5,
    };
    while ((c = getopt_long(argc, argv, "u:x:y:s:e:t:k:q:Q:p:am:c:r:z:C:D:h",
                            opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o->uri = optarg;
            break;
        case 'x':
            o->producers = atoi(optarg);
            break;
        case 'y':
            o->consumers = atoi(optarg);
            break;
        case 's':
            o->size = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'e':
            o->exchange = optarg;
            break;
        case 't':
            o->type = optarg;
            break;
        case 'k':
            o->routing_key = optarg;
            break;
        case 'q':
            o->queues = atoi(optarg);
            break;
        case 'Q':
            o->queue_prefix = optarg;
            break;
        case OPT_TOPIC:
            o->topic_bindings = atoi(optarg);
            break;
        case OPT_MAXPRIO:
            o->max_priority = atoi(optarg);
            break;
        case OPT_RANDPRIO:
            o->random_priority = true;
            break;
        case OPT_QTYPE:
            o->queue_type = optarg;
            o->durable = true; /* streams and quorum queues must be */
            break;
        case OPT_SOFFSET:
            o->stream_offset = optarg;
            break;
        case OPT_DURABLE:
            o->durable = true;
            break;
        case OPT_PERSISTENT:
            o->persistent = true;
            break;
        case 'p':
            o->prefetch = atoi(optarg);
            break;
        case 'a':
            o->autoack = true;
            break;
        case 'm':
            o->multi_ack = atoi(optarg);
            break;
        case 'c':
            o->confirm = atoi(optarg);
            break;
        case 'r':
            o->rate = atof(optarg);
            break;
        case 'z':
            o->seconds = atof(optarg);
            break;
        case 'C':
            o->pmessages = strtoull(optarg, NULL, 10);
            break;
        case 'D':
            o->cmessages = strtoull(optarg, NULL, 10);
            break;
        case OPT_KEEP:
            o->keep = true;
            break;
        case OPT_NODECLARE:
            o->no_declare = true;
            break;
        case OPT_IDLE:
            o->idle_connections = atoi(optarg);
            break;
        case OPT_HOLD:
            o->hold = atof(optarg);
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_LATLOG:
            o->latency_log = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs("usage: warren-bench [OPTIONS] (see --help)\n", stderr);
            return -1;
        }
    }
    if (optind < argc || o->producers < 0 || o->consumers < 0 ||
        o->queues < 1 || o->queues > BENCH_MAX_QUEUES || o->multi_ack < 1 ||
        o->prefetch < 0 || o->prefetch > 65535 || o->max_priority < 0 ||
        o->max_priority > 255 || o->confirm < 0 || o->size > 65536 ||
        o->topic_bindings < 0 || o->idle_connections < 0) {
        fputs("warren-bench: bad option value (see --help)\n", stderr);
        return -1;
    }
    if (o->random_priority && o->max_priority == 0)
        o->max_priority = 10;
    return 0;
}

/* Declares the queues, the exchange and the bindings. */
static int
declare(struct bench_shared *sh)
{
    const struct bench_opts *o = sh->o;
    struct bench_thread t = {.sh = sh};
    struct warren_table *args = NULL;
    int rc;

    for (int i = 0; i < o->queues; i++)
        snprintf(sh->queue_names[i], sizeof(sh->queue_names[i]), "%s%d",
                 o->queue_prefix, i);
    if (o->no_declare)
        return 0;
    if (bench_connect(&t) != WARREN_OK) {
        fprintf(stderr, "warren-bench: %s: %s\n", o->uri, t.err);
        return -1;
    }
    if (o->max_priority || o->queue_type)
        warren_table_new(&args);
    if (o->max_priority)
        warren_table_add_int(args, "x-max-priority", o->max_priority);
    if (o->queue_type)
        warren_table_add_str(args, "x-queue-type", o->queue_type);
    if (o->exchange[0]) {
        rc = warren_exchange_declare(t.ch, o->exchange, o->type,
                                     o->durable ? WARREN_DURABLE : 0, NULL);
        if (rc != WARREN_OK)
            goto fail;
    }
    for (int i = 0; i < o->queues; i++) {
        rc = warren_queue_declare(t.ch, sh->queue_names[i],
                                  o->durable ? WARREN_DURABLE : 0, args, NULL);
        if (rc != WARREN_OK)
            goto fail;
        if (o->exchange[0] && o->topic_bindings == 0) {
            rc = warren_queue_bind(t.ch, sh->queue_names[i], o->exchange,
                                   o->routing_key ? o->routing_key : "", NULL);
            if (rc != WARREN_OK)
                goto fail;
        }
    }
    for (int j = 0; j < o->topic_bindings; j++) {
        char pattern[64];
        snprintf(pattern, sizeof(pattern), "*.%d.#", j);
        rc = warren_queue_bind(t.ch, sh->queue_names[j % o->queues],
                               o->exchange, pattern, NULL);
        if (rc != WARREN_OK)
            goto fail;
    }
    warren_table_free(args);
    warren_conn_free(t.conn);
    return 0;
fail:
    fprintf(stderr, "warren-bench: declare: %s %s\n", warren_strerror(rc),
            warren_last_close(t.conn) ? warren_last_close(t.conn)->reply_text
                                      : "");
    warren_table_free(args);
    warren_conn_free(t.conn);
    return -1;
}

static void
cleanup_queues(struct bench_shared *sh)
{
    struct bench_thread t = {.sh = sh};

    if (sh->o->keep || sh->o->no_declare || bench_connect(&t) != WARREN_OK)
        return;
    for (int i = 0; i < sh->o->queues; i++)
        warren_queue_delete(t.ch, sh->queue_names[i], 0, NULL);
    warren_conn_free(t.conn);
}

static void
sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

static int
write_latency_log(const struct bench_opts *o, struct bench_thread *cs)
{
    FILE *f = fopen(o->latency_log, "w");

    if (f == NULL) {
        perror(o->latency_log);
        return -1;
    }
    for (int i = 0; i < o->consumers; i++) {
        for (size_t j = 0; j < cs[i].nlog; j++)
            fprintf(f, "%llu %llu\n", (unsigned long long)cs[i].log[2 * j],
                    (unsigned long long)cs[i].log[2 * j + 1]);
        free(cs[i].log);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int
idle_connections(const struct bench_opts *o)
{
    struct warren_conn **cs = calloc((size_t)o->idle_connections, sizeof(*cs));
    struct warren_channel *ch;
    int opened = 0;

    for (int i = 0; i < o->idle_connections; i++) {
        if (warren_conn_new(&cs[i]) != WARREN_OK ||
            warren_set_heartbeat(cs[i], 0) != WARREN_OK ||
            warren_connect_url(cs[i], o->uri) != WARREN_OK ||
            warren_channel_open(cs[i], &ch) != WARREN_OK)
            break;
        opened++;
    }
    printf("opened %d idle connections\n", opened);
    fflush(stdout);
    if (o->json)
        printf("{\"idle_connections\":%d}\n", opened);
    fflush(stdout);
    sleep_s(o->hold);
    for (int i = 0; i < o->idle_connections; i++)
        warren_conn_free(cs[i]);
    free(cs);
    return opened == o->idle_connections ? 0 : 1;
}

int
main(int argc, char **argv)
{
    struct bench_opts o;
    static struct bench_shared sh;
    struct bench_thread *ps, *cs;
    struct bench_hist *all, *conf;
    uint64_t t0, t_stop = 0, t_pub_end, t_end, sent = 0, received = 0;
    uint64_t first = UINT64_MAX, last = 0;
    uint64_t backlog, copies;
    double pub_s, total_s;
    int errors;

    if (parse_opts(argc, argv, &o))
        return 2;
    if (o.idle_connections)
        return idle_connections(&o);
    sh.o = &o;
    if (declare(&sh))
        return 1;
    ps = calloc((size_t)o.producers + 1, sizeof(*ps));
    cs = calloc((size_t)o.consumers + 1, sizeof(*cs));
    all = calloc(1, sizeof(*all));
    conf = calloc(1, sizeof(*conf));
    if (ps == NULL || cs == NULL || all == NULL || conf == NULL) {
        fprintf(stderr, "warren-bench: out of memory\n");
        return 1;
    }
    for (int i = 0; i < o.consumers; i++) {
        cs[i] = (struct bench_thread){.sh = &sh, .index = i};
        pthread_create(&cs[i].tid, NULL, bench_consumer, &cs[i]);
    }
    sleep_s(0.2); /* consumers attach before the first publish */
    t0 = bench_now_ns();
    for (int i = 0; i < o.producers; i++) {
        ps[i] = (struct bench_thread){.sh = &sh, .index = i};
        pthread_create(&ps[i].tid, NULL, bench_producer, &ps[i]);
    }
    if (!o.pmessages || o.producers == 0) {
        /* time bound (or consume-only with a message count) */
        while (bench_now_ns() - t0 < (uint64_t)(o.seconds * 1e9) &&
               !atomic_load(&sh.errors)) {
            if (o.producers == 0 && o.cmessages &&
                atomic_load(&sh.received) >=
                    o.cmessages * (uint64_t)o.consumers - 1023)
                break;
            /* Wake rarely (the stop time is taken below, exactly): a
             * thread that polls every millisecond competes for the CPUs
             * with the broker and the workers it measures. */
            double left = o.seconds - (double)(bench_now_ns() - t0) / 1e9;
            sleep_s(o.producers == 0 && o.cmessages
                        ? 0.001
                        : (left < 0.02 ? (left > 0 ? left : 0) : 0.02));
        }
        /* Producers and consumers stop together: the rates are over the
         * same window and undelivered messages stay behind as backlog. */
        if (o.producers > 0 && !o.cmessages)
            atomic_store(&sh.stop_consumers, true);
        atomic_store(&sh.stop_producers, true);
        t_stop = bench_now_ns();
    }
    for (int i = 0; i < o.producers; i++)
        pthread_join(ps[i].tid, NULL);
    atomic_store(&sh.stop_producers, true);
    t_pub_end = bench_now_ns();
    for (int i = 0; i < o.consumers; i++)
        pthread_join(cs[i].tid, NULL);
    t_end = bench_now_ns();
    errors = atomic_load(&sh.errors);
    if (o.latency_log && write_latency_log(&o, cs) != 0)
        errors++;
    for (int i = 0; i < o.consumers; i++) {
        received += cs[i].received;
        if (cs[i].received) {
            first = WR_BENCH_MIN(first, cs[i].first_ns);
            last = cs[i].last_ns > last ? cs[i].last_ns : last;
        }
        bench_hist_merge(all, &cs[i].hist);
        if (cs[i].err[0])
            fprintf(stderr, "warren-bench: %s\n", cs[i].err);
        warren_conn_free(cs[i].conn);
    }
    /* Consumers first: a broker that throttles a producer (credit flow)
     * lets it go once its queues have no consumers, so the producer's
     * close waits until the broker has taken every message it wrote, and
     * none of them turns up in the next run's queues. */
    for (int i = 0; i < o.producers; i++) {
        sent += ps[i].sent;
        bench_hist_merge(conf, &ps[i].hist);
        free(ps[i].sent_at);
        if (ps[i].err[0])
            fprintf(stderr, "warren-bench: %s\n", ps[i].err);
        warren_conn_free(ps[i].conn);
    }
    cleanup_queues(&sh);
    /* A time-bound run rates both sides over its window; a counted one
     * over the time each side took. */
    pub_s = (double)((t_stop ? t_stop : t_pub_end) - t0) / 1e9;
    total_s = (double)((t_stop ? t_stop : t_end) - t0) / 1e9;
    /* Sent but not received: queued or in flight at the end. Through an
     * exchange every queue is bound to every message, except with topic
     * bindings, where each routing key matches one queue. */
    copies = o.exchange[0] && !o.topic_bindings ? (uint64_t)o.queues : 1;
    backlog = sent * copies > received ? sent * copies - received : 0;
    printf("sent %llu in %.2f s (%.0f msg/s), received %llu in %.2f s "
           "(%.0f msg/s), backlog %llu\n",
           (unsigned long long)sent, pub_s, sent / pub_s,
           (unsigned long long)received, total_s, received / total_s,
           (unsigned long long)backlog);
    printf("latency us: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
           bench_hist_quantile(all, 0.50) / 1e3,
           bench_hist_quantile(all, 0.95) / 1e3,
           bench_hist_quantile(all, 0.99) / 1e3, all->max / 1e3);
    if (o.confirm) {
        printf("confirmed %llu, nacked %llu\n",
               (unsigned long long)atomic_load(&sh.confirmed),
               (unsigned long long)atomic_load(&sh.nacked));
        printf("confirm latency us: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
               bench_hist_quantile(conf, 0.50) / 1e3,
               bench_hist_quantile(conf, 0.95) / 1e3,
               bench_hist_quantile(conf, 0.99) / 1e3, conf->max / 1e3);
    }
    if (o.json)
        printf("{\"sent\":%llu,\"received\":%llu,\"backlog\":%llu,"
               "\"confirmed\":%llu,"
               "\"nacked\":%llu,\"publish_seconds\":%.3f,\"seconds\":%.3f,"
               "\"send_rate\":%.0f,\"receive_rate\":%.0f,\"p50_us\":%.1f,"
               "\"p95_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
               "\"consume_seconds\":%.3f,\"confirm_p50_us\":%.1f,"
               "\"confirm_p99_us\":%.1f,\"confirm_max_us\":%.1f,"
               "\"errors\":%d}\n",
               (unsigned long long)sent, (unsigned long long)received,
               (unsigned long long)backlog,
               (unsigned long long)atomic_load(&sh.confirmed),
               (unsigned long long)atomic_load(&sh.nacked), pub_s, total_s,
               sent / pub_s, received / total_s,
               bench_hist_quantile(all, 0.50) / 1e3,
               bench_hist_quantile(all, 0.95) / 1e3,
               bench_hist_quantile(all, 0.99) / 1e3, all->max / 1e3,
               last > first ? (double)(last - first) / 1e9 : 0.0,
               bench_hist_quantile(conf, 0.50) / 1e3,
               bench_hist_quantile(conf, 0.99) / 1e3, conf->max / 1e3, errors);
    free(ps);
    free(cs);
    free(all);
    free(conf);
    return errors ? 1 : 0;
}
