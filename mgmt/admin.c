/* SPDX-License-Identifier: MIT */
/* Runtime administration of vhosts and users with their effects on live
 * connections (320 CONNECTION_FORCED), and persistence of the definitions
 * file after each change. */
#include "mgmt_internal.h"

#include <stdio.h>
#include <string.h>

int
wr_server_add_vhost(struct wr_server *s, const char *name,
                    const char *description, struct wr_vhost **out)
{
    struct wr_vhost *vh;

    if (name[0] == '\0' || strlen(name) > 255)
        return WR_ERR_INVALID;
    if (wr_hmap_get(&s->vhosts, name, strlen(name)))
        return WR_ERR_EXISTS;
    vh = wr_vhost_new(s, name);
    if (description)
        vh->description = wr_strdup(description);
    wr_hmap_put(&s->vhosts, vh->name, strlen(vh->name), vh, NULL);
    wr_log(WR_LOG_NOTICE, "vhost '%s' added", name);
    if (out)
        *out = vh;
    return wr_server_save_definitions(s);
}

int
wr_server_delete_vhost(struct wr_server *s, const char *name)
{
    struct wr_vhost *vh = wr_hmap_get(&s->vhosts, name, strlen(name));
    struct wr_list *pos, *tmp;

    if (vh == NULL)
        return WR_ERR_NOT_FOUND;
    wr_log(WR_LOG_NOTICE, "deleting vhost '%s': closing %u connection(s)", name,
           vh->nconns);
    /* RabbitMQ closes the vhost's connections with 320 first. */
    wr_list_for_each_safe(pos, tmp, &vh->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, vh_link);
        wr_conn_error(c, WR_REPLY_CONNECTION_FORCED, 0, "vhost '%s' is deleted",
                      vh->name);
    }
    wr_defs_vhost_deleted(vh);
    wr_hmap_del(&s->vhosts, vh->name, strlen(vh->name));
    wr_users_forget_vhost(&s->users, name);
    wr_vhost_free(vh);
    return wr_server_save_definitions(s);
}

void
wr_server_close_user_conns(struct wr_server *s, const char *name,
                           const char *why)
{
    struct wr_list *pos, *tmp;

    wr_list_for_each_safe(pos, tmp, &s->conns)
    {
        struct wr_conn *c = WR_CONTAINER_OF(pos, struct wr_conn, link);
        if (c->u && strcmp(c->u->name, name) == 0) {
            wr_conn_error(c, WR_REPLY_CONNECTION_FORCED, 0, "%s", why);
            c->u = NULL;
        }
    }
}

int
wr_server_delete_user(struct wr_server *s, const char *name)
{
    char why[300];

    if (wr_users_get(&s->users, name) == NULL)
        return WR_ERR_NOT_FOUND;
    snprintf(why, sizeof(why), "user '%s' was deleted", name);
    wr_server_close_user_conns(s, name, why);
    wr_users_delete(&s->users, name);
    wr_log(WR_LOG_NOTICE, "user '%s' deleted", name);
    return wr_server_save_definitions(s);
}
