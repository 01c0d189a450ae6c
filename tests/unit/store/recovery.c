/* SPDX-License-Identifier: MIT */
/* The store suite's recovery test case: a torn tail or chunk header, a
 * flipped bit in a record or a chunk header, damage in an older segment
 * and a bad segment header are each found, reported and cut where
 * docs/internals/STORE.md says. */
#include "cases.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* A crash in the middle of the last write: the tail is cut, reported as
 * torn, and the next records go where it was. */
START_TEST(torn_tail)
{
    struct wr_store_opts o = {.segment_size = 1 << 20};
    static struct wr_store_loc locs[100];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);

    append_n(st, 0, 40, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    append_n(st, 40, 40, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    wr_store_close(st);
    /* The second chunk lost its last bytes. */
    flip_byte(0, locs[79].pos + WR_REC_HDR_SIZE + locs[79].len - 1);

    memset(&s, 0, sizeof s);
    st = open_store(&o, &s);
    ck_assert_uint_eq(s.n, 40);
    ck_assert_uint_eq(s.torn, 1);
    ck_assert_uint_eq(s.damages, 1);
    ck_assert_uint_eq(wr_store_end(st), 40);
    append_n(st, 40, 5, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    wr_store_close(st);

    memset(&s, 0, sizeof s);
    st = open_store(&o, &s);
    ck_assert_uint_eq(s.n, 45);
    ck_assert_uint_eq(s.damages, 0);
    for (uint64_t i = 0; i < 45; i++)
        check_read(st, &s.loc[i], i);
    wr_store_close(st);
}
END_TEST

/* A torn tail that is only part of a chunk header: cut too. */
START_TEST(torn_chunk_header)
{
    static struct wr_store_loc locs[20];
    struct seen s = {0};
    struct wr_store *st = open_store(NULL, &s);
    char path[512];
    int fd;

    append_n(st, 0, 10, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    wr_store_close(st);
    file_path(path, sizeof path, 0);
    fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    /* 20 bytes of a header that never got its checksum. */
    ck_assert_int_eq(
        pwrite(fd,
               "\xA1\x80\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
               "\x13\x88\x00\x00\x00\x00",
               20, locs[9].pos + WR_REC_HDR_SIZE + locs[9].len),
        20);
    close(fd);
    memset(&s, 0, sizeof s);
    st = open_store(NULL, &s);
    ck_assert_uint_eq(s.n, 10);
    ck_assert_uint_eq(s.torn, 1);
    wr_store_close(st);
}
END_TEST

/* A flipped bit inside a record of a chunk in the middle: that record is
 * reported (where it is) and skipped, every other one comes back. */
START_TEST(bit_flip_record)
{
    static struct wr_store_loc locs[90];
    struct seen s = {0};
    struct wr_store *st = open_store(NULL, &s);

    for (int c = 0; c < 3; c++) {
        append_n(st, (uint64_t)c * 30, 30, locs);
        ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    }
    wr_store_close(st);
    flip_byte(0, locs[45].pos + WR_REC_HDR_SIZE + 3);

    memset(&s, 0, sizeof s);
    st = open_store(NULL, &s);
    ck_assert_uint_eq(s.n, 89);
    ck_assert_uint_eq(s.damages, 1);
    ck_assert_uint_eq(s.torn, 0);
    ck_assert_uint_eq(s.damage_pos[0], locs[45].pos);
    for (size_t i = 0; i < s.n; i++) {
        uint64_t want = i < 45 ? i : i + 1;

        ck_assert_uint_eq(s.loc[i].offset, want);
        check_read(st, &s.loc[i], want);
    }
    /* Reading the damaged record fails its checksum. */
    {
        uint8_t buf[512];

        ck_assert_int_eq(wr_store_read(st, &locs[45], buf, sizeof buf, NULL),
                         WR_ERR_SYNTAX);
    }
    ck_assert_uint_eq(wr_store_end(st), 90);
    wr_store_close(st);
}
END_TEST

/* A flipped bit in the header of a middle chunk: that chunk is lost and
 * reported, the chunks after it come back. The same in a record length. */
START_TEST(bit_flip_chunk_header)
{
    static struct wr_store_loc locs[90];
    struct seen s = {0};
    struct wr_store *st = open_store(NULL, &s);

    for (int c = 0; c < 3; c++) {
        append_n(st, (uint64_t)c * 30, 30, locs);
        ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    }
    wr_store_close(st);
    /* The second chunk's header is just before its first record. */
    flip_byte(0, locs[30].pos - WR_CHUNK_HDR_SIZE + 30);

    memset(&s, 0, sizeof s);
    st = open_store(NULL, &s);
    ck_assert_uint_eq(s.n, 60);
    ck_assert_uint_eq(s.damages, 1);
    ck_assert_uint_eq(s.torn, 0);
    ck_assert_uint_eq(s.loc[29].offset, 29);
    ck_assert_uint_eq(s.loc[30].offset, 60);
    check_read(st, &s.loc[30], 60);
    wr_store_close(st);

    /* Now a record length in the first chunk: the rest of that chunk. */
    flip_byte(0, locs[10].pos + 2);
    memset(&s, 0, sizeof s);
    st = open_store(NULL, &s);
    ck_assert_uint_eq(s.n, 40);
    ck_assert_uint_eq(s.damages, 2);
    ck_assert_uint_eq(s.loc[9].offset, 9);
    ck_assert_uint_eq(s.loc[10].offset, 60);
    wr_store_close(st);
}
END_TEST

/* Damage in a sealed segment does not stop the segments after it. */
START_TEST(damage_in_older_segment)
{
    struct wr_store_opts o = {.segment_size = 8192, .chunk_max = 1024};
    static struct wr_store_loc locs[300];
    struct seen s = {.ref = true};
    struct wr_store *st = open_store(&o, &s);
    uint32_t last_end = 0;
    size_t want_damages = 1;

    for (int c = 0; c < 30; c++) {
        append_n(st, (uint64_t)c * 10, 10, locs);
        ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    }
    wr_store_close(st);
    /* The record at offset 5 is in the first segment. */
    flip_byte(0, locs[5].pos + WR_REC_HDR_SIZE);
    /* Garbage after the first segment's last chunk (when there is room
     * for it: the segment ends where the next chunk did not fit). */
    for (size_t i = 0; locs[i + 1].pos > locs[i].pos; i++)
        last_end = locs[i + 1].pos + WR_REC_HDR_SIZE + locs[i + 1].len;
    if (last_end < 8192) {
        char path[512];
        size_t n = WR_MIN(8, 8192 - (size_t)last_end);
        int fd;

        file_path(path, sizeof path, 0);
        fd = open(path, O_RDWR);
        ck_assert_int_eq(pwrite(fd, "junkjunk", n, last_end), (ssize_t)n);
        close(fd);
        want_damages = 2;
    }
    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&o, &s);
    ck_assert_uint_eq(s.n, 299);
    ck_assert_uint_eq(s.torn, 0);
    ck_assert_uint_eq(s.damages, want_damages);
    ck_assert_uint_eq(s.loc[298].offset, 299);
    check_read(st, &s.loc[298], 299);
    wr_store_close(st);
}
END_TEST

/* A damaged segment header is reported, its records still come back (the
 * file name gives the offset), and the active segment gets a good header
 * again. */
START_TEST(bad_segment_header)
{
    static struct wr_store_loc locs[20];
    struct seen s = {.ref = true};
    struct wr_store *st = open_store(NULL, &s);

    append_n(st, 0, 20, locs);
    wr_store_close(st);
    flip_byte(0, 3); /* in the magic */
    for (int pass = 0; pass < 2; pass++) {
        memset(&s, 0, sizeof s);
        s.ref = true;
        st = open_store(NULL, &s);
        ck_assert_uint_eq(s.n, 20);
        ck_assert_uint_eq(s.damages, pass == 0 ? 1 : 0);
        ck_assert_uint_eq(s.torn, 0);
        check_read(st, &s.loc[19], 19);
        wr_store_close(st);
    }
}
END_TEST

TCase *
store_recovery_tcase(void)
{
    TCase *tc = tcase_create("recovery");

    tcase_add_test(tc, torn_tail);
    tcase_add_test(tc, torn_chunk_header);
    tcase_add_test(tc, bit_flip_record);
    tcase_add_test(tc, bit_flip_chunk_header);
    tcase_add_test(tc, damage_in_older_segment);
    tcase_add_test(tc, bad_segment_header);
    return tc;
}
