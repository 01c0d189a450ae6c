/* SPDX-License-Identifier: MIT */
/* auth/: users, password hashes, tags and per-vhost permissions, as
 * RabbitMQ's internal auth backend keeps them
 * (rabbit_auth_backend_internal), and the permission checks as pure
 * functions that return a refusal as a value. No clock, no I/O. */
#ifndef WR_AUTH_H
#define WR_AUTH_H

#include "../common/hmap.h"
#include "../exchanges/exchanges.h"

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

/* Which permission an operation needs (RabbitMQ access control). */
enum wr_perm_kind {
    WR_PERM_CONFIGURE,
    WR_PERM_WRITE,
    WR_PERM_READ,
};

/* Password hashing algorithms as named in definitions files. */
enum wr_hash_alg {
    WR_HASH_SHA256, /* rabbit_password_hashing_sha256 (the default) */
    WR_HASH_SHA512, /* rabbit_password_hashing_sha512 */
};

/* One user's permissions in one vhost: three regexes, matched (unanchored,
 * POSIX extended) against resource names. An empty pattern denies. */
struct wr_perm {
    char *vhost;
    char *pat[3]; /* indexed by enum wr_perm_kind */
    regex_t re[3];
};

/* Topic permissions on one exchange: write (publish) and read (bind)
 * patterns matched against routing keys; {username} and {vhost} are
 * expanded when set. */
struct wr_topic_perm {
    char *vhost;
    char *exchange;
    char *pat[2]; /* [0] write, [1] read, as given */
    regex_t re[2];
};

/* A vhost or user limit that is not set (absent from RabbitMQ's
 * definitions); a negative value set means unlimited too. */
#define WR_LIMIT_UNSET INT64_MIN

/* Whether n objects reach limit: a limit set to 0 or more. */
static inline bool
wr_limit_reached(int64_t limit, uint64_t n)
{
    return limit >= 0 && n >= (uint64_t)limit;
}

struct wr_user {
    char *name;
    enum wr_hash_alg alg;
    uint8_t hash[4 + 64]; /* salt (4 bytes) + digest; hash_len 0 = none */
    size_t hash_len;
    char *tags;               /* comma-separated, "" for none */
    struct wr_hmap perms;     /* vhost -> struct wr_perm */
    struct wr_topic_perm *tp; /* topic permissions */
    size_t ntp;
    /* user limits (RabbitMQ's): WR_LIMIT_UNSET or the value set */
    int64_t max_channels;    /* max-channels: over all its connections */
    int64_t max_connections; /* max-connections: open at once */
};

struct wr_users {
    struct wr_hmap by_name; /* name -> struct wr_user */
    uint64_t gen;           /* bumped on every change (permission caches) */
};

void wr_users_init(struct wr_users *u);
void wr_users_cleanup(struct wr_users *u);
struct wr_user *wr_users_get(const struct wr_users *u, const char *name);
/* Creates a user (WR_ERR_EXISTS if the name is taken). password may be
 * NULL for a user without one (it can log in only with EXTERNAL). */
int wr_users_add(struct wr_users *u, const char *name, const char *password,
                 const char *tags, struct wr_user **out);
int wr_users_delete(struct wr_users *u, const char *name);
/* Sets a new salted hash of password (NULL clears it). */
void wr_user_set_password(struct wr_user *usr, const char *password);
/* Sets the stored hash from a definitions file: base64(salt + digest).
 * Returns WR_OK or WR_ERR_INVALID. */
int wr_user_set_hash(struct wr_user *usr, enum wr_hash_alg alg,
                     const char *b64);
/* Writes base64(salt + digest) into out ("" when no password). */
void wr_user_hash_b64(const struct wr_user *usr, char *out, size_t cap);
/* Replaces the tags (comma or space separated list). */
void wr_user_set_tags(struct wr_user *usr, const char *tags);
bool wr_user_has_tag(const struct wr_user *usr, const char *tag);
/* Constant-time check of a password against the stored hash. */
bool wr_user_check_password(const struct wr_user *usr, const void *pass,
                            size_t len);
/* Computes RabbitMQ's rabbit_password_hashing_sha256 of password with the
 * given 4-byte salt: base64(salt + sha256(salt + password)). */
void wr_password_hash_sha256(const uint8_t salt[4], const char *password,
                             char *out, size_t cap);

/* Sets (replaces) the user's permissions in vhost. On a bad regex returns
 * WR_ERR_INVALID with a message in err. */
int wr_user_set_perm(struct wr_users *u, struct wr_user *usr, const char *vhost,
                     const char *configure, const char *write, const char *read,
                     char *err, size_t errlen);
int wr_user_clear_perm(struct wr_users *u, struct wr_user *usr,
                       const char *vhost);
const struct wr_perm *wr_user_perm(const struct wr_user *usr,
                                   const char *vhost);
/* Topic permissions on exchange in vhost. */
int wr_user_set_topic_perm(struct wr_users *u, struct wr_user *usr,
                           const char *vhost, const char *exchange,
                           const char *write, const char *read, char *err,
                           size_t errlen);
/* exchange NULL clears every topic permission in vhost. */
int wr_user_clear_topic_perm(struct wr_users *u, struct wr_user *usr,
                             const char *vhost, const char *exchange);
/* Drops every permission that names vhost (the vhost was deleted). */
void wr_users_forget_vhost(struct wr_users *u, const char *vhost);

/* RabbitMQ's mapping: may usr do `kind` on resource `name` in vhost? The
 * default exchange "" is checked as "amq.default". */
bool wr_perm_check(const struct wr_user *usr, const char *vhost,
                   enum wr_perm_kind kind, const void *name, size_t len);
/* Topic authorisation on a topic exchange: kind is WR_PERM_WRITE (publish)
 * or WR_PERM_READ (bind). Allowed when no topic permission names the
 * exchange. */
bool wr_topic_check(const struct wr_user *usr, const char *vhost,
                    const char *exchange, enum wr_perm_kind kind,
                    const void *rkey, size_t len);
/* Names of all users, sorted; free the array with wr_free (the strings
 * are the users'). */
const char **wr_users_sorted(const struct wr_users *u, size_t *n);

/* ---- access control (access.c) ---------------------------------------- */

/* RabbitMQ's access control for one operation, shared by AMQP
 * (wr_access_check) and the HTTP API: may user u do kind on the resource
 * what ("queue" or "exchange") called name in vhost? On refusal fills err
 * (403 ACCESS_REFUSED with RabbitMQ's text) and returns false. u
 * NULL is refused. */
bool wr_access_allowed(const struct wr_user *u, const char *vhost,
                       enum wr_perm_kind kind, const char *what,
                       struct wr_bytes name, struct wr_op_err *err);
/* Topic authorisation when x is a topic exchange: kind WR_PERM_WRITE with
 * the routing key (publish), WR_PERM_READ with the binding key (bind). */
bool wr_access_topic_allowed(const struct wr_user *u, const char *vhost,
                             const struct wr_exchange *x,
                             enum wr_perm_kind kind, struct wr_bytes rkey,
                             struct wr_op_err *err);

#endif
