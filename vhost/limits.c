/* SPDX-License-Identifier: MIT */
/* Vhost limits (RabbitMQ's "vhost-limits" parameter: max-connections,
 * max-queues) and user limits (max-connections, max-channels): validated
 * as RabbitMQ validates them, with its texts, and their JSON. */
#include "vhost_internal.h"

#include <stdio.h>
#include <string.h>

const char *const wr_vhost_limit_names[WR_VHOST_NLIMITS] = {"max-connections",
                                                            "max-queues"};

int64_t *
wr_vhost_limit(struct wr_vhost *vh, int i)
{
    return i == 0 ? &vh->max_connections : &vh->max_queues;
}

void
wr_defs_erl_term(const json_t *v, char *out, size_t cap)
{
    char *j;

    switch (json_typeof(v)) {
    case JSON_INTEGER:
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        snprintf(out, cap, "%.15g", json_real_value(v));
        if (strpbrk(out, ".en") == NULL && strlen(out) + 2 < cap)
            strcat(out, ".0");
        return;
    case JSON_STRING:
        snprintf(out, cap, "<<\"%s\">>", json_string_value(v));
        return;
    case JSON_TRUE:
        snprintf(out, cap, "true");
        return;
    case JSON_FALSE:
        snprintf(out, cap, "false");
        return;
    case JSON_NULL:
        snprintf(out, cap, "null");
        return;
    default:
        j = json_dumps(v, JSON_COMPACT);
        snprintf(out, cap, "%s", j ? j : "?");
        wr_free(j);
    }
}

/* One limit of names[n]: a known name and an integer value. RabbitMQ
 * words the errors of vhost limits (a runtime parameter) as "Validation
 * failed\n\n...\n" and those of user limits plainly. */
static int
check_limit(const char *const *names, int n, const char *where, bool param,
            const char *name, const json_t *value, int *which, int64_t *out,
            char *err, size_t errlen)
{
    const char *pre = param ? "Validation failed\n\n" : "";
    const char *post = param ? "\n" : "";
    char term[128];

    wr_defs_erl_term(value, term, sizeof(term));
    for (int i = 0; i < n; i++) {
        if (strcmp(name, names[i]) != 0)
            continue;
        if (!json_is_integer(value)) {
            snprintf(err, errlen, "%s%s should be a number, actually was %s%s",
                     pre, name, term, post);
            return WR_ERR_INVALID;
        }
        *which = i;
        *out = json_integer_value(value);
        return 0;
    }
    snprintf(err, errlen, "%sUnrecognised terms [{<<\"%.64s\">>,%s}] in %s%s",
             pre, name, term, where, post);
    return WR_ERR_INVALID;
}

int
wr_defs_vhost_limit(const char *name, const json_t *value, int *which,
                    int64_t *out, char *err, size_t errlen)
{
    return check_limit(wr_vhost_limit_names, WR_VHOST_NLIMITS, "limits", true,
                       name, value, which, out, err, errlen);
}

const char *const wr_user_limit_names[WR_USER_NLIMITS] = {"max-channels",
                                                          "max-connections"};

int64_t *
wr_user_limit(struct wr_user *u, int i)
{
    return i == 0 ? &u->max_channels : &u->max_connections;
}

int
wr_defs_user_limit(const char *name, const json_t *value, int *which,
                   int64_t *out, char *err, size_t errlen)
{
    return check_limit(wr_user_limit_names, WR_USER_NLIMITS, "user-limits",
                       false, name, value, which, out, err, errlen);
}

json_t *
wr_defs_user_limits_json(const struct wr_user *u)
{
    json_t *o = json_object();

    for (int i = 0; i < WR_USER_NLIMITS; i++) {
        int64_t v = *wr_user_limit((struct wr_user *)u, i);
        if (v != WR_LIMIT_UNSET)
            json_object_set_new(o, wr_user_limit_names[i], json_integer(v));
    }
    return o;
}

/* "limits" of a user in a definitions document: {} or {"max-channels": N,
 * "max-connections": N}. Replaces usr's limits when given. */
int
wr_defs_user_limits(struct wr_user *usr, const json_t *lim, char *msg,
                    size_t cap)
{
    int64_t v[WR_USER_NLIMITS];
    const char *key;
    json_t *val;

    if (lim == NULL)
        return WR_OK;
    if (!json_is_object(lim)) {
        snprintf(msg, cap, "limits must be an object");
        return WR_ERR_INVALID;
    }
    for (int i = 0; i < WR_USER_NLIMITS; i++)
        v[i] = WR_LIMIT_UNSET;
    json_object_foreach((json_t *)lim, key, val)
    {
        int which;
        int64_t n;
        if (wr_defs_user_limit(key, val, &which, &n, msg, cap))
            return WR_ERR_INVALID;
        v[which] = n;
    }
    for (int i = 0; i < WR_USER_NLIMITS; i++)
        *wr_user_limit(usr, i) = v[i];
    return WR_OK;
}

json_t *
wr_defs_vhost_limits_json(struct wr_vhost *vh)
{
    json_t *o = NULL;

    for (int i = 0; i < WR_VHOST_NLIMITS; i++) {
        int64_t v = *wr_vhost_limit(vh, i);
        if (v == WR_LIMIT_UNSET)
            continue;
        if (o == NULL)
            o = json_object();
        json_object_set_new(o, wr_vhost_limit_names[i], json_integer(v));
    }
    return o;
}
