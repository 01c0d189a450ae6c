/* SPDX-License-Identifier: MIT */
/* Segment files (STORE.md "Files"): names, creation with preallocation, the
 * directory lock, the sorted list of segments and their reclamation. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void
wr_seg_name(char *out, uint64_t first)
{
    snprintf(out, WR_SEG_NAME_LEN, "%020" PRIu64 ".seg", first);
}

bool
wr_seg_parse_name(const char *name, uint64_t *first)
{
    uint64_t v = 0;

    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');

        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (strcmp(name + 20, ".seg") != 0)
        return false;
    *first = v;
    return true;
}

int
wr_store_lock_dir(const char *dir, int *fd, char *err, size_t errlen)
{
    char path[4096], pid[32];
    int f, n;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        if (err != NULL)
            snprintf(err, errlen, "cannot create data directory %s: %s", dir,
                     strerror(errno));
        return WR_ERR_IO;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/LOCK", dir) >= sizeof path) {
        if (err != NULL)
            snprintf(err, errlen, "data directory name too long");
        return WR_ERR_INVALID;
    }
    f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        if (err != NULL)
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return WR_ERR_IO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        n = (int)pread(f, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(f);
        if (err != NULL) {
            if (e == EWOULDBLOCK)
                snprintf(err, errlen,
                         "data directory %s is in use by another warren "
                         "(pid %s)",
                         dir, pid[0] ? pid : "unknown");
            else
                snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        }
        return e == EWOULDBLOCK ? WR_ERR_EXISTS : WR_ERR_IO;
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        if (err != NULL)
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(f);
        return WR_ERR_IO;
    }
    *fd = f;
    return WR_OK;
}

void
wr_store_unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd); /* the lock goes with the open file */
}

static struct wr_store_seg *
seg_new(uint64_t first)
{
    struct wr_store_seg *seg = wr_calloc(1, sizeof *seg);

    if (seg == NULL)
        return NULL;
    seg->first = first;
    seg->end = first;
    seg->fd = -1;
    wr_seg_name(seg->name, first);
    return seg;
}

