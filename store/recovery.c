/* SPDX-License-Identifier: MIT */
/* Recovery (STORE.md "Recovery"): the scanner over a segment's bytes, which
 * gives back every good record and reports the rest, and the pass over the
 * files that maps each one, cuts a torn tail and makes the result durable. */
#include "store_internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void
report(struct wr_scan *s, size_t pos, size_t len, uint64_t first_lost,
       uint32_t records, bool torn, const char *what)
{
    struct wr_store_damage d = {s->file, pos,  len, first_lost,
                                records, torn, what};

    if (s->damage != NULL)
        s->damage(s->arg, &d);
}

/* A valid chunk header at pos whose chunk lies inside the buffer and whose
 * offsets do not go back. */
static bool
chunk_at(const struct wr_scan *s, const uint8_t *buf, size_t len, size_t pos,
         struct wr_chunk_hdr *h)
{
    if (len - pos < WR_CHUNK_HDR_SIZE ||
        wr_chunk_hdr_decode(buf + pos, h) != WR_OK)
        return false;
    if (h->records == 0 || h->first < s->expect || h->first > s->limit ||
        h->records > s->limit - h->first)
        return false;
    if (h->type == WR_CHUNK_RECORDS &&
        (h->entries != h->records || h->trailer_len != 0))
        return false;
    return (uint64_t)h->data_len + h->trailer_len <=
           len - pos - WR_CHUNK_HDR_SIZE;
}

