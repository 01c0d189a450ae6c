/* SPDX-License-Identifier: MIT */
/* store/'s cross-file internals: the on-disk layouts (STORE.md "Format"),
 * the segment and store structs, and the functions the files share. */
#ifndef WR_STORE_INTERNAL_H
#define WR_STORE_INTERNAL_H

#include "store.h"

#include <pthread.h>
#include <stdbool.h>

#define WR_SEG_HDR_SIZE 32
#define WR_SEG_MAGIC "WRSTORE1"
#define WR_CHUNK_HDR_SIZE 48
#define WR_CHUNK_MAGIC 0xA1
#define WR_CHUNK_USER 0x00
#define WR_CHUNK_RECORDS 0x80
#define WR_CHUNK_MAX_RECORDS 65535u
#define WR_REC_HDR_SIZE 12
#define WR_SEG_NAME_LEN 28 /* 20 digits, ".seg", NUL */

#define WR_STORE_DEFAULT_SEGMENT (64u << 20)
#define WR_STORE_DEFAULT_CHUNK (1u << 20)

/* ---- record.c: encodings ---------------------------------------------- */

struct wr_chunk_hdr {
    uint8_t type; /* WR_CHUNK_* */
    uint16_t entries;
    uint32_t records;
    int64_t time_ms;
    uint64_t epoch;
    uint64_t first; /* first offset */
    uint32_t data_crc;
    uint32_t data_len;
    uint32_t trailer_len;
};

void wr_store_put32(uint8_t *p, uint32_t v);
void wr_store_put64(uint8_t *p, uint64_t v);
uint32_t wr_store_get32(const uint8_t *p);
uint64_t wr_store_get64(const uint8_t *p);
/* Reads len bytes at `at`, retrying short reads and EINTR: WR_OK,
 * WR_ERR_IO (read failed) or WR_ERR_SYNTAX (the file ends first). */
int wr_store_pread_all(int fd, void *buf, size_t len, uint64_t at);

/* Writes the 32-byte segment header. */
void wr_seg_hdr_encode(uint8_t *p, uint64_t first, int64_t time_ms);
/* The header's flags (bytes 24-27, once reserved) and setting them (the
 * checksum is computed again). */
#define WR_SEG_COMPACTED 1u /* holds only some of its offsets (compact.c) */
uint32_t wr_seg_hdr_flags(const uint8_t *p);
void wr_seg_hdr_set_flags(uint8_t *p, uint32_t flags);
/* WR_OK and the first offset, or WR_ERR_SYNTAX (bad magic or checksum). */
int wr_seg_hdr_decode(const uint8_t *p, uint64_t *first);
/* Writes the 48-byte chunk header, its checksum included. */
void wr_chunk_hdr_encode(uint8_t *p, const struct wr_chunk_hdr *h);
/* Decodes 48 bytes: WR_OK, or WR_ERR_SYNTAX (magic, checksum, type). */
int wr_chunk_hdr_decode(const uint8_t *p, struct wr_chunk_hdr *h);
/* Writes a whole record at p: the 12-byte header, then the n parts (len
 * bytes in all), then its checksum into the header. */
void wr_rec_encode(uint8_t *p, uint8_t type, const struct wr_bytes *parts,
                   unsigned n, uint32_t len);
/* Checks a whole record (header + len payload bytes). WR_OK or
 * WR_ERR_SYNTAX. */
int wr_rec_check(const uint8_t *hdr, const uint8_t *payload, uint32_t len);

/* ---- recovery.c: the scanner over bytes ------------------------------- */

