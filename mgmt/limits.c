/* SPDX-License-Identifier: MIT */
/* Virtual host limits (max-connections, max-queues) and user limits
 * (max-connections, max-channels) over the management API, in RabbitMQ's
 * paths and shapes: /api/vhost-limits[/{vhost}[/{name}]] and
 * /api/user-limits[/{user}[/{name}]]. Enforcement is in auth.c
 * (connection.open), vhost_ops.c (a new queue) and conn.c (channel.open). */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

/* {"vhost": name, "value": {...}}, or NULL when vh has no limit set. */
static json_t *
limits_item(struct wr_vhost *vh)
{
    json_t *lim = wr_defs_vhost_limits_json(vh);

    if (lim == NULL)
        return NULL;
    return json_pack("{s:s, s:o}", "vhost", vh->name, "value", lim);
}

/* GET /api/vhost-limits: every vhost that has a limit set, by name.
 * (RabbitMQ also lists a vhost whose limits were all cleared, with
 * "value": [].) */
void
wr_mgmt_get_vhost_limits(struct wr_mgmt_req *r)
{
    struct wr_vhost **vhs;
    size_t n = wr_mgmt_sorted_vhosts(r->srv, &vhs);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        json_t *it = limits_item(vhs[i]);
        if (it)
            json_array_append_new(arr, it);
    }
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

/* GET /api/vhost-limits/{vhost}: a list of one item, or [] when none. */
void
wr_mgmt_get_vhost_limit(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_hmap_get(&r->srv->vhosts, r->seg[1], r->seglen[1]);
    json_t *arr, *it;

    if (vh == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    arr = json_array();
    it = limits_item(vh);
    if (it)
        json_array_append_new(arr, it);
    wr_mgmt_reply_list(r, arr);
}

/* The vhost of a PUT or DELETE, or NULL after RabbitMQ's 404
 * {"error":"not_found","reason":"vhost_not_found"}. */
static struct wr_vhost *
limit_vhost(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_hmap_get(&r->srv->vhosts, r->seg[1], r->seglen[1]);

    if (vh == NULL)
        wr_mgmt_error(r, 404, "not_found", "vhost_not_found");
    return vh;
}

/* PUT /api/vhost-limits/{vhost}/{name} {"value": N}: 204. An unknown name
 * or a value that is not an integer is 400 with RabbitMQ's validation
 * text; a negative value means unlimited, 0 allows none. Open connections
 * and existing queues are kept when a limit goes below their number. */
void
wr_mgmt_put_vhost_limit(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = limit_vhost(r);
    json_t *body, *value;
    char err[300];
    int which;
    int64_t n;

    if (vh == NULL || (body = wr_mgmt_body(r)) == NULL)
        return;
    value = json_object_get(body, "value");
    if (value == NULL) {
        wr_mgmt_error(r, 400, "bad_request", "[{key_missing,value}]");
        return;
    }
    if (wr_defs_vhost_limit(r->seg[2], value, &which, &n, err, sizeof(err))) {
        wr_mgmt_error(r, 400, "bad_request", "%s", err);
        return;
    }
    *wr_vhost_limit(vh, which) = n;
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' set vhost limit %s of '%s' to %lld",
           r->user, wr_vhost_limit_names[which], vh->name, (long long)n);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}

/* DELETE /api/vhost-limits/{vhost}/{name}: 204, also when that limit was
 * not set or the name is unknown (as RabbitMQ). */
void
wr_mgmt_delete_vhost_limit(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = limit_vhost(r);

    if (vh == NULL)
        return;
    for (int i = 0; i < WR_VHOST_NLIMITS; i++) {
        if (strcmp(r->seg[2], wr_vhost_limit_names[i]) != 0 ||
            *wr_vhost_limit(vh, i) == WR_LIMIT_UNSET)
            continue;
        *wr_vhost_limit(vh, i) = WR_LIMIT_UNSET;
        wr_log(WR_LOG_NOTICE, "mgmt: user '%s' cleared vhost limit %s of '%s'",
               r->user, wr_vhost_limit_names[i], vh->name);
        wr_mgmt_saved(r);
    }
    wr_mgmt_reply_empty(r, 204);
}

