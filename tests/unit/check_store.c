/* SPDX-License-Identifier: MIT */
/* Unit tests of store/ (docs/internals/STORE.md): CRC32C, the headers,
 * append and read back, group commit, recovery over torn and corrupted
 * files, reclamation, the directory lock and a failing fdatasync (through
 * the sync_fn seam). Suite "store"; the recovery and model test cases are
 * in tests/unit/store/, one file each, and share the fixture and helpers
 * here. */
#include "store/cases.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

uint32_t wr_crc32c_sw(uint32_t crc, const void *buf, size_t len);

char dir[256];
static size_t used_before;

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
setup(void)
{
    used_before = wr_alloc_used();
    snprintf(dir, sizeof dir, "/tmp/wr-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    ck_assert_uint_eq(wr_alloc_used(), used_before);
}

/* ---- what recovery gave back ------------------------------------------ */

static int
on_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
          struct wr_bytes payload, int64_t time_ms)
{
    struct seen *s = arg;

    ck_assert_int_ge(time_ms, 1000);
    ck_assert_uint_eq(payload.len, loc->len);
    ck_assert_uint_lt(s->n, MAX_SEEN);
    s->type[s->n] = type;
    s->loc[s->n] = *loc;
    s->first_byte[s->n] = payload.len ? payload.ptr[0] : 0;
    s->n++;
    if (s->ref)
        wr_store_ref(s->st, loc);
    return WR_OK;
}

static void
on_damage(void *arg, const struct wr_store_damage *d)
{
    struct seen *s = arg;

    if (s->damages < 16)
        s->damage_pos[s->damages] = d->pos;
    s->damages++;
    if (d->torn)
        s->torn++;
}

struct wr_store *
open_store(const struct wr_store_opts *o, struct seen *s)
{
    struct wr_store *st = NULL;
    char err[256];

    ck_assert_int_eq(wr_store_open(dir, o, &st, err, sizeof err), WR_OK);
    s->st = st;
    ck_assert_int_eq(wr_store_recover(st, on_record, on_damage, s, 1000),
                     WR_OK);
    return st;
}

/* A payload whose every byte says which record it is. */
static uint32_t
fill(uint8_t *buf, uint64_t i)
{
    uint32_t len = (uint32_t)((i * 37) % 300);

    memset(buf, (int)(i & 0xff), len);
    return len;
}

void
append_n(struct wr_store *st, uint64_t from, uint64_t n,
         struct wr_store_loc *locs)
{
    uint8_t buf[512];

    for (uint64_t i = from; i < from + n; i++) {
        struct wr_bytes part = {buf, fill(buf, i)};

        ck_assert_int_eq(wr_store_append(st, (uint8_t)(1 + i % 200), &part, 1,
                                         2000, &locs[i]),
                         WR_OK);
        ck_assert_uint_eq(locs[i].offset, i);
    }
}

void
check_read(struct wr_store *st, const struct wr_store_loc *loc, uint64_t i)
{
    uint8_t buf[512], want[512];
    uint8_t type = 0;
    uint32_t len = fill(want, i);

    ck_assert_uint_eq(loc->len, len);
    ck_assert_int_eq(wr_store_read(st, loc, buf, sizeof buf, &type), WR_OK);
    ck_assert_uint_eq(type, 1 + i % 200);
    ck_assert_mem_eq(buf, want, len);
}

void
file_path(char *out, size_t n, uint64_t first)
{
    char name[WR_SEG_NAME_LEN];

    wr_seg_name(name, first);
    snprintf(out, n, "%s/%s", dir, name);
}

void
flip_byte(uint64_t seg_first, uint64_t pos)
{
    char path[512];
    uint8_t b;
    int fd;

    file_path(path, sizeof path, seg_first);
    fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)pos), 1);
    b ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)pos), 1);
    close(fd);
}