struct wr_scan {
    const char *file; /* for damage reports */
    uint64_t expect;  /* next offset expected (in/out) */
    uint64_t limit;   /* offsets must stay below (the next file's) */
    uint32_t end;     /* out: position after the last good chunk */
    bool torn;        /* out: the file ends in a torn tail at `end` */
    bool bad_header;  /* out: the segment header failed its checks */
    wr_store_record_cb cb;
    wr_store_damage_cb damage;
    void *arg;
    uint64_t records; /* out: good records given to cb */
    /* Optional: each good chunk's first offset, position and time (the
     * stream index, cursor.c). */
    void (*chunk)(void *arg, uint64_t first, uint32_t pos, int64_t time_ms);
    void *chunk_arg;
    /* Optional: each good record's offset, position and length, before cb
     * (sizes for compaction, the position index of a compacted segment).
     * WR_OK or WR_ERR_NOMEM. */
    int (*rec)(void *arg, uint64_t offset, uint32_t pos, uint32_t len);
    void *rec_arg;
};

/* Scans the chunks of one segment's bytes (header included) and calls
 * s->cb for each good record with loc.pos relative to buf. last: this is
 * the log's last segment (a trailing bad region is a torn tail, not
 * corruption). Returns WR_OK or cb's error. Never reads outside buf. */
int wr_store_scan(struct wr_scan *s, const uint8_t *buf, size_t len, bool last);

/* ---- segment.c -------------------------------------------------------- */

struct wr_store_pin_ent {
    uint64_t seg;   /* first offset of the pinned (younger) segment */
    uint64_t count; /* references held on it */
};

/* Where a record of a compacted segment is (compact.c). */
struct wr_store_cpos {
    uint64_t offset;
    uint32_t pos;
};

struct wr_store_seg {
    uint64_t first; /* first offset: the file name */
    uint64_t end;   /* offset after its last record written or pending */
    uint32_t size;  /* file size */
    uint32_t wpos;  /* bytes written (next chunk's position) */
    int fd;
    uint64_t live; /* references held */
    /* st->next when live last dropped to 0: the records appended before
     * that (the tombstones that ended its records) must be durable before
     * it is deleted, or a crash would bring back an ENQ without its MSG. */
    uint64_t dead_at;
    struct wr_store_pin_ent *pins; /* released when this one is deleted */
    size_t npins, cappins;
    bool dirty; /* queued for the sync thread (under st->mu) */
    char name[WR_SEG_NAME_LEN];
    /* With opts.index_every (streams, cursor.c): a chunk every that many
     * bytes (and the first), to seek by offset and time without a scan. */
    struct wr_store_idx *idx;
    size_t nidx, capidx;
    int64_t last_time; /* its newest chunk's time, 0 when none */
    /* Per-record reference counts and size classes (compact.c):
     * rc[offset - first]; nrc allocated. live_recs: records whose count is
     * not 0. */
    uint8_t *rc;
    uint64_t nrc, live_recs;
    uint64_t live_bytes; /* about: the live records' size classes */
    bool no_compact;     /* its counts cannot be trusted: never compacted */
    uint64_t cmp_skip;   /* a compaction failed at this live_recs: not again
                            until fewer are live (0: none failed) */
    /* A compacted segment (WR_SEG_COMPACTED): its records' positions, by
     * offset; callers' positions are stale. */
    struct wr_store_cpos *cidx;
    size_t ncidx, capcidx;
    bool compacted;
};

/* compact.c */
/* A reference was added to (d > 0) or dropped from the record at offset
 * in seg: its per-record count. */
void wr_store_rc(struct wr_store *st, struct wr_store_seg *seg, uint64_t offset,
                 int d);
/* Notes the size of the record at offset (appended or recovered). */
void wr_store_rc_size(struct wr_store_seg *seg, uint64_t offset, uint32_t len);
/* Where the record at offset is in seg: its position (a compacted
 * segment's from its index; else pos as given). False when a compacted
 * segment does not hold it. */
bool wr_store_where(const struct wr_store_seg *seg, uint64_t offset,
                    uint32_t *pos);
/* Adds a record to seg's (arg's) position index: recovery of a
 * compacted segment. WR_OK or WR_ERR_NOMEM. */
