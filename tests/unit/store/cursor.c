/* SPDX-License-Identifier: MIT */
/* Reading the log in order (store/cursor.c, the stream queues' reader):
 * seeks by offset and time through the chunk index, chunks read only
 * below the limit, the records of a chunk checked, a reader whose segment
 * retention deleted moved to the oldest, the index rebuilt by recovery,
 * damage skipped, a destroyed store gone. */
#include "cases.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct wr_store_opts stream_opts = {
    .segment_size = 8192,
    .chunk_max = 2048,
    .index_every = 1024,
    .sparse = true,
};

/* Appends records from..from+n-1 (payload: 8 bytes of its number, then
 * i % 50 bytes), a flush every `batch`, stamped time_ms; waits until all
 * are durable. */
static void
fill_log(struct wr_store *st, uint64_t from, uint64_t n, uint64_t batch,
         int64_t time_ms)
{
    uint8_t buf[64];

    for (uint64_t i = from; i < from + n; i++) {
        struct wr_store_loc loc;
        struct wr_bytes part = {buf, 8 + (uint32_t)(i % 50)};

        memset(buf, (int)(i & 0xff), sizeof buf);
        memcpy(buf, &i, 8);
        ck_assert_int_eq(wr_store_append(st, 7, &part, 1, time_ms, &loc),
                         WR_OK);
        ck_assert_uint_eq(loc.offset, i);
        if ((i + 1) % batch == 0)
            ck_assert_int_eq(wr_store_flush(st, time_ms), WR_OK);
    }
    ck_assert_int_eq(wr_store_flush(st, time_ms), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, wr_store_end(st)), WR_OK);
}

/* Reads from c up to limit, checking that records come in order from
 * `want` on (those below it skipped as a reader does); returns the offset
 * after the last one read. */
static uint64_t
read_all(struct wr_store *st, struct wr_store_cursor *c, uint64_t want,
         uint64_t limit)
{
    uint8_t *buf = NULL;
    uint32_t cap = 0;
    struct wr_store_chunk ch;
    int rc;

    while ((rc = wr_store_read_chunk(st, c, limit, &buf, &cap, &ch)) == WR_OK) {
        uint32_t pos = 0;
        uint64_t off = ch.first;
        uint8_t type;
        struct wr_bytes p;

        ck_assert_uint_le(ch.first + ch.records, limit);
        while (wr_store_chunk_next(&ch, &pos, &type, &p) == WR_OK) {
            uint64_t got;

            ck_assert_uint_eq(type, 7);
            ck_assert_uint_eq(p.len, 8 + off % 50);
            memcpy(&got, p.ptr, 8);
            ck_assert_uint_eq(got, off);
            if (off >= want) {
                ck_assert_uint_eq(off, want);
                want++;
            }
            off++;
        }
        ck_assert_uint_eq(off, ch.first + ch.records);
    }
    ck_assert_int_eq(rc, WR_ERR_NOT_FOUND);
    wr_free(buf);
    return want;
}

START_TEST(cursor_reads_in_order)
{
    struct seen s = {0};
    struct wr_store *st = open_store(&stream_opts, &s);
    struct wr_store_cursor c;

    fill_log(st, 0, 3000, 37, 5000);
    ck_assert_uint_gt(wr_store_segments(st), 5);
    wr_store_seek(st, 0, &c);
    ck_assert_uint_eq(read_all(st, &c, 0, wr_store_durable(st)), 3000);
    /* from anywhere: the index gives a chunk at or before it */
    for (uint64_t at = 1; at < 3000; at += 97) {
        wr_store_seek(st, at, &c);
        ck_assert_uint_eq(read_all(st, &c, at, 3000), 3000);
    }
    /* a limit below the end: only whole chunks below it */
    wr_store_seek(st, 0, &c);
    ck_assert_uint_le(read_all(st, &c, 0, 1000), 1000);
    /* at the end: nothing, then what comes */
    wr_store_seek(st, 3000, &c);
    ck_assert_uint_eq(read_all(st, &c, 3000, 3000), 3000);
    fill_log(st, 3000, 500, 10, 6000);
    ck_assert_uint_eq(read_all(st, &c, 3000, wr_store_durable(st)), 3500);
    ck_assert(wr_store_last_chunk(st, &c.seg));
    /* the last flush wrote 3490..3499, in one chunk or, when a chunk or
     * a segment filled, the last part of it */
    ck_assert_uint_ge(c.seg, 3490);
    ck_assert_uint_le(c.seg, 3499);
    wr_store_close(st);
}
END_TEST