size_t
count_segments(void)
{
    char path[512];
    size_t n = 0;

    for (uint64_t first = 0; first < 5000; first++) {
        file_path(path, sizeof path, first);
        if (access(path, F_OK) == 0)
            n++;
    }
    return n;
}

/* ==== crc and formats =================================================== */

/* RFC 3720 (iSCSI), B.4: CRC32C test vectors; the table code and the
 * SSE4.2 code agree on them and on unaligned buffers of every length. */
START_TEST(crc32c_vectors)
{
    uint8_t buf[32], big[1000];

    memset(buf, 0, 32);
    ck_assert_uint_eq(wr_crc32c(0, buf, 32), 0x8A9136AAu);
    ck_assert_uint_eq(wr_crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    ck_assert_uint_eq(wr_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(wr_crc32c(0, buf, 32), 0x46DD794Eu);
    ck_assert_uint_eq(wr_crc32c_sw(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(wr_crc32c(0, buf, 32), 0x113FDB5Cu);
    ck_assert_uint_eq(wr_crc32c(0, "123456789", 9), 0xE3069283u);
    /* Continuation: two calls give the checksum of the concatenation. */
    ck_assert_uint_eq(wr_crc32c(wr_crc32c(0, "1234", 4), "56789", 5),
                      0xE3069283u);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof big; len += 37)
            ck_assert_uint_eq(wr_crc32c(0, big + off, len),
                              wr_crc32c_sw(0, big + off, len));
}
END_TEST

/* The chunk header keeps the stream protocol's field order (STORE.md
 * "Chunk header"): golden bytes, and a bad checksum is refused. */
START_TEST(chunk_header_layout)
{
    struct wr_chunk_hdr h = {WR_CHUNK_RECORDS,
                             3,
                             3,
                             0x0102030405060708,
                             9,
                             0x1122334455667788,
                             0,
                             0x100,
                             0};
    struct wr_chunk_hdr d;
    uint8_t p[WR_CHUNK_HDR_SIZE];
    static const uint8_t want[44] = {
        0xA1, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03,
        0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x09, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};

    wr_chunk_hdr_encode(p, &h);
    ck_assert_mem_eq(p, want, 44);
    ck_assert_uint_eq(wr_store_get32(p + 44), wr_crc32c(0, p, 44));
    ck_assert_int_eq(wr_chunk_hdr_decode(p, &d), WR_OK);
    ck_assert_uint_eq(d.first, h.first);
    ck_assert_uint_eq(d.records, 3);
    ck_assert_int_eq(d.time_ms, h.time_ms);
    ck_assert_uint_eq(d.data_len, 0x100);
    p[20] ^= 1;
    ck_assert_int_eq(wr_chunk_hdr_decode(p, &d), WR_ERR_SYNTAX);
}
END_TEST

START_TEST(segment_names)
{
    char name[WR_SEG_NAME_LEN];
    uint64_t v;

    wr_seg_name(name, 171203);
    ck_assert_str_eq(name, "00000000000000171203.seg");
    ck_assert(wr_seg_parse_name(name, &v));
    ck_assert_uint_eq(v, 171203);
    wr_seg_name(name, UINT64_MAX);
    ck_assert(wr_seg_parse_name(name, &v));
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert(!wr_seg_parse_name("0000000000000017120.seg", &v));
    ck_assert(!wr_seg_parse_name("00000000000000171203.seg~", &v));
    ck_assert(!wr_seg_parse_name("99999999999999999999.seg", &v));
    ck_assert(!wr_seg_parse_name("LOCK", &v));
}
END_TEST

/* ==== append, read, recover ============================================= */

/* Records read back from the pending chunk, from the file, and after a
 * reopen, in order, with the same locations. */
START_TEST(append_read_recover)
{
    struct wr_store_opts o = {.segment_size = 64 * 1024, .chunk_max = 4096};
    static struct wr_store_loc locs[1000];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    struct wr_store_stats stats;
    struct wr_bytes parts[3] = {
        WR_BYTES_LIT("ab"), {NULL, 0}, WR_BYTES_LIT("cde")};
    struct wr_store_loc l5;
    uint8_t buf[8];

    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(wr_store_end(st), 0);
    append_n(st, 0, 10, locs);
    for (uint64_t i = 0; i < 10; i++) /* pending, not yet written */
        check_read(st, &locs[i], i);
    ck_assert_int_eq(wr_store_flush(st, 3000), WR_OK);
    append_n(st, 10, 990, locs); /* chunks of 4 KiB, several segments */
    ck_assert_int_eq(wr_store_flush(st, 3000), WR_OK);
    for (uint64_t i = 0; i < 1000; i++)
        check_read(st, &locs[i], i);
    /* A record made of several parts, one of them empty. */
    ck_assert_int_eq(wr_store_append(st, 7, parts, 3, 4000, &l5), WR_OK);
    ck_assert_uint_eq(l5.len, 5);
    ck_assert_int_eq(wr_store_read(st, &l5, buf, 5, NULL), WR_OK);
    ck_assert_mem_eq(buf, "abcde", 5);
    ck_assert_int_eq(wr_store_read(st, &l5, buf, 4, NULL), WR_ERR_NOSPACE);
    /* Scattered: pending, then written. */
    for (int written = 0; written < 2; written++) {
        char a[2], b[1] = {0}, c[2];
        struct wr_store_buf bufs[3] = {{a, 2}, {b, 0}, {c, 2}};

        ck_assert_int_eq(wr_store_readv(st, &l5, bufs, 3, NULL),
                         WR_ERR_NOSPACE);
        bufs[1].len = 1;
        ck_assert_int_eq(wr_store_readv(st, &l5, bufs, 3, NULL), WR_OK);
        ck_assert_mem_eq(a, "ab", 2);
        ck_assert_mem_eq(b, "c", 1);
        ck_assert_mem_eq(c, "de", 2);
        ck_assert_int_eq(wr_store_flush(st, 4000), WR_OK);
    }
    wr_store_stats(st, &stats);
    ck_assert_uint_ge(stats.segments, 3);
    ck_assert_uint_eq(stats.live_refs, 1001);
    wr_store_close(st);

    memset(&s, 0, sizeof s);
    s.ref = true;
    st = open_store(&o, &s);
    ck_assert_uint_eq(s.n, 1001);
    ck_assert_uint_eq(s.damages, 0);
    for (uint64_t i = 0; i < 1000; i++) {
        ck_assert_uint_eq(s.loc[i].offset, i);
        ck_assert_uint_eq(s.loc[i].pos, locs[i].pos);
        ck_assert_uint_eq(s.type[i], 1 + i % 200);
        check_read(st, &s.loc[i], i);
    }
    ck_assert_uint_eq(s.type[1000], 7);
    ck_assert_uint_eq(wr_store_end(st), 1001);
    ck_assert_uint_eq(wr_store_durable(st), 1001);
    /* Once nothing is referenced, every segment but the active one goes. */
    wr_store_stats(st, &stats);
    ck_assert_uint_ge(stats.segments, 3);
    ck_assert_uint_eq(stats.live_refs, 1001);
    for (size_t i = 0; i < s.n; i++)
        wr_store_unref(st, &s.loc[i]);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    wr_store_stats(st, &stats);
    ck_assert_uint_eq(stats.segments, 1);
    ck_assert_uint_eq(count_segments(), 1);
    wr_store_close(st);
}
END_TEST

START_TEST(append_refuses)
{
    struct seen s = {0};
    struct wr_store *st = NULL;
    struct wr_store_loc loc;
    struct wr_bytes p = WR_BYTES_LIT("x");
    char err[128];

    ck_assert_int_eq(wr_store_open(dir, NULL, &st, err, sizeof err), WR_OK);
    /* Not before recovery. */
    ck_assert_int_eq(wr_store_append(st, 1, &p, 1, 1, &loc), WR_ERR_INVALID);
    s.st = st;
    ck_assert_int_eq(wr_store_recover(st, on_record, NULL, &s, 1000), WR_OK);
    ck_assert_int_eq(wr_store_recover(st, on_record, NULL, &s, 1000),
                     WR_ERR_INVALID);
    ck_assert_int_eq(wr_store_append(st, 0, &p, 1, 1, &loc), WR_ERR_INVALID);
    ck_assert_int_eq(wr_store_append(st, 240, &p, 1, 1, &loc), WR_ERR_INVALID);
    ck_assert_int_eq(wr_store_append(st, 239, &p, 1, 1, &loc), WR_OK);
    wr_store_close(st);
}
END_TEST

/* A record larger than a segment gets a segment of its own size. */
START_TEST(record_larger_than_segment)
{
    struct wr_store_opts o = {.segment_size = 4096, .chunk_max = 1024};
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    static uint8_t big[20000], back[20000];
    struct wr_bytes p = {big, sizeof big};
    struct wr_store_loc loc;

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    ck_assert_int_eq(wr_store_append(st, 2, &p, 1, 1000, &loc), WR_OK);
    ck_assert_int_eq(wr_store_flush(st, 1000), WR_OK);
    ck_assert_int_eq(wr_store_read(st, &loc, back, sizeof back, NULL), WR_OK);
    ck_assert_mem_eq(back, big, sizeof big);
    wr_store_close(st);
    memset(&s, 0, sizeof s);
    st = open_store(&o, &s);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.loc[0].len, sizeof big);
    wr_store_close(st);
}
END_TEST

/* ==== group commit ====================================================== */

static atomic_int gate_open, gate_waiting;

/* Holds every sync until the test opens the gate: a slow disk. */
static int
gated_sync(int fd)
{
    atomic_store(&gate_waiting, 1);
    while (!atomic_load(&gate_open))
        usleep(1000);
    return fdatasync(fd);
}

/* With a read-ahead window, records read in order, out of order, across
 * segments, from the pending chunk and larger than the window all read
 * back as without one; a damaged record is still refused. */
START_TEST(readahead_window)
{
    struct wr_store_opts o = {.segment_size = 64 * 1024, .chunk_max = 4096};
    static struct wr_store_loc locs[1000];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    static uint8_t big[3000], got[3000];
    struct wr_bytes part = {big, sizeof big};
    struct wr_store_loc bl;

    append_n(st, 0, 990, locs); /* several segments */
    memset(big, 0x5a, sizeof big);
    ck_assert_int_eq(wr_store_append(st, 9, &part, 1, 2000, &bl), WR_OK);
    ck_assert_int_eq(wr_store_flush(st, 3000), WR_OK);
    append_n(st, 991, 9, locs); /* pending */
    ck_assert_int_eq(wr_store_readahead(st, 2048), WR_OK);
    for (uint64_t i = 0; i < 1000; i++)
        if (i != 990)
            check_read(st, &locs[i], i);
    for (int64_t i = 989; i >= 0; i -= 7) /* backwards */
        check_read(st, &locs[i], (uint64_t)i);
    ck_assert_int_eq(wr_store_read(st, &bl, got, sizeof got, NULL), WR_OK);
    ck_assert_mem_eq(got, big, sizeof big); /* larger than the window */
    ck_assert_int_eq(wr_store_readahead(st, 0), WR_OK);
    /* a flipped byte in a written record: refused with a window too */
    for (size_t i = 0; i < wr_store_segments(st); i++) {
        struct wr_store_seginfo si;
        wr_store_segment(st, i, &si);
        if (si.first <= 100 && 100 < si.end)
            flip_byte(si.first, locs[100].pos + 20);
    }
    ck_assert_int_eq(wr_store_readahead(st, 2048), WR_OK);
    check_read(st, &locs[99], 99);
    ck_assert_int_eq(wr_store_read(st, &locs[100], got, sizeof got, NULL),
                     WR_ERR_SYNTAX);
    check_read(st, &locs[101], 101);
    wr_store_close(st);
}
END_TEST

/* While one sync runs, many flushes pile up and the next sync covers them
 * all; the eventfd wakes the loop and poll gives the durable position. */
START_TEST(group_commit)
{
    struct wr_store_opts o = {.sync_fn = gated_sync};
    static struct wr_store_loc locs[200];
    struct seen s = {0};
    struct wr_store *st;
    struct pollfd pfd;
    struct wr_store_stats a, b;
    uint64_t durable = 0;

    atomic_store(&gate_open, 1);
    st = open_store(&o, &s);
    pfd = (struct pollfd){wr_store_event_fd(st), POLLIN, 0};
    wr_store_stats(st, &a);
    atomic_store(&gate_open, 0);
    atomic_store(&gate_waiting, 0);
    /* The first turn's sync blocks on the disk ... */
    append_n(st, 0, 2, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    while (!atomic_load(&gate_waiting))
        usleep(1000);
    /* ... while 99 more turns are written, without waiting. */
    for (uint64_t turn = 1; turn < 100; turn++) {
        append_n(st, turn * 2, 2, locs);
        ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    }
    ck_assert_uint_eq(wr_store_durable(st), 0);
    atomic_store(&gate_open, 1);
    while (durable < 200) {
        ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
        ck_assert_int_eq(wr_store_poll(st, &durable), WR_OK);
    }
    ck_assert_uint_eq(durable, 200);
    /* Two rounds: the one that was waiting, and one for the 99 turns. */
    wr_store_stats(st, &b);
    ck_assert_uint_eq(b.syncs - a.syncs, 2);
    /* Drained: no event until the next sync. The last round's wake-up may
     * land after poll saw its durable position (the sync thread publishes
     * the position, then writes the eventfd): at most that one remains. */
    if (poll(&pfd, 1, 200) == 1) {
        ck_assert_int_eq(wr_store_poll(st, &durable), WR_OK);
        ck_assert_uint_eq(durable, 200);
    }
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    wr_store_close(st);
}
END_TEST

/* ==== reclamation ======================================================= */

/* Segments whose records are all unreferenced are deleted, oldest first,
 * never the active one; a read of a reclaimed record says NOT_FOUND. */
START_TEST(reclaim_segments)
{
    struct wr_store_opts o = {.segment_size = 4096, .chunk_max = 1024};
    static struct wr_store_loc locs[400];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    struct wr_store_stats a, b;
    uint8_t buf[512];

    append_n(st, 0, 400, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 400), WR_OK);
    wr_store_stats(st, &a);
    ck_assert_uint_gt(a.segments, 10);
    ck_assert_uint_eq(count_segments(), a.segments);
    /* Keep record 200 only. */
    for (uint64_t i = 0; i < 400; i++)
        if (i != 200)
            wr_store_unref(st, &locs[i]);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    wr_store_stats(st, &b);
    ck_assert_uint_eq(b.segments, 2); /* 200's, and the active one */
    ck_assert_uint_eq(b.reclaimed, a.segments - 2);
    ck_assert_uint_eq(count_segments(), 2);
    ck_assert_uint_eq(b.live_refs, 1);
    check_read(st, &locs[200], 200);
    ck_assert_int_eq(wr_store_read(st, &locs[10], buf, sizeof buf, NULL),
                     WR_ERR_NOT_FOUND);
    wr_store_unref(st, &locs[200]);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_uint_eq(count_segments(), 1);
    wr_store_close(st);
}
END_TEST

/* A tombstone outlives the record it cancels: its segment stays until the
 * target's segment is gone (and that unlink is durable). */
START_TEST(reclaim_pins)
{
    struct wr_store_opts o = {.segment_size = 4096, .chunk_max = 1024};
    static struct wr_store_loc locs[100];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    struct wr_store_loc target, tomb;
    struct wr_store_seg *tseg;
    struct wr_bytes p = WR_BYTES_LIT("enqueue");

    ck_assert_int_eq(wr_store_append(st, 2, &p, 1, 1, &target), WR_OK);
    append_n(st, 1, 60, locs);
    p = WR_BYTES_LIT("ack");
    ck_assert_int_eq(wr_store_append(st, 3, &p, 1, 1, &tomb), WR_OK);
    append_n(st, 62, 38, locs); /* tomb's segment is no longer active */
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 100), WR_OK);
    for (uint64_t i = 1; i < 100; i++)
        if (i != 61)
            wr_store_unref(st, &locs[i]);
    wr_store_pin(st, &tomb, &target);
    wr_store_unref(st, &tomb);
    tseg = wr_store_find_seg(st, tomb.offset);
    ck_assert_ptr_nonnull(tseg);
    ck_assert_uint_eq(tseg->live, 1); /* the pin */
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_ptr_nonnull(wr_store_find_seg(st, tomb.offset));
    ck_assert_ptr_nonnull(wr_store_find_seg(st, target.offset));
    /* The enqueue is settled: its segment goes, then the ack's. */
    wr_store_unref(st, &target);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_ptr_null(wr_store_find_seg(st, target.offset));
    /* After the directory sync that makes that unlink durable. */
    for (int i = 0; i < 50 && wr_store_find_seg(st, tomb.offset); i++) {
        struct pollfd pfd = {wr_store_event_fd(st), POLLIN, 0};

        poll(&pfd, 1, 1000);
        ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    }
    ck_assert_ptr_null(wr_store_find_seg(st, tomb.offset));
    wr_store_close(st);
}
END_TEST

