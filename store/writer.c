/* SPDX-License-Identifier: MIT */
/* The write path (STORE.md "Writing and syncing"): records are copied into
 * the pending chunk; a flush seals it, writes it with one pwrite and asks
 * the sync thread for a sync. Runs on the caller's (event-loop) thread. */
#include "store_internal.h"

#include <errno.h>
#include <unistd.h>

static bool
failed(struct wr_store *st)
{
    return st->werr != 0 || wr_store_failed(st) != 0;
}

/* ENOSPC or EDQUOT: the disk is full, not broken. */
static bool
no_space(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

/* Writes the pending chunk at the active segment's end. A file system out
 * of space (a segment that could not be preallocated) refuses the write:
 * the chunk stays pending, whole, and the next flush writes it again at the
 * same place (bytes of the refused attempt past the end are overwritten, or
 * cut by recovery as a torn tail). Any other error fails the store. */
static int
write_pending(struct wr_store *st, int64_t now_ms)
{
    struct wr_store_seg *seg;
    struct wr_chunk_hdr h = {0};
    size_t done = 0;

    if (st->pend_records == 0)
        return WR_OK;
    seg = st->segs[st->nsegs - 1];
    h.type = WR_CHUNK_RECORDS;
    h.entries = (uint16_t)st->pend_records;
    h.records = st->pend_records;
    h.time_ms = now_ms;
    h.first = st->pend_first;
    h.data_len = (uint32_t)(st->buf_len - WR_CHUNK_HDR_SIZE);
    wr_chunk_hdr_encode(st->buf, &h);
    while (done < st->buf_len) {
        ssize_t n = pwrite(seg->fd, st->buf + done, st->buf_len - done,
                           (off_t)seg->wpos + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && no_space(errno)) {
            st->space_wanted = st->buf_len;
            return WR_ERR_FULL;
        }
        if (n <= 0) {
            st->werr = n < 0 ? errno : EIO;
            return WR_ERR_IO;
        }
        done += (size_t)n;
    }
    wr_store_note_chunk(st, seg, h.first, seg->wpos, now_ms);
    seg->wpos += (uint32_t)st->buf_len;
    st->space_wanted = 0;
    st->written = st->next;
    st->chunks++;
    st->pend_records = 0;
    st->buf_len = 0;
    return wr_store_sync_mark(st, seg);
}

/* A new active segment for a record chunk of `need` bytes. */
static int
roll(struct wr_store *st, size_t need, int64_t now_ms)
{
    struct wr_store_seg *seg;
    size_t size = st->opts.segment_size;
    int rc;

    if (need > size - WR_SEG_HDR_SIZE)
        size = (WR_SEG_HDR_SIZE + need + 4095) & ~(size_t)4095;
    if (st->nsegs > 0 && st->segs[st->nsegs - 1]->first == st->next) {
        /* The active segment holds no record (recovery found none) and
         * the new one takes its name: it goes first. */
        struct wr_store_seg *old = st->segs[--st->nsegs];

        wr_assert(old->live == 0 && !old->dirty);
        unlinkat(st->dirfd, old->name, 0);
        wr_seg_free(old);
    }
    rc = wr_seg_create(st, st->next, (uint32_t)size, now_ms, &seg);
    if (rc == WR_ERR_FULL)
        st->space_wanted = size;
    if (rc != WR_OK)
        return rc;
    st->space_wanted = 0;
    rc = wr_store_add_seg(st, seg);
    if (rc != WR_OK) {
        unlinkat(st->dirfd, seg->name, 0);
        wr_seg_free(seg);
        return rc;
    }
    st->dir_changed = true;
    return WR_OK;
}

int
wr_store_append(struct wr_store *st, uint8_t type, const struct wr_bytes *parts,
                unsigned n, int64_t now_ms, struct wr_store_loc *loc)
{
    struct wr_store_seg *seg;
    uint64_t len = 0;
    size_t need;
    int rc;

    if (!st->recovered || type < WR_STORE_TYPE_MIN || type > WR_STORE_TYPE_MAX)
        return WR_ERR_INVALID;
    if (failed(st))
        return WR_ERR_IO;
    for (unsigned i = 0; i < n; i++)
        len += parts[i].len;
    if (len > WR_STORE_RECORD_MAX)
        return WR_ERR_INVALID;
    need = WR_REC_HDR_SIZE + (size_t)len;
    st->last_now = now_ms;

    /* A full chunk goes out first. */
    if (st->pend_records > 0 &&
        (st->pend_records == WR_CHUNK_MAX_RECORDS ||
         st->buf_len - WR_CHUNK_HDR_SIZE + need > st->opts.chunk_max)) {
        rc = write_pending(st, now_ms);
        if (rc != WR_OK)
            return rc;
    }
    seg = st->nsegs ? st->segs[st->nsegs - 1] : NULL;
    /* (a compacted segment, last after a crash, takes no appends: its
       positions come from its index; it has no room either, being cut
       to its records) */
    if (seg == NULL || seg->end != st->next || seg->compacted ||
        (size_t)(seg->size - seg->wpos) <
            (st->pend_records ? st->buf_len : WR_CHUNK_HDR_SIZE) + need) {
        rc = write_pending(st, now_ms);
        if (rc == WR_OK)
            rc = roll(st, WR_CHUNK_HDR_SIZE + need, now_ms);
        if (rc != WR_OK)
            return rc;
        seg = st->segs[st->nsegs - 1];
    }
    if (st->pend_records == 0) {
        st->pend_first = st->next;
        st->buf_len = WR_CHUNK_HDR_SIZE;
    }
    if (st->buf_len + need > st->buf_cap) {
        size_t cap = st->buf_cap ? st->buf_cap : 64 * 1024;
        void *p;

        while (st->buf_len + need > cap)
            cap *= 2;
        p = wr_realloc(st->buf, cap);
        if (p == NULL)
            return WR_ERR_NOMEM;
        st->buf = p;
        st->buf_cap = cap;
    }
    wr_rec_encode(st->buf + st->buf_len, type, parts, n, (uint32_t)len);
    loc->offset = st->next;
    loc->pos = seg->wpos + (uint32_t)st->buf_len;
    loc->len = (uint32_t)len;
    st->buf_len += need;
    st->pend_records++;
    st->next++;
    seg->end = st->next;
    seg->live++;
    if (st->opts.compact) {
        wr_store_rc_size(seg, loc->offset, loc->len);
        wr_store_rc(st, seg, loc->offset, 1);
    }
    return WR_OK;
}

int
wr_store_flush(struct wr_store *st, int64_t now_ms)
{
    int rc;

    if (!st->recovered)
        return WR_OK;
    st->ra_len = 0; /* the read-ahead window holds no new bytes */
    if (failed(st))
        return WR_ERR_IO;
    st->last_now = now_ms;
    rc = write_pending(st, now_ms);
    if (rc != WR_OK)
        return rc;
    if (st->written > st->requested || st->dir_changed) {
        wr_store_sync_request(st, st->written, st->dir_changed);
        st->requested = st->written;
        st->dir_changed = false;
    }
    return WR_OK;
}
