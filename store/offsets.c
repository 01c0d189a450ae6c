/* SPDX-License-Identifier: MIT */
/* A stream's tracked consumer offsets (STORE.md "Consumer offsets"): a
 * small file beside the segments of CRC32C-checked records, one per
 * change of a consumer tag's offset, the last one of a tag winning; read
 * back whole at open, appended to at the end of a loop turn, rewritten
 * (a new file renamed over the old) when mostly stale or damaged. */
#include "store_internal.h"

#include "../common/hmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_NAME "offsets"
#define TMP_NAME "offsets.tmp"
#define COMPACT_MIN (1u << 20) /* rewrite only past 1 MiB ... */
#define COMPACT_RATIO 4        /* ... and 4 times what is live */
#define FILE_MAX (256u << 20)  /* larger is not ours: damage */

/* One tag's offset. */
struct entry {
    uint64_t offset;
    uint64_t seq; /* order of the last change: oldest goes first */
    bool dirty;   /* changed since the last flush */
    uint8_t len;
    uint8_t tag[]; /* len bytes */
};

struct wr_offsets {
    int dirfd, fd;
    uint64_t size;      /* bytes of good data in the file (appends go here) */
    uint64_t live;      /* bytes the live entries take as records */
    uint64_t seq;       /* last seq given */
    struct wr_hmap map; /* tag -> struct entry (owned) */
    struct entry **dirty;
    size_t ndirty, dirty_cap;
    uint32_t max_tags;
    uint64_t evicted;
};

/* ---- the codec --------------------------------------------------------- */

static size_t
rec_size(size_t tag_len)
{
    return WR_OFFREC_HDR + tag_len + 4;
}

size_t
wr_offrec_encode(const void *tag, size_t tag_len, uint64_t offset, uint8_t *out)
{
    wr_assert(tag_len >= 1 && tag_len <= WR_OFFREC_TAG_MAX);
    out[0] = WR_OFFREC_MARK;
    out[1] = (uint8_t)tag_len;
    wr_store_put64(out + 2, offset);
    memcpy(out + WR_OFFREC_HDR, tag, tag_len);
    wr_store_put32(out + WR_OFFREC_HDR + tag_len,
                   wr_crc32c(0, out, WR_OFFREC_HDR + tag_len));
    return rec_size(tag_len);
}

int
wr_offrec_decode(const uint8_t *buf, size_t len, struct wr_bytes *tag,
                 uint64_t *offset, size_t *rec_len)
{
    size_t n;

    if (len < 2)
        return WR_AGAIN;
    if (buf[0] != WR_OFFREC_MARK || buf[1] == 0)
        return WR_ERR_SYNTAX;
    n = rec_size(buf[1]);
    if (len < n)
        return WR_AGAIN;
    if (wr_store_get32(buf + n - 4) != wr_crc32c(0, buf, n - 4))
        return WR_ERR_SYNTAX;
    *tag = (struct wr_bytes){buf + WR_OFFREC_HDR, buf[1]};
    *offset = wr_store_get64(buf + 2);
    *rec_len = n;
    return WR_OK;
}

void
wr_offsets_hdr_encode(uint8_t *p)
{
    memcpy(p, WR_OFFSETS_MAGIC, 8);
    wr_store_put32(p + 8, 0);
    wr_store_put32(p + 12, wr_crc32c(0, p, 12));
}

/* Where the next good record starts after a bad one at pos, or len. */
static size_t
resync(const uint8_t *buf, size_t len, size_t pos)
{
    for (size_t p = pos + 1; p < len; p++) {
        const uint8_t *m = memchr(buf + p, WR_OFFREC_MARK, len - p);
        struct wr_bytes tag;
        uint64_t off;
        size_t n;

        if (m == NULL)
            break;
        p = (size_t)(m - buf);
        if (wr_offrec_decode(m, len - p, &tag, &off, &n) == WR_OK)
            return p;
    }
    return len;
}

static void
report(wr_store_damage_cb damage, void *arg, uint64_t pos, uint64_t len,
       bool torn, const char *what)
{
    struct wr_store_damage d = {
        .file = FILE_NAME, .pos = pos, .len = len, .torn = torn, .what = what};

    if (damage)
        damage(arg, &d);
}

