/* SPDX-License-Identifier: MIT */
/* Reading the log in order, chunk by chunk, for stream queues
 * (docs/internals/STORE.md, "Streams"): a sparse in-memory index of chunk
 * positions to seek by offset or time, a cursor that reads whole chunks
 * with one pread each, the records of a chunk checked one by one, and
 * retention's view of the segments. Runs on the caller's thread. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void
wr_store_note_chunk(struct wr_store *st, struct wr_store_seg *seg,
                    uint64_t first, uint32_t pos, int64_t time_ms)
{
    st->last_chunk = first;
    st->has_chunk = true;
    if (time_ms > seg->last_time)
        seg->last_time = time_ms;
    if (st->opts.index_every == 0)
        return;
    if (seg->nidx > 0 &&
        pos - seg->idx[seg->nidx - 1].pos < st->opts.index_every)
        return;
    if (seg->nidx == seg->capidx) {
        size_t cap = seg->capidx ? seg->capidx * 2 : 16;
        void *p = wr_realloc(seg->idx, cap * sizeof *seg->idx);

        if (p == NULL)
            return; /* a coarser index: seeks read more */
        seg->idx = p;
        seg->capidx = cap;
    }
    seg->idx[seg->nidx++] =
        (struct wr_store_idx){.first = first, .time_ms = time_ms, .pos = pos};
}

/* The position in seg of the last indexed chunk starting at or before
 * offset (the segment's first chunk when none). */
