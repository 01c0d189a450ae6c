/* SPDX-License-Identifier: MIT */
/* The persistent log: append-only segment files of CRC32C-checked records,
 * group-committed by a sync thread, scanned back by recovery. Knows records
 * and offsets, nothing of AMQP; the caller passes the time. The contract is
 * docs/internals/STORE.md. */
#ifndef WR_STORE_H
#define WR_STORE_H

#include "../common/common.h"

#include <stdint.h>

struct wr_store;

/* Where a record is: enough to read it back and to reference it. */
struct wr_store_loc {
    uint64_t offset; /* its number in the log */
    uint32_t pos;    /* byte position of its header in its segment */
    uint32_t len;    /* payload length */
};

#define WR_STORE_TYPE_MIN 1            /* callers' record types are 1..239 */
#define WR_STORE_TYPE_MAX 239          /* 0 and 240..255 are the store's */
#define WR_STORE_RECORD_MAX (1u << 30) /* largest payload */

struct wr_store_opts {
    uint32_t segment_size; /* bytes per segment file; 0: 64 MiB */
    uint32_t chunk_max;    /* data bytes per chunk; 0: 1 MiB */
    /* Test seam: syncs one file's data, and the directory (NULL: fdatasync
     * for files, fsync for the directory). Returns 0 or -1 with errno set.
     * Runs on the sync thread (and in wr_store_recover). */
    int (*sync_fn)(int fd);
    /* Streams (cursor.c): keep in memory one chunk position every this
     * many bytes of each segment (and its first), for wr_store_seek; 0:
     * none. */
    uint32_t index_every;
    /* Do not preallocate segment files: they grow as chunks are written
     * (a stream's segments are large and few are full). */
    bool sparse;
    /* Compaction (STORE.md "Compaction"): keep a reference count per
     * record, and let wr_store_compact rewrite segments whose records are
     * mostly dead. */
    bool compact;
};

/* Damage found by recovery (STORE.md "Recovery"). */
struct wr_store_damage {
    const char *file;    /* segment file name (no directory) */
    uint64_t pos;        /* byte position in the file */
    uint64_t len;        /* bytes skipped or cut */
    uint64_t first_lost; /* first offset lost, when known */
    uint32_t records;    /* records lost, when known (else 0) */
    bool torn;           /* a torn tail (cut), not corruption */
    const char *what;    /* what was wrong, for the log */
};

/* Called by wr_store_recover for each good record, in log order. payload
 * is borrowed for the call. time_ms is its chunk's timestamp. Return WR_OK,
 * or an error to stop the recovery with it. */
typedef int (*wr_store_record_cb)(void *arg, uint8_t type,
                                  const struct wr_store_loc *loc,
                                  struct wr_bytes payload, int64_t time_ms);
/* Called by wr_store_recover for each piece of damage; d is borrowed. */
typedef void (*wr_store_damage_cb)(void *arg, const struct wr_store_damage *d);

/* Takes a non-blocking exclusive flock on dir/LOCK (creating dir, mode 0750,
 * and the file when missing) and writes our pid there. Returns WR_OK and
 * the held descriptor in *fd, WR_ERR_EXISTS when another process (or another
 * open in this one) holds it, or WR_ERR_IO; err (may be NULL) gets a message
 * for the log either way. */
int wr_store_lock_dir(const char *dir, int *fd, char *err, size_t errlen);
/* Releases a lock taken by wr_store_lock_dir (closes fd). */
void wr_store_unlock_dir(int fd);

/* Opens the store in dir (created when missing), locks it and lists its
 * segments. Nothing can be appended before wr_store_recover has run.
 * Starts the sync thread. opts may be NULL (defaults). Returns WR_OK and
 * the store in *out, WR_ERR_EXISTS (locked by another), WR_ERR_INVALID (bad
 * options), WR_ERR_IO or WR_ERR_NOMEM, with a message in err. */
int wr_store_open(const char *dir, const struct wr_store_opts *opts,
                  struct wr_store **out, char *err, size_t errlen);

/* Scans every segment (STORE.md "Recovery"): cb for each good record,
 * damage (may be NULL) for what is cut or skipped; cuts a torn tail in the
 * last segment. All live counts start at 0: take a reference (wr_store_ref)
 * on each record to keep; segments left with none are deleted at the end.
 * Call once, after wr_store_open. now_ms stamps a new segment. Returns
 * WR_OK, cb's error, WR_ERR_IO or WR_ERR_NOMEM. */
