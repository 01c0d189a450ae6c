/* SPDX-License-Identifier: MIT */
/* Users, vhost creation and deletion, permissions and topic permissions
 * over the management API, in RabbitMQ's paths and shapes. Every change
 * goes through users.c / access.c and rewrites the definitions file. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

/* The user named by segment i, or NULL after 404. */
static struct wr_user *
path_user(struct wr_mgmt_req *r, int i)
{
    struct wr_user *u = wr_users_get(&r->srv->users, r->seg[i]);

    if (u == NULL)
        wr_mgmt_not_found(r);
    return u;
}

/* The vhost named by segment i (any vhost: these routes are the
 * administrator's), or NULL after 404. */
static struct wr_vhost *
path_vhost(struct wr_mgmt_req *r, int i)
{
    struct wr_vhost *vh = wr_hmap_get(&r->srv->vhosts, r->seg[i], r->seglen[i]);

    if (vh == NULL)
        wr_mgmt_not_found(r);
    return vh;
}

/* Permissions (topic false) or topic permissions (topic true), of one
 * user and / or one vhost when given, sorted by user then vhost. */
static json_t *
perm_list(struct wr_mgmt_req *r, const char *user, const char *vhost,
          bool topic)
{
    size_t nu, nv;
    const char **names = wr_users_sorted(&r->srv->users, &nu);
    struct wr_vhost **vhs;
    json_t *arr = json_array();

    nv = wr_mgmt_sorted_vhosts(r->srv, &vhs);
    for (size_t i = 0; i < nu; i++) {
        const struct wr_user *u = wr_users_get(&r->srv->users, names[i]);
        if (user && strcmp(u->name, user) != 0)
            continue;
        if (topic) {
            for (size_t j = 0; j < u->ntp; j++)
                if (vhost == NULL || strcmp(u->tp[j].vhost, vhost) == 0)
                    json_array_append_new(
                        arr, wr_defs_topic_perm_json(u, &u->tp[j]));
            continue;
        }
        for (size_t j = 0; j < nv; j++) {
            const struct wr_perm *p = wr_user_perm(u, vhs[j]->name);
            if (p && (vhost == NULL || strcmp(p->vhost, vhost) == 0))
                json_array_append_new(arr, wr_defs_perm_json(u, p));
        }
    }
    wr_free(names);
    wr_free(vhs);
    return arr;
}

/* A name from the path: at most 255 bytes, UTF-8. */
static bool
check_name(struct wr_mgmt_req *r, int i, const char *what)
{
    if (r->seglen[i] == 0 || r->seglen[i] > 255 ||
        !wr_json_utf8_ok(r->seg[i], r->seglen[i])) {
        wr_mgmt_error(r, 400, "bad_request",
                      "%s name must be 1 to 255 bytes of UTF-8", what);
        return false;
    }
    return true;
}

/* ---- users --------------------------------------------------------------- */

void
wr_mgmt_get_users(struct wr_mgmt_req *r)
{
    size_t n;
    const char **names = wr_users_sorted(&r->srv->users, &n);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, wr_defs_user_json(wr_users_get(&r->srv->users, names[i])));
    wr_free(names);
    wr_mgmt_reply_list(r, arr);
}

void
wr_mgmt_get_user(struct wr_mgmt_req *r)
{
    struct wr_user *u = path_user(r, 1);

    if (u)
        wr_mgmt_reply(r, 200, wr_defs_user_json(u));
}

/* PUT /api/users/{name}: {"password": ...} or {"password_hash": ...,
 * "hashing_algorithm": ...}, "tags" as a list or a comma-separated
 * string. Creates (201) or updates (204). Without a password or hash a
 * new user has none (it can log in with EXTERNAL only) and an existing
 * one keeps its own. */
