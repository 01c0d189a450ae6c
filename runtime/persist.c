/* SPDX-License-Identifier: MIT */
/* data_dir and its stores (docs/internals/STORE.md): the directory's lock,
 * the defs/ and msgs/ stores, their event fds on the loop and the
 * end-of-turn flush (group commit), and the failed state. What goes into
 * the stores is the business of the layers above (vhost/, queues/). */
#include "runtime_internal.h"

#include "../store/store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFS_SEGMENT (1u << 20) /* defs/ is small: 1 MiB files */
/* msgs/ compaction (STORE.md "Compaction"): bytes read per step */
#define COMPACT_STEP (1u << 20)

int64_t
wr_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Test seam: WARREN_TEST_SYNC_FAIL=N makes every sync after the first N
 * once the broker runs (recovery's pass) fail with EIO, a disk that drops
 * a write, so that tests reach the failed state through a real broker. */
static atomic_long syncs_left = -1;
static atomic_bool syncs_armed, syncs_fail;

/* Test seam: WARREN_TEST_SYNC_GATE=PATH holds every sync once the broker
 * runs for as long as the file PATH exists, a disk that takes its time, so
 * that tests can see what waits for a sync and what does not. */
static const char *sync_gate;

/* As fdatasync(2), which it stands in for: 0, or -1 with errno. */
static int
failing_sync(int fd)
{
    if (atomic_load(&syncs_armed) && sync_gate != NULL) {
        struct timespec ts = {0, 2000000};
        while (access(sync_gate, F_OK) == 0)
            nanosleep(&ts, NULL);
    }
    if (atomic_load(&syncs_armed) && atomic_load(&syncs_fail) &&
        atomic_fetch_sub(&syncs_left, 1) <= 0) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

static int
open_store(const char *dir, const char *sub, uint32_t segment,
           struct wr_store **out)
{
    /* msgs/ is compacted; defs/ rewrites itself (vhost/durable.c).
     * WARREN_TEST_COMPACT=0, a test seam, turns it off (to measure). */
    const char *cmp = getenv("WARREN_TEST_COMPACT");
    struct wr_store_opts o = {.segment_size = segment,
                              .compact = strcmp(sub, "msgs") == 0 &&
                                         !(cmp && strcmp(cmp, "0") == 0)};
    const char *fail = getenv("WARREN_TEST_SYNC_FAIL");
    const char *gate = getenv("WARREN_TEST_SYNC_GATE");
    char path[WR_PATH_MAX + 16], err[600];
    int rc;

    if (fail && *fail) {
        long n = strtol(fail, NULL, 10);
        if (atomic_load(&syncs_left) < 0)
            atomic_store(&syncs_left, n);
        atomic_store(&syncs_fail, true);
        o.sync_fn = failing_sync;
    }
    if (gate && *gate) {
        sync_gate = gate;
        o.sync_fn = failing_sync;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    rc = wr_store_open(path, &o, out, err, sizeof(err));
    if (rc != WR_OK)
        wr_log(WR_LOG_ERROR, "data_dir: %s", err);
    return rc;
}

int
wr_persist_lock(const char *dir, int *fd)
{
    char err[600];
    int rc;

    *fd = -1;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        wr_log(WR_LOG_ERROR, "data_dir: cannot create %s: %s", dir,
               strerror(errno));
        return WR_ERR_IO;
    }
    rc = wr_store_lock_dir(dir, fd, err, sizeof(err));
    if (rc != WR_OK) {
        *fd = -1;
        wr_log(WR_LOG_ERROR, "data_dir: %s", err);
    }
    return rc;
}

int
wr_persist_open(struct wr_server *s)
{
    const char *dir = s->cfg.data_dir;
    int rc;

    /* main() took it before anything was read from the directory */
    if (s->data_lock < 0) {
        rc = wr_persist_lock(dir, &s->data_lock);
        if (rc != WR_OK)
            return rc;
    }
    rc = open_store(dir, "defs", DEFS_SEGMENT, &s->defs);
    if (rc == WR_OK) {
        /* a test seam: small segments, so that a test's few thousand
         * messages span many files and reclamation runs (the kill loop) */
        const char *seg = getenv("WARREN_TEST_MSGS_SEGMENT");
        long n = seg && *seg ? strtol(seg, NULL, 10) : 0;
        rc = open_store(dir, "msgs",
                        n >= 4096 && n <= (1L << 30) ? (uint32_t)n : 0,
                        &s->msgs);
    }
    if (rc == WR_OK)
        wr_log(WR_LOG_INFO, "data_dir: %s", dir);
    return rc;
}

void
wr_persist_fail(struct wr_server *s, struct wr_store *st)
{
    int e = wr_store_failed(st);

    if (s->store_failed)
        return;
    s->store_failed = e ? e : EIO;
    wr_log(WR_LOG_ERROR,
           "data_dir %s: the %s store failed: %s; persistent messages "
           "to durable queues are refused from now on and nothing more is "
           "written; restart the broker to recover from what is on disk",
           s->cfg.data_dir, st == s->defs ? "defs" : "msgs",
           strerror(s->store_failed));
}

/* One bounded step of msgs/ compaction, never while the disk is short
 * or a store failed; another on the next loop turn (a timer of 0: after
 * the loop has polled its sockets) while it has copying to do. Waiting
 * for its sync, it is woken by the store's event fd (poll_one). */
static void
compact_step(struct wr_server *s)
{
    if (s->msgs == NULL || s->store_failed || s->disk_alarm)
        return;
    if (wr_store_compact(s->msgs, COMPACT_STEP, wr_wall_ms()) &&
        s->compact_ev != NULL && !evtimer_pending(s->compact_ev, NULL)) {
        struct timeval now = {0, 0};
        evtimer_add(s->compact_ev, &now);
    }
}

static void
compact_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    compact_step(arg);
}

static void
poll_one(struct wr_server *s, struct wr_store *st)
{
    uint64_t durable = 0;

    if (wr_store_poll(st, &durable) != WR_OK) {
        wr_persist_fail(s, st);
        if (st == s->msgs && s->msgs_durable_cb)
            s->msgs_durable_cb(s);
        return;
    }
    if (st == s->defs) {
        if (s->defs_durable_cb)
            s->defs_durable_cb(s, durable);
    } else {
        if (durable != s->msgs_durable) {
            s->msgs_durable = durable;
            if (s->msgs_durable_cb)
                s->msgs_durable_cb(s);
        }
        compact_step(s);
    }
}

static void
store_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wr_server *s = arg;

    (void)what;
    if (s->defs && fd == wr_store_event_fd(s->defs))
        poll_one(s, s->defs);
    else if (s->msgs)
        poll_one(s, s->msgs);
}

