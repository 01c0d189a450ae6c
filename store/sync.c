/* SPDX-License-Identifier: MIT */
/* The sync thread (STORE.md "Writing and syncing"): one fdatasync per file
 * written since the last round, an fsync of the directory when it changed,
 * then the new durable position and a word on the eventfd. It never
 * allocates (the allocation wrappers are not thread-safe) and never retries
 * a failed sync. */
#include "store_internal.h"

#include <errno.h>
#include <unistd.h>

static void
notify(struct wr_store *st)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    while (write(st->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void *
sync_main(void *arg)
{
    struct wr_store *st = arg;
    uint64_t dir_taken = 0;

    pthread_mutex_lock(&st->mu);
    for (;;) {
        struct wr_store_seg **list;
        size_t n, cap;
        uint64_t target, dir_gen;
        int err = 0;

        while (!st->stop && st->serr == 0 && st->want <= st->taken_upto &&
               st->dir_req <= dir_taken)
            pthread_cond_wait(&st->wake, &st->mu);
        if (st->serr != 0 ||
            (st->want <= st->taken_upto && st->dir_req <= dir_taken))
            break; /* stop, with nothing left to do; or failed */
        /* Take the round: swap the dirty list with our (empty) copy. */
        list = st->dirty;
        n = st->ndirty;
        cap = st->capdirty;
        st->dirty = st->taken;
        st->capdirty = st->captaken;
        st->ndirty = 0;
        st->taken = list;
        st->captaken = cap;
        for (size_t i = 0; i < n; i++)
            list[i]->dirty = false;
        target = st->want;
        st->taken_upto = target;
        st->rounds++;
        dir_gen = st->dir_req;
        pthread_mutex_unlock(&st->mu);

        for (size_t i = 0; i < n && err == 0; i++)
            if (st->opts.sync_fn(list[i]->fd) != 0)
                err = errno ? errno : EIO;
        if (err == 0 && dir_gen > dir_taken && st->dir_sync(st->dirfd) != 0)
            err = errno ? errno : EIO;

        pthread_mutex_lock(&st->mu);
        st->syncs++;
        if (err != 0) {
            st->serr = err;
        } else {
            if (target > st->durable)
                st->durable = target;
            dir_taken = dir_gen;
            st->dir_done = dir_gen;
        }
        pthread_cond_broadcast(&st->done);
        pthread_mutex_unlock(&st->mu);
        notify(st);
        pthread_mutex_lock(&st->mu);
    }
    pthread_cond_broadcast(&st->done);
    pthread_mutex_unlock(&st->mu);
    notify(st);
    return NULL;
}

int
wr_store_sync_start(struct wr_store *st)
{
    if (pthread_create(&st->thread, NULL, sync_main, st) != 0)
        return WR_ERR_IO;
    st->thread_started = true;
    return WR_OK;
}

void
wr_store_sync_stop(struct wr_store *st)
{
    if (!st->thread_started)
        return;
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    st->thread_started = false;
}

int
wr_store_sync_mark(struct wr_store *st, struct wr_store_seg *seg)
{
    int rc = WR_OK;

    pthread_mutex_lock(&st->mu);
    if (!seg->dirty) {
        if (st->ndirty == st->capdirty) {
            /* Grown here, on the loop thread; the sync thread only
             * swaps the two lists (with their capacities) under mu. */
            size_t cap = st->capdirty ? st->capdirty * 2 : 8;
            void *p = wr_realloc(st->dirty, cap * sizeof *st->dirty);

            if (p == NULL) {
                rc = WR_ERR_NOMEM;
                goto out;
            }
            st->dirty = p;
            st->capdirty = cap;
        }
        st->dirty[st->ndirty++] = seg;
        seg->dirty = true;
    }
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void
wr_store_sync_request(struct wr_store *st, uint64_t upto, bool dir)
{
    pthread_mutex_lock(&st->mu);
    if (upto > st->want)
        st->want = upto;
    if (dir)
        st->dir_req++;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
}

uint64_t
wr_store_sync_extra(struct wr_store *st, struct wr_store_seg *seg)
{
    uint64_t round;

    if (wr_store_sync_mark(st, seg) != WR_OK)
        return 0;
    pthread_mutex_lock(&st->mu);
    /* the next round taken takes seg with the dirty list */
    round = st->rounds + 1;
    st->dir_req++;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
    return round;
}

bool
wr_store_round_done(struct wr_store *st, uint64_t round)
{
    bool done;

    pthread_mutex_lock(&st->mu);
    done = st->syncs >= round || st->serr != 0;
    pthread_mutex_unlock(&st->mu);
    return done;
}