static uint32_t
idx_pos(const struct wr_store_seg *seg, uint64_t offset)
{
    size_t lo = 0, hi = seg->nidx;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (seg->idx[mid].first <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? WR_SEG_HDR_SIZE : seg->idx[lo - 1].pos;
}

static void
at_end(struct wr_store *st, struct wr_store_cursor *c)
{
    if (st->nsegs == 0) {
        /* the next segment is named by the next offset */
        c->seg = st->next;
        c->pos = WR_SEG_HDR_SIZE;
        c->next = 0;
        return;
    }
    c->seg = st->segs[st->nsegs - 1]->first;
    c->pos = st->segs[st->nsegs - 1]->wpos;
    c->next = 0;
}

void
wr_store_seek(struct wr_store *st, uint64_t offset, struct wr_store_cursor *c)
{
    const struct wr_store_seg *seg = NULL;

    if (offset >= st->written) {
        at_end(st, c);
        return;
    }
    for (size_t i = st->nsegs; i-- > 0;)
        if (st->segs[i]->first <= offset) {
            seg = st->segs[i];
            break;
        }
    if (seg == NULL) {
        if (st->nsegs == 0) {
            at_end(st, c);
            return;
        }
        seg = st->segs[0];
        offset = seg->first;
    }
    c->seg = seg->first;
    c->pos = idx_pos(seg, offset);
    c->next = 0;
}

void
wr_store_seek_time(struct wr_store *st, int64_t time_ms,
                   struct wr_store_cursor *c)
{
    for (size_t i = 0; i < st->nsegs; i++) {
        const struct wr_store_seg *seg = st->segs[i];
        uint32_t pos = WR_SEG_HDR_SIZE;

        if (seg->last_time < time_ms)
            continue;
        /* the last indexed chunk older than time_ms: the one wanted
         * follows it */
        for (size_t k = 0; k < seg->nidx && seg->idx[k].time_ms < time_ms; k++)
            pos = seg->idx[k].pos;
        c->seg = seg->first;
        c->pos = pos;
        c->next = 0;
        return;
    }
    at_end(st, c);
}

/* The segment a cursor reads, moving it on to the next segment when it is
 * past its end, or to the oldest when its own was deleted. NULL at the
 * end of the log. */
static struct wr_store_seg *
cursor_seg(struct wr_store *st, struct wr_store_cursor *c, uint64_t *below)
{
    for (size_t i = 0; i < st->nsegs; i++) {
        struct wr_store_seg *seg = st->segs[i];

        if (seg->first < c->seg)
            continue;
        if (seg->first > c->seg) {
            /* its segment is gone (retention) or not created yet */
            c->seg = seg->first;
            c->pos = WR_SEG_HDR_SIZE;
        }
        if (c->pos < seg->wpos) {
            /* its offsets stay below the next segment's */
            *below = i + 1 < st->nsegs ? st->segs[i + 1]->first : UINT64_MAX;
            return seg;
        }
        if (i + 1 == st->nsegs)
            return NULL;
        c->seg = st->segs[i + 1]->first;
        c->pos = WR_SEG_HDR_SIZE;
    }
    return NULL;
}

int
wr_store_pread_all(int fd, void *buf, size_t len, uint64_t at)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n =
            pread(fd, (uint8_t *)buf + done, len - done, (off_t)(at + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return WR_ERR_IO;
        if (n == 0)
            return WR_ERR_SYNTAX;
        done += (size_t)n;
    }
    return WR_OK;
}

int
wr_store_read_chunk(struct wr_store *st, struct wr_store_cursor *c,
                    uint64_t limit, uint8_t **buf, uint32_t *cap,
                    struct wr_store_chunk *out)
{
    uint64_t below = UINT64_MAX;
    struct wr_store_seg *seg = cursor_seg(st, c, &below);
    uint8_t hb[WR_CHUNK_HDR_SIZE];
    struct wr_chunk_hdr h;
    uint64_t after;
    int rc;

    if (seg == NULL)
        return WR_ERR_NOT_FOUND;
    if ((uint64_t)c->pos + WR_CHUNK_HDR_SIZE > seg->wpos)
        goto bad;
    rc = wr_store_pread_all(seg->fd, hb, sizeof hb, c->pos);
    if (rc == WR_ERR_IO)
        return rc;
    if (rc != WR_OK || wr_chunk_hdr_decode(hb, &h) != WR_OK)
        goto bad;
    /* offsets only grow: one that goes back is not a chunk of this log
     * (recovery skipped it too) */
    if (h.first < seg->first || h.first < c->next ||
        h.first + h.records > below)
        goto bad;
    if (h.first + h.records > limit)
        return WR_ERR_NOT_FOUND;
    after = (uint64_t)c->pos + WR_CHUNK_HDR_SIZE + h.data_len + h.trailer_len;
    if (after > seg->wpos)
        goto bad;
    if (h.data_len > *cap) {
        uint32_t ncap = *cap ? *cap : 64 * 1024;
        void *p;

        while (ncap < h.data_len)
            ncap = ncap > UINT32_MAX / 2 ? h.data_len : ncap * 2;
        p = wr_realloc(*buf, ncap);
        if (p == NULL)
            return WR_ERR_NOMEM;
        *buf = p;
        *cap = ncap;
    }
    rc = wr_store_pread_all(seg->fd, *buf, h.data_len,
                            c->pos + WR_CHUNK_HDR_SIZE);
    if (rc == WR_ERR_IO)
        return rc;
    if (rc != WR_OK)
        goto bad;
    c->pos = (uint32_t)after;
    c->next = h.first + h.records;
    *out = (struct wr_store_chunk){
        .first = h.first,
        .records = h.type == WR_CHUNK_RECORDS ? h.records : 0,
        .given = 0,
        .time_ms = h.time_ms,
        .data = *buf,
        .len = h.data_len,
    };
    return WR_OK;

bad:
    /* What recovery reported: the reader goes on at the next indexed
     * chunk, or the next segment. */
    {
        uint32_t at = seg->wpos;
        for (size_t k = 0; k < seg->nidx; k++)
            if (seg->idx[k].pos > c->pos) {
                at = seg->idx[k].pos;
                break;
            }
        c->pos = at;
    }
    return WR_ERR_SYNTAX;
}

int
wr_store_chunk_next(struct wr_store_chunk *ch, uint32_t *pos, uint8_t *type,
                    struct wr_bytes *payload)
{
    const uint8_t *p = ch->data + *pos;
    uint32_t len;

    if (ch->given >= ch->records)
        return WR_ERR_NOT_FOUND;
    if (*pos >= ch->len)
        return WR_ERR_SYNTAX;
    if (ch->len - *pos < WR_REC_HDR_SIZE)
        return WR_ERR_SYNTAX;
    len = wr_store_get32(p);
    if (len > ch->len - *pos - WR_REC_HDR_SIZE ||
        wr_rec_check(p, p + WR_REC_HDR_SIZE, len) != WR_OK)
        return WR_ERR_SYNTAX;
    *type = p[4];
    *payload = (struct wr_bytes){p + WR_REC_HDR_SIZE, len};
    *pos += WR_REC_HDR_SIZE + len;
    ch->given++;
    return WR_OK;
}

uint64_t
wr_store_first(struct wr_store *st)
{
    return st->nsegs ? st->segs[0]->first : st->next;
}

bool
wr_store_last_chunk(struct wr_store *st, uint64_t *first)
{
    *first = st->last_chunk;
    return st->has_chunk;
}

size_t
wr_store_segments(struct wr_store *st)
{
    return st->nsegs;
}

void
wr_store_segment(struct wr_store *st, size_t i, struct wr_store_seginfo *out)
{
    const struct wr_store_seg *seg = st->segs[i];

    out->first = seg->first;
    out->end = seg->end;
    out->bytes = seg->wpos;
    out->last_time = seg->last_time;
}

void
wr_store_destroy(struct wr_store *st)
{
    char *dir;

    if (st == NULL)
        return;
    dir = wr_strdup(st->dir);
    for (size_t i = 0; i < st->nsegs; i++)
        unlinkat(st->dirfd, st->segs[i]->name, 0);
    unlinkat(st->dirfd, "LOCK", 0);
    wr_store_close(st);
    if (dir)
        rmdir(dir);
    wr_free(dir);
}
