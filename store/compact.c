/* SPDX-License-Identifier: MIT */
/* Compaction (STORE.md "Compaction"): a segment whose records are mostly
 * dead is rewritten with only its live records, under its own name and
 * with their own offsets, so nothing that refers to them changes; only
 * their positions do, which the segment then keeps (its index). The new
 * file is written a bounded piece per loop turn, synced by the sync
 * thread, and renamed over the old one: a crash leaves one or the other,
 * whole, and both hold every live record. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A record's byte in seg->rc: its reference count in the low four bits
 * (15 sticks: such a record is always kept) and its size class in the
 * high four (the record, header included, is under 16 << class bytes), so
 * that a segment knows about how many of its bytes are live. */
#define RC_COUNT 0x0fu
#define RC_STICKY 0x0fu

/* The bytes a live record of class c is taken for: the middle of its
 * class (its size is in [8 << c, 16 << c), 16 B and under in class 0). */
static uint64_t
class_bytes(uint8_t v)
{
    return (uint64_t)12 << (v >> 4);
}

struct wr_store_cmp {
    struct wr_store_seg *victim;
    struct wr_store_seg tmp; /* the new file, as the sync thread sees it */
    char tmpname[WR_SEG_NAME_LEN];
    uint32_t rpos;   /* the next chunk to read in the victim */
    uint64_t wpos;   /* bytes written to the new file */
    uint64_t passed; /* the victim's offsets below this were looked at */
    uint8_t *in;     /* a chunk's data */
    size_t incap;
    uint8_t *out; /* the chunks to write this step */
    size_t outlen, outcap;
    size_t open_at; /* the open output chunk's header in out, or SIZE_MAX */
    uint64_t run;   /* the offset that would continue it */
    uint32_t nrun;  /* its records */
    int64_t run_time;
    struct wr_store_cpos *idx; /* the new positions */
    size_t nidx, capidx;
    uint64_t round; /* 0 while copying; then the sync round of the file */
    bool abort;     /* given up while the sync thread held the file */
};

/* ---- per-record counts ------------------------------------------------ */

static const struct wr_store_cpos *cidx_find(const struct wr_store_cpos *v,
                                             size_t n, uint64_t offset);

/* Makes seg->rc cover index i. */
static bool
rc_grow(struct wr_store_seg *seg, uint64_t i)
{
    uint64_t cap = seg->nrc ? seg->nrc : 256;
    void *p;

    if (i < seg->nrc)
        return true;
    while (cap <= i)
        cap *= 2;
    p = wr_realloc(seg->rc, cap);
    if (p == NULL) {
        seg->no_compact = true; /* safe: it is never compacted */
        return false;
    }
    memset((uint8_t *)p + seg->nrc, 0, cap - seg->nrc);
    seg->rc = p;
    seg->nrc = cap;
    return true;
}

/* The byte of the record at offset: in a segment, rc[offset - first]; in
 * a compacted one, rc[k] for its k-th record (the index's order), so that
 * it costs its records, not the offsets it once held. NULL when there is
 * none (a compacted segment without that record, or no memory with
 * grow). */
static uint8_t *
rc_slot(struct wr_store_seg *seg, uint64_t offset, bool grow)
{
    uint64_t i = offset - seg->first;

    if (seg->compacted) {
        const struct wr_store_cpos *c =
            cidx_find(seg->cidx, seg->ncidx, offset);

        if (c == NULL)
            return NULL;
        i = (uint64_t)(c - seg->cidx);
    }
    if (i >= seg->nrc && (!grow || !rc_grow(seg, i)))
        return NULL;
    return &seg->rc[i];
}

void
wr_store_rc_size(struct wr_store_seg *seg, uint64_t offset, uint32_t len)
{
    uint64_t size = WR_REC_HDR_SIZE + (uint64_t)len;
    uint8_t c = 0, *v;

    if (seg->no_compact || (v = rc_slot(seg, offset, true)) == NULL)
        return;
    while (c < 15 && size >= (uint64_t)16 << c)
        c++;
    if ((*v & RC_COUNT) != 0) { /* already live: keep the sum */
        seg->live_bytes -= class_bytes(*v);
        seg->live_bytes += class_bytes((uint8_t)(c << 4));
    }
    *v = (uint8_t)(c << 4 | (*v & RC_COUNT));
}