int wr_store_recover(struct wr_store *st, wr_store_record_cb cb,
                     wr_store_damage_cb damage, void *arg, int64_t now_ms);

/* Flushes, waits for the last sync, stops the sync thread, closes the files
 * and the lock. st may be NULL. */
void wr_store_close(struct wr_store *st);

/* Appends a record of the given type (WR_STORE_TYPE_MIN..MAX) whose payload
 * is the n parts, concatenated (copied; borrowed for the call). Returns
 * WR_OK and its location in *loc, holding one reference on it for the
 * caller. No syscall unless the pending chunk was full or a new segment is
 * needed. Returns WR_ERR_INVALID (bad type or too large), WR_ERR_FULL (no
 * space for a new segment or for writing out the full pending chunk:
 * nothing appended, try later), WR_ERR_IO (the
 * store has failed), WR_ERR_NOMEM. */
int wr_store_append(struct wr_store *st, uint8_t type,
                    const struct wr_bytes *parts, unsigned n, int64_t now_ms,
                    struct wr_store_loc *loc);

/* Writes the pending chunk (one pwrite) and asks the sync thread to make
 * everything written so far durable. Call once per loop turn. Returns WR_OK,
 * WR_ERR_FULL (the file system has no room for the chunk, ENOSPC: it stays
 * pending and the next flush writes it again; nothing is lost or failed) or
 * WR_ERR_IO (the store has failed; see wr_store_failed). */
int wr_store_flush(struct wr_store *st, int64_t now_ms);

/* The offset the next record will get. */
uint64_t wr_store_end(const struct wr_store *st);
/* Every record whose offset is below this is on stable storage. */
uint64_t wr_store_durable(struct wr_store *st);
/* Readable when the durable position moved or the store failed: watch it
 * in the event loop, then call wr_store_poll. */
int wr_store_event_fd(const struct wr_store *st);
/* Drains the event fd, deletes segments that nothing references any more
 * and returns the durable position in *durable (may be NULL). Returns WR_OK
 * or WR_ERR_IO when the store has failed. */
int wr_store_poll(struct wr_store *st, uint64_t *durable);
/* 0, or the bytes that the last segment creation or chunk write could not
 * get (ENOSPC or EDQUOT) while no later one has succeeded: the disk is
 * full for this store. */
uint64_t wr_store_space_wanted(const struct wr_store *st);
/* 0, or the errno of the write or sync that failed the store. */
int wr_store_failed(struct wr_store *st);
/* Blocks until the durable position reaches `offset` or the store fails:
 * for shutdown and tests, never on the event loop. Returns WR_OK or
 * WR_ERR_IO. */
int wr_store_wait(struct wr_store *st, uint64_t offset);

/* Reads the record at loc into buf (cap >= loc->len), checking its CRC32C;
 * its type goes to *type (may be NULL). Returns WR_OK, WR_ERR_NOT_FOUND
 * (no such segment: reclaimed), WR_ERR_NOSPACE (cap too small),
 * WR_ERR_SYNTAX (the bytes fail their checksum or do not match loc) or
 * WR_ERR_IO. */
int wr_store_read(struct wr_store *st, const struct wr_store_loc *loc,
                  void *buf, uint32_t cap, uint8_t *type);

/* A caller's buffer, one piece of a scattered read. */
struct wr_store_buf {
    void *ptr;
    uint32_t len;
};
/* Reads the record at loc scattered over n parts (n <= 8) whose lengths
 * add up to loc->len exactly: one preadv straight into them, so that a
 * body can land in its message's own allocation. Otherwise as
 * wr_store_read; WR_ERR_NOSPACE when the lengths do not add up,
 * WR_ERR_INVALID when n > 8. */
int wr_store_readv(struct wr_store *st, const struct wr_store_loc *loc,
                   const struct wr_store_buf *parts, unsigned n, uint8_t *type);

/* Whether the record at offset is in a segment the store still has (what
 * another record points at may have been lost with its file). */