void
wr_mgmt_put_user(struct wr_mgmt_req *r)
{
    json_t *body = wr_mgmt_body(r);
    struct wr_users *users = &r->srv->users;
    struct wr_user *u;
    const char *pw = NULL, *hash = NULL, *alg_s = NULL;
    enum wr_hash_alg alg = WR_HASH_SHA256;
    char tags[512];
    bool created = false;
    json_t *t;

    if (body == NULL || !check_name(r, 1, "user"))
        return;
    if (wr_mgmt_field_str(r, body, "password", "", &pw, NULL) ||
        wr_mgmt_field_str(r, body, "password_hash", "", &hash, NULL) ||
        wr_mgmt_field_str(r, body, "hashing_algorithm",
                          "rabbit_password_hashing_sha256", &alg_s, NULL))
        return;
    t = json_object_get(body, "tags");
    if (json_is_null(t))
        t = NULL;
    if (wr_defs_tags(t, tags, sizeof(tags)) != 0) {
        wr_mgmt_error(r, 400, "bad_request",
                      "tags must be a list of strings or a comma-separated "
                      "string");
        return;
    }
    if (strcmp(alg_s, "rabbit_password_hashing_sha512") == 0) {
        alg = WR_HASH_SHA512;
    } else if (strcmp(alg_s, "rabbit_password_hashing_sha256") != 0) {
        wr_mgmt_error(r, 400, "bad_request",
                      "hashing_algorithm must be "
                      "rabbit_password_hashing_sha256 or "
                      "rabbit_password_hashing_sha512");
        return;
    }
    if (json_object_get(body, "password") && hash[0]) {
        wr_mgmt_error(r, 400, "bad_request",
                      "give password or password_hash, not both");
        return;
    }
    u = wr_users_get(users, r->seg[1]);
    if (u == NULL) {
        wr_users_add(users, r->seg[1], NULL, tags, &u);
        created = true;
    }
    if (hash[0]) {
        if (wr_user_set_hash(u, alg, hash) != WR_OK) {
            if (created)
                wr_users_delete(users, r->seg[1]);
            wr_mgmt_error(r, 400, "bad_request",
                          "password_hash is not base64 of a 4-byte salt and "
                          "a digest");
            return;
        }
    } else if (json_object_get(body, "password")) {
        wr_user_set_password(u, pw);
    }
    if (!created || t)
        wr_user_set_tags(u, tags);
    users->gen++;
    wr_log(WR_LOG_NOTICE, "user '%s' %s by '%s' (tags: %s)", u->name,
           created ? "created" : "updated", r->user, u->tags);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, created ? 201 : 204);
}

void
wr_mgmt_delete_user(struct wr_mgmt_req *r)
{
    if (path_user(r, 1) == NULL)
        return;
    wr_server_delete_user(r->srv, r->seg[1]);
    wr_mgmt_reply_empty(r, 204);
}

void
wr_mgmt_get_user_permissions(struct wr_mgmt_req *r)
{
    if (path_user(r, 1))
        wr_mgmt_reply_list(r, perm_list(r, r->seg[1], NULL, false));
}

void
wr_mgmt_get_user_topic_permissions(struct wr_mgmt_req *r)
{
    if (path_user(r, 1))
        wr_mgmt_reply_list(r, perm_list(r, r->seg[1], NULL, true));
}

/* ---- vhosts -------------------------------------------------------------- */

/* PUT /api/vhosts/{name} {"description": ...}: creates (201) or updates
 * the description (204). */
void
wr_mgmt_put_vhost(struct wr_mgmt_req *r)
{
    json_t *body = wr_mgmt_body(r);
    struct wr_vhost *vh;
    const char *desc = NULL;

    if (body == NULL || !check_name(r, 1, "vhost"))
        return;
    if (json_object_get(body, "description") &&
        wr_mgmt_field_str(r, body, "description", "", &desc, NULL))
        return;
    vh = wr_hmap_get(&r->srv->vhosts, r->seg[1], r->seglen[1]);
    if (vh) {
        if (desc) {
            wr_free(vh->description);
            vh->description = wr_strdup(desc);
            wr_mgmt_saved(r);
        }
        wr_mgmt_reply_empty(r, 204);
        return;
    }
    /* wr_server_add_vhost writes the definitions file. */
    if (wr_server_add_vhost(r->srv, r->seg[1], desc, NULL) == WR_ERR_INVALID) {
        wr_mgmt_error(r, 400, "bad_request", "bad vhost name");
        return;
    }
    /* RabbitMQ's API grants the creating user full permissions on it. */
    if (r->u && wr_user_perm(r->u, r->seg[1]) == NULL) {
        char err[64];
        wr_user_set_perm(&r->srv->users, r->u, r->seg[1], ".*", ".*", ".*", err,
                         sizeof(err));
        wr_mgmt_saved(r);
    }
    wr_mgmt_reply_empty(r, 201);
}

/* DELETE /api/vhosts/{name}: its connections are closed with 320. */
void
wr_mgmt_delete_vhost(struct wr_mgmt_req *r)
{
    if (path_vhost(r, 1) == NULL)
        return;
    wr_server_delete_vhost(r->srv, r->seg[1]);
    wr_mgmt_reply_empty(r, 204);
}