int
wr_seg_create(struct wr_store *st, uint64_t first, uint32_t size,
              int64_t now_ms, struct wr_store_seg **out)
{
    struct wr_store_seg *seg = seg_new(first);
    uint8_t hdr[WR_SEG_HDR_SIZE];
    int rc, e;

    if (seg == NULL)
        return WR_ERR_NOMEM;
    seg->fd = openat(st->dirfd, seg->name,
                     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (seg->fd < 0)
        goto fail;
    if (st->opts.sparse) {
        if (ftruncate(seg->fd, size) != 0)
            goto fail_unlink;
    } else if (fallocate(seg->fd, 0, 0, size) != 0 &&
               (errno != EOPNOTSUPP || ftruncate(seg->fd, size) != 0)) {
        goto fail_unlink;
    }
    wr_seg_hdr_encode(hdr, first, now_ms);
    if (pwrite(seg->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
        if (errno == 0)
            errno = EIO;
        goto fail_unlink;
    }
    seg->size = size;
    seg->wpos = WR_SEG_HDR_SIZE;
    *out = seg;
    return WR_OK;

fail_unlink:
    e = errno;
    unlinkat(st->dirfd, seg->name, 0);
    errno = e;
fail:
    /* a full disk (or quota) is not a failure: try again later */
    rc = errno == ENOSPC || errno == EDQUOT ? WR_ERR_FULL : WR_ERR_IO;
    wr_seg_free(seg);
    return rc;
}

int
wr_seg_open(struct wr_store *st, const char *name, uint64_t first,
            struct wr_store_seg **out)
{
    struct wr_store_seg *seg = seg_new(first);
    struct stat sb;

    if (seg == NULL)
        return WR_ERR_NOMEM;
    (void)name; /* the same as seg->name: parsed from it */
    seg->fd = openat(st->dirfd, seg->name, O_RDWR | O_CLOEXEC);
    if (seg->fd < 0 || fstat(seg->fd, &sb) != 0 || sb.st_size > UINT32_MAX) {
        wr_seg_free(seg);
        return WR_ERR_IO;
    }
    seg->size = (uint32_t)sb.st_size;
    seg->wpos = seg->size; /* recovery sets it for the last one */
    *out = seg;
    return WR_OK;
}

void
wr_seg_free(struct wr_store_seg *seg)
{
    if (seg == NULL)
        return;
    if (seg->fd >= 0)
        close(seg->fd);
    wr_free(seg->pins);
    wr_free(seg->idx);
    wr_free(seg->rc);
    wr_free(seg->cidx);
    wr_free(seg);
}

/* Index of the last segment whose first offset is <= offset, or -1. */
static long
seg_index(struct wr_store *st, uint64_t offset)
{
    size_t lo = 0, hi = st->nsegs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (st->segs[mid]->first <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

struct wr_store_seg *
wr_store_find_seg(struct wr_store *st, uint64_t offset)
{
    size_t h = st->seg_hint;
    long i;

    /* references come in runs on one segment (recovery, a drain) */
    if (h < st->nsegs && st->segs[h]->first <= offset &&
        offset < st->segs[h]->end &&
        (h + 1 == st->nsegs || offset < st->segs[h + 1]->first))
        return st->segs[h];
    i = seg_index(st, offset);
    if (i < 0 || offset >= st->segs[i]->end)
        return NULL;
    st->seg_hint = (size_t)i;
    return st->segs[i];
}

int
wr_store_add_seg(struct wr_store *st, struct wr_store_seg *seg)
{
    long i;

    if (st->nsegs == st->capsegs) {
        size_t cap = st->capsegs ? st->capsegs * 2 : 8;
        void *p = wr_realloc(st->segs, cap * sizeof *st->segs);

        if (p == NULL)
            return WR_ERR_NOMEM;
        st->segs = p;
        st->capsegs = cap;
    }
    i = seg_index(st, seg->first) + 1;
    memmove(&st->segs[i + 1], &st->segs[i],
            (st->nsegs - (size_t)i) * sizeof *st->segs);
    st->segs[i] = seg;
    st->nsegs++;
    return WR_OK;
}

/* Deletable: nothing references it, it is not the active one, every
 * record in it is durable (so the sync thread is done with it), and so is
 * every record appended before its last reference went: the callers
 * append the tombstone (SETTLE) before they drop the references it ends,
 * and deleting a MSG's file while the SETTLE of an ENQ that lives on in
 * another file is still pending would let a crash bring that ENQ back
 * without its message. */
static bool
deletable(struct wr_store *st, size_t i, uint64_t durable)
{
    const struct wr_store_seg *seg = st->segs[i];

    return seg->live == 0 && i + 1 < st->nsegs && seg->end <= durable &&
           seg->dead_at <= durable && !wr_store_cmp_busy(st, seg);
}

/* Drops the references that pins of deleted segments held, once their
 * unlink is durable: before that, a crash could bring the deleted segment
 * back without the tombstones that cancel its records. */
static void
release_orphans(struct wr_store *st, uint64_t dir_done)
{
    size_t k = 0;

    for (size_t i = 0; i < st->norphans; i++) {
        struct wr_store_orphan *o = &st->orphans[i];

        if (o->gen <= dir_done) {
            long j = seg_index(st, o->seg);

            if (j >= 0 && st->segs[j]->first == o->seg) {
                wr_assert(st->segs[j]->live >= o->count);
                st->segs[j]->live -= o->count;
            }
        } else {
            st->orphans[k++] = *o;
        }
    }
    st->norphans = k;
}

/* Moves seg's pins to the orphan list; false when memory is short (then
 * they are never released: safe, if wasteful). */
static void
orphan_pins(struct wr_store *st, struct wr_store_seg *seg, uint64_t gen)
{
    for (size_t k = 0; k < seg->npins; k++) {
        if (st->norphans == st->caporphans) {
            size_t cap = st->caporphans ? st->caporphans * 2 : 16;
            void *p = wr_realloc(st->orphans, cap * sizeof *st->orphans);

            if (p == NULL)
                return;
            st->orphans = p;
            st->caporphans = cap;
        }
        st->orphans[st->norphans++] =
            (struct wr_store_orphan){seg->pins[k].seg, seg->pins[k].count, gen};
    }
}

void
wr_store_reclaim(struct wr_store *st)
{
    uint64_t durable, dir_done, gen;
    size_t i = 0;
    bool unlinked = false;

    pthread_mutex_lock(&st->mu);
    durable = st->durable;
    dir_done = st->dir_done;
    gen = st->dir_req + 1; /* the request made below */
    pthread_mutex_unlock(&st->mu);
    st->reclaim_due = false;
    release_orphans(st, dir_done);
    while (i < st->nsegs) {
        struct wr_store_seg *seg = st->segs[i];

        if (!deletable(st, i, durable)) {
            i++;
            continue;
        }
        orphan_pins(st, seg, gen);
        unlinkat(st->dirfd, seg->name, 0);
        memmove(&st->segs[i], &st->segs[i + 1],
                (st->nsegs - i - 1) * sizeof *st->segs);
        st->nsegs--;
        wr_seg_free(seg);
        st->reclaimed++;
        unlinked = true;
    }
    if (unlinked)
        wr_store_sync_request(st, 0, true);
}

int
wr_store_drop_head(struct wr_store *st)
{
    struct wr_store_seg *seg;
    uint64_t durable, gen;

    pthread_mutex_lock(&st->mu);
    durable = st->durable;
    gen = st->dir_req + 1;
    pthread_mutex_unlock(&st->mu);
    /* the sync thread must be done with it: all of it durable */
    if (st->nsegs < 2 || st->segs[0]->end > durable)
        return WR_ERR_NOT_FOUND;
    seg = st->segs[0];
    orphan_pins(st, seg, gen);
    unlinkat(st->dirfd, seg->name, 0);
    memmove(&st->segs[0], &st->segs[1], (st->nsegs - 1) * sizeof *st->segs);
    st->nsegs--;
    wr_seg_free(seg);
    st->reclaimed++;
    wr_store_sync_request(st, 0, true);
    return WR_OK;
}