/* The position of the next valid chunk header after pos, or len. */
static size_t
next_chunk(const struct wr_scan *s, const uint8_t *buf, size_t len, size_t pos)
{
    struct wr_chunk_hdr h;

    for (pos++; pos < len; pos++) {
        const uint8_t *m = memchr(buf + pos, WR_CHUNK_MAGIC, len - pos);

        if (m == NULL)
            return len;
        pos = (size_t)(m - buf);
        if (chunk_at(s, buf, len, pos, &h))
            return pos;
    }
    return len;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* First pass over a RECORDS chunk: how many of its records are good, and
 * whether its data is well framed. */
static uint32_t
check_records(const uint8_t *data, const struct wr_chunk_hdr *h, bool *framed)
{
    size_t rp = 0;
    uint32_t good = 0, i;

    for (i = 0; i < h->records; i++) {
        uint32_t rlen;

        if (h->data_len - rp < WR_REC_HDR_SIZE)
            break;
        rlen = wr_store_get32(data + rp);
        if (rlen > h->data_len - rp - WR_REC_HDR_SIZE)
            break;
        if (wr_rec_check(data + rp, data + rp + WR_REC_HDR_SIZE, rlen) == WR_OK)
            good++;
        rp += WR_REC_HDR_SIZE + (size_t)rlen;
    }
    *framed = i == h->records && rp == h->data_len;
    return good;
}

/* Second pass: the good records to the callback, the bad ones reported. */
static int
give_records(struct wr_scan *s, const uint8_t *buf, size_t pos,
             const struct wr_chunk_hdr *h)
{
    const uint8_t *data = buf + pos + WR_CHUNK_HDR_SIZE;
    size_t rp = 0;

    for (uint32_t i = 0; i < h->records; i++) {
        struct wr_store_loc loc;
        uint32_t rlen;
        int rc;

        if (h->data_len - rp < WR_REC_HDR_SIZE ||
            (rlen = wr_store_get32(data + rp)) >
                h->data_len - rp - WR_REC_HDR_SIZE) {
            report(s, pos + WR_CHUNK_HDR_SIZE + rp, h->data_len - rp,
                   h->first + i, h->records - i, false,
                   "record length runs past its chunk");
            return WR_OK;
        }
        loc.offset = h->first + i;
        loc.pos = (uint32_t)(pos + WR_CHUNK_HDR_SIZE + rp);
        loc.len = rlen;
        if (wr_rec_check(data + rp, data + rp + WR_REC_HDR_SIZE, rlen) !=
            WR_OK) {
            report(s, loc.pos, WR_REC_HDR_SIZE + (size_t)rlen, loc.offset, 1,
                   false, "record checksum mismatch");
        } else {
            struct wr_bytes payload = {data + rp + WR_REC_HDR_SIZE, rlen};

            if (s->rec != NULL &&
                (rc = s->rec(s->rec_arg, loc.offset, loc.pos, rlen)) != WR_OK)
                return rc;
            rc = s->cb(s->arg, data[rp + 4], &loc, payload, h->time_ms);
            if (rc != WR_OK)
                return rc;
            s->records++;
        }
        rp += WR_REC_HDR_SIZE + (size_t)rlen;
    }
    return WR_OK;
}

int
wr_store_scan(struct wr_scan *s, const uint8_t *buf, size_t len, bool last)
{
    size_t pos = WR_SEG_HDR_SIZE;
    uint64_t first;

    s->torn = false;
    s->bad_header = false;
    if (len < WR_SEG_HDR_SIZE) {
        s->end = 0;
        if (len > 0 && !all_zero(buf, len))
            report(s, 0, len, 0, 0, last, "segment shorter than its header");
        s->torn = last && len > 0;
        return WR_OK;
    }
    if (wr_seg_hdr_decode(buf, &first) != WR_OK) {
        s->bad_header = true;
        report(s, 0, WR_SEG_HDR_SIZE, 0, 0, false, "bad segment header");
    }
    while (pos < len) {
        struct wr_chunk_hdr h;
        size_t next, after;
        bool framed = true;
        uint32_t good;
        int rc;

        if (!chunk_at(s, buf, len, pos, &h)) {
            next = next_chunk(s, buf, len, pos);
            if (next == len) {
                /* Nothing valid follows: the end of the log, clean when
                 * the rest is the preallocated zeros. */
                s->end = (uint32_t)pos;
                if (!all_zero(buf + pos, len - pos)) {
                    s->torn = last;
                    report(s, pos, len - pos, s->expect, 0, last,
                           last ? "torn tail" : "garbage after last chunk");
                }
                return WR_OK;
            }
            report(s, pos, next - pos, s->expect, 0, false, "bad chunk header");
            pos = next;
            continue;
        }
        after = pos + WR_CHUNK_HDR_SIZE + h.data_len + h.trailer_len;
        if (h.type == WR_CHUNK_RECORDS) {
            good = check_records(buf + pos + WR_CHUNK_HDR_SIZE, &h, &framed);
            if ((good < h.records || !framed) && last &&
                next_chunk(s, buf, len, after - 1) == len) {
                /* The last chunk written, incomplete: a torn tail. */
                s->end = (uint32_t)pos;
                s->torn = true;
                report(s, pos, len - pos, h.first, h.records, true,
                       "torn tail");
                return WR_OK;
            }
            rc = give_records(s, buf, pos, &h);
            if (rc != WR_OK)
                return rc;
        }
        if (s->chunk)
            s->chunk(s->chunk_arg, h.first, (uint32_t)pos, h.time_ms);
        /* USER chunks (stream entries) are not the store's records: their
         * offsets are taken, their bytes skipped. */
        s->expect = h.first + h.records;
        pos = after;
    }
    s->end = (uint32_t)pos;
    return WR_OK;
}

/* Cuts the active segment at `end`: the tail is truncated away and
 * preallocated again, so zeros follow the last good chunk. */
static int
cut_tail(struct wr_store_seg *seg, uint32_t end)
{
    if (ftruncate(seg->fd, end) != 0)
        return WR_ERR_IO;
    if (fallocate(seg->fd, 0, end, seg->size - end) != 0 &&
        ftruncate(seg->fd, seg->size) != 0)
        return WR_ERR_IO;
    return WR_OK;
}

struct note_arg {
    struct wr_store *st;
    struct wr_store_seg *seg;
};

static void
note(void *arg, uint64_t first, uint32_t pos, int64_t time_ms)
{
    struct note_arg *na = arg;

    wr_store_note_chunk(na->st, na->seg, first, pos, time_ms);
}

/* Each good record: its size (compaction), and where it is in a
 * compacted segment. */
static int
rec_note(void *arg, uint64_t offset, uint32_t pos, uint32_t len)
{
    struct note_arg *na = arg;

    if (na->st->opts.compact)
        wr_store_rc_size(na->seg, offset, len);
    return na->seg->compacted ? wr_store_cidx_add(na->seg, offset, pos) : WR_OK;
}

int
wr_store_recover(struct wr_store *st, wr_store_record_cb cb,
                 wr_store_damage_cb damage, void *arg, int64_t now_ms)
{
    struct wr_scan s = {.cb = cb, .damage = damage, .arg = arg};
    struct note_arg na = {st, NULL};
    int rc = WR_OK;

    if (st->recovered)
        return WR_ERR_INVALID;
    for (size_t i = 0; i < st->nsegs; i++) {
        struct wr_store_seg *seg = st->segs[i];
        bool last = i + 1 == st->nsegs;
        void *map = NULL;
        off_t data = lseek(seg->fd, 0, SEEK_HOLE);

        if (seg->first > s.expect)
            s.expect = seg->first;
        s.limit = last ? UINT64_MAX : st->segs[i + 1]->first;
        s.file = seg->name;
        na.seg = seg;
        s.chunk = note;
        s.chunk_arg = &na;
        seg->end = s.limit; /* so that cb can take references */
        /* Only up to the first hole: the preallocated rest reads as zeros
         * (unwritten extents), and mapping it would only fill the page
         * cache with them. Where the file system cannot tell, the whole
         * file. A torn write beyond a hole was never durable. */
        if (data < 0 || (uint64_t)data > seg->size)
            data = seg->size;
        if (data > 0) {
            map = mmap(NULL, (size_t)data, PROT_READ, MAP_SHARED | MAP_POPULATE,
                       seg->fd, 0);
            if (map == MAP_FAILED)
                return WR_ERR_IO;
            madvise(map, (size_t)data, MADV_SEQUENTIAL);
        }
        /* a compacted segment: its records' positions, by offset */
        s.rec = st->opts.compact ? rec_note : NULL;
        s.rec_arg = &na;
        wr_free(seg->cidx);
        seg->cidx = NULL;
        seg->ncidx = seg->capcidx = 0;
        seg->compacted = false;
        if (data >= WR_SEG_HDR_SIZE) {
            uint64_t f;
            if (wr_seg_hdr_decode(map, &f) == WR_OK &&
                (wr_seg_hdr_flags(map) & WR_SEG_COMPACTED) != 0) {
                seg->compacted = true;
                s.rec = rec_note;
            }
        }
        rc = wr_store_scan(&s, map, (size_t)data, last);
        if (map != NULL)
            munmap(map, (size_t)data);
        if (rc != WR_OK)
            return rc;
        seg->end = s.expect > seg->first ? s.expect : seg->first;
        seg->wpos = s.end;
        if (last && s.end < WR_SEG_HDR_SIZE) {
            /* Not even a header (a crash as it was created): it holds
             * nothing, and the next append creates it again. */
            unlinkat(st->dirfd, seg->name, 0);
            st->nsegs--;
            wr_seg_free(seg);
            break;
        }
        if (last && s.torn && cut_tail(seg, s.end) != WR_OK)
            return WR_ERR_IO;
        if (last && s.bad_header) {
            /* It takes appends: give it a good header again, named by its
             * file, so the next recovery does not report it twice. */
            uint8_t hdr[WR_SEG_HDR_SIZE];

            wr_seg_hdr_encode(hdr, seg->first, now_ms);
            if (pwrite(seg->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
                return WR_ERR_IO;
        }
    }
    st->ra_len = 0; /* a torn tail may have been cut under the window */
    st->next = st->nsegs ? st->segs[st->nsegs - 1]->end : 0;
    if (s.expect > st->next)
        st->next = s.expect;
    st->written = st->next;
    /* What was read may be in the page cache only (the process died, the
     * machine did not): make it durable before anyone counts on it. */
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->opts.sync_fn(st->segs[i]->fd) != 0)
            return WR_ERR_IO;
    if (st->dir_sync(st->dirfd) != 0)
        return WR_ERR_IO;
    pthread_mutex_lock(&st->mu);
    st->want = st->taken_upto = st->durable = st->next;
    pthread_mutex_unlock(&st->mu);
    st->recovered = true;
    wr_store_reclaim(st);
    return WR_OK;
}