START_TEST(cursor_seek_time)
{
    struct seen s = {0};
    struct wr_store *st = open_store(&stream_opts, &s);
    struct wr_store_cursor c;

    fill_log(st, 0, 1000, 20, 10000);
    fill_log(st, 1000, 1000, 20, 20000);
    fill_log(st, 2000, 1000, 20, 30000);
    /* a reader skips chunks older than the time; the first one it keeps
     * is the first of the second batch */
    wr_store_seek_time(st, 15000, &c);
    {
        uint8_t *buf = NULL;
        uint32_t cap = 0;
        struct wr_store_chunk ch;

        do
            ck_assert_int_eq(wr_store_read_chunk(st, &c, 3000, &buf, &cap, &ch),
                             WR_OK);
        while (ch.time_ms < 15000);
        ck_assert_uint_eq(ch.first, 1000);
        wr_free(buf);
    }
    /* past every chunk: the end */
    wr_store_seek_time(st, 99999, &c);
    ck_assert_uint_eq(read_all(st, &c, 3000, 3000), 3000);
    wr_store_close(st);
}
END_TEST

START_TEST(cursor_index_rebuilt_by_recovery)
{
    struct seen s = {0};
    struct wr_store *st = open_store(&stream_opts, &s);
    struct wr_store_cursor c;
    uint64_t last;

    fill_log(st, 0, 2000, 30, 7000);
    wr_store_close(st);
    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&stream_opts, &s);
    ck_assert_uint_eq(s.n, 2000);
    ck_assert_uint_eq(wr_store_first(st), 0);
    ck_assert(wr_store_last_chunk(st, &last));
    ck_assert_uint_eq(last, 1980);
    for (uint64_t at = 0; at < 2000; at += 111) {
        wr_store_seek(st, at, &c);
        ck_assert_uint_eq(read_all(st, &c, at, 2000), 2000);
    }
    /* and appending goes on from there */
    fill_log(st, 2000, 10, 10, 8000);
    wr_store_seek(st, 1995, &c);
    ck_assert_uint_eq(read_all(st, &c, 1995, 2010), 2010);
    wr_store_close(st);
}
END_TEST

START_TEST(cursor_retention)
{
    struct seen s = {0};
    struct wr_store *st = open_store(&stream_opts, &s);
    struct wr_store_cursor c, old;
    struct wr_store_seginfo si, si1;
    size_t n;

    fill_log(st, 0, 3000, 25, 5000);
    n = wr_store_segments(st);
    wr_store_seek(st, 0, &old);
    wr_store_segment(st, 0, &si);
    wr_store_segment(st, 1, &si1);
    ck_assert_uint_eq(si.first, 0);
    ck_assert_uint_eq(si.end, si1.first);
    ck_assert_uint_gt(si.bytes, 32);
    ck_assert_int_eq(si.last_time, 5000);
    ck_assert_int_eq(wr_store_drop_head(st), WR_OK);
    ck_assert_int_eq(wr_store_drop_head(st), WR_OK);
    ck_assert_uint_eq(wr_store_segments(st), n - 2);
    wr_store_segment(st, 0, &si);
    ck_assert_uint_eq(wr_store_first(st), si.first);
    ck_assert_uint_gt(si.first, si1.first);
    /* a reader in a deleted segment goes on at the oldest kept */
    ck_assert_uint_eq(read_all(st, &old, si.first, 3000), 3000);
    /* a seek below the first lands on the first */
    wr_store_seek(st, 0, &c);
    ck_assert_uint_eq(read_all(st, &c, si.first, 3000), 3000);
    /* the active segment stays */
    while (wr_store_drop_head(st) == WR_OK)
        ;
    ck_assert_uint_eq(wr_store_segments(st), 1);
    ck_assert_uint_eq(count_segments(), 1); /* the files went too */
    wr_store_close(st);
    /* recovery starts at the oldest file kept */
    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&stream_opts, &s);
    ck_assert_uint_eq(wr_store_end(st), 3000);
    ck_assert_uint_gt(wr_store_first(st), 2000);
    wr_store_close(st);
}
END_TEST