/* A segment whose last reference goes is not deleted before the records
 * appended until then (the SETTLE that ended it) are durable: the kill
 * loop (tests/soak) found a MSG's file deleted while the SETTLE of its ENQ,
 * whose own file lived on, was still pending, so the restart brought the
 * ENQ back without its message ("could not be read back"). */
START_TEST(reclaim_waits_for_the_tombstone)
{
    struct wr_store_opts o = {.segment_size = 4096, .chunk_max = 1024};
    static struct wr_store_loc locs[100];
    struct seen s = {0};
    struct wr_store *st = open_store(&o, &s);
    struct wr_store_loc msg, tomb;
    struct wr_bytes p = WR_BYTES_LIT("message");

    ck_assert_int_eq(wr_store_append(st, 1, &p, 1, 1, &msg), WR_OK);
    append_n(st, 1, 99, locs); /* msg's segment is sealed */
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 100), WR_OK);
    for (uint64_t i = 1; i < 100; i++)
        if (wr_store_find_seg(st, i) != wr_store_find_seg(st, msg.offset))
            wr_store_unref(st, &locs[i]);
    for (uint64_t i = 1; i < 100; i++) /* msg's segment: only msg left */
        if (wr_store_find_seg(st, i) == wr_store_find_seg(st, msg.offset))
            wr_store_unref(st, &locs[i]);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_ptr_nonnull(wr_store_find_seg(st, msg.offset)); /* held */
    /* The settle: its tombstone is appended, then the reference goes;
     * the tombstone is pending (not even written) */
    p = WR_BYTES_LIT("settle");
    ck_assert_int_eq(wr_store_append(st, 3, &p, 1, 1, &tomb), WR_OK);
    wr_store_unref(st, &msg);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_ptr_nonnull(wr_store_find_seg(st, msg.offset));
    /* once it is durable, the file goes */
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, tomb.offset + 1), WR_OK);
    ck_assert_int_eq(wr_store_poll(st, NULL), WR_OK);
    ck_assert_ptr_null(wr_store_find_seg(st, msg.offset));
    wr_store_unref(st, &tomb);
    wr_store_close(st);
}
END_TEST

