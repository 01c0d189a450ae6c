/* SPDX-License-Identifier: MIT */
/* The store's life (open, close), its state as the loop sees it (durable
 * position, failure, the eventfd) and the reference counts that decide
 * which segments are reclaimed. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int
sync_default(int fd)
{
    return fdatasync(fd);
}

/* "<20 digits>.cmp": a compaction's new file. */
static bool
wr_seg_parse_name_cmp(const char *name)
{
    for (int i = 0; i < 20; i++)
        if (name[i] < '0' || name[i] > '9')
            return false;
    return true;
}

static int
list_segments(struct wr_store *st)
{
    DIR *d = opendir(st->dir);
    struct dirent *e;
    int rc = WR_OK;

    if (d == NULL)
        return WR_ERR_IO;
    while (rc == WR_OK && (e = readdir(d)) != NULL) {
        struct wr_store_seg *seg;
        uint64_t first;

        if (!wr_seg_parse_name(e->d_name, &first)) {
            /* a compaction's new file that was never renamed over its
               segment (STORE.md "Compaction"): the segment is whole */
            size_t n = strlen(e->d_name);
            if (n == 24 && wr_seg_parse_name_cmp(e->d_name) &&
                strcmp(e->d_name + n - 4, ".cmp") == 0)
                unlinkat(st->dirfd, e->d_name, 0);
            continue;
        }
        rc = wr_seg_open(st, e->d_name, first, &seg);
        if (rc == WR_OK && (rc = wr_store_add_seg(st, seg)) != WR_OK)
            wr_seg_free(seg);
    }
    closedir(d);
    return rc;
}

int
wr_store_open(const char *dir, const struct wr_store_opts *opts,
              struct wr_store **out, char *err, size_t errlen)
{
    struct wr_store *st;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    st = wr_calloc(1, sizeof *st);
    if (st == NULL)
        return WR_ERR_NOMEM;
    st->lockfd = st->dirfd = st->efd = -1;
    if (opts != NULL)
        st->opts = *opts;
    if (st->opts.segment_size == 0)
        st->opts.segment_size = WR_STORE_DEFAULT_SEGMENT;
    if (st->opts.chunk_max == 0)
        st->opts.chunk_max = WR_STORE_DEFAULT_CHUNK;
    st->dir_sync = st->opts.sync_fn ? st->opts.sync_fn : fsync;
    if (st->opts.sync_fn == NULL)
        st->opts.sync_fn = sync_default;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->wake, NULL);
    pthread_cond_init(&st->done, NULL);
    if (st->opts.segment_size < 4096 || st->opts.chunk_max < 1024) {
        if (err != NULL)
            snprintf(err, errlen, "segment size or chunk size too small");
        rc = WR_ERR_INVALID;
        goto fail;
    }
    st->dir = wr_strdup(dir);
    if (st->dir == NULL) {
        rc = WR_ERR_NOMEM;
        goto fail;
    }
    rc = wr_store_lock_dir(dir, &st->lockfd, err, errlen);
    if (rc != WR_OK)
        goto fail;
    rc = WR_ERR_IO;
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->dirfd < 0 || st->efd < 0)
        goto fail_errno;
    rc = list_segments(st);
    if (rc != WR_OK)
        goto fail_errno;
    rc = wr_store_sync_start(st);
    if (rc != WR_OK)
        goto fail_errno;
    *out = st;
    return WR_OK;

fail_errno:
    if (err != NULL)
        snprintf(err, errlen, "cannot open the store in %s: %s", dir,
                 rc == WR_ERR_NOMEM ? "out of memory" : strerror(errno));
fail:
    wr_store_close(st);
    return rc;
}

void
wr_store_close(struct wr_store *st)
{
    if (st == NULL)
        return;
    if (st->thread_started && st->recovered &&
        wr_store_flush(st, st->last_now) == WR_OK)
        wr_store_wait(st, st->written);
    wr_store_sync_stop(st);
    wr_store_cmp_free(st);
    for (size_t i = 0; i < st->nsegs; i++)
        wr_seg_free(st->segs[i]);
    wr_free(st->segs);
    wr_free(st->dirty);
    wr_free(st->taken);
    wr_free(st->orphans);
    wr_free(st->buf);
    wr_free(st->ra_buf);
    if (st->efd >= 0)
        close(st->efd);
    if (st->dirfd >= 0)
        close(st->dirfd);
    wr_store_unlock_dir(st->lockfd);
    pthread_cond_destroy(&st->wake);
    pthread_cond_destroy(&st->done);
    pthread_mutex_destroy(&st->mu);
    wr_free(st->dir);
    wr_free(st);
}

