/* SPDX-License-Identifier: MIT */
/* Compaction (store/compact.c, STORE.md "Compaction"): segments whose
 * records are mostly dead are rewritten with only their live records,
 * which keep their offsets and are read back by their old locations; a
 * pinned tombstone is kept; recovery reads a compacted segment back; a
 * crash at any step (a partial new file, a whole one not yet renamed, the
 * rename done) loses nothing; a record referenced again after the copy
 * passed it stops the compaction. */
#include "cases.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 400

static const struct wr_store_opts cmp_opts = {
    .segment_size = 4096,
    .chunk_max = 1024,
    .compact = true,
};

/* Whether record i is kept (referenced) by the tests. */
static bool
kept(uint64_t i)
{
    return i % 41 == 3;
}

/* Appends N records, keeps a reference on the kept ones, drops the rest,
 * and waits until all are durable. */
static struct wr_store *
fill(struct seen *s, struct wr_store_loc *locs)
{
    struct wr_store *st = open_store(&cmp_opts, s);

    append_n(st, 0, N, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, N), WR_OK);
    for (uint64_t i = 0; i < N; i++)
        if (!kept(i))
            wr_store_unref(st, &locs[i]);
    return st;
}

/* Waits for the store's event fd, then polls it. */
static void
wait_poll(struct wr_store *st)
{
    struct pollfd pfd = {wr_store_event_fd(st), POLLIN, 0};

    poll(&pfd, 1, 1000);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
}

/* Runs compaction (small steps) until it has nothing left to do. */
static void
compact_all(struct wr_store *st)
{
    for (int i = 0; i < 10000; i++) {
        if (wr_store_compact(st, 512, 6000))
            continue;
        if (st->cmp == NULL && !st->cmp_due)
            return;
        wait_poll(st);
    }
    ck_abort_msg("compaction does not end");
}

static uint64_t
disk_bytes(void)
{
    char path[512];
    uint64_t sum = 0;

    for (uint64_t f = 0; f < N; f++) {
        struct stat sb;

        file_path(path, sizeof path, f);
        if (stat(path, &sb) == 0)
            sum += (uint64_t)sb.st_size;
    }
    return sum;
}

START_TEST(compact_keeps_live_records)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st = fill(&s, locs);
    struct wr_store_stats stats;
    uint64_t before = disk_bytes(), segs = wr_store_segments(st);

    ck_assert_uint_gt(segs, 8);
    compact_all(st);
    wr_store_stats(st, &stats);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    /* every segment left but the last holds a kept record: compacted */
    for (size_t i = 0; i + 1 < wr_store_segments(st); i++) {
        struct wr_store_seginfo si;

        wr_store_segment(st, i, &si);
        ck_assert(wr_store_find_seg(st, si.first)->compacted);
    }
    ck_assert_uint_ge(stats.compactions, wr_store_segments(st) - 1);
    ck_assert_uint_gt(stats.cmp_saved, 0);
    ck_assert_uint_lt(disk_bytes(), before / 3);
    /* kept records read back by their old locations; dead ones are gone
       from compacted segments */
    for (uint64_t i = 0; i < N; i++) {
        struct wr_store_seg *seg = wr_store_find_seg(st, i);

        if (kept(i))
            check_read(st, &locs[i], i);
        else if (seg != NULL && seg->compacted)
            ck_assert(!wr_store_holds(st, i));
    }
    /* a record dropped after the move goes as before */
    for (uint64_t i = 0; i < N; i++)
        if (kept(i) && i < N - 60)
            wr_store_unref(st, &locs[i]);
    for (int i = 0; i < 50 && wr_store_segments(st) > 4; i++)
        wait_poll(st);
    ck_assert_uint_le(wr_store_segments(st), 4);
    wr_store_close(st);

    /* recovery gives back what the files hold, kept ones at their old
       locations */
    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&cmp_opts, &s);
    for (uint64_t i = N - 60; i < N; i++)
        if (kept(i))
            check_read(st, &locs[i], i);
    for (size_t k = 0; k < s.n; k++) {
        struct wr_store_seg *seg = wr_store_find_seg(st, s.loc[k].offset);

        if (seg->compacted)
            ck_assert(kept(s.loc[k].offset));
    }
    ck_assert_uint_eq(s.damages, 0);
    wr_store_close(st);
}
END_TEST

