/* SPDX-License-Identifier: MIT */
/* Policies and operator policies over the management API, in RabbitMQ's
 * paths and shapes: /api/policies[/{vhost}[/{name}]] (policymaker or
 * administrator) and /api/operator-policies[/{vhost}[/{name}]]
 * (administrator). Validation and application are in policy.c. */
#include "mgmt_internal.h"

#include <string.h>

/* true for the operator-policies paths. */
static bool
is_op(const struct wr_mgmt_req *r)
{
    return strcmp(r->seg[0], "operator-policies") == 0;
}

static struct wr_policy_list *
list_of(struct wr_vhost *vh, bool op)
{
    return op ? &vh->op_policies : &vh->policies;
}

/* GET /api/policies and /api/policies/{vhost}: every policy of the
 * visible vhosts (or of one), sorted by vhost then name. */
void
wr_mgmt_get_policies(struct wr_mgmt_req *r)
{
    struct wr_vhost **vhs;
    size_t n;
    json_t *arr;
    bool op = is_op(r);

    if (!wr_mgmt_list_vhosts(r, 1, &vhs, &n))
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct wr_policy_list *l = list_of(vhs[i], op);
        for (size_t j = 0; j < l->n; j++)
            json_array_append_new(arr, wr_policy_json(vhs[i]->name, l->v[j]));
    }
    wr_free(vhs);
    wr_mgmt_reply_list(r, arr);
}

/* GET /api/policies/{vhost}/{name}: the policy, or 404. */
void
wr_mgmt_get_policy(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    const struct wr_policy *p;

    if (vh == NULL)
        return;
    p = wr_policy_list_get(list_of(vh, is_op(r)), r->seg[2]);
    if (p == NULL) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_mgmt_reply(r, 200, wr_policy_json(vh->name, p));
}

/* PUT /api/policies/{vhost}/{name} {"pattern", "definition", "priority",
 * "apply-to"}: 201 when created, 204 when replaced. A refusal is 400
 * with RabbitMQ's "Validation failed\n\n...\n" reason. Every queue and
 * exchange of the vhost is re-resolved at once. */
void
wr_mgmt_put_policy(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh;
    struct wr_policy *p;
    json_t *body;
    char err[512];
    bool op = is_op(r), created;

    vh = wr_hmap_get(&r->srv->vhosts, r->seg[1], r->seglen[1]);
    if (vh == NULL) {
        wr_mgmt_error(r, 404, "not_found", "vhost_not_found");
        return;
    }
    if (!wr_mgmt_vhost_visible(r, vh->name)) {
        wr_mgmt_error(r, 401, "not_authorised",
                      "User not authorised to access virtual host");
        return;
    }
    if ((body = wr_mgmt_body(r)) == NULL)
        return;
    if (r->seglen[2] == 0 || strlen(r->seg[2]) != r->seglen[2] ||
        r->seglen[2] > 255) {
        wr_mgmt_error(r, 400, "bad_request", "bad policy name");
        return;
    }
    if (wr_policy_parse(r->seg[2], body, op, &p, err, sizeof(err)) != WR_OK) {
        if (err[0] == '[' && strstr(err, "key_missing"))
            wr_mgmt_error(r, 400, "bad_request", "%s", err);
        else
            wr_mgmt_error(r, 400, "bad_request", "Validation failed\n\n%s\n",
                          err);
        return;
    }
    created = wr_vhost_set_policy(vh, op, p);
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' set %spolicy '%s' in vhost '%s'",
           r->user, op ? "operator " : "", r->seg[2], vh->name);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, created ? 201 : 204);
}

/* DELETE /api/policies/{vhost}/{name}: 204, or 404 when there is none. */
void
wr_mgmt_delete_policy(struct wr_mgmt_req *r)
{
    struct wr_vhost *vh = wr_mgmt_vhost(r, 1);
    bool op = is_op(r);

    if (vh == NULL)
        return;
    if (!wr_vhost_clear_policy(vh, op, r->seg[2])) {
        wr_mgmt_not_found(r);
        return;
    }
    wr_log(WR_LOG_NOTICE, "mgmt: user '%s' cleared %spolicy '%s' in vhost '%s'",
           r->user, op ? "operator " : "", r->seg[2], vh->name);
    wr_mgmt_saved(r);
    wr_mgmt_reply_empty(r, 204);
}
