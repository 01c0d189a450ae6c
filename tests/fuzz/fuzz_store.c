/* SPDX-License-Identifier: MIT */
/* libFuzzer target: recovery over arbitrary segment bytes (STORE.md
 * "Recovery"). Input: a mode byte, a 16-bit split point, then the bytes of
 * one segment file, or two when the mode's bit 0 is set. Bit 1 clear: the
 * scanner runs over memory and every record it gives back must lie inside
 * the bytes, carry a good checksum and have a larger offset than the one
 * before. Bit 1 set: the bytes are written as segment files and the store
 * recovers them for real; every record must read back the same through
 * wr_store_read, a record appended after recovery must come back from the
 * next recovery (so a torn tail was cut cleanly), and nothing may leak. */
#include "../../store/store_internal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_store.c:%d: check failed\n", line);
        abort();
    }
}
#define check(ok) check_at((ok), __LINE__)

struct ctx {
    const uint8_t *buf; /* memory mode: the scanned bytes */
    size_t len;
    struct wr_store *st; /* file mode */
    bool have_last;
    uint64_t last;
    uint64_t count;
    uint64_t want_offset; /* second recovery: the appended record */
    bool found;
};

static int
on_record(void *arg, uint8_t type, const struct wr_store_loc *loc,
          struct wr_bytes payload, int64_t time_ms)
{
    struct ctx *c = arg;

    (void)time_ms;
    check(payload.len == loc->len);
    check(!c->have_last || loc->offset > c->last);
    c->have_last = true;
    c->last = loc->offset;
    c->count++;
    if (c->buf != NULL) {
        check(loc->pos <= c->len &&
              (uint64_t)loc->pos + WR_REC_HDR_SIZE + loc->len <= c->len);
        check(payload.ptr == c->buf + loc->pos + WR_REC_HDR_SIZE);
        check(c->buf[loc->pos + 4] == type);
        check(wr_rec_check(c->buf + loc->pos, payload.ptr, payload.len) ==
              WR_OK);
    }
    if (c->st != NULL) {
        uint8_t *back = wr_malloc(loc->len ? loc->len : 1);
        uint8_t t = 0;

        check(back != NULL);
        check(wr_store_read(c->st, loc, back, loc->len, &t) == WR_OK);
        check(t == type && memcmp(back, payload.ptr, loc->len) == 0);
        wr_free(back);
        wr_store_ref(c->st, loc);
        if (c->want_offset == loc->offset && type == 42 && loc->len == 5 &&
            memcmp(payload.ptr, "fuzz!", 5) == 0)
            c->found = true;
    }
    return WR_OK;
}

static void
on_damage(void *arg, const struct wr_store_damage *d)
{
    struct ctx *c = arg;

    check(d->file != NULL && d->what != NULL);
    if (c->buf != NULL)
        check(d->pos <= c->len && d->len <= c->len - d->pos);
}