/* A tombstone pinned to an older segment is live for compaction: it
 * outlives its target whatever happens to its own segment. */
START_TEST(compact_keeps_pinned_tombstones)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st;
    struct wr_store_loc target, tomb;
    struct wr_bytes p = WR_BYTES_LIT("enqueue");
    bool found = false;

    st = open_store(&cmp_opts, &s);
    ck_assert_int_eq(wr_store_append(st, 2, &p, 1, 1, &target), WR_OK);
    append_n(st, 1, 100, locs);
    p = (struct wr_bytes)WR_BYTES_LIT("ack");
    ck_assert_int_eq(wr_store_append(st, 3, &p, 1, 1, &tomb), WR_OK);
    append_n(st, 102, 100, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 202), WR_OK);
    for (uint64_t i = 1; i < 202; i++)
        if (i != 101)
            wr_store_unref(st, &locs[i]);
    wr_store_pin(st, &tomb, &target);
    wr_store_unref(st, &tomb);
    /* the target stays referenced by something else */
    compact_all(st);
    ck_assert(wr_store_find_seg(st, tomb.offset)->compacted);
    ck_assert(wr_store_holds(st, tomb.offset));
    wr_store_close(st);
    memset(&s, 0, sizeof s);
    st = open_store(&cmp_opts, &s);
    for (size_t k = 0; k < s.n; k++)
        found |= s.loc[k].offset == tomb.offset && s.type[k] == 3;
    ck_assert(found);
    wr_store_close(st);
}
END_TEST

static void
save_as(uint64_t first, const char *suffix, const char *from_suffix)
{
    char from[512], to[600];

    file_path(from, sizeof from, first);
    if (from_suffix != NULL)
        strcpy(strrchr(from, '.'), from_suffix);
    snprintf(to, sizeof to, "%s%s", from, suffix);
    ck_assert_int_eq(link(from, to), 0);
}

static void
restore(uint64_t first, const char *suffix, const char *to_suffix)
{
    char to[512], from[600];

    file_path(to, sizeof to, first);
    if (to_suffix != NULL)
        strcpy(strrchr(to, '.'), to_suffix);
    snprintf(from, sizeof from, "%s%s", to, suffix);
    ck_assert_int_eq(rename(from, to), 0);
}

/* A crash before the rename: the old segment and a new file, partial or
 * whole. Recovery removes the new file and reads the old one. */
static void
crash_before_rename(bool whole)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st = fill(&s, locs);
    uint64_t victim;
    char path[512];
    struct stat sb;

    st->cmp_due = true;
    ck_assert(wr_store_compact(st, 200, 6000));
    ck_assert_ptr_nonnull(st->cmp);
    victim = wr_store_cmp_victim(st);
    if (whole) {
        while (wr_store_compact(st, 200, 6000))
            ;
        while (!wr_store_round_done(st, wr_store_cmp_round(st)))
            wait_poll(st);
    }
    save_as(victim, ".old", NULL);
    save_as(victim, ".new", ".cmp");
    wr_store_close(st); /* drops the new file */
    restore(victim, ".new", ".cmp");
    file_path(path, sizeof path, victim);
    strcat(path, ".old");
    ck_assert_int_eq(unlink(path), 0);

    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&cmp_opts, &s);
    file_path(path, sizeof path, victim);
    strcpy(strrchr(path, '.'), ".cmp");
    ck_assert_int_ne(stat(path, &sb), 0); /* removed */
    ck_assert(!wr_store_find_seg(st, victim)->compacted);
    for (uint64_t i = 0; i < N; i++)
        if (kept(i))
            check_read(st, &locs[i], i);
    ck_assert_uint_eq(s.damages, 0);
    wr_store_close(st);
}

START_TEST(compact_crash_mid_copy)
{
    crash_before_rename(false);
}
END_TEST

START_TEST(compact_crash_before_rename)
{
    crash_before_rename(true);
}
END_TEST

/* A crash after the rename, before the directory's fsync: either file may
 * come back; the old one is tested above, the new one here (the files as
 * they are when the process dies, before any later compaction). */