void
wr_store_rc(struct wr_store *st, struct wr_store_seg *seg, uint64_t offset,
            int d)
{
    uint8_t n, *v;

    if (seg->no_compact)
        return;
    v = rc_slot(seg, offset, d > 0);
    if (v == NULL) { /* a count never raised, or a record the compacted
                        file lacks: the counts are no good */
        seg->no_compact = true;
        return;
    }
    n = *v & RC_COUNT;
    if (d > 0) {
        if (n == 0) {
            seg->live_recs++;
            seg->live_bytes += class_bytes(*v);
            /* a record the compaction under way passed over as dead is
               referenced again: the new file lacks it */
            if (st->cmp != NULL && st->cmp->victim == seg &&
                offset < st->cmp->passed)
                st->cmp->abort = true;
        }
        if (n < RC_STICKY)
            (*v)++;
    } else if (n == 0) {
        seg->no_compact = true;
    } else if (n < RC_STICKY) {
        (*v)--;
        if (n == 1) {
            seg->live_recs--;
            seg->live_bytes -= class_bytes(*v);
            st->cmp_due = true;
        }
    }
}

static bool
rc_live(struct wr_store_seg *seg, uint64_t offset)
{
    const uint8_t *v = rc_slot(seg, offset, false);

    return v != NULL && (*v & RC_COUNT) != 0;
}

