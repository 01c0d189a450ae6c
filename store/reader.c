/* SPDX-License-Identifier: MIT */
/* Reading a record back by its location: from the pending chunk when it
 * has not been written yet, else with one preadv straight into the
 * caller's buffers; its checksum is checked either way. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_PARTS 8

/* The checksum of the payload scattered over parts, after the header. */
static uint32_t
parts_crc(const uint8_t *hdr, const struct wr_store_buf *parts, unsigned n)
{
    uint32_t c = wr_crc32c(0, hdr, 8);

    for (unsigned i = 0; i < n; i++)
        c = wr_crc32c(c, parts[i].ptr, parts[i].len);
    return c;
}

/* Whether the record at loc (header and payload) is in the window. */
static bool
in_window(const struct wr_store *st, const struct wr_store_seg *seg,
          const struct wr_store_loc *loc)
{
    return st->ra_len > 0 && st->ra_first == seg->first &&
           loc->pos >= st->ra_pos &&
           loc->pos + WR_REC_HDR_SIZE + (uint64_t)loc->len <=
               st->ra_pos + st->ra_len;
}

/* Reads the window from the record at loc on (what the file holds). */
static int
fill_window(struct wr_store *st, struct wr_store_seg *seg,
            const struct wr_store_loc *loc)
{
    /* what was written (the rest is preallocated zeros) */
    uint64_t end = seg->wpos > loc->pos ? seg->wpos : seg->size;
    uint64_t want = end - loc->pos;
    ssize_t got;

    if (want > st->ra_cap)
        want = st->ra_cap;
    st->ra_len = 0;
    do
        got = pread(seg->fd, st->ra_buf, want, loc->pos);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return WR_ERR_IO;
    st->ra_len = (uint32_t)got;
    st->ra_pos = loc->pos;
    st->ra_first = seg->first;
    return WR_OK;
}

int
wr_store_readahead(struct wr_store *st, uint32_t bytes)
{
    wr_free(st->ra_buf);
    st->ra_buf = NULL;
    st->ra_cap = st->ra_len = 0;
    if (bytes == 0)
        return WR_OK;
    st->ra_buf = wr_malloc(bytes);
    if (st->ra_buf == NULL)
        return WR_ERR_NOMEM;
    st->ra_cap = bytes;
    return WR_OK;
}

int
wr_store_readv(struct wr_store *st, const struct wr_store_loc *given,
               const struct wr_store_buf *parts, unsigned n, uint8_t *type)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, given->offset);
    struct wr_store_loc where = *given;
    const struct wr_store_loc *loc = &where;
    struct iovec iov[MAX_PARTS + 1];
    uint8_t hdr[WR_REC_HDR_SIZE];
    const uint8_t *h = hdr;
    uint64_t total = 0;

    if (n > MAX_PARTS)
        return WR_ERR_INVALID;
    for (unsigned i = 0; i < n; i++)
        total += parts[i].len;
    if (total != loc->len)
        return WR_ERR_NOSPACE;
    /* a compacted segment says where the record is now */
    if (seg == NULL || !wr_store_where(seg, where.offset, &where.pos))
        return WR_ERR_NOT_FOUND;
    if (loc->pos < WR_SEG_HDR_SIZE ||
        (uint64_t)loc->pos + WR_REC_HDR_SIZE + loc->len > seg->size)
        return WR_ERR_SYNTAX;
    if (st->pend_records > 0 && loc->offset >= st->pend_first &&
        seg == st->segs[st->nsegs - 1]) {
        /* Still in the pending chunk, which starts at seg->wpos. */
        size_t at = loc->pos - seg->wpos;
        const uint8_t *p;

        if (loc->pos < seg->wpos || at > st->buf_len - WR_REC_HDR_SIZE ||
            loc->len > st->buf_len - at - WR_REC_HDR_SIZE)
            return WR_ERR_SYNTAX;
        h = st->buf + at;
        p = h + WR_REC_HDR_SIZE;
        for (unsigned i = 0; i < n; i++) {
            if (parts[i].len > 0)
                memcpy(parts[i].ptr, p, parts[i].len);
            p += parts[i].len;
        }
    } else if (st->ra_buf != NULL &&
               WR_REC_HDR_SIZE + (uint64_t)loc->len <= st->ra_cap) {
        const uint8_t *p;

        if (!in_window(st, seg, loc) && fill_window(st, seg, loc) != WR_OK)
            return WR_ERR_IO;
        if (!in_window(st, seg, loc))
            return WR_ERR_SYNTAX; /* the file ends before the record */
        memcpy(hdr, st->ra_buf + (loc->pos - st->ra_pos), sizeof hdr);
        p = st->ra_buf + (loc->pos - st->ra_pos) + WR_REC_HDR_SIZE;
        for (unsigned i = 0; i < n; i++) {
            if (parts[i].len > 0)
                memcpy(parts[i].ptr, p, parts[i].len);
            p += parts[i].len;
        }
    } else {
        ssize_t got;

        iov[0] = (struct iovec){hdr, sizeof hdr};
        for (unsigned i = 0; i < n; i++)
            iov[i + 1] = (struct iovec){parts[i].ptr, parts[i].len};
        do
            got = preadv(seg->fd, iov, (int)n + 1, loc->pos);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return WR_ERR_IO;
        if ((size_t)got != sizeof hdr + loc->len)
            return WR_ERR_SYNTAX;
    }
    if (wr_store_get32(h) != loc->len ||
        parts_crc(h, parts, n) != wr_store_get32(h + 8))
        return WR_ERR_SYNTAX;
    if (type != NULL)
        *type = h[4];
    return WR_OK;
}

int
wr_store_read(struct wr_store *st, const struct wr_store_loc *loc, void *buf,
              uint32_t cap, uint8_t *type)
{
    struct wr_store_buf part = {buf, loc->len};

    if (cap < loc->len)
        return WR_ERR_NOSPACE;
    return wr_store_readv(st, loc, &part, 1, type);
}