int wr_store_cidx_add(void *arg, uint64_t offset, uint32_t pos);
/* Gives up a compaction under way (close, or its victim is going). */
void wr_store_cmp_free(struct wr_store *st);
/* Whether seg is being compacted (not deletable meanwhile). */
bool wr_store_cmp_busy(const struct wr_store *st,
                       const struct wr_store_seg *seg);
struct wr_store_cmp;
/* For tests: the first offset of the segment being compacted
 * (UINT64_MAX: none), and the sync round its new file waits for (0: it is
 * still being copied). */
uint64_t wr_store_cmp_victim(const struct wr_store *st);
uint64_t wr_store_cmp_round(const struct wr_store *st);

/* cursor.c: one indexed chunk of a segment. */
struct wr_store_idx {
    uint64_t first; /* its first offset */
    int64_t time_ms;
    uint32_t pos; /* its header's position in the segment */
};

/* Notes a chunk written or recovered at pos in seg (index, last time). */
void wr_store_note_chunk(struct wr_store *st, struct wr_store_seg *seg,
                         uint64_t first, uint32_t pos, int64_t time_ms);

void wr_seg_name(char *out, uint64_t first);
/* Parses "<20 digits>.seg": true and the offset. */
bool wr_seg_parse_name(const char *name, uint64_t *first);
/* Creates, preallocates and heads a new segment file. WR_OK, WR_ERR_FULL
 * (ENOSPC), WR_ERR_IO, WR_ERR_NOMEM. */
int wr_seg_create(struct wr_store *st, uint64_t first, uint32_t size,
                  int64_t now_ms, struct wr_store_seg **out);
/* Opens an existing segment file (read-write). */
int wr_seg_open(struct wr_store *st, const char *name, uint64_t first,
                struct wr_store_seg **out);
/* Closes and frees (does not unlink). */
void wr_seg_free(struct wr_store_seg *seg);
/* The segment holding offset, or NULL. */
struct wr_store_seg *wr_store_find_seg(struct wr_store *st, uint64_t offset);
/* Inserts seg in offset order. WR_OK or WR_ERR_NOMEM. */
int wr_store_add_seg(struct wr_store *st, struct wr_store_seg *seg);
/* Deletes unreferenced, durable, inactive segments, oldest first. */
void wr_store_reclaim(struct wr_store *st);

struct wr_store_orphan {
    uint64_t seg;   /* the pinned segment */
    uint64_t count; /* references to drop */
    uint64_t gen;   /* dir_req when its pinner was unlinked */
};

/* ---- the store -------------------------------------------------------- */

struct wr_store {
    char *dir;
    int dirfd;
    int lockfd;
    int efd; /* eventfd: the sync thread's "durable moved" */
    struct wr_store_opts opts;
    int (*dir_sync)(int fd);    /* fsync, or the opts.sync_fn seam */
    struct wr_store_seg **segs; /* by first offset; the last is active */
    size_t nsegs, capsegs;
    size_t seg_hint; /* where wr_store_find_seg found the last one */
    bool recovered;
    bool reclaim_due;

    /* The pending chunk: WR_CHUNK_HDR_SIZE bytes of room, then records. */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    /* wr_store_readahead's window: bytes [ra_pos, ra_pos + ra_len) of the
     * segment whose first offset is ra_first (ra_len 0: empty) */
    uint8_t *ra_buf;
    uint32_t ra_cap, ra_len;
    uint64_t ra_pos, ra_first;
    uint32_t pend_records;
    uint64_t pend_first;
    uint64_t next;         /* offset of the next record */
    uint64_t written;      /* records below it are written (pwrite) */
    uint64_t requested;    /* asked of the sync thread */
    bool dir_changed;      /* a segment was created since the last request */
    int64_t last_now;      /* the latest time a caller gave */
    int werr;              /* errno of a failed pwrite */
    uint64_t space_wanted; /* bytes ENOSPC refused; 0 once a write works */

