/* SPDX-License-Identifier: MIT */
/* The definitions file: users, vhosts, permissions, topic permissions,
 * vhost limits, policies and operator policies in RabbitMQ's definitions
 * JSON, loaded at start and rewritten on every change. */
#ifndef WR_DEFS_H
#define WR_DEFS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wr_server;
struct wr_user;
struct wr_perm;
struct wr_topic_perm;

/* Loads path into s (users into s->users, vhosts created). Returns 0,
 * 1 when the file does not exist (nothing loaded), or -1 with a message
 * "PATH: ..." in err. */
int wr_defs_load(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* A fresh broker: default_user (tag administrator) with default_pass,
 * default_vhost, and full permissions for the one on the other. */
void wr_defs_bootstrap(struct wr_server *s);
/* Writes the definitions to path atomically (temporary file + rename,
 * mode 0600). Returns 0 or -1 with a message. */
int wr_defs_save(struct wr_server *s, const char *path, char *err,
                 size_t errlen);
/* Parses and validates path without a running server (--check-config).
 * Returns 0, 1 when missing, -1 with a message. */
int wr_defs_check(const char *path, char *err, size_t errlen);

/* ---- the codec the management API shares (one for file and API) ---- */

/* {"name", "password_hash", "hashing_algorithm", "tags": [...],
 * "limits": {...}}: a user as RabbitMQ exports and lists it. New
 * reference. */
json_t *wr_defs_user_json(const struct wr_user *u);
/* {"user", "vhost", "configure", "write", "read"}. New reference. */
json_t *wr_defs_perm_json(const struct wr_user *u, const struct wr_perm *p);
/* {"user", "vhost", "exchange", "write", "read"}. New reference. */
json_t *wr_defs_topic_perm_json(const struct wr_user *u,
                                const struct wr_topic_perm *t);
/* RabbitMQ's tags: a list ["a", "b"] (3.9+) or a string "a,b" (older) into
 * "a,b". Returns 0, or -1 when t is neither or too long. */
int wr_defs_tags(const json_t *t, char *out, size_t cap);
/* A JSON value as Erlang prints the term RabbitMQ decodes it to (enough
 * for its validation messages): 5, 1.5, <<"abc">>, true. */
void wr_defs_erl_term(const json_t *v, char *out, size_t cap);
/* ---- vhost limits (RabbitMQ's "vhost-limits" parameter) ---- */

struct wr_vhost;
#define WR_VHOST_NLIMITS 2
/* "max-connections", "max-queues": the limits by index. */
extern const char *const wr_vhost_limit_names[WR_VHOST_NLIMITS];
/* The field of vh that holds limit i (WR_LIMIT_UNSET when not set). */
int64_t *wr_vhost_limit(struct wr_vhost *vh, int i);
/* Validates one limit as RabbitMQ does: a known name and an integer
 * value (any: negative is unlimited). Returns 0 with *which (its index)
 * and *out set, or -1 with RabbitMQ's reason in err ("Validation
 * failed\n\nmax-queues should be a number, actually was 1.5\n"). */
int wr_defs_vhost_limit(const char *name, const json_t *value, int *which,
                        int64_t *out, char *err, size_t errlen);
/* {"max-connections": N, "max-queues": N} with the limits vh has set, or
 * NULL when none is. New reference. */
json_t *wr_defs_vhost_limits_json(struct wr_vhost *vh);

/* ---- user limits (RabbitMQ's, kept in the user's "limits") ---- */

#define WR_USER_NLIMITS 2
/* "max-channels", "max-connections": the limits by index. */
extern const char *const wr_user_limit_names[WR_USER_NLIMITS];
/* The field of u that holds limit i (WR_LIMIT_UNSET when not set). */
int64_t *wr_user_limit(struct wr_user *u, int i);
/* As wr_defs_vhost_limit, for user limits, with RabbitMQ's texts
 * ("max-channels should be a number, actually was 1.5"). */
int wr_defs_user_limit(const char *name, const json_t *value, int *which,
                       int64_t *out, char *err, size_t errlen);
/* The limits u has set, as an object ({} when none). New reference. */
json_t *wr_defs_user_limits_json(const struct wr_user *u);

/* ---- policies ---- */

/* Appends vh's policies to policies (RabbitMQ's export items) and its
 * operator policies to params (as RabbitMQ keeps them: runtime
 * parameters of component "operator_policy" whose value is the policy
 * without its name); with_vhost names the vhost in each item. */
void wr_defs_export_policies(struct wr_vhost *vh, bool with_vhost,
                             json_t *policies, json_t *params);
/* The "policies" and the operator_policy "parameters" of a definitions
 * document: checked (apply false: each parses, its vhost exists in s or
 * is declared in root) or set into their vhosts (apply true). With only
 * set, every item goes to that vhost (a per-vhost document). s may be
 * NULL when checking a file alone. Returns 0 or -1 with "definitions:
 * policies[i]: reason" in err. */
int wr_defs_policies(struct wr_server *s, struct wr_vhost *only,
                     const json_t *root, bool apply, char *err, size_t errlen);

/* Sets users, vhosts, permissions, topic_permissions, parameters
 * (vhost-limits, operator policies) and policies of s on root, sorted by
 * name. */
void wr_defs_export(struct wr_server *s, json_t *root);
/* Imports those sections of a parsed document into a running s: checks
 * all of it first (nothing changes when it is malformed), then creates
 * vhosts and creates or updates users (an existing user gets the
 * document's hash and tags) and their permissions. Does not write the
 * file. Returns 0 or -1 with a message in err. */
int wr_defs_import(struct wr_server *s, const json_t *root, char *err,
                   size_t errlen);

#endif
