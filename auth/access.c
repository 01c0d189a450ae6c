/* SPDX-License-Identifier: MIT */
/* RabbitMQ's access control for one operation, as pure functions: may a
 * user do this to that resource? A refusal comes back as an error value
 * (403 ACCESS_REFUSED with RabbitMQ's text) for the caller to render. */
#include "auth_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"configure", "write", "read"};

bool
wr_access_allowed(const struct wr_user *u, const char *vhost,
                  enum wr_perm_kind kind, const char *what,
                  struct wr_bytes name, struct wr_op_err *err)
{
    if (u && wr_perm_check(u, vhost, kind, name.ptr, name.len))
        return true;
    if (name.len == 0 && strcmp(what, "exchange") == 0)
        name = WR_BYTES_LIT("amq.default");
    err->code = WR_REPLY_ACCESS_REFUSED;
    err->hard = false;
    err->bare = false;
    snprintf(err->text, sizeof(err->text),
             "access to %s '%.*s' in vhost '%s' refused for user '%s'", what,
             (int)WR_MIN(name.len, 255u), name.ptr, vhost, u ? u->name : "");
    return false;
}

bool
wr_access_topic_allowed(const struct wr_user *u, const char *vhost,
                        const struct wr_exchange *x, enum wr_perm_kind kind,
                        struct wr_bytes rkey, struct wr_op_err *err)
{
    if (x->type != &wr_exch_topic || u == NULL || u->ntp == 0)
        return true;
    if (wr_topic_check(u, vhost, x->name, kind, rkey.ptr, rkey.len))
        return true;
    err->code = WR_REPLY_ACCESS_REFUSED;
    err->hard = false;
    err->bare = false;
    snprintf(err->text, sizeof(err->text),
             "%s access to topic '%.*s' in exchange '%s' in vhost '%s' "
             "refused for user '%s'",
             kind_names[kind], (int)WR_MIN(rkey.len, 100u), rkey.ptr, x->name,
             vhost, u->name);
    return false;
}
