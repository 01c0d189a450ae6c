/* SPDX-License-Identifier: MIT */
/* Unit tests of store/ (docs/internals/STORE.md): CRC32C, the headers,
 * append and read back, group commit, recovery over torn and corrupted
 * files, reclamation, the directory lock and a failing fdatasync (through
 * the sync_fn seam). Suite "store". */
#include "../../store/store_internal.h"

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
#include <signal.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

uint32_t wr_crc32c_sw(uint32_t crc, const void *buf, size_t len);

static char dir[256];
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

#define MAX_SEEN 4096

struct seen {
    size_t n;
    uint8_t type[MAX_SEEN];
    struct wr_store_loc loc[MAX_SEEN];
    uint8_t first_byte[MAX_SEEN];
    size_t damages, torn;
    uint64_t damage_pos[16];
    bool ref; /* take a reference on each */
    struct wr_store *st;
};

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

static struct wr_store *
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

static void
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

static void
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

static void
file_path(char *out, size_t n, uint64_t first)
{
    char name[WR_SEG_NAME_LEN];

    wr_seg_name(name, first);
    snprintf(out, n, "%s/%s", dir, name);
}

static void
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

static size_t
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
    /* Drained: no event until the next sync. */
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    wr_store_close(st);
}
END_TEST

/* ==== recovery of damage ================================================ */

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

/* ==== a model of the API ================================================
 *
 * Random sequences of append, flush, release, ack (a tombstone pinned to
 * the record it cancels, as a queue's settle will do), poll and reopen,
 * against a model of what must be on disk: every record still referenced
 * reads back and is recovered, and no acked record comes back without its
 * tombstone. Small segments, so reclamation runs all the time. Then the
 * same with the writer killed (SIGKILL) in the middle. */

#define M_MAX 8192

struct mrec {
    bool held;    /* the test holds a reference */
    bool tomb;    /* cancels `target` */
    bool flushed; /* written before the last flush */
    bool recovered;
    uint64_t target;
    uint32_t len;
    struct wr_store_loc loc;
};

static struct mrec mrecs[M_MAX];
static uint64_t mnext, mseed, mreclaimed;
static int mops = 3000; /* operations a run; fewer under valgrind */
static struct wr_store *mst;

static uint64_t
mrand(void)
{
    mseed ^= mseed << 13;
    mseed ^= mseed >> 7;
    mseed ^= mseed << 17;
    return mseed;
}

static uint8_t
mbyte(uint64_t off, uint32_t i)
{
    return (uint8_t)(off * 131 + i * 7 + (off >> 3));
}

/* One assertion per record: Check reports every assertion's place to its
 * parent with a write, so none goes in a loop over bytes. */
static bool
m_bytes_ok(const uint8_t *p, uint64_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != mbyte(off, i))
            return false;
    return true;
}

static int
no_sync(int fd)
{
    (void)fd;
    return 0;
}

static int
m_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
         struct wr_bytes payload, int64_t time_ms)
{
    struct mrec *r;

    (void)arg;
    (void)time_ms;
    ck_assert_uint_lt(loc->offset, mnext);
    r = &mrecs[loc->offset];
    ck_assert_uint_eq(type, r->tomb ? 3 : 1);
    ck_assert_uint_eq(payload.len, r->len);
    ck_assert(m_bytes_ok(payload.ptr, loc->offset, payload.len));
    r->recovered = true;
    r->loc = *loc;
    if (r->held)
        wr_store_ref(mst, loc);
    /* As a queue will: a tombstone whose target is still there is kept
     * for as long as the target's segment is. */
    if (r->tomb && mrecs[r->target].recovered)
        wr_store_pin(mst, loc, &mrecs[r->target].loc);
    return WR_OK;
}

static void
m_damage(void *arg, const struct wr_store_damage *d)
{
    (void)arg;
    ck_abort_msg("damage in %s at %llu: %s", d->file,
                 (unsigned long long)d->pos, d->what);
}