int
wr_offsets_scan(const uint8_t *buf, size_t len, wr_offsets_cb cb, void *cb_arg,
                wr_store_damage_cb damage, void *arg, size_t *good_end)
{
    size_t pos = WR_OFFSETS_HDR;
    int bad = 0;

    *good_end = 0;
    if (len == 0)
        return 0;
    if (len < WR_OFFSETS_HDR) {
        report(damage, arg, 0, len, true, "a short header");
        return 1;
    }
    if (memcmp(buf, WR_OFFSETS_MAGIC, 8) != 0 ||
        wr_store_get32(buf + 12) != wr_crc32c(0, buf, 12)) {
        /* not ours, or damaged: the records may still be good */
        report(damage, arg, 0, WR_OFFSETS_HDR, false, "a bad header");
        bad = 1;
    }
    *good_end = WR_OFFSETS_HDR;
    while (pos < len) {
        struct wr_bytes tag;
        uint64_t off;
        size_t n, next;
        int rc = wr_offrec_decode(buf + pos, len - pos, &tag, &off, &n);

        if (rc == WR_OK) {
            if (cb)
                cb(cb_arg, tag, off);
            pos += n;
            *good_end = pos;
            continue;
        }
        next = resync(buf, len, pos);
        if (next == len) {
            /* nothing good after it: a write cut short by a crash (or
             * zeros a file system left past the last write) */
            report(damage, arg, pos, len - pos, true, "a torn record");
            return bad + 1;
        }
        report(damage, arg, pos, next - pos, false, "a bad record");
        bad++;
        pos = next;
    }
    return bad;
}

/* ---- the map ------------------------------------------------------------ */

static struct entry *
find(const struct wr_offsets *o, const void *tag, size_t len)
{
    return wr_hmap_get(&o->map, tag, len);
}

static void
undirty(struct wr_offsets *o, struct entry *e)
{
    if (!e->dirty)
        return;
    for (size_t i = 0; i < o->ndirty; i++) {
        if (o->dirty[i] == e) {
            o->dirty[i] = o->dirty[--o->ndirty];
            break;
        }
    }
    e->dirty = false;
}

static void
drop(struct wr_offsets *o, struct entry *e)
{
    undirty(o, e);
    wr_hmap_del(&o->map, e->tag, e->len);
    o->live -= rec_size(e->len);
    wr_free(e);
}

/* The entry whose last change is the oldest. */
static struct entry *
oldest(const struct wr_offsets *o)
{
    struct entry *best = NULL;
    const char *k;
    size_t kl, pos = 0;
    void *v;

    while (wr_hmap_next(&o->map, &pos, &k, &kl, &v)) {
        struct entry *e = v;
        if (best == NULL || e->seq < best->seq)
            best = e;
    }
    return best;
}

/* Sets tag's offset in memory (*out: its entry); a new tag past
 * max_tags evicts the one changed longest ago. */
static int
put(struct wr_offsets *o, const void *tag, size_t len, uint64_t offset,
    struct entry **out)
{
    struct entry *e = find(o, tag, len);

    if (e == NULL) {
        if (o->map.count >= o->max_tags) {
            drop(o, oldest(o));
            o->evicted++;
        }
        e = wr_malloc(sizeof *e + len);
        if (e == NULL)
            return WR_ERR_NOMEM;
        e->dirty = false;
        e->len = (uint8_t)len;
        memcpy(e->tag, tag, len);
        if (wr_hmap_put(&o->map, e->tag, len, e, NULL) != WR_OK) {
            wr_free(e);
            return WR_ERR_NOMEM;
        }
        o->live += rec_size(len);
    }
    e->offset = offset;
    e->seq = ++o->seq;
    if (out)
        *out = e;
    return WR_OK;
}

static void
load_one(void *arg, struct wr_bytes tag, uint64_t offset)
{
    put(arg, tag.ptr, tag.len, offset, NULL);
}

/* ---- the file ----------------------------------------------------------- */

static int
write_all(int fd, const uint8_t *p, size_t n, uint64_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return errno == ENOSPC || errno == EDQUOT ? WR_ERR_FULL : WR_ERR_IO;
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return WR_OK;
}

