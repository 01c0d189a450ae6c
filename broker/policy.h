/* SPDX-License-Identifier: MIT */
/* Policies and operator policies (RabbitMQ's): per vhost, a name, a
 * regex over queue / exchange names, what they apply to, a priority and a
 * definition whose keys set queue and exchange settings without
 * x-arguments. Parsing and validation with RabbitMQ's texts, matching,
 * and the JSON shapes of the API and the definitions file. Applying them
 * to a vhost's objects is in policy.c too (wr_vhost_* in broker.h). */
#ifndef WR_POLICY_H
#define WR_POLICY_H

#include "../queues/queues.h"

#include <jansson.h>
#include <regex.h>

/* What a policy applies to ("apply-to"). */
enum wr_policy_apply {
    WR_APPLY_ALL,       /* "all" (the default) */
    WR_APPLY_QUEUES,    /* "queues", "classic_queues" */
    WR_APPLY_EXCHANGES, /* "exchanges" */
    WR_APPLY_NOTHING,   /* "quorum_queues", "streams": warren has none */
};

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

/* A vhost's policies (or operator policies), sorted by name. */
struct wr_policy_list {
    struct wr_policy **v;
    size_t n;
};

/* Parses and validates a policy named name from o, an object with
 * "pattern" (string, required), "definition" (object, required),
 * "priority" (integer, default 0) and "apply-to" (default "all"), as
 * RabbitMQ's rabbit_policy validates it; op selects operator-policy
 * rules (only expires, message-ttl, max-length, max-length-bytes,
 * delivery-limit and max-in-memory-*). Returns WR_OK and a new policy in
 * *out (wr_policy_free it), or WR_ERR_INVALID with RabbitMQ's reason in
 * err (one line, without its "Validation failed" frame), e.g.
 * "<<\"a\">> is not a valid message TTL" or "[{<<\"foo\">>,1}] are not
 * recognised policy settings". A missing pattern or definition is
 * "[{key_missing,pattern}]". */
int wr_policy_parse(const char *name, const json_t *o, bool op,
                    struct wr_policy **out, char *err, size_t cap);
void wr_policy_free(struct wr_policy *p);
/* {"vhost", "name", "pattern", "apply-to", "definition", "priority"} as
 * RabbitMQ lists and exports a policy (vhost NULL: no "vhost" member).
 * New reference. */
json_t *wr_policy_json(const char *vhost, const struct wr_policy *p);
/* The definition RabbitMQ shows as a queue's effective_policy_definition:
 * the policy's keys, plus the operator policy's, the smaller value where
 * both set one (either may be NULL). New reference. */
json_t *wr_policy_effective_json(const struct wr_policy *p,
                                 const struct wr_policy *op);

/* The policy of l named name, or NULL. */
struct wr_policy *wr_policy_list_get(const struct wr_policy_list *l,
                                     const char *name);
/* Adds p (takes ownership), replacing (and freeing) one of the same
 * name. Returns true when p is new. */
bool wr_policy_list_put(struct wr_policy_list *l, struct wr_policy *p);
/* Removes and frees the policy named name; false when there is none. */
bool wr_policy_list_del(struct wr_policy_list *l, const char *name);
void wr_policy_list_cleanup(struct wr_policy_list *l);
/* The policy of l that applies to the queue (queue true) or exchange
 * named name: among those whose apply-to takes that kind and whose
 * pattern matches anywhere in the name, the highest priority; on a tie,
 * the one whose name sorts first (byte order). NULL when none. A name
 * with a NUL byte matches nothing. */
const struct wr_policy *wr_policy_match(const struct wr_policy_list *l,
                                        bool queue, const char *name,
                                        size_t len);

#endif