/* ---- user limits ----------------------------------------------------------
 */

/* {"user": name, "value": {...}}, or NULL when u has no limit set. */
static json_t *
user_item(const struct wr_user *u)
{
    json_t *lim = wr_defs_user_limits_json(u);

    if (json_object_size(lim) == 0) {
        json_decref(lim);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "user", u->name, "value", lim);
}

/* GET /api/user-limits: every user that has a limit set, by name. */
void
wr_mgmt_get_user_limits(struct wr_mgmt_req *r)
{
    size_t n;
    const char **names = wr_users_sorted(&r->srv->users, &n);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        json_t *it = user_item(wr_users_get(&r->srv->users, names[i]));
        if (it)
            json_array_append_new(arr, it);
    }
    wr_free(names);
    wr_mgmt_reply_list(r, arr);
}

/* GET /api/user-limits/{user}: a list of one item, or [] when none. */
void
wr_mgmt_get_user_limit(struct wr_mgmt_req *r)
{
    struct wr_user *u = wr_users_get(&r->srv->users, r->seg[1]);
    json_t *arr, *it;

    if (u == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    arr = json_array();
    it = user_item(u);
    if (it)
        json_array_append_new(arr, it);
    wr_mgmt_reply_list(r, arr);
}

/* The user of a PUT or DELETE, or NULL after 404 {"error":"not_found",
 * "reason":"user_not_found"} (RabbitMQ 3.10: 400 with the reason
 * ["no_such_user", NAME] on PUT, 500 on DELETE). */
static struct wr_user *
limit_user(struct wr_mgmt_req *r)
{
    struct wr_user *u = wr_users_get(&r->srv->users, r->seg[1]);

    if (u == NULL)
        wr_mgmt_error(r, 404, "not_found", "user_not_found");
    return u;
}

/* PUT /api/user-limits/{user}/{name} {"value": N}: 204. max-connections
 * counts the user's open connections, max-channels their channels over
 * all of them; beyond either, connection.open or channel.open gets 530.
 * Nothing open is closed when a limit is lowered. */
void
wr_mgmt_put_user_limit(struct wr_mgmt_req *r)
{
    struct wr_user *u = limit_user(r);
    json_t *body, *value;
    char err[300];
    int which;
    int64_t n;

    if (u == NULL || (body = wr_mgmt_body(r)) == NULL)
        return;
    value = json_object_get(body, "value");
    if (value == NULL) {
        wr_mgmt_error(r, 400, "bad_request", "[{key_missing,value}]");
        return;
    }
    if (wr_defs_user_limit(r->seg[2], value, &which, &n, err, sizeof(err))) {
        wr_mgmt_error(r, 400, "bad_request", "%s", err);
        return;
    }
    *wr_user_limit(u, which) = n;
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' set user limit %s of '%s' to %lld",
           r->user, wr_user_limit_names[which], u->name, (long long)n);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}

/* DELETE /api/user-limits/{user}/{name}: 204, also when not set. */
void
wr_mgmt_delete_user_limit(struct wr_mgmt_req *r)
{
    struct wr_user *u = limit_user(r);

    if (u == NULL)
        return;
    for (int i = 0; i < WR_USER_NLIMITS; i++) {
        if (strcmp(r->seg[2], wr_user_limit_names[i]) != 0 ||
            *wr_user_limit(u, i) == WR_LIMIT_UNSET)
            continue;
        *wr_user_limit(u, i) = WR_LIMIT_UNSET;
        wr_log(WR_LOG_NOTICE, "mgmt: user '%s' cleared user limit %s of '%s'",
               r->user, wr_user_limit_names[i], u->name);
        wr_mgmt_saved(r);
    }
    wr_mgmt_reply_empty(r, 204);
}
