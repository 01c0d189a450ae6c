/* SPDX-License-Identifier: MIT */
/* Reading a record back by its location: from the pending chunk when it
 * has not been written yet, else with one preadv; its checksum is checked
 * either way. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

int
wr_store_read(struct wr_store *st, const struct wr_store_loc *loc, void *buf,
              uint32_t cap, uint8_t *type)
{
    struct wr_store_seg *seg = wr_store_find_seg(st, loc->offset);
    uint8_t hdr[WR_REC_HDR_SIZE];
    const uint8_t *h = hdr, *payload = buf;

    if (seg == NULL)
        return WR_ERR_NOT_FOUND;
    if (cap < loc->len)
        return WR_ERR_NOSPACE;
    if (loc->pos < WR_SEG_HDR_SIZE ||
        (uint64_t)loc->pos + WR_REC_HDR_SIZE + loc->len > seg->size)
        return WR_ERR_SYNTAX;
    if (st->pend_records > 0 && loc->offset >= st->pend_first &&
        seg == st->segs[st->nsegs - 1]) {
        /* Still in the pending chunk, which starts at seg->wpos. */
        size_t at = loc->pos - seg->wpos;

        if (loc->pos < seg->wpos || at > st->buf_len - WR_REC_HDR_SIZE ||
            loc->len > st->buf_len - at - WR_REC_HDR_SIZE)
            return WR_ERR_SYNTAX;
        h = st->buf + at;
        payload = h + WR_REC_HDR_SIZE;
    } else {
        struct iovec iov[2] = {{hdr, sizeof hdr}, {buf, loc->len}};
        ssize_t n;

        do
            n = preadv(seg->fd, iov, 2, loc->pos);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return WR_ERR_IO;
        if ((size_t)n != sizeof hdr + loc->len)
            return WR_ERR_SYNTAX;
    }
    if (wr_store_get32(h) != loc->len ||
        wr_rec_check(h, payload, loc->len) != WR_OK)
        return WR_ERR_SYNTAX;
    if (payload != buf && loc->len > 0)
        memcpy(buf, payload, loc->len);
    if (type != NULL)
        *type = h[4];
    return WR_OK;
}
