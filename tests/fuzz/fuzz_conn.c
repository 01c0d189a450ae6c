/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a whole AMQP connection, no sockets. A wr_server with
 * no listener, a wr_conn attached to one end of a bufferevent pair, and
 * the fuzzed byte stream written into the other end in random-sized
 * chunks with the event loop run between them (handshake, channels,
 * exchanges, queues, publishes, consumers, acks, errors, close). Then the
 * peer hangs up, everything is torn down, and every byte the broker
 * allocated (libevent's included) must have been given back.
 *
 * Input: 4 bytes of settings, then the stream. Bytes 0-3 seed the chunk
 * sizes; bit 1 of byte 3: the peer never reads (the broker's output stays
 * in its buffer, exercising output_limit); bit 2: two connections each
 * get the whole stream, their chunks interleaved, so they meet on the
 * same queues (exclusive ones, consumers on the other's queue...).
 *
 * Time: wherever the stream holds "TICK" and two more bytes (big-endian
 * v), those six bytes are not sent; instead the clock moves forward by v
 * ms (v < 0x8000) or by (v - 0x8000) seconds, and the loop runs, so that
 * whatever fell due fires: heartbeats (sent and missed), the handshake
 * timeout, delayed answers to refused logins, closes that never got
 * close-ok, message TTLs (x-message-ttl, expiration) and dead-lettering
 * of the expired, x-expires. Each input starts at offset 0, so a crash
 * replays the same way.
 *
 * How the clock moves: the broker (wr_now_ms, wr_now) and libevent's
 * timers both read CLOCK_MONOTONIC_COARSE through clock_gettime. This
 * file defines clock_gettime (a link seam: the executable's definition
 * comes before libc's, for libevent.so too) and adds the offset to that
 * clock only. libFuzzer times its runs on CLOCK_MONOTONIC, which stays
 * true. LLVMFuzzerInitialize checks that a libevent timer does follow the
 * offset, so a libevent that changed its clock stops this target at once
 * instead of silently fuzzing no timers. The broker is unchanged. */
#include "../../broker/broker.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

#define MAX_PEERS 2
#define LOOP_TURNS 4 /* event loop turns after each chunk */
#define TICK "TICK"  /* then 2 bytes: how far the clock moves */
#define TICK_LEN 6

/* ---- the clock ----------------------------------------------------------- */

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
static clock_gettime_fn real_clock_gettime;
static int64_t clock_offset_ms; /* added to CLOCK_MONOTONIC_COARSE */

int
clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc;

    if (real_clock_gettime == NULL)
        real_clock_gettime =
            (clock_gettime_fn)(uintptr_t)dlsym(RTLD_NEXT, "clock_gettime");
    rc = real_clock_gettime(id, ts);
    if (rc == 0 && id == CLOCK_MONOTONIC_COARSE && clock_offset_ms > 0) {
        int64_t ns = ts->tv_nsec + clock_offset_ms % 1000 * 1000000;
        ts->tv_sec += (time_t)(clock_offset_ms / 1000 + ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return rc;
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* A 10-minute libevent timer must fire once the clock moves 10 minutes. */
static void
check_clock_seam(void)
{
    struct event_base *base = event_base_new();
    struct timeval tv = {600, 0};
    bool fired = false;
    struct event *ev = evtimer_new(base, timer_fired, &fired);

    evtimer_add(ev, &tv);
    event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(!fired);
    clock_offset_ms = 600 * 1000 + 1;
    event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(fired);
    clock_offset_ms = 0;
    event_free(ev);
    event_base_free(base);
}

static int64_t
tick_ms(const uint8_t *p)
{
    unsigned v = (unsigned)p[0] << 8 | p[1];

    return v < 0x8000 ? (int64_t)v : (int64_t)(v - 0x8000) * 1000;
}

/* Where the next "TICK" with its two bytes starts at or after pos, or
 * size. */
static size_t
next_tick(const uint8_t *data, size_t size, size_t pos)
{
    const uint8_t *t;

    if (pos >= size)
        return size;
    t = memmem(data + pos, size - pos, TICK, 4);
    if (t == NULL || size - (size_t)(t - data) < TICK_LEN)
        return size;
    return (size_t)(t - data);
}

/* ---- the connection ------------------------------------------------------ */

static uint32_t
next_rand(uint32_t *s)
{
    /* xorshift32; the state is never 0 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* The peer reads and forgets whatever the broker sends. */
static void
peer_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);

    (void)arg;
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void
turn(struct event_base *base)
{
    for (int i = 0; i < LOOP_TURNS; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* As main() does: libevent allocates through the counted wrappers. */
    event_set_mem_functions(wr_malloc, wr_realloc, wr_free);
    /* Silent, unless WARREN_FUZZ_LOG is set (to replay a crash). */
    wr_log_level = getenv("WARREN_FUZZ_LOG") ? WR_LOG_DEBUG : -1;
    wr_alloc_set_abort_on_oom(true);
    check_clock_seam();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wr_config cfg;
    struct wr_server srv;
    struct bufferevent *pair[MAX_PEERS][2];
    /* guest may log in from loopback only */
    struct sockaddr_in peer = {.sin_family = AF_INET,
                               .sin_port = htons(40000),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    size_t base = wr_alloc_used(), pos[MAX_PEERS] = {0, 0}, tick[MAX_PEERS];
    uint32_t seed;
    bool reads;
    int npeers;

    if (size < 4)
        return 0;
    seed = ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
            (uint32_t)data[2] << 8 | data[3]) |
           1;
    reads = !(data[3] & 2);
    npeers = (data[3] & 4) ? 2 : 1;
    data += 4;
    size -= 4;
    clock_offset_ms = 0;
    tick[0] = tick[1] = next_tick(data, size, 0);

    wr_config_defaults(&cfg);
    cfg.output_limit = 4096; /* below what the config allows: reach it sooner */
    CHECK(wr_server_init(&srv, &cfg) == 0);
    for (int p = 0; p < npeers; p++) {
        CHECK(bufferevent_pair_new(srv.base, BEV_OPT_CLOSE_ON_FREE, pair[p]) ==
              0);
        wr_conn_attach(&srv, pair[p][0], (struct sockaddr *)&peer, false);
        bufferevent_setcb(pair[p][1], reads ? peer_read_cb : NULL, NULL, NULL,
                          NULL);
        bufferevent_enable(pair[p][1], reads ? EV_READ | EV_WRITE : EV_WRITE);
    }
    turn(srv.base);
    for (;;) {
        bool more = false;
        for (int p = 0; p < npeers; p++) {
            size_t n;
            if (pos[p] >= size)
                continue;
            more = true;
            if (pos[p] == tick[p]) {
                clock_offset_ms += tick_ms(data + pos[p] + 4);
                pos[p] += TICK_LEN;
                tick[p] = next_tick(data, size, pos[p]);
                turn(srv.base);
                continue;
            }
            n = 1 + next_rand(&seed) % 256;
            if (n > tick[p] - pos[p])
                n = tick[p] - pos[p];
            bufferevent_write(pair[p][1], data + pos[p], n);
            pos[p] += n;
            turn(srv.base);
        }
        if (!more)
            break;
    }
    /* The peers hang up (EOF), the broker drops and reaps them. */
    for (int p = 0; p < npeers; p++)
        bufferevent_flush(pair[p][1], EV_WRITE, BEV_FINISHED);
    turn(srv.base);
    for (int p = 0; p < npeers; p++)
        bufferevent_free(pair[p][1]);
    turn(srv.base);
    wr_server_cleanup(&srv);
    CHECK(wr_alloc_used() == base);
    return 0;
}