void
wr_persist_start(struct wr_server *s)
{
    atomic_store(&syncs_armed, true);
    if (s->defs) {
        s->store_ev = event_new(s->base, wr_store_event_fd(s->defs),
                                EV_READ | EV_PERSIST, store_cb, s);
        event_add(s->store_ev, NULL);
    }
    if (s->msgs) {
        s->store_ev2 = event_new(s->base, wr_store_event_fd(s->msgs),
                                 EV_READ | EV_PERSIST, store_cb, s);
        /* durable positions are what confirms wait for */
        event_priority_set(s->store_ev2, WR_PRIO_CONSUMERS);
        event_add(s->store_ev2, NULL);
        s->msgs_durable = wr_store_durable(s->msgs);
        s->msgs_written = wr_store_end(s->msgs);
        s->compact_ev = evtimer_new(s->base, compact_cb, s);
    }
}

static void
flush_one(struct wr_server *s, struct wr_store *st, int64_t now)
{
    int rc;

    if (st == NULL || s->store_failed)
        return;
    rc = wr_store_flush(st, now);
    /* ENOSPC is no failure (the chunk stays pending): the disk alarm
     * blocks publishers until there is room again */
    if (rc != WR_OK && rc != WR_ERR_FULL)
        wr_persist_fail(s, st);
    if (wr_store_space_wanted(st) != 0 && s->disk_full_cb)
        s->disk_full_cb(s);
}

void
wr_persist_flush(struct wr_server *s)
{
    int64_t now;

    if (s->defs == NULL)
        return;
    if (s->defs_before_flush && !s->store_failed)
        s->defs_before_flush(s);
    now = wr_wall_ms();
    flush_one(s, s->defs, now);
    flush_one(s, s->msgs, now);
    compact_step(s);
    wr_persist_streams_flush(s, now);
    if (s->msgs && !s->store_failed) {
        uint64_t end = wr_store_end(s->msgs);
        bool moved = end != s->msgs_written;
        s->msgs_written = end;
        /* store_sync = background: a confirm waits for the write only */
        if (moved && s->cfg.store_sync_background && s->msgs_durable_cb)
            s->msgs_durable_cb(s);
    } else if (s->store_failed && s->msgs_durable_cb) {
        s->msgs_durable_cb(s);
    }
}

void
wr_persist_dirty(struct wr_server *s)
{
    wr_server_flush_soon(s);
}

void
wr_server_flush_soon(struct wr_server *s)
{
    struct event *running;

    if (s->flush_ev == NULL)
        return;
    /* libevent runs one priority's ready callbacks per pass, then polls
     * again: an event made active at a higher priority than the running
     * one waits for that poll. One at the running priority goes at the
     * end of this pass, after the callbacks already ready in it. */
    running = s->dispatching ? event_base_get_running_event(s->base) : NULL;
    if (s->flush_low && running &&
        event_get_priority(running) == event_get_priority(s->flush_low))
        event_active(s->flush_low, 0, 0);
    else
        event_active(s->flush_ev, 0, 0);
}

void
wr_persist_close(struct wr_server *s)
{
    if (s->store_ev)
        event_free(s->store_ev);
    if (s->store_ev2)
        event_free(s->store_ev2);
    if (s->compact_ev)
        event_free(s->compact_ev);
    s->store_ev = s->store_ev2 = s->compact_ev = NULL;
    wr_store_close(s->msgs);
    wr_store_close(s->defs);
    s->msgs = s->defs = NULL;
    if (s->data_lock >= 0)
        wr_store_unlock_dir(s->data_lock);
    s->data_lock = -1;
}
