/* SPDX-License-Identifier: MIT */
/* What vhost/'s files share beyond vhost.h: a policy's fields. */
#ifndef WR_VHOST_INTERNAL_H
#define WR_VHOST_INTERNAL_H

#include "vhost.h"

#include <jansson.h>
#include <regex.h>

struct wr_policy {
    char *name;     /* owned */
    char *pattern;  /* owned, as given */
    regex_t re;     /* pattern compiled (POSIX extended, unanchored) */
    char *apply_to; /* owned, as given ("all", "queues", ...) */
    enum wr_policy_apply applies;
    int64_t priority;
    json_t *definition; /* reference held: the object as given */
    /* The queue settings of the definition (has_* set for the keys
     * given); dlx / dlrk are views into definition's strings. */
    struct wr_queue_args qargs;
    bool has_ae;        /* alternate-exchange given */
    struct wr_bytes ae; /* view into definition */
};

/* The "limits" of a user in a definitions document: {} or
 * {"max-channels": N, "max-connections": N}; replaces usr's limits when
 * given (limits.c, for defs.c). Returns WR_OK, or WR_ERR_INVALID with
 * RabbitMQ's reason in msg. */
int wr_defs_user_limits(struct wr_user *usr, const json_t *lim, char *msg,
                        size_t cap);

/* The state of the definitions log (wr_server.defs_log): written by
 * durable.c, read back by recover.c. */
struct wr_defs_log {
    uint64_t next_qid;        /* the next durable queue's id */
    bool replaying;           /* recovery: apply, do not write */
    bool closed;              /* shutting down: write nothing more */
    uint64_t records;         /* records in the current generation */
    uint64_t check_at;        /* count live things when records reach it */
    struct wr_store_loc *gen; /* the records we hold a reference on */
    size_t ngen, capgen;
    struct wr_store_loc *old; /* the generation a snapshot replaces */
    size_t nold;
    uint64_t snap_end; /* the old one goes once this offset is durable */
    uint64_t applied, skipped; /* recovery counters */
};

#define WR_DEFS_CHECK_MIN 64 /* no compaction below this many records */

/* durable.c, for recover.c: keep a reference on a record of the current
 * generation; rewrite the log when most of it is dead; the store's
 * callbacks around a flush and once an offset is durable. */
/* The default exchange and the amq.* ones: every vhost has them; never
 * stored. */
bool wr_defs_std_exchange(const struct wr_exchange *x);
void wr_defs_hold(struct wr_defs_log *l, const struct wr_store_loc *loc);
void wr_defs_maybe_compact(struct wr_server *s);
/* After replay: stored delayed exchanges without an id get one. */
void wr_defs_give_held_ids(struct wr_server *s);
void wr_defs_before_flush(struct wr_server *s);
void wr_defs_durable(struct wr_server *s, uint64_t durable);

#endif