static int
no_sync(int fd)
{
    (void)fd;
    return 0;
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
write_file(const char *dir, uint64_t first, const uint8_t *p, size_t n)
{
    char path[512], name[WR_SEG_NAME_LEN];
    FILE *f;

    wr_seg_name(name, first);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    check(f != NULL);
    check(n == 0 || fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* The offset a file is named by: its header's, else a fixed one. */
static uint64_t
first_of(const uint8_t *p, size_t n, uint64_t dflt)
{
    uint64_t first;

    if (n >= WR_SEG_HDR_SIZE && wr_seg_hdr_decode(p, &first) == WR_OK &&
        first < (1ull << 40))
        return first;
    return dflt;
}

/* A stream's reader over what recovery kept (store/cursor.c): chunks
 * only below the end, records in increasing offsets and never more good
 * ones than recovery found, and it always comes to an end. */
static void
read_in_order(struct wr_store *st, uint64_t recovered)
{
    uint8_t *buf = NULL;
    uint32_t cap = 0;
    uint64_t good = 0, end = wr_store_end(st), last = 0;
    bool have = false;

    for (int from = 0; from < 2; from++) {
        struct wr_store_cursor c;
        int steps = 0, rc;
        struct wr_store_chunk ch;

        wr_store_seek(st, from ? end / 2 : 0, &c);
        good = 0;
        have = false;
        while ((rc = wr_store_read_chunk(st, &c, end, &buf, &cap, &ch)) !=
               WR_ERR_NOT_FOUND) {
            uint32_t pos = 0;
            uint8_t type;
            struct wr_bytes p;

            check(++steps < 100000);
            check(rc == WR_OK || rc == WR_ERR_SYNTAX);
            if (rc != WR_OK)
                continue;
            check(ch.first + ch.records <= end);
            check(!have || ch.first > last);
            while (wr_store_chunk_next(&ch, &pos, &type, &p) == WR_OK) {
                check(p.ptr >= ch.data && p.ptr + p.len <= ch.data + ch.len);
                good++;
            }
            have = ch.records > 0;
            if (have)
                last = ch.first + ch.records - 1;
        }
        /* what recovery found, read in order: never more */
        check(good <= recovered);
    }
    wr_free(buf);
}

static void
run_files(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
          bool two)
{
    static char dir[64];
    struct wr_store_opts o = {.segment_size = 64 * 1024,
                              .sync_fn = no_sync,
                              .index_every = 512,
                              .compact = true};
    struct ctx c = {0};
    struct wr_store *st = NULL;
    struct wr_store_loc loc;
    struct wr_bytes p = WR_BYTES_LIT("fuzz!");
    uint64_t fa = first_of(a, alen, 0), fb;
    int rc;

    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "/dev/shm/fuzz_store.%ld", (long)getpid());
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    check(mkdir(dir, 0700) == 0);
    write_file(dir, fa, a, alen);
    if (two) {
        fb = first_of(b, blen, fa + 1000);
        if (fb != fa)
            write_file(dir, fb, b, blen);
    }
    check(wr_store_open(dir, &o, &st, NULL, 0) == WR_OK);
    c.st = st;
    check(wr_store_recover(st, on_record, on_damage, &c, 1) == WR_OK);
    read_in_order(st, c.count);
    /* After recovery the log takes a record, and gives it back. */
    rc = wr_store_append(st, 42, &p, 1, 2, &loc);
    check(rc == WR_OK);
    check(loc.offset == wr_store_end(st) - 1);
    check(wr_store_flush(st, 2) == WR_OK);
    wr_store_close(st);

    memset(&c, 0, sizeof c);
    c.want_offset = loc.offset;
    check(wr_store_open(dir, &o, &st, NULL, 0) == WR_OK);
    c.st = st;
    /* this pass reads the records back through a small read-ahead window */
    check(wr_store_readahead(st, 512) == WR_OK);
    check(wr_store_recover(st, on_record, on_damage, &c, 3) == WR_OK);
    check(c.found);
    wr_store_close(st);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t base = wr_alloc_used(), split, alen, blen;
    const uint8_t *a, *b;
    bool two, files;

    if (size < 3 || size > (1u << 20))
        return 0;
    two = data[0] & 1;
    files = data[0] & 2;
    a = data + 3;
    alen = size - 3;
    split = two ? ((size_t)data[1] << 8 | data[2]) % (alen + 1) : alen;
    b = a + split;
    blen = alen - split;
    alen = split;

    if (files) {
        run_files(a, alen, b, blen, two);
    } else {
        struct ctx c = {0};
        struct wr_scan s = {.cb = on_record, .damage = on_damage, .arg = &c};
        uint64_t fb = first_of(b, blen, 1000);

        s.file = "a";
        s.limit = two ? fb : UINT64_MAX;
        c.buf = a;
        c.len = alen;
        check(wr_store_scan(&s, a, alen, !two) == WR_OK);
        check(s.end <= alen);
        if (two) {
            if (fb > s.expect)
                s.expect = fb;
            s.file = "b";
            s.limit = UINT64_MAX;
            c.buf = b;
            c.len = blen;
            check(wr_store_scan(&s, b, blen, true) == WR_OK);
            check(s.end <= blen);
        }
    }
    check(wr_alloc_used() == base);
    return 0;
}