START_TEST(compact_crash_after_rename)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st = fill(&s, locs);
    uint64_t victim;

    st->cmp_due = true;
    ck_assert(wr_store_compact(st, 1u << 20, 6000) || st->cmp != NULL);
    victim = wr_store_cmp_victim(st);
    while (st->cmp != NULL) {
        if (!wr_store_compact(st, 1u << 20, 6000) && st->cmp != NULL)
            wait_poll(st);
    }
    ck_assert(wr_store_find_seg(st, victim)->compacted);
    save_as(victim, ".new", NULL);
    wr_store_close(st);
    restore(victim, ".new", NULL);

    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&cmp_opts, &s);
    ck_assert(wr_store_find_seg(st, victim)->compacted);
    for (uint64_t i = 0; i < N; i++)
        if (kept(i))
            check_read(st, &locs[i], i);
    ck_assert_uint_eq(s.damages, 0);
    wr_store_close(st);
}
END_TEST

/* A record the copy passed over as dead and that is referenced again
 * makes the compaction give up: it stays readable. */
START_TEST(compact_gives_up_on_a_revived_record)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st = fill(&s, locs);
    uint64_t victim;
    struct wr_store_stats stats;

    st->cmp_due = true;
    ck_assert(wr_store_compact(st, 200, 6000));
    victim = wr_store_cmp_victim(st);
    ck_assert(!kept(victim + 1) && st->cmp != NULL);
    wr_store_ref(st, &locs[victim + 1]);
    while (st->cmp != NULL)
        if (!wr_store_compact(st, 200, 6000) && st->cmp != NULL)
            wait_poll(st);
    ck_assert(!wr_store_find_seg(st, victim)->compacted);
    check_read(st, &locs[victim + 1], victim + 1);
    wr_store_stats(st, &stats);
    ck_assert_uint_eq(stats.compactions, 0);
    wr_store_close(st);
}
END_TEST

/* A compacted segment left last (the files after it gone: a crash as the
 * next one was created) takes no appends: a new segment does, and what
 * is appended reads back, before and after a restart. */
START_TEST(compact_last_takes_no_appends)
{
    static struct wr_store_loc locs[N];
    struct seen s = {0};
    struct wr_store *st = fill(&s, locs);
    struct wr_store_loc loc;
    struct wr_bytes p = WR_BYTES_LIT("after");
    char path[512];
    uint8_t buf[16];
    size_t k;

    compact_all(st);
    ck_assert(wr_store_find_seg(st, 0)->compacted);
    wr_store_close(st);
    for (uint64_t f = 1; f < N; f++) { /* every file after the first */
        file_path(path, sizeof path, f);
        unlink(path);
    }
    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&cmp_opts, &s);
    ck_assert_uint_eq(wr_store_segments(st), 1);
    ck_assert_int_eq(wr_store_append(st, 9, &p, 1, 7000, &loc), WR_OK);
    ck_assert_uint_eq(wr_store_segments(st), 2);
    ck_assert_int_eq(wr_store_flush(st, 7000), WR_OK);
    ck_assert_int_eq(wr_store_read(st, &loc, buf, sizeof buf, NULL), WR_OK);
    ck_assert_mem_eq(buf, "after", 5);
    wr_store_close(st);
    memset(&s, 0, sizeof s);
    st = open_store(&cmp_opts, &s);
    for (k = 0; k < s.n && s.loc[k].offset != loc.offset; k++)
        ;
    ck_assert_uint_lt(k, s.n);
    ck_assert_int_eq(wr_store_read(st, &loc, buf, sizeof buf, NULL), WR_OK);
    for (uint64_t i = 0; i < N; i++)
        if (kept(i) && wr_store_holds(st, i))
            check_read(st, &locs[i], i);
    wr_store_close(st);
}
END_TEST

TCase *
store_compact_tcase(void)
{
    TCase *tc = tcase_create("compact");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, compact_keeps_live_records);
    tcase_add_test(tc, compact_keeps_pinned_tombstones);
    tcase_add_test(tc, compact_crash_mid_copy);
    tcase_add_test(tc, compact_crash_before_rename);
    tcase_add_test(tc, compact_crash_after_rename);
    tcase_add_test(tc, compact_gives_up_on_a_revived_record);
    tcase_add_test(tc, compact_last_takes_no_appends);
    return tc;
}