    /* Shared with the sync thread, under mu. */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the thread: more to sync, or stop */
    pthread_cond_t done; /* from the thread: a sync round ended */
    uint64_t want;       /* wanted durable */
    uint64_t durable;
    int serr; /* errno of the failed sync */
    bool stop;
    struct wr_store_seg **dirty; /* segments written since the last round */
    size_t ndirty, capdirty;
    struct wr_store_seg **taken; /* the thread's list, swapped with it */
    size_t captaken;
    uint64_t taken_upto; /* the last round's target */
    uint64_t dir_req;    /* directory changes made ... */
    uint64_t dir_done;   /* ... and covered by an fsync of it */
    uint64_t syncs;

    /* Pins of deleted segments, released once the unlink is durable. */
    struct wr_store_orphan *orphans;
    size_t norphans, caporphans;

    uint64_t chunks, reclaimed;
    /* Compaction (compact.c): the one under way, whether to look for a
     * victim, how many were done and the bytes they gave back. */
    struct wr_store_cmp *cmp;
    bool cmp_due;
    uint64_t compactions, cmp_saved;
    uint64_t rounds;     /* sync rounds taken (under mu) */
    uint64_t last_chunk; /* first offset of the last chunk written */
    bool has_chunk;      /* one was (since open or in recovery) */
};

/* sync.c */
int wr_store_sync_start(struct wr_store *st);
void wr_store_sync_stop(struct wr_store *st);
/* Queues seg for the next sync (loop thread). WR_OK or WR_ERR_NOMEM. */
int wr_store_sync_mark(struct wr_store *st, struct wr_store_seg *seg);
/* Asks for a sync up to `upto` (written records); dir: the directory
 * changed too. */
void wr_store_sync_request(struct wr_store *st, uint64_t upto, bool dir);
/* Queues seg (not one of the log's: a compaction's new file) for a sync
 * round of its own, with the directory; returns the round, which is done
 * when wr_store_round_done says so. 0: out of memory. */
uint64_t wr_store_sync_extra(struct wr_store *st, struct wr_store_seg *seg);
bool wr_store_round_done(struct wr_store *st, uint64_t round);

/* offsets.c: the consumer offsets file (STORE.md "Consumer offsets").
 * Header: magic, 4 reserved bytes, CRC32C of the 12 before. Record: the
 * marker, the tag's length (1-255), the offset (64 bits), the tag, CRC32C
 * of all that. */
#define WR_OFFSETS_MAGIC "WROFFS01"
#define WR_OFFSETS_HDR 16
#define WR_OFFREC_MARK 0xA7
#define WR_OFFREC_HDR 10
#define WR_OFFREC_TAG_MAX 255
#define WR_OFFREC_MAX (WR_OFFREC_HDR + WR_OFFREC_TAG_MAX + 4)

void wr_offsets_hdr_encode(uint8_t *p);
/* Encodes one record into out (WR_OFFREC_MAX bytes are enough); returns
 * its length. tag_len is 1..255. */
size_t wr_offrec_encode(const void *tag, size_t tag_len, uint64_t offset,
                        uint8_t *out);
/* Decodes the record at buf: WR_OK with the tag (a view into buf), the
 * offset and the record's length; WR_AGAIN when buf ends inside it;
 * WR_ERR_SYNTAX when it is not a good record. */
int wr_offrec_decode(const uint8_t *buf, size_t len, struct wr_bytes *tag,
                     uint64_t *offset, size_t *rec_len);
typedef void (*wr_offsets_cb)(void *arg, struct wr_bytes tag, uint64_t offset);
/* Scans a whole offsets file image: cb(cb_arg, ...) for every good record
 * in file order (the last one of a tag wins); damage(arg, ...) for a bad
 * header, bad records skipped (up to the next good one) and a torn tail.
 * *good_end: the end of the last good record (0 for an empty or headless
 * image). Returns how many damages it reported. */
int wr_offsets_scan(const uint8_t *buf, size_t len, wr_offsets_cb cb,
                    void *cb_arg, wr_store_damage_cb damage, void *arg,
                    size_t *good_end);

#endif