static const struct wr_store_cpos *
cidx_find(const struct wr_store_cpos *v, size_t n, uint64_t offset)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v[mid].offset == offset)
            return &v[mid];
        if (v[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool
wr_store_where(const struct wr_store_seg *seg, uint64_t offset, uint32_t *pos)
{
    const struct wr_store_cpos *c;

    if (!seg->compacted)
        return true;
    c = cidx_find(seg->cidx, seg->ncidx, offset);
    if (c == NULL)
        return false;
    *pos = c->pos;
    return true;
}

static int
cpos_push(struct wr_store_cpos **v, size_t *n, size_t *cap, uint64_t offset,
          uint32_t pos)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void *p = wr_realloc(*v, c * sizeof **v);

        if (p == NULL)
            return WR_ERR_NOMEM;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = (struct wr_store_cpos){offset, pos};
    return WR_OK;
}

int
wr_store_cidx_add(void *arg, uint64_t offset, uint32_t pos)
{
    struct wr_store_seg *seg = arg;

    return cpos_push(&seg->cidx, &seg->ncidx, &seg->capcidx, offset, pos);
}

/* ---- the compaction --------------------------------------------------- */

uint64_t
wr_store_cmp_victim(const struct wr_store *st)
{
    return st->cmp != NULL ? st->cmp->victim->first : UINT64_MAX;
}

uint64_t
wr_store_cmp_round(const struct wr_store *st)
{
    return st->cmp != NULL ? st->cmp->round : 0;
}

bool
wr_store_cmp_busy(const struct wr_store *st, const struct wr_store_seg *seg)
{
    return st->cmp != NULL && st->cmp->victim == seg;
}

void
wr_store_cmp_free(struct wr_store *st)
{
    struct wr_store_cmp *c = st->cmp;

    if (c == NULL)
        return;
    if (c->tmp.fd >= 0) {
        close(c->tmp.fd);
        unlinkat(st->dirfd, c->tmpname, 0);
    }
    wr_free(c->in);
    wr_free(c->out);
    wr_free(c->idx);
    wr_free(c);
    st->cmp = NULL;
    st->reclaim_due = true;
}

/* Gives up: the victim is not tried again until fewer of its records are
 * live (never, when its counts are wrong). */
static void
give_up(struct wr_store *st, bool counts_bad)
{
    struct wr_store_seg *v = st->cmp->victim;

    v->cmp_skip = v->live_recs ? v->live_recs : 1;
    if (counts_bad)
        v->no_compact = true;
    wr_store_cmp_free(st);
}

/* Picks the victim: the oldest inactive, durable segment at least a
 * quarter of a segment in size of whose bytes less than a quarter are
 * live (by the size classes: a record counts for up to 1.5 times its
 * size, so at most a sixth may be live in fact). */
static struct wr_store_seg *
pick(struct wr_store *st)
{
    uint64_t durable = wr_store_durable(st);

    for (size_t i = 0; i + 1 < st->nsegs; i++) {
        struct wr_store_seg *seg = st->segs[i];
        if (seg->no_compact || seg->live == 0 || seg->end > durable ||
            seg->wpos < st->opts.segment_size / 4 ||
            seg->live_bytes * 4 >= seg->wpos ||
            (seg->cmp_skip != 0 && seg->live_recs >= seg->cmp_skip))
            continue;
        return seg;
    }
    return NULL;
}

static bool
full_pwrite(int fd, const void *buf, size_t len, uint64_t pos)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done,
                           (off_t)(pos + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

static int
start(struct wr_store *st, struct wr_store_seg *v, int64_t now_ms)
{
    struct wr_store_cmp *c;
    uint8_t hdr[WR_SEG_HDR_SIZE];
    uint64_t sum = 0;

    /* every reference must be on a counted record, or a live record could
       look dead: the counts may only exceed the references (pins that
       went keep their count) */
    for (uint64_t i = 0; i < v->nrc; i++)
        sum += v->rc[i] & RC_COUNT;
    if (sum < v->live) {
        v->no_compact = true;
        return WR_ERR_INVALID;
    }
    c = wr_calloc(1, sizeof *c);
    if (c == NULL)
        return WR_ERR_NOMEM;
    c->victim = v;
    c->tmp.fd = -1;
    c->open_at = SIZE_MAX;
    snprintf(c->tmpname, sizeof c->tmpname, "%020" PRIu64 ".cmp", v->first);
    c->tmp.fd = openat(st->dirfd, c->tmpname,
                       O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    st->cmp = c;
    if (c->tmp.fd < 0) {
        give_up(st, false);
        return WR_ERR_IO;
    }
    wr_seg_hdr_encode(hdr, v->first, now_ms);
    wr_seg_hdr_set_flags(hdr, WR_SEG_COMPACTED);
    if (!full_pwrite(c->tmp.fd, hdr, sizeof hdr, 0)) {
        give_up(st, false);
        return WR_ERR_IO;
    }
    c->wpos = WR_SEG_HDR_SIZE;
    c->rpos = WR_SEG_HDR_SIZE;
    c->passed = v->first;
    return WR_OK;
}

static void
close_run(struct wr_store_cmp *c)
{
    struct wr_chunk_hdr h = {0};

    if (c->open_at == SIZE_MAX)
        return;
    h.type = WR_CHUNK_RECORDS;
    h.entries = (uint16_t)c->nrun;
    h.records = c->nrun;
    h.time_ms = c->run_time;
    h.first = c->run - c->nrun;
    h.data_len = (uint32_t)(c->outlen - c->open_at - WR_CHUNK_HDR_SIZE);
    wr_chunk_hdr_encode(c->out + c->open_at, &h);
    c->open_at = SIZE_MAX;
}

static int
out_room(struct wr_store_cmp *c, size_t need)
{
    if (c->outlen + need > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 64 * 1024;
        void *p;

        while (c->outlen + need > cap)
            cap *= 2;
        p = wr_realloc(c->out, cap);
        if (p == NULL)
            return WR_ERR_NOMEM;
        c->out = p;
        c->outcap = cap;
    }
    return WR_OK;
}

/* Copies the live records of the chunk (h, data) into out. */
static int
copy_chunk(struct wr_store_cmp *c, const struct wr_chunk_hdr *h,
           const uint8_t *data)
{
    size_t rp = 0;

    for (uint32_t i = 0; i < h->records; i++) {
        uint64_t off = h->first + i;
        uint32_t rlen;
        size_t need;

        if (h->data_len - rp < WR_REC_HDR_SIZE ||
            (rlen = wr_store_get32(data + rp)) >
                h->data_len - rp - WR_REC_HDR_SIZE)
            return WR_ERR_SYNTAX;
        need = WR_REC_HDR_SIZE + (size_t)rlen;
        if (rc_live(c->victim, off)) {
            if (wr_rec_check(data + rp, data + rp + WR_REC_HDR_SIZE, rlen) !=
                WR_OK)
                return WR_ERR_SYNTAX;
            if (c->open_at != SIZE_MAX &&
                (c->run != off || c->nrun == WR_CHUNK_MAX_RECORDS))
                close_run(c);
            if (out_room(c, WR_CHUNK_HDR_SIZE + need) != WR_OK)
                return WR_ERR_NOMEM;
            if (c->open_at == SIZE_MAX) {
                c->open_at = c->outlen;
                c->outlen += WR_CHUNK_HDR_SIZE;
                c->nrun = 0;
                c->run_time = h->time_ms;
            }
            if (c->wpos + c->outlen + need > UINT32_MAX ||
                cpos_push(&c->idx, &c->nidx, &c->capidx, off,
                          (uint32_t)(c->wpos + c->outlen)) != WR_OK)
                return WR_ERR_NOMEM;
            memcpy(c->out + c->outlen, data + rp, need);
            c->outlen += need;
            c->run = off + 1;
            c->nrun++;
        }
        rp += need;
    }
    close_run(c);
    return WR_OK;
}

/* Whether any record of [first, first + n) is live. */
static bool
any_live(struct wr_store_seg *v, uint64_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (rc_live(v, first + i))
            return true;
    return false;
}

/* Reads and copies chunks until `budget` bytes were read or the victim
 * ends. WR_OK, or an error (given up). */
static int
copy_step(struct wr_store *st, uint32_t budget)
{
    struct wr_store_cmp *c = st->cmp;
    struct wr_store_seg *v = c->victim;
    uint64_t done = 0;
    unsigned headers = 0;

    while (done < budget && headers < 4096 && c->rpos < v->wpos) {
        uint8_t hb[WR_CHUNK_HDR_SIZE];
        struct wr_chunk_hdr h;
        uint64_t dlen;

        if (v->wpos - c->rpos < WR_CHUNK_HDR_SIZE ||
            wr_store_pread_all(v->fd, hb, sizeof hb, c->rpos) != WR_OK ||
            wr_chunk_hdr_decode(hb, &h) != WR_OK)
            return WR_ERR_SYNTAX;
        dlen = (uint64_t)h.data_len + h.trailer_len;
        if (dlen > v->wpos - c->rpos - WR_CHUNK_HDR_SIZE || h.first < c->passed)
            return WR_ERR_SYNTAX;
        headers++;
        done += WR_CHUNK_HDR_SIZE;
        if (h.type == WR_CHUNK_RECORDS && any_live(v, h.first, h.records)) {
            if (h.data_len > c->incap) {
                void *p = wr_realloc(c->in, h.data_len);

                if (p == NULL)
                    return WR_ERR_NOMEM;
                c->in = p;
                c->incap = h.data_len;
            }
            if (wr_store_pread_all(v->fd, c->in, h.data_len,
                                   c->rpos + WR_CHUNK_HDR_SIZE) != WR_OK)
                return WR_ERR_IO;
            done += h.data_len;
            if (copy_chunk(c, &h, c->in) != WR_OK)
                return WR_ERR_SYNTAX;
        }
        c->passed = h.first + h.records;
        c->rpos += (uint32_t)(WR_CHUNK_HDR_SIZE + dlen);
    }
    if (c->outlen > 0) {
        if (!full_pwrite(c->tmp.fd, c->out, c->outlen, c->wpos))
            return WR_ERR_IO;
        c->wpos += c->outlen;
        c->outlen = 0;
    }
    return WR_OK;
}

/* The new file is durable: it takes the victim's place. */
static void
swap(struct wr_store *st)
{
    struct wr_store_cmp *c = st->cmp;
    struct wr_store_seg *v = c->victim;

    if (v->live == 0) { /* all of it died meanwhile: reclaim deletes it */
        wr_store_cmp_free(st);
        return;
    }
    if (renameat(st->dirfd, c->tmpname, st->dirfd, v->name) != 0) {
        give_up(st, false);
        return;
    }
    st->cmp_saved += v->size > c->wpos ? v->size - c->wpos : 0;
    /* the counts follow the new file's records (compacted: rc[k] for its
       k-th record), taken while the old index still says where */
    if (!v->no_compact) {
        uint8_t *rc = wr_malloc(c->nidx ? c->nidx : 1);

        if (rc == NULL) {
            v->no_compact = true;
        } else {
            for (size_t k = 0; k < c->nidx; k++) {
                const uint8_t *o = rc_slot(v, c->idx[k].offset, false);
                rc[k] = o != NULL ? *o : 0;
            }
        }
        wr_free(v->rc);
        v->rc = rc;
        v->nrc = rc != NULL ? c->nidx : 0;
    }
    close(v->fd);
    v->fd = c->tmp.fd;
    c->tmp.fd = -1;
    v->size = v->wpos = (uint32_t)c->wpos;
    wr_free(v->cidx);
    v->cidx = c->idx;
    v->ncidx = v->capcidx = c->nidx;
    c->idx = NULL;
    v->compacted = true;
    st->ra_len = 0; /* the window may hold the old file's bytes */
    st->compactions++;
    wr_store_cmp_free(st);
    /* the rename, durable with the next fsync of the directory (until
       then a crash leaves the old file, which holds the same) */
    wr_store_sync_request(st, 0, true);
}

bool
wr_store_compact(struct wr_store *st, uint32_t budget, int64_t now_ms)
{
    struct wr_store_cmp *c;
    int rc;

    if (!st->opts.compact || !st->recovered || st->werr != 0 ||
        wr_store_failed(st) != 0)
        return false;
    if (st->cmp == NULL) {
        struct wr_store_seg *v;

        if (!st->cmp_due || st->space_wanted != 0)
            return false;
        st->cmp_due = false;
        v = pick(st);
        if (v == NULL || start(st, v, now_ms) != WR_OK)
            return false;
    }
    c = st->cmp;
    if (c->round != 0) {
        if (!wr_store_round_done(st, c->round))
            return false; /* the sync thread's event fd wakes the loop */
        if (c->abort || wr_store_failed(st) != 0)
            give_up(st, false);
        else
            swap(st);
        st->cmp_due = true; /* the next one */
        return true;
    }
    if (c->abort) {
        give_up(st, false);
        return true;
    }
    rc = copy_step(st, budget);
    if (rc != WR_OK) {
        give_up(st, rc == WR_ERR_SYNTAX);
        return false;
    }
    if (c->rpos < c->victim->wpos)
        return true;
    c->round = wr_store_sync_extra(st, &c->tmp);
    if (c->round == 0)
        give_up(st, false);
    return false;
}