static int
by_seq(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a;
    const struct entry *y = *(struct entry *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The live entries, oldest change first (NULL when there are none or
 * out of memory: *n says which). */
static struct entry **
sorted(const struct wr_offsets *o, size_t *n)
{
    struct entry **v;
    const char *k;
    size_t kl, pos = 0, i = 0;
    void *val;

    *n = o->map.count;
    if (*n == 0)
        return NULL;
    v = wr_malloc(*n * sizeof *v);
    if (v == NULL)
        return NULL;
    while (wr_hmap_next(&o->map, &pos, &k, &kl, &val))
        v[i++] = val;
    qsort(v, *n, sizeof *v, by_seq);
    return v;
}

/* Writes the live entries to a new file and renames it over the old one:
 * synced before the rename and the directory after, so a crash leaves
 * the old file or the new one, whole. */
static int
rewrite(struct wr_offsets *o)
{
    size_t n, len = WR_OFFSETS_HDR;
    struct entry **v = sorted(o, &n);
    uint8_t *buf;
    int fd, rc;

    if (n > 0 && v == NULL)
        return WR_ERR_NOMEM;
    buf = wr_malloc(WR_OFFSETS_HDR + o->live);
    if (buf == NULL) {
        wr_free(v);
        return WR_ERR_NOMEM;
    }
    wr_offsets_hdr_encode(buf);
    for (size_t i = 0; i < n; i++)
        len += wr_offrec_encode(v[i]->tag, v[i]->len, v[i]->offset, buf + len);
    wr_free(v);
    fd = openat(o->dirfd, TMP_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                0640);
    if (fd < 0) {
        wr_free(buf);
        return errno == ENOSPC || errno == EDQUOT ? WR_ERR_FULL : WR_ERR_IO;
    }
    rc = write_all(fd, buf, len, 0);
    wr_free(buf);
    if (rc == WR_OK && fdatasync(fd) != 0)
        rc = WR_ERR_IO;
    if (rc == WR_OK && renameat(o->dirfd, TMP_NAME, o->dirfd, FILE_NAME) != 0)
        rc = WR_ERR_IO;
    if (rc != WR_OK) {
        close(fd);
        unlinkat(o->dirfd, TMP_NAME, 0);
        return rc;
    }
    fsync(o->dirfd);
    if (o->fd >= 0)
        close(o->fd);
    o->fd = fd;
    o->size = len;
    /* everything is in the new file */
    for (size_t i = 0; i < o->ndirty; i++)
        o->dirty[i]->dirty = false;
    o->ndirty = 0;
    return WR_OK;
}

/* Reads fd whole (at most FILE_MAX bytes) into *out. */
static int
read_file(int fd, uint8_t **out, size_t *len)
{
    struct stat sb;
    uint8_t *buf;
    size_t n = 0, want;

    *out = NULL;
    *len = 0;
    if (fstat(fd, &sb) != 0)
        return WR_ERR_IO;
    want = (size_t)WR_MIN((uint64_t)sb.st_size, (uint64_t)FILE_MAX);
    buf = wr_malloc(want ? want : 1);
    if (buf == NULL)
        return WR_ERR_NOMEM;
    while (n < want) {
        ssize_t r = pread(fd, buf + n, want - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            wr_free(buf);
            return WR_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return WR_OK;
}

int
wr_offsets_open(const char *dir, uint32_t max_tags, wr_store_damage_cb damage,
                void *arg, struct wr_offsets **out, char *err, size_t errlen)
{
    struct wr_offsets *o = wr_calloc(1, sizeof *o);
    uint8_t *buf = NULL;
    size_t len = 0, good = 0;
    struct stat sb;
    int rc = WR_ERR_IO, bad;

    *out = NULL;
    if (o == NULL)
        return WR_ERR_NOMEM;
    o->fd = -1;
    o->dirfd = -1;
    o->max_tags = max_tags ? max_tags : WR_OFFSETS_MAX_TAGS;
    wr_hmap_init(&o->map);
    o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o->dirfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    unlinkat(o->dirfd, TMP_NAME, 0); /* a rewrite that did not finish */
    o->fd = openat(o->dirfd, FILE_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (o->fd < 0) {
        snprintf(err, errlen, "cannot open %s/%s: %s", dir, FILE_NAME,
                 strerror(errno));
        goto fail;
    }
    rc = read_file(o->fd, &buf, &len);
    if (rc != WR_OK) {
        snprintf(err, errlen, "cannot read %s/%s", dir, FILE_NAME);
        goto fail;
    }
    bad = wr_offsets_scan(buf, len, load_one, o, damage, arg, &good);
    wr_free(buf);
    if (fstat(o->fd, &sb) == 0 && (uint64_t)sb.st_size > len) {
        report(damage, arg, len, (uint64_t)sb.st_size - len, false,
               "a file too large");
        bad++;
    }
    if (o->evicted > 0) /* more tags than the cap: the oldest went */
        bad++;
    o->size = good;
    if (bad > 0 || len == 0 || o->size > COMPACT_MIN) {
        /* a clean file again (or a first one, with its header) */
        rc = rewrite(o);
        if (rc != WR_OK) {
            snprintf(err, errlen, "cannot write %s/%s", dir, FILE_NAME);
            goto fail;
        }
    }
    *out = o;
    return WR_OK;
fail:
    wr_offsets_close(o);
    return rc;
}

bool
wr_offsets_get(const struct wr_offsets *o, const void *tag, size_t len,
               uint64_t *offset)
{
    const struct entry *e;

    if (o == NULL || len == 0 || len > WR_OFFREC_TAG_MAX)
        return false;
    e = find(o, tag, len);
    if (e == NULL)
        return false;
    *offset = e->offset;
    return true;
}

int
wr_offsets_set(struct wr_offsets *o, const void *tag, size_t len,
               uint64_t offset)
{
    struct entry *e;
    int rc;

    if (len == 0 || len > WR_OFFREC_TAG_MAX)
        return WR_ERR_INVALID;
    rc = put(o, tag, len, offset, &e);
    if (rc != WR_OK)
        return rc;
    if (!e->dirty) {
        if (o->ndirty == o->dirty_cap) {
            size_t cap = o->dirty_cap ? o->dirty_cap * 2 : 16;
            struct entry **v = wr_realloc(o->dirty, cap * sizeof *v);
            if (v == NULL)
                return WR_ERR_NOMEM;
            o->dirty = v;
            o->dirty_cap = cap;
        }
        o->dirty[o->ndirty++] = e;
        e->dirty = true;
    }
    return WR_OK;
}

int
wr_offsets_flush(struct wr_offsets *o)
{
    size_t len = 0;
    uint8_t *buf;
    int rc;

    if (o == NULL || o->ndirty == 0)
        return WR_OK;
    if (o->size > COMPACT_MIN &&
        o->size > COMPACT_RATIO * (WR_OFFSETS_HDR + o->live))
        return rewrite(o);
    buf = wr_malloc(o->ndirty * rec_size(WR_OFFREC_TAG_MAX));
    if (buf == NULL)
        return WR_ERR_NOMEM;
    for (size_t i = 0; i < o->ndirty; i++) {
        struct entry *e = o->dirty[i];
        len += wr_offrec_encode(e->tag, e->len, e->offset, buf + len);
    }
    /* at o->size: what a failed write left there is overwritten next time */
    rc = write_all(o->fd, buf, len, o->size);
    wr_free(buf);
    if (rc != WR_OK)
        return rc;
    o->size += len;
    for (size_t i = 0; i < o->ndirty; i++)
        o->dirty[i]->dirty = false;
    o->ndirty = 0;
    return WR_OK;
}

bool
wr_offsets_next(const struct wr_offsets *o, size_t *pos, struct wr_bytes *tag,
                uint64_t *offset)
{
    const char *k;
    size_t kl;
    void *v;

    if (o == NULL || !wr_hmap_next(&o->map, pos, &k, &kl, &v))
        return false;
    *tag =
        (struct wr_bytes){((struct entry *)v)->tag, ((struct entry *)v)->len};
    *offset = ((struct entry *)v)->offset;
    return true;
}

size_t
wr_offsets_count(const struct wr_offsets *o)
{
    return o ? o->map.count : 0;
}

uint64_t
wr_offsets_evicted(const struct wr_offsets *o)
{
    return o ? o->evicted : 0;
}

static void
free_all(struct wr_offsets *o)
{
    const char *k;
    size_t kl, pos = 0;
    void *v;

    while (wr_hmap_next(&o->map, &pos, &k, &kl, &v))
        wr_free(v);
    wr_hmap_cleanup(&o->map);
    wr_free(o->dirty);
    if (o->fd >= 0)
        close(o->fd);
    if (o->dirfd >= 0)
        close(o->dirfd);
    wr_free(o);
}

int
wr_offsets_close(struct wr_offsets *o)
{
    int rc;

    if (o == NULL)
        return WR_OK;
    rc = o->fd >= 0 ? wr_offsets_flush(o) : WR_OK;
    if (rc == WR_OK && o->fd >= 0 && fdatasync(o->fd) != 0)
        rc = WR_ERR_IO;
    free_all(o);
    return rc;
}

void
wr_offsets_destroy(struct wr_offsets *o)
{
    if (o == NULL)
        return;
    unlinkat(o->dirfd, FILE_NAME, 0);
    unlinkat(o->dirfd, TMP_NAME, 0);
    free_all(o);
}
