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

#endif
