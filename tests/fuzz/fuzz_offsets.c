/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a stream's consumer offsets file read back from disk
 * (store/offsets.c, STORE.md "Consumer offsets"). Input: a mode byte, then
 * the file's bytes. The scan over memory must give back only records that
 * decode and encode back to themselves, and report damage inside the
 * bytes. Then the bytes are written as the file and opened for real (a
 * cap of 1 to 8 tags, from the mode byte): every tag kept must have the
 * last offset the scan saw for it, a tag set after the open must come
 * back from the next open with no damage reported, and nothing may
 * leak. */
#include "../../store/store_internal.h"

#include <fcntl.h>
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
        fprintf(stderr, "fuzz_offsets.c:%d: check failed\n", line);
        abort();
    }
}
#define check(ok) check_at((ok), __LINE__)

#define MAX_MODEL 2048

/* The last offset of each tag, in the order the scan saw them. */
struct model {
    struct wr_bytes tag[MAX_MODEL];
    uint64_t off[MAX_MODEL];
    size_t n;
    size_t len; /* the image's length, for damage positions */
    int damages;
};

static void
on_rec(void *arg, struct wr_bytes tag, uint64_t offset)
{
    struct model *m = arg;
    uint8_t buf[WR_OFFREC_MAX];
    struct wr_bytes t2;
    uint64_t o2;
    size_t n, n2;

    check(tag.len >= 1 && tag.len <= WR_OFFREC_TAG_MAX);
    n = wr_offrec_encode(tag.ptr, tag.len, offset, buf);
    check(wr_offrec_decode(buf, n, &t2, &o2, &n2) == WR_OK);
    check(n2 == n && o2 == offset && t2.len == tag.len);
    /* the record is the file's own bytes */
    check(memcmp(tag.ptr - WR_OFFREC_HDR, buf, n) == 0);
    for (size_t i = 0; i < m->n; i++) {
        if (wr_bytes_eq(m->tag[i], tag)) {
            m->off[i] = offset;
            return;
        }
    }
    check(m->n < MAX_MODEL);
    m->tag[m->n] = tag;
    m->off[m->n++] = offset;
}

static void
on_damage(void *arg, const struct wr_store_damage *d)
{
    struct model *m = arg;

    check(d->file != NULL && d->what != NULL);
    check(d->pos <= m->len && d->len <= m->len - d->pos);
    m->damages++;
}

static void
count_damage(void *arg, const struct wr_store_damage *d)
{
    (void)d;
    (*(int *)arg)++;
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
run_file(const uint8_t *data, size_t len, uint32_t cap, const struct model *m)
{
    static char dir[64];
    char path[128], err[256];
    struct wr_offsets *o = NULL;
    uint64_t v;
    int fd, damages = 0;

    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "/dev/shm/fuzz_offsets.%ld", (long)getpid());
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    check(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/offsets", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0);
    check(len == 0 || write(fd, data, len) == (ssize_t)len);
    close(fd);

    check(wr_offsets_open(dir, cap, count_damage, &damages, &o, err,
                          sizeof err) == WR_OK);
    check(wr_offsets_count(o) <= cap);
    check(wr_offsets_count(o) == (m->n < cap ? m->n : cap));
    for (size_t i = 0; i < m->n; i++) {
        if (wr_offsets_get(o, m->tag[i].ptr, m->tag[i].len, &v))
            check(v == m->off[i]);
    }
    check(wr_offsets_set(o, "fuzz!", 5, 4242) == WR_OK);
    check(wr_offsets_close(o) == WR_OK);

    /* what was read (and set) comes back, from a clean file */
    damages = 0;
    check(wr_offsets_open(dir, cap, count_damage, &damages, &o, err,
                          sizeof err) == WR_OK);
    check(damages == 0);
    check(wr_offsets_get(o, "fuzz!", 5, &v) && v == 4242);
    for (size_t i = 0; i < m->n; i++) {
        if (wr_offsets_get(o, m->tag[i].ptr, m->tag[i].len, &v) &&
            !(m->tag[i].len == 5 && memcmp(m->tag[i].ptr, "fuzz!", 5) == 0))
            check(v == m->off[i]);
    }
    wr_offsets_destroy(o);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    size_t base = wr_alloc_used(), end = 0;
    int bad;

    if (size < 1 || size > (16u << 10))
        return 0;
    memset(&m, 0, sizeof m);
    m.len = size - 1;
    bad = wr_offsets_scan(data + 1, size - 1, on_rec, &m, on_damage, &m, &end);
    check(bad == m.damages);
    check(end <= size - 1);
    if (bad == 0)
        check(end == size - 1);
    run_file(data + 1, size - 1, 1 + (data[0] & 7), &m);
    check(wr_alloc_used() == base);
    return 0;
}
