/* SPDX-License-Identifier: MIT */
/* Stream queues in the broker (docs/internals/QUEUES.md, "Streams"): each
 * durable stream has a store of its own in data_dir/streams/ID (ID: its
 * queue id in defs/, never reused), opened when it is declared or
 * recovered, watched on the loop (runtime/streams.c) and removed with the
 * queue. */
#include "vhost_internal.h"

#include "../store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void
stream_damage(void *arg, const struct wr_store_damage *d)
{
    const struct wr_queue *q = arg;

    wr_log(d->torn ? WR_LOG_NOTICE : WR_LOG_WARN,
           "stream '%s': %s %s at byte %llu of %s (%llu bytes)", q->name,
           d->torn ? "torn tail cut:" : "corrupt data skipped:", d->what,
           (unsigned long long)d->pos, d->file, (unsigned long long)d->len);
}

/* The end of a turn in which it was written to: tracked consumers'
 * offsets go to their file (a failure is logged once, and the offsets are
 * written by a later flush that succeeds). */
static void
stream_flush(void *arg)
{
    struct wr_queue *q = arg;
    struct wr_bqueue *bq = q->broker;
    int rc = wr_stream_flush_offsets(q);

    if (rc != WR_OK && !bq->offsets_failed)
        wr_log(WR_LOG_WARN,
               "stream '%s' in vhost '%s': cannot write consumer offsets: %s",
               q->name, bq->vh->name,
               rc == WR_ERR_FULL ? "no space left on device"
                                 : "input/output error");
    else if (rc == WR_OK && bq->offsets_failed)
        wr_log(WR_LOG_NOTICE,
               "stream '%s' in vhost '%s': consumer offsets written again",
               q->name, bq->vh->name);
    bq->offsets_failed = rc != WR_OK;
}

/* Its durable position moved: retention, then the consumers. */
static void
stream_moved(void *arg)
{
    struct wr_queue *q = arg;

    wr_stream_retain(q, wr_wall_ms());
    wr_queue_dispatch(q, wr_now_ms());
}

static void
stream_path(const struct wr_server *s, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/streams/%020" PRIu64, s->cfg.data_dir, id);
}

void
wr_vhost_stream_attach(struct wr_vhost *vh, struct wr_queue *q)
{
    struct wr_server *s = vh->srv;
    struct wr_bqueue *bq = q->broker;
    char dir[WR_PATH_MAX + 64], err[600];

    if (!wr_queue_is_stream(q) || bq == NULL || bq->store_id == 0 ||
        wr_stream_store(q) != NULL)
        return;
    snprintf(dir, sizeof dir, "%s/streams", s->cfg.data_dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        wr_log(WR_LOG_ERROR, "stream '%s' in vhost '%s': cannot create %s: %s",
               q->name, vh->name, dir, strerror(errno));
        return;
    }
    stream_path(s, bq->store_id, dir, sizeof dir);
    if (wr_stream_open(q, dir, NULL, stream_damage, q, wr_wall_ms(), err,
                       sizeof err) != WR_OK) {
        wr_log(WR_LOG_ERROR, "stream '%s' in vhost '%s': %s", q->name, vh->name,
               err);
        return;
    }
    bq->pstream = wr_persist_stream_add(s, wr_stream_store(q), stream_flush,
                                        stream_moved, q);
    if (bq->pstream == NULL) {
        wr_log(WR_LOG_ERROR, "stream '%s' in vhost '%s': out of memory",
               q->name, vh->name);
        wr_stream_close(q, false);
        return;
    }
    wr_stream_retain(q, wr_wall_ms());
}

void
wr_vhost_stream_detach(struct wr_vhost *vh, struct wr_queue *q, bool destroy)
{
    struct wr_bqueue *bq = q->broker;

    if (!wr_queue_is_stream(q) || bq == NULL)
        return;
    wr_persist_stream_remove(vh->srv, bq->pstream);
    bq->pstream = NULL;
    wr_stream_close(q, destroy);
}

void
wr_vhost_stream_dirty(struct wr_queue *q)
{
    struct wr_bqueue *bq = q->broker;

    if (bq && bq->pstream)
        wr_persist_stream_dirty(bq->vh->srv, bq->pstream);
}
