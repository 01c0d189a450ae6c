/* SPDX-License-Identifier: MIT */
/* store-bench: the store's own numbers (docs/internals/STORE.md
 * "Measured"): appends per second with a sync per batch, the latency of
 * those syncs, and the recovery scan rate. Run by hand:
 *   build/store-bench [--dir DIR] [--records N] [--quick]
 * DIR (default ./store-bench.data) is created and removed; it should be on
 * the disk being measured. */
#include "../../store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir = "store-bench.data";

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
wipe(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
die(const char *what, int rc)
{
    fprintf(stderr, "store-bench: %s: %s\n", what, wr_strerror(rc));
    exit(1);
}

static int
keep(void *arg, uint8_t type, const struct wr_store_loc *loc,
     struct wr_bytes payload, int64_t time_ms)
{
    struct wr_store *st = arg;

    (void)type;
    (void)payload;
    (void)time_ms;
    wr_store_ref(st, loc);
    return WR_OK;
}

static struct wr_store *
open_fresh(void)
{
    struct wr_store *st;
    char err[256];
    int rc;

    wipe();
    rc = wr_store_open(dir, NULL, &st, err, sizeof err);
    if (rc != WR_OK) {
        fprintf(stderr, "store-bench: %s\n", err);
        exit(1);
    }
    rc = wr_store_recover(st, keep, NULL, st, now_ms());
    if (rc != WR_OK)
        die("recover", rc);
    return st;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Lock-step: append a batch, flush, wait until it is durable. Each
 * round trip is one loop turn whose confirms wait for its sync. */
static void
lockstep(uint32_t size, unsigned batch, unsigned rounds)
{
    struct wr_store *st = open_fresh();
    static uint8_t body[1024];
    struct wr_bytes part = {body, size};
    double *lat = malloc(rounds * sizeof *lat), t0, t;
    struct wr_store_loc loc;

    memset(body, 'x', sizeof body);
    t0 = now_s();
    for (unsigned r = 0; r < rounds; r++) {
        double s;
        int rc;

        for (unsigned i = 0; i < batch; i++)
            if ((rc = wr_store_append(st, 1, &part, 1, 0, &loc)) != WR_OK)
                die("append", rc);
        s = now_s();
        if ((rc = wr_store_flush(st, now_ms())) != WR_OK ||
            (rc = wr_store_wait(st, loc.offset + 1)) != WR_OK)
            die("sync", rc);
        lat[r] = now_s() - s;
    }
    t = now_s() - t0;
    qsort(lat, rounds, sizeof *lat, cmp_double);
    printf("lock-step  %4u B x %4u a batch: %9.0f records/s, %6.0f syncs/s,"
           " flush+sync p50 %6.0f us p99 %6.0f us\n",
           size, batch, (double)batch * rounds / t, rounds / t,
           lat[rounds / 2] * 1e6, lat[rounds * 99 / 100] * 1e6);
    free(lat);
    wr_store_close(st);
}

/* Pipelined: one flush per batch, never waiting; the sync thread covers
 * whatever was written when it comes round (group commit). Latency is
 * from a batch's flush to the moment poll first shows it durable. */
static void
pipelined(uint32_t size, unsigned batch, unsigned rounds)
{
    struct wr_store *st = open_fresh();
    static uint8_t body[1024];
    struct wr_bytes part = {body, size};
    double *lat = malloc(rounds * sizeof *lat), *sent, t0, t;
    uint64_t *end = malloc(rounds * sizeof *end);
    struct wr_store_stats stats;
    struct wr_store_loc loc;
    unsigned done = 0;

    sent = malloc(rounds * sizeof *sent);
    memset(body, 'x', sizeof body);
    t0 = now_s();
    for (unsigned r = 0; r < rounds || done < rounds;) {
        uint64_t durable;
        int rc;

        if (r < rounds) {
            for (unsigned i = 0; i < batch; i++)
                if ((rc = wr_store_append(st, 1, &part, 1, 0, &loc)) != WR_OK)
                    die("append", rc);
            if ((rc = wr_store_flush(st, now_ms())) != WR_OK)
                die("flush", rc);
            end[r] = loc.offset + 1;
            sent[r] = now_s();
            r++;
        } else {
            usleep(50);
        }
        if ((rc = wr_store_poll(st, &durable)) != WR_OK)
            die("poll", rc);
        while (done < r && end[done] <= durable)
            lat[done] = now_s() - sent[done], done++;
    }
    t = now_s() - t0;
    wr_store_stats(st, &stats);
    qsort(lat, rounds, sizeof *lat, cmp_double);
    printf("pipelined  %4u B x %4u a batch: %9.0f records/s, %6.0f syncs/s,"
           " flush->durable p50 %6.0f us p99 %6.0f us\n",
           size, batch, (double)batch * rounds / t, (double)stats.syncs / t,
           lat[rounds / 2] * 1e6, lat[rounds * 99 / 100] * 1e6);
    free(lat);
    free(sent);
    free(end);
    wr_store_close(st);
}

/* Paced: `rate` records a second, one loop turn a millisecond (append
 * that turn's records, flush, poll), as a broker under a steady load.
 * Latency is from a turn's flush to the poll that shows it durable: what
 * a publisher's confirm waits on top of the network. */
static void
paced(uint32_t size, unsigned rate, unsigned seconds)
{
    struct wr_store *st = open_fresh();
    static uint8_t body[1024];
    struct wr_bytes part = {body, size};
    unsigned turns = seconds * 1000, per = rate / 1000, done = 0;
    double *lat = malloc(turns * sizeof *lat), *sent, t0;
    uint64_t *end = malloc(turns * sizeof *end);
    struct wr_store_stats stats;
    struct wr_store_loc loc;

    sent = malloc(turns * sizeof *sent);
    memset(body, 'p', sizeof body);
    t0 = now_s();
    for (unsigned r = 0; r < turns || done < turns;) {
        uint64_t durable;
        int rc;

        if (r < turns && now_s() >= t0 + r / 1000.0) {
            for (unsigned i = 0; i < per; i++)
                if ((rc = wr_store_append(st, 1, &part, 1, 0, &loc)) != WR_OK)
                    die("append", rc);
            if ((rc = wr_store_flush(st, now_ms())) != WR_OK)
                die("flush", rc);
            end[r] = loc.offset + 1;
            sent[r] = now_s();
            r++;
        } else {
            usleep(20);
        }
        if ((rc = wr_store_poll(st, &durable)) != WR_OK)
            die("poll", rc);
        while (done < r && end[done] <= durable)
            lat[done] = now_s() - sent[done], done++;
    }
    wr_store_stats(st, &stats);
    qsort(lat, turns, sizeof *lat, cmp_double);
    printf("paced      %4u B at %6u/s (%u a 1 ms turn): %6.0f syncs/s,"
           " flush->durable p50 %6.0f us p99 %6.0f us max %6.0f us\n",
           size, rate, per, (double)stats.syncs / (now_s() - t0),
           lat[turns / 2] * 1e6, lat[turns * 99 / 100] * 1e6,
           lat[turns - 1] * 1e6);
    free(lat);
    free(sent);
    free(end);
    wr_store_close(st);
}

static uint64_t scanned;

static int
count(void *arg, uint8_t type, const struct wr_store_loc *loc,
      struct wr_bytes payload, int64_t time_ms)
{
    (void)type;
    (void)payload;
    (void)time_ms;
    wr_store_ref(arg, loc);
    scanned++;
    return WR_OK;
}

/* Drops the page cache of the store's files only (not the machine's). */
static void
evict(void)
{
    char path[4096];
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);

    for (int i = 0; i < n; i++) {
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        fd = open(path, O_RDONLY);
        if (fd >= 0) {
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
        free(names[i]);
    }
    free(names);
}

static void
recovery(uint32_t size, uint64_t records)
{
    struct wr_store *st = open_fresh();
    static uint8_t body[1024];
    struct wr_bytes part = {body, size};
    struct wr_store_loc loc;
    char err[256];
    double t;
    int rc;

    memset(body, 'y', sizeof body);
    t = now_s();
    for (uint64_t i = 0; i < records; i++) {
        body[i % size] = (uint8_t)i;
        if ((rc = wr_store_append(st, 1, &part, 1, 0, &loc)) != WR_OK)
            die("append", rc);
        if (i % 1000 == 999 && (rc = wr_store_flush(st, now_ms())) != WR_OK)
            die("flush", rc);
    }
    wr_store_close(st); /* flushes and waits for the last sync */
    t = now_s() - t;
    printf("fill       %4u B x %llu: %.2f s, %.0f records/s (batches of "
           "1000, pipelined)\n",
           size, (unsigned long long)records, t, records / t);
    for (int cold = 0; cold < 2; cold++) {
        if (cold)
            evict();
        rc = wr_store_open(dir, NULL, &st, err, sizeof err);
        if (rc != WR_OK)
            die(err, rc);
        scanned = 0;
        t = now_s();
        rc = wr_store_recover(st, count, NULL, st, now_ms());
        t = now_s() - t;
        if (rc != WR_OK || scanned != records)
            die("recovery lost records", rc);
        printf("recovery   %4u B x %llu (%s): %.3f s, %.0f records/s, "
               "%.0f MB/s\n",
               size, (unsigned long long)records,
               cold ? "files evicted from the page cache" : "page cache", t,
               records / t, (double)records * (size + 12) / t / 1e6);
        wr_store_close(st);
    }
}

int
main(int argc, char **argv)
{
    uint64_t records = 1000000;
    bool quick = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else {
            fprintf(stderr, "usage: store-bench [--dir DIR] [--records N] "
                            "[--quick]\n");
            return 2;
        }
    }
    wr_alloc_set_abort_on_oom(true);
    for (unsigned b = 1; b <= 1000; b *= 10) {
        unsigned rounds = quick ? 50 : (b >= 100 ? 500 : 1000);

        lockstep(16, b, rounds);
        lockstep(1024, b, rounds);
    }
    paced(1024, 10000, quick ? 1 : 5);
    paced(16, 10000, quick ? 1 : 5);
    paced(1024, 100000, quick ? 1 : 5);
    pipelined(16, 100, quick ? 200 : 2000);
    pipelined(1024, 100, quick ? 200 : 2000);
    pipelined(1024, 1000, quick ? 50 : 500);
    recovery(16, records);
    recovery(1024, records);
    wipe();
    return 0;
}