static void
m_open(void)
{
    struct wr_store_opts o = {
        .segment_size = 4096, .chunk_max = 1024, .sync_fn = no_sync};
    char err[256];

    for (uint64_t i = 0; i < mnext; i++)
        mrecs[i].recovered = false;
    ck_assert_int_eq(wr_store_open(dir, &o, &mst, err, sizeof err), WR_OK);
    ck_assert_int_eq(wr_store_recover(mst, m_record, m_damage, NULL, 1000),
                     WR_OK);
}

/* After a recovery: what is referenced came back, and nothing acked came
 * back without its tombstone (durable: flushed before the stop). */
static void
m_check_recovered(void)
{
    for (uint64_t i = 0; i < mnext; i++) {
        const struct mrec *r = &mrecs[i];

        if (r->held && r->flushed && !r->recovered)
            ck_abort_msg("record %llu lost", (unsigned long long)i);
        if (r->tomb && r->flushed && mrecs[r->target].recovered &&
            !r->recovered)
            ck_abort_msg("record %llu back without its tombstone %llu",
                         (unsigned long long)r->target, (unsigned long long)i);
    }
}

/* A random held, non-tombstone record, or UINT64_MAX. */
static uint64_t
m_pick_held(void)
{
    for (int tries = 0; tries < 8 && mnext > 0; tries++) {
        uint64_t i = mrand() % mnext;

        if (mrecs[i].held && !mrecs[i].tomb)
            return i;
    }
    return UINT64_MAX;
}

static void
m_append(bool tomb, uint64_t target)
{
    uint8_t buf[800];
    struct mrec *r = &mrecs[mnext];
    struct wr_bytes part = {buf, 0};

    ck_assert_uint_lt(mnext, M_MAX);
    memset(r, 0, sizeof *r);
    r->len = tomb ? 8 : (uint32_t)(mrand() % 700);
    for (uint32_t i = 0; i < r->len; i++)
        buf[i] = mbyte(mnext, i);
    part.len = r->len;
    r->tomb = tomb;
    r->target = target;
    r->held = !tomb;
    if (mst != NULL) {
        ck_assert_int_eq(
            wr_store_append(mst, tomb ? 3 : 1, &part, 1, 2000, &r->loc), WR_OK);
        ck_assert_uint_eq(r->loc.offset, mnext);
    }
    mnext++;
}

/* One random operation; the model is kept whether or not a store is
 * there (mst NULL: the parent following what a killed child did). */
static void
m_step(bool allow_reopen)
{
    unsigned op = (unsigned)(mrand() % 100);
    uint64_t t;

    if (op < 40) {
        m_append(false, 0);
    } else if (op < 55) {
        if (mst != NULL)
            ck_assert_int_eq(wr_store_flush(mst, 3000), WR_OK);
        for (uint64_t i = 0; i < mnext; i++)
            mrecs[i].flushed = true;
    } else if (op < 72) {
        if ((t = m_pick_held()) != UINT64_MAX) {
            if (mst != NULL)
                wr_store_unref(mst, &mrecs[t].loc);
            mrecs[t].held = false;
        }
    } else if (op < 89) {
        if ((t = m_pick_held()) != UINT64_MAX) {
            m_append(true, t);
            if (mst != NULL) {
                struct mrec *tb = &mrecs[mnext - 1];

                wr_store_pin(mst, &tb->loc, &mrecs[t].loc);
                wr_store_unref(mst, &mrecs[t].loc);
                wr_store_unref(mst, &tb->loc);
            }
            mrecs[t].held = false;
        }
    } else if (op < 97 || !allow_reopen) {
        if (mst != NULL)
            ck_assert_int_eq(wr_store_poll(mst, NULL), WR_OK);
    } else if (mst != NULL) {
        struct wr_store_stats stats;

        wr_store_stats(mst, &stats);
        mreclaimed += stats.reclaimed;
        wr_store_close(mst); /* flushes and syncs */
        for (uint64_t i = 0; i < mnext; i++)
            mrecs[i].flushed = true;
        m_open();
        m_check_recovered();
    }
}