START_TEST(cursor_damage)
{
    struct seen s = {0};
    struct wr_store *st = open_store(&stream_opts, &s);
    struct wr_store_cursor c;
    uint8_t *buf = NULL;
    uint32_t cap = 0, pos = 0;
    struct wr_store_chunk ch;
    struct wr_bytes p;
    uint8_t type;

    fill_log(st, 0, 100, 100, 5000);
    /* a payload byte of the first chunk's third record */
    flip_byte(0, WR_SEG_HDR_SIZE + WR_CHUNK_HDR_SIZE + 2 * WR_REC_HDR_SIZE + 8 +
                     9 + 3);
    wr_store_seek(st, 0, &c);
    ck_assert_int_eq(wr_store_read_chunk(st, &c, 100, &buf, &cap, &ch), WR_OK);
    ck_assert_int_eq(wr_store_chunk_next(&ch, &pos, &type, &p), WR_OK);
    ck_assert_int_eq(wr_store_chunk_next(&ch, &pos, &type, &p), WR_OK);
    ck_assert_int_eq(wr_store_chunk_next(&ch, &pos, &type, &p), WR_ERR_SYNTAX);
    /* a damaged chunk header: the reader goes on at the next indexed
     * chunk */
    flip_byte(0, WR_SEG_HDR_SIZE + 3);
    wr_store_seek(st, 0, &c);
    ck_assert_int_eq(wr_store_read_chunk(st, &c, 100, &buf, &cap, &ch),
                     WR_ERR_SYNTAX);
    ck_assert_int_eq(wr_store_read_chunk(st, &c, 100, &buf, &cap, &ch), WR_OK);
    ck_assert_uint_gt(ch.first, 0);
    wr_free(buf);
    ck_assert_uint_eq(read_all(st, &c, ch.first + ch.records, 100), 100);
    wr_store_close(st);
}
END_TEST

START_TEST(cursor_destroy)
{
    struct seen s = {0};
    char sub[300];
    struct wr_store *st = NULL;
    char err[256];
    struct stat sb;

    snprintf(sub, sizeof sub, "%s/stream1", dir);
    ck_assert_int_eq(wr_store_open(sub, &stream_opts, &st, err, sizeof err),
                     WR_OK);
    ck_assert_int_eq(wr_store_recover(st, NULL, NULL, &s, 1000), WR_OK);
    fill_log(st, 0, 500, 50, 5000);
    /* sparse: the files hold what was written, not their size */
    ck_assert_int_eq(stat(sub, &sb), 0);
    wr_store_destroy(st);
    ck_assert_int_ne(stat(sub, &sb), 0);
}
END_TEST

TCase *
store_cursor_tcase(void)
{
    TCase *tc = tcase_create("cursor");

    tcase_add_test(tc, cursor_reads_in_order);
    tcase_add_test(tc, cursor_seek_time);
    tcase_add_test(tc, cursor_index_rebuilt_by_recovery);
    tcase_add_test(tc, cursor_retention);
    tcase_add_test(tc, cursor_damage);
    tcase_add_test(tc, cursor_destroy);
    return tc;
}