void
wr_mgmt_get_vhost_permissions(struct wr_mgmt_req *r)
{
    if (path_vhost(r, 1))
        wr_mgmt_reply_list(r, perm_list(r, NULL, r->seg[1], false));
}

void
wr_mgmt_get_vhost_topic_permissions(struct wr_mgmt_req *r)
{
    if (path_vhost(r, 1))
        wr_mgmt_reply_list(r, perm_list(r, NULL, r->seg[1], true));
}

/* ---- permissions --------------------------------------------------------- */

void
wr_mgmt_get_permissions(struct wr_mgmt_req *r)
{
    wr_mgmt_reply_list(r, perm_list(r, NULL, NULL, false));
}

/* /api/permissions/{vhost}/{user}: both must exist (404). */
static struct wr_user *
perm_target(struct wr_mgmt_req *r, struct wr_vhost **vh)
{
    if ((*vh = path_vhost(r, 1)) == NULL)
        return NULL;
    return path_user(r, 2);
}

void
wr_mgmt_get_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);
    const struct wr_perm *p;

    if (u == NULL)
        return;
    p = wr_user_perm(u, vh->name);
    if (p == NULL)
        wr_mgmt_not_found(r);
    else
        wr_mgmt_reply(r, 200, wr_defs_perm_json(u, p));
}

void
wr_mgmt_put_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);
    json_t *body = u ? wr_mgmt_body(r) : NULL;
    const char *c, *w, *rd;
    bool existed;
    char err[256];

    if (body == NULL)
        return;
    if (wr_mgmt_field_str(r, body, "configure", NULL, &c, NULL) ||
        wr_mgmt_field_str(r, body, "write", NULL, &w, NULL) ||
        wr_mgmt_field_str(r, body, "read", NULL, &rd, NULL))
        return;
    existed = wr_user_perm(u, vh->name) != NULL;
    if (wr_user_set_perm(&r->srv->users, u, vh->name, c, w, rd, err,
                         sizeof(err)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "%s", err);
        return;
    }
    wr_log(WR_LOG_NOTICE,
           "permissions of user '%s' in vhost '%s' set by '%s': "
           "'%s' '%s' '%s'",
           u->name, vh->name, r->user, c, w, rd);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, existed ? 204 : 201);
}

void
wr_mgmt_delete_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);

    if (u == NULL)
        return;
    if (wr_user_clear_perm(&r->srv->users, u, vh->name) != WR_OK) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_log(WR_LOG_NOTICE,
           "permissions of user '%s' in vhost '%s' cleared by '%s'", u->name,
           vh->name, r->user);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}

/* ---- topic permissions --------------------------------------------------- */

void
wr_mgmt_get_topic_permissions(struct wr_mgmt_req *r)
{
    wr_mgmt_reply_list(r, perm_list(r, NULL, NULL, true));
}

/* GET /api/topic-permissions/{vhost}/{user}: a list (one item per
 * exchange), 404 when there is none. */
void
wr_mgmt_get_topic_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);
    json_t *arr;

    if (u == NULL)
        return;
    arr = perm_list(r, u->name, vh->name, true);
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_reply_list(r, arr);
}

/* PUT {"exchange": ..., "write": ..., "read": ...}. */
void
wr_mgmt_put_topic_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);
    json_t *body = u ? wr_mgmt_body(r) : NULL;
    const char *x, *w, *rd;
    char err[256];

    if (body == NULL)
        return;
    if (wr_mgmt_field_str(r, body, "exchange", NULL, &x, NULL) ||
        wr_mgmt_field_str(r, body, "write", NULL, &w, NULL) ||
        wr_mgmt_field_str(r, body, "read", NULL, &rd, NULL))
        return;
    if (wr_user_set_topic_perm(&r->srv->users, u, vh->name, x, w, rd, err,
                               sizeof(err)) != WR_OK) {
        wr_mgmt_error(r, 400, "bad_request", "%s", err);
        return;
    }
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 201);
}

/* DELETE: every topic permission of the user in the vhost, or only the
 * exchange's with ?exchange=NAME. */
void
wr_mgmt_delete_topic_permission(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_user *u = perm_target(r, &vh);

    if (u == NULL)
        return;
    if (wr_user_clear_topic_perm(&r->srv->users, u, vh->name,
                                 wr_mgmt_query(r, "exchange")) != WR_OK) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}