/* Read-ahead for a pass that reads many records in file order (recovery
 * handing messages back): with bytes > 0, a record read with
 * wr_store_read(v) that is not in the window reads `bytes` from its
 * position into the window, and the records that follow are served from
 * it, one pread instead of one per record; 0 frees the window. Returns
 * WR_OK or WR_ERR_NOMEM (then reads go on one at a time). */
int wr_store_readahead(struct wr_store *st, uint32_t bytes);
bool wr_store_holds(struct wr_store *st, uint64_t offset);
/* Reference counting of records, per segment (STORE.md "Reclamation"). */
void wr_store_ref(struct wr_store *st, const struct wr_store_loc *loc);
void wr_store_unref(struct wr_store *st, const struct wr_store_loc *loc);
/* Keeps tomb's segment until target's segment is deleted (nothing if they
 * are in the same one). target must be older than tomb. */
void wr_store_pin(struct wr_store *st, const struct wr_store_loc *tomb,
                  const struct wr_store_loc *target);

/* Compaction (opts.compact; STORE.md "Compaction"): one bounded step.
 * Picks a victim (an inactive, durable segment with fewer than a quarter
 * of its records referenced, at least a quarter of a segment in size)
 * when none is under way, copies its live records, reading at most
 * `budget` bytes of it, into a new file, has the sync thread sync that,
 * then renames it over the victim. Call it each loop turn and after
 * wr_store_poll, not while the disk is full. Returns true when it has more
 * copying to do (call again soon); false when it has nothing to do or
 * waits for the sync thread (whose event fd wakes the loop). */
bool wr_store_compact(struct wr_store *st, uint32_t budget, int64_t now_ms);

struct wr_store_stats {
    uint64_t segments;    /* files */
    uint64_t disk_bytes;  /* their sizes */
    uint64_t live_refs;   /* references held, all segments */
    uint64_t chunks;      /* chunks written since open */
    uint64_t syncs;       /* fdatasync rounds since open */
    uint64_t reclaimed;   /* segments deleted since open */
    uint64_t compactions; /* segments compacted since open */
    uint64_t cmp_saved;   /* bytes they gave back */
};
void wr_store_stats(struct wr_store *st, struct wr_store_stats *out);

/* ---- reading in log order (streams: cursor.c) ---------------------------
 *
 * A reader keeps a cursor: the segment (by its first offset) and the byte
 * position of the next chunk to read there. Chunks are read whole, with
 * one pread, only when they lie below a limit the caller gives (the
 * durable position: what is read never goes away in a crash). */

struct wr_store_cursor {
    uint64_t seg;  /* first offset of the segment */
    uint32_t pos;  /* position of the next chunk header in it */
    uint64_t next; /* offsets of the next chunk are at least this */
};

/* A chunk read by wr_store_read_chunk; data borrowed from the buffer. */
struct wr_store_chunk {
    uint64_t first;   /* offset of its first record */
    uint32_t records; /* how many */
    int64_t time_ms;  /* its timestamp */
    const uint8_t *data;
    uint32_t len;
    uint32_t given; /* records wr_store_chunk_next handed out */
};

/* A cursor at the chunk that holds offset, or the nearest indexed one
 * before it (the reader skips what is below offset); at the first
 * segment when offset is older than what the store holds, at the end when
 * it is past it. */
void wr_store_seek(struct wr_store *st, uint64_t offset,
                   struct wr_store_cursor *c);
/* A cursor at or before the first chunk whose timestamp is >= time_ms
 * (the reader skips older chunks); at the end when there is none. */
void wr_store_seek_time(struct wr_store *st, int64_t time_ms,
                        struct wr_store_cursor *c);
/* Reads the chunk at c when its records lie below limit: the chunk header
 * is checked, its data read into *buf (grown as needed: *cap bytes; free
 * with wr_free) and described in *out, and c moves past it. A cursor whose
 * segment was deleted moves to the oldest one. Returns WR_OK,
 * WR_ERR_NOT_FOUND (nothing more below limit yet), WR_ERR_SYNTAX (the bytes
 * at c are not a chunk: c moved to the next indexed chunk, or the next
 * segment), WR_ERR_IO or WR_ERR_NOMEM. */
int wr_store_read_chunk(struct wr_store *st, struct wr_store_cursor *c,
                        uint64_t limit, uint8_t **buf, uint32_t *cap,
                        struct wr_store_chunk *out);