/* ==== the lock ========================================================== */

START_TEST(lock_refuses_second)
{
    struct seen s = {0};
    struct wr_store *st = open_store(NULL, &s), *st2 = NULL;
    char err[256];
    pid_t pid;
    int status, fd;

    ck_assert_int_eq(wr_store_open(dir, NULL, &st2, err, sizeof err),
                     WR_ERR_EXISTS);
    ck_assert_ptr_null(st2);
    ck_assert_ptr_nonnull(strstr(err, "in use by another warren"));
    ck_assert_ptr_nonnull(strstr(err, dir));
    /* Another process is refused the same way. */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char e2[256];

        _exit(wr_store_lock_dir(dir, &fd, e2, sizeof e2) == WR_ERR_EXISTS ? 0
                                                                          : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    wr_store_close(st);
    /* Released on close. */
    ck_assert_int_eq(wr_store_lock_dir(dir, &fd, err, sizeof err), WR_OK);
    wr_store_unlock_dir(fd);
}
END_TEST

/* ==== failing fdatasync ================================================= */

static atomic_int fail_syncs;

static int
failing_sync(int fd)
{
    if (atomic_load(&fail_syncs)) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

/* A failed sync is not retried: the durable position stops, the store is
 * failed for good, appends and flushes say so. */
START_TEST(sync_error_fails_store)
{
    struct wr_store_opts o = {.sync_fn = failing_sync};
    static struct wr_store_loc locs[20];
    struct seen s = {0};
    struct wr_store *st;
    struct wr_store_loc loc;
    struct wr_bytes p = WR_BYTES_LIT("x");
    struct pollfd pfd;
    uint64_t durable = 0;

    atomic_store(&fail_syncs, 0);
    st = open_store(&o, &s);
    pfd = (struct pollfd){wr_store_event_fd(st), POLLIN, 0};
    append_n(st, 0, 10, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 10), WR_OK);
    atomic_store(&fail_syncs, 1);
    append_n(st, 10, 10, locs);
    ck_assert_int_eq(wr_store_flush(st, 5000), WR_OK);
    ck_assert_int_eq(wr_store_wait(st, 20), WR_ERR_IO);
    ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    ck_assert_int_eq(wr_store_poll(st, &durable), WR_ERR_IO);
    ck_assert_uint_eq(durable, 10);
    ck_assert_int_eq(wr_store_failed(st), EIO);
    /* Even once the disk "works" again. */
    atomic_store(&fail_syncs, 0);
    ck_assert_int_eq(wr_store_append(st, 1, &p, 1, 1, &loc), WR_ERR_IO);
    ck_assert_int_eq(wr_store_flush(st, 1), WR_ERR_IO);
    ck_assert_uint_eq(wr_store_durable(st), 10);
    wr_store_close(st);
    /* A restart recovers what is on disk. */
    memset(&s, 0, sizeof s);
    st = open_store(NULL, &s);
    ck_assert_uint_eq(s.n, 20);
    ck_assert_int_eq(wr_store_failed(st), 0);
    wr_store_close(st);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc;

    tc = tcase_create("format");
    tcase_add_test(tc, crc32c_vectors);
    tcase_add_test(tc, chunk_header_layout);
    tcase_add_test(tc, segment_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("append");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, append_read_recover);
    tcase_add_test(tc, append_refuses);
    tcase_add_test(tc, record_larger_than_segment);
    tcase_add_test(tc, group_commit);
    tcase_add_test(tc, readahead_window);
    suite_add_tcase(s, tc);

    tc = store_recovery_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("reclaim");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reclaim_segments);
    tcase_add_test(tc, reclaim_pins);
    tcase_add_test(tc, reclaim_waits_for_the_tombstone);
    suite_add_tcase(s, tc);

    tc = tcase_create("failure");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lock_refuses_second);
    tcase_add_test(tc, sync_error_fails_store);
    suite_add_tcase(s, tc);

    tc = store_model_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);

    tc = store_cursor_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);

    tc = store_offsets_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);

    tc = store_compact_tcase();
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