uint64_t
wr_store_end(const struct wr_store *st)
{
    return st->next;
}

uint64_t
wr_store_durable(struct wr_store *st)
{
    uint64_t d;

    pthread_mutex_lock(&st->mu);
    d = st->durable;
    pthread_mutex_unlock(&st->mu);
    return d;
}

uint64_t
wr_store_space_wanted(const struct wr_store *st)
{
    return st->space_wanted;
}

int
wr_store_failed(struct wr_store *st)
{
    int e;

    pthread_mutex_lock(&st->mu);
    e = st->serr;
    pthread_mutex_unlock(&st->mu);
    return e ? e : st->werr;
}

int
wr_store_event_fd(const struct wr_store *st)
{
    return st->efd;
}

int
wr_store_poll(struct wr_store *st, uint64_t *durable)
{
    uint64_t v;

    while (read(st->efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    if (st->recovered)
        wr_store_reclaim(st);
    st->cmp_due = true; /* the durable position may have moved */
    if (durable != NULL)
        *durable = wr_store_durable(st);
    return wr_store_failed(st) ? WR_ERR_IO : WR_OK;
}

int
wr_store_wait(struct wr_store *st, uint64_t offset)
{
    int rc;

    pthread_mutex_lock(&st->mu);
    while (st->durable < offset && st->serr == 0 && st->thread_started)
        pthread_cond_wait(&st->done, &st->mu);
    rc = st->durable >= offset ? WR_OK : WR_ERR_IO;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* ---- references ------------------------------------------------------- */

bool
wr_store_holds(struct wr_store *st, uint64_t offset)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, offset);
    uint32_t pos = 0;

    return seg != NULL && wr_store_where(seg, offset, &pos);
}

void
wr_store_ref(struct wr_store *st, const struct wr_store_loc *loc)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, loc->offset);

    wr_assert(seg != NULL);
    seg->live++;
    if (st->opts.compact)
        wr_store_rc(st, seg, loc->offset, 1);
}

void
wr_store_unref(struct wr_store *st, const struct wr_store_loc *loc)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, loc->offset);

    wr_assert(seg != NULL && seg->live > 0);
    if (st->opts.compact)
        wr_store_rc(st, seg, loc->offset, -1);
    if (--seg->live == 0) {
        seg->dead_at = st->next;
        st->reclaim_due = true;
    }
}

void
wr_store_pin(struct wr_store *st, const struct wr_store_loc *tomb,
             const struct wr_store_loc *target)
{
    struct wr_store_seg *t = wr_store_find_seg(st, tomb->offset);
    struct wr_store_seg *a = wr_store_find_seg(st, target->offset);

    wr_assert(t != NULL && target->offset < tomb->offset);
    if (a == NULL || a == t)
        return; /* gone already, or they go together */
    t->live++;
    if (st->opts.compact) /* kept by a compaction while pinned (and after:
                             its count is not dropped when the pin goes) */
        wr_store_rc(st, t, tomb->offset, 1);
    if (a->npins > 0 && a->pins[a->npins - 1].seg == t->first) {
        a->pins[a->npins - 1].count++;
        return;
    }
    if (a->npins == a->cappins) {
        size_t cap = a->cappins ? a->cappins * 2 : 4;
        void *p = wr_realloc(a->pins, cap * sizeof *a->pins);

        if (p == NULL)
            return; /* t keeps the reference for good: safe, if wasteful */
        a->pins = p;
        a->cappins = cap;
    }
    a->pins[a->npins++] = (struct wr_store_pin_ent){t->first, 1};
}

void
wr_store_stats(struct wr_store *st, struct wr_store_stats *out)
{
    memset(out, 0, sizeof *out);
    out->segments = st->nsegs;
    for (size_t i = 0; i < st->nsegs; i++) {
        out->disk_bytes += st->segs[i]->size;
        out->live_refs += st->segs[i]->live;
    }
    out->chunks = st->chunks;
    out->reclaimed = st->reclaimed;
    out->compactions = st->compactions;
    out->cmp_saved = st->cmp_saved;
    pthread_mutex_lock(&st->mu);
    out->syncs = st->syncs;
    pthread_mutex_unlock(&st->mu);
}