/* The records of a chunk, in order: *pos starts at 0. Returns WR_OK with
 * the record's type and payload (a view into the chunk), WR_ERR_NOT_FOUND
 * after the last its header counts, or WR_ERR_SYNTAX (a bad length or
 * checksum: the rest of the chunk is lost). */
int wr_store_chunk_next(struct wr_store_chunk *ch, uint32_t *pos, uint8_t *type,
                        struct wr_bytes *payload);

/* The offset of the oldest record the store holds (its end when none). */
uint64_t wr_store_first(struct wr_store *st);
/* The first offset of the last chunk written (or recovered); false when
 * there is none. */
bool wr_store_last_chunk(struct wr_store *st, uint64_t *first);

/* One segment, oldest first (wr_store_segment). */
struct wr_store_seginfo {
    uint64_t first, end; /* offsets it holds: [first, end) */
    uint64_t bytes;      /* bytes written in it */
    int64_t last_time;   /* its newest chunk's time (0: none) */
};
/* How many segments there are, and the i-th, oldest first. */
size_t wr_store_segments(struct wr_store *st);
void wr_store_segment(struct wr_store *st, size_t i,
                      struct wr_store_seginfo *out);
/* Retention: deletes the oldest segment whatever references it holds,
 * unless it is the active one. Returns WR_OK or WR_ERR_NOT_FOUND (only the
 * active one is left). */
int wr_store_drop_head(struct wr_store *st);
/* Closes the store and removes its files and directory (a deleted
 * stream). st may be NULL. */
void wr_store_destroy(struct wr_store *st);

/* ---- consumer offsets (offsets.c, STORE.md "Consumer offsets") ----------
 *
 * A stream's tracked consumer offsets: consumer tag (1-255 bytes) -> the
 * offset it resumes at, kept in memory and in the file "offsets" of the
 * stream's directory. */
struct wr_offsets;

#define WR_OFFSETS_MAX_TAGS 65536 /* default cap on tags per stream */

/* Opens (creating when missing) dir/offsets and reads it back: bad records
 * are reported through damage(arg, ...) and skipped, a torn tail is cut,
 * and a damaged file is written anew from what was read. max_tags caps the
 * tags kept (0: WR_OFFSETS_MAX_TAGS); past it the tag changed longest ago
 * is forgotten. Returns WR_OK with *out, WR_ERR_IO or WR_ERR_NOMEM (a
 * message in err). */
int wr_offsets_open(const char *dir, uint32_t max_tags,
                    wr_store_damage_cb damage, void *arg,
                    struct wr_offsets **out, char *err, size_t errlen);
/* tag's offset: true with *offset, false when it has none (o may be
 * NULL). */
bool wr_offsets_get(const struct wr_offsets *o, const void *tag, size_t len,
                    uint64_t *offset);
/* Sets tag's offset in memory; wr_offsets_flush writes it. WR_OK,
 * WR_ERR_INVALID (a tag of 0 or more than 255 bytes) or WR_ERR_NOMEM. */
int wr_offsets_set(struct wr_offsets *o, const void *tag, size_t len,
                   uint64_t offset);
/* Appends the offsets set since the last flush to the file (one pwrite;
 * no sync), or rewrites the file when it is mostly stale. WR_OK,
 * WR_ERR_FULL (no space), WR_ERR_IO or WR_ERR_NOMEM; what was not written
 * is written by the next flush. o may be NULL. */
int wr_offsets_flush(struct wr_offsets *o);
/* Iteration over its tags, in no order: start with *pos = 0; false at the
 * end. *tag is borrowed until the next set, flush or close. */
bool wr_offsets_next(const struct wr_offsets *o, size_t *pos,
                     struct wr_bytes *tag, uint64_t *offset);
/* How many tags it holds; how many it forgot for the cap. */
size_t wr_offsets_count(const struct wr_offsets *o);
uint64_t wr_offsets_evicted(const struct wr_offsets *o);
/* Flushes, syncs and closes (o may be NULL); returns the flush's or the
 * sync's error, the file closed either way. */
int wr_offsets_close(struct wr_offsets *o);
/* Closes and removes the file (a deleted stream). o may be NULL. */
void wr_offsets_destroy(struct wr_offsets *o);

/* CRC32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t wr_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