/* Every record still referenced (and, after a kill, flushed) reads back. */
static void
m_check_reads(bool flushed_only)
{
    uint8_t buf[800];

    for (uint64_t i = 0; i < mnext; i++) {
        if (!mrecs[i].held || (flushed_only && !mrecs[i].flushed))
            continue;
        ck_assert_int_eq(
            wr_store_read(mst, &mrecs[i].loc, buf, sizeof buf, NULL), WR_OK);
        ck_assert(m_bytes_ok(buf, i, mrecs[i].len));
    }
}

START_TEST(model_random_ops)
{
    struct wr_store_stats stats;
    size_t before;

    mseed = 0x9E3779B97F4A7C15ull * (uint64_t)(_i + 1);
    mnext = 0;
    mreclaimed = 0;
    mst = NULL;
    m_open();
    for (int n = 0; n < mops; n++) {
        m_step(true);
        if (n % 500 == 499)
            m_check_reads(false);
    }
    m_check_reads(false);
    wr_store_stats(mst, &stats);
    ck_assert_uint_gt(mreclaimed + stats.reclaimed, 0);
    /* Everything released: the log shrinks to its active segment. */
    for (uint64_t i = 0; i < mnext; i++)
        if (mrecs[i].held) {
            wr_store_unref(mst, &mrecs[i].loc);
            mrecs[i].held = false;
        }
    ck_assert_int_eq(wr_store_flush(mst, 4000), WR_OK);
    ck_assert_int_eq(wr_store_wait(mst, wr_store_end(mst)), WR_OK);
    before = count_segments();
    for (int k = 0; k < 100; k++) {
        struct pollfd pfd = {wr_store_event_fd(mst), POLLIN, 0};

        ck_assert_int_eq(wr_store_poll(mst, NULL), WR_OK);
        wr_store_stats(mst, &stats);
        /* The last pins go once the last unlink is durable. */
        if (stats.segments == 1 && stats.live_refs == 0)
            break;
        poll(&pfd, 1, 100);
    }
    wr_store_stats(mst, &stats);
    ck_assert_msg(stats.segments == 1, "%llu segments left of %zu",
                  (unsigned long long)stats.segments, before);
    ck_assert_uint_eq(stats.live_refs, 0);
    wr_store_close(mst);
    mst = NULL;
}
END_TEST

/* The writer is killed after a random number of steps: what it had
 * flushed (the kernel has it) and still referenced comes back, and no
 * acked record whose tombstone was flushed comes back without it. */
START_TEST(model_killed_writer)
{
    uint64_t seed = 0xD1B54A32D192ED03ull * (uint64_t)(_i + 1);
    int steps = mops / 6 + (int)(seed % (uint64_t)(mops / 2)), status;
    pid_t pid;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mseed = seed;
        mnext = 0;
        mst = NULL;
        m_open();
        for (int n = 0; n < steps; n++)
            m_step(false);
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Follow the same steps without a store. */
    mseed = seed;
    mnext = 0;
    mst = NULL;
    for (int n = 0; n < steps; n++)
        m_step(false);
    m_open();
    m_check_recovered();
    m_check_reads(true);
    wr_store_close(mst);
    mst = NULL;
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc;
    int seeds;

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
    suite_add_tcase(s, tc);

    tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, torn_tail);
    tcase_add_test(tc, torn_chunk_header);
    tcase_add_test(tc, bit_flip_record);
    tcase_add_test(tc, bit_flip_chunk_header);
    tcase_add_test(tc, damage_in_older_segment);
    tcase_add_test(tc, bad_segment_header);
    suite_add_tcase(s, tc);

    tc = tcase_create("reclaim");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reclaim_segments);
    tcase_add_test(tc, reclaim_pins);
    suite_add_tcase(s, tc);

    tc = tcase_create("failure");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lock_refuses_second);
    tcase_add_test(tc, sync_error_fails_store);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    /* Under valgrind (make valgrind), two short runs of each. */
    seeds = RUNNING_ON_VALGRIND ? 2 : 8;
    if (RUNNING_ON_VALGRIND)
        mops = 1000;
    tcase_add_loop_test(tc, model_random_ops, 0, seeds);
    tcase_add_loop_test(tc, model_killed_writer, 0, seeds);
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
