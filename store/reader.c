/* SPDX-License-Identifier: MIT */
/* Reading a record back by its location: from the pending chunk when it
 * has not been written yet, else with one preadv straight into the
 * caller's buffers; its checksum is checked either way. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

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

int
wr_store_readv(struct wr_store *st, const struct wr_store_loc *loc,
               const struct wr_store_buf *parts, unsigned n, uint8_t *type)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, loc->offset);
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
    if (seg == NULL)
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
