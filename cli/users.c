/* SPDX-License-Identifier: MIT */
/* warrenctl's access control commands, named as rabbitmqctl's: users,
 * vhosts, permissions and topic permissions through the management API. */
#include "warrenctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A request whose reply is not needed; steals body. */
static int
call_done(const struct wc_settings *s, const char *method, const char *path,
          json_t *body, const char *what)
{
    struct wc_reply rep;
    int rc = wc_call(s, method, path, body, what, &rep);

    json_decref(body);
    if (rc == WC_EXIT_OK)
        wc_reply_cleanup(&rep);
    return rc;
}

/* The user's current record (GET /api/users/NAME), or NULL after
 * printing why (*rc set). */
static json_t *
get_user(const struct wc_settings *s, const char *name, int *rc)
{
    char u[800], path[900], what[400];
    struct wc_reply rep;
    json_t *j;

    snprintf(path, sizeof(path), "users/%s", wc_seg(name, u, sizeof(u)));
    snprintf(what, sizeof(what), "user '%s'", name);
    if ((*rc = wc_call(s, "GET", path, NULL, what, &rep)) != WC_EXIT_OK)
        return NULL;
    j = json_incref(rep.json);
    wc_reply_cleanup(&rep);
    if (!json_is_object(j)) {
        json_decref(j);
        fprintf(stderr, "warrenctl: the broker's answer is not a user\n");
        *rc = WC_EXIT_ERROR;
        return NULL;
    }
    return j;
}

static int
put_user(const struct wc_settings *s, const char *name, json_t *body)
{
    char u[800], path[900], what[400];

    snprintf(path, sizeof(path), "users/%s", wc_seg(name, u, sizeof(u)));
    snprintf(what, sizeof(what), "user '%s'", name);
    return call_done(s, "PUT", path, body, what);
}

/* ---- users --------------------------------------------------------------- */

int
wc_cmd_add_user(const struct wc_settings *s, int argc, char **argv)
{
    char u[800], path[900];
    struct wc_reply rep;
    int rc;

    if (argc != 2)
        return wc_usage("add_user", "expected: add_user NAME PASSWORD");
    /* rabbitmqctl refuses to overwrite a user: look first. */
    snprintf(path, sizeof(path), "users/%s", wc_seg(argv[0], u, sizeof(u)));
    if ((rc = wc_http(s, "GET", path, NULL, NULL, &rep)) != WC_EXIT_OK)
        return rc;
    if (rep.status == 200) {
        wc_reply_cleanup(&rep);
        fprintf(stderr, "warrenctl: user '%s' already exists\n", argv[0]);
        return WC_EXIT_ERROR;
    }
    if (rep.status != 404) {
        rc = wc_fail(s, &rep, "users");
        wc_reply_cleanup(&rep);
        return rc;
    }
    wc_reply_cleanup(&rep);
    rc = put_user(s, argv[0],
                  json_pack("{s:s, s:s}", "password", argv[1], "tags", ""));
    if (rc == WC_EXIT_OK)
        wc_say(s, "user '%s' added", argv[0]);
    return rc;
}

int
wc_cmd_delete_user(const struct wc_settings *s, int argc, char **argv)
{
    char u[800], path[900], what[400];
    int rc;

    if (argc != 1)
        return wc_usage("delete_user", "expected: delete_user NAME");
    snprintf(path, sizeof(path), "users/%s", wc_seg(argv[0], u, sizeof(u)));
    snprintf(what, sizeof(what), "user '%s'", argv[0]);
    rc = call_done(s, "DELETE", path, NULL, what);
    if (rc == WC_EXIT_OK)
        wc_say(s, "user '%s' deleted", argv[0]);
    return rc;
}

int
wc_cmd_change_password(const struct wc_settings *s, int argc, char **argv)
{
    json_t *cur, *body, *tags;
    int rc;

    if (argc != 2)
        return wc_usage("change_password",
                        "expected: change_password NAME PASSWORD");
    if ((cur = get_user(s, argv[0], &rc)) == NULL)
        return rc;
    /* Keep the tags: RabbitMQ's PUT replaces the whole user. */
    body = json_pack("{s:s}", "password", argv[1]);
    tags = json_object_get(cur, "tags");
    if (tags)
        json_object_set(body, "tags", tags);
    else
        json_object_set_new(body, "tags", json_string(""));
    json_decref(cur);
    rc = put_user(s, argv[0], body);
    if (rc == WC_EXIT_OK)
        wc_say(s, "password of user '%s' changed", argv[0]);
    return rc;
}

int
wc_cmd_set_user_tags(const struct wc_settings *s, int argc, char **argv)
{
    json_t *cur, *tags, *body, *h, *alg;
    int rc;

    if (argc < 1)
        return wc_usage("set_user_tags", "expected: set_user_tags NAME TAG...");
    if ((cur = get_user(s, argv[0], &rc)) == NULL)
        return rc;
    tags = json_array();
    for (int i = 1; i < argc; i++)
        json_array_append_new(tags, json_string(argv[i]));
    body = json_pack("{s:o}", "tags", tags);
    /* Keep the password: send the stored hash back, as rabbitmqadmin. */
    h = json_object_get(cur, "password_hash");
    alg = json_object_get(cur, "hashing_algorithm");
    if (json_is_string(h) && json_string_length(h) > 0) {
        json_object_set(body, "password_hash", h);
        if (json_is_string(alg))
            json_object_set(body, "hashing_algorithm", alg);
    }
    json_decref(cur);
    rc = put_user(s, argv[0], body);
    if (rc == WC_EXIT_OK)
        wc_say(s, "tags of user '%s' set", argv[0]);
    return rc;
}

int
wc_cmd_list_users(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"name", "name"}, {"tags", "tags"}};

    (void)argv;
    if (argc != 0)
        return wc_usage("list_users", "expected no arguments");
    return wc_list(s, "users", "users", cols, 2);
}

/* ---- vhosts -------------------------------------------------------------- */

int
wc_cmd_add_vhost(const struct wc_settings *s, int argc, char **argv)
{
    char v[800], path[900], what[400];
    json_t *body = json_object();
    struct wc_reply rep;
    int rc;

    if (argc < 1 || argc > 2 ||
        (argc == 2 && strncmp(argv[1], "description=", 12) != 0)) {
        json_decref(body);
        return wc_usage("add_vhost",
                        "expected: add_vhost NAME [description=TEXT]");
    }
    if (argc == 2)
        json_object_set_new(body, "description", json_string(argv[1] + 12));
    snprintf(path, sizeof(path), "vhosts/%s", wc_seg(argv[0], v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", argv[0]);
    rc = wc_call(s, "PUT", path, body, what, &rep);
    json_decref(body);
    if (rc != WC_EXIT_OK)
        return rc;
    wc_reply_cleanup(&rep);
    if (rep.status != 201 && argc == 1) {
        fprintf(stderr, "warrenctl: vhost '%s' already exists\n", argv[0]);
        return WC_EXIT_ERROR;
    }
    wc_say(s, "vhost '%s' %s", argv[0],
           rep.status == 201 ? "added" : "updated");
    return WC_EXIT_OK;
}

int
wc_cmd_delete_vhost(const struct wc_settings *s, int argc, char **argv)
{
    char v[800], path[900], what[400];
    int rc;

    if (argc != 1)
        return wc_usage("delete_vhost", "expected: delete_vhost NAME");
    snprintf(path, sizeof(path), "vhosts/%s", wc_seg(argv[0], v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", argv[0]);
    rc = call_done(s, "DELETE", path, NULL, what);
    if (rc == WC_EXIT_OK)
        wc_say(s, "vhost '%s' deleted", argv[0]);
    return rc;
}

int
wc_cmd_list_vhosts(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"name", "name"},
                                            {"description", "description"}};

    (void)argv;
    if (argc != 0)
        return wc_usage("list_vhosts", "expected no arguments");
    return wc_list(s, "vhosts", "vhosts", cols, 2);
}

/* ---- permissions --------------------------------------------------------- */

/* "[-p VHOST]" before the other arguments (main.c turns a -p after these
 * commands' names into --vhost, so it arrives in s->vhost). */
static int
perm_path(const struct wc_settings *s, const char *kind, const char *user,
          char *path, size_t cap, char *what, size_t wcap)
{
    char v[800], u[800];

    snprintf(path, cap, "%s/%s/%s", kind, wc_seg(s->vhost, v, sizeof(v)),
             wc_seg(user, u, sizeof(u)));
    snprintf(what, wcap, "user '%s' or vhost '%s'", user, s->vhost);
    return 0;
}

int
wc_cmd_set_permissions(const struct wc_settings *s, int argc, char **argv)
{
    char path[2000], what[800];
    int rc;

    if (argc != 4)
        return wc_usage("set_permissions", "expected: set_permissions "
                                           "[-p VHOST] USER CONF WRITE READ");
    perm_path(s, "permissions", argv[0], path, sizeof(path), what,
              sizeof(what));
    rc = call_done(s, "PUT", path,
                   json_pack("{s:s, s:s, s:s}", "configure", argv[1], "write",
                             argv[2], "read", argv[3]),
                   what);
    if (rc == WC_EXIT_OK)
        wc_say(s, "permissions of user '%s' in vhost '%s' set", argv[0],
               s->vhost);
    return rc;
}

int
wc_cmd_clear_permissions(const struct wc_settings *s, int argc, char **argv)
{
    char path[2000], what[800];
    int rc;

    if (argc != 1)
        return wc_usage("clear_permissions",
                        "expected: clear_permissions [-p VHOST] USER");
    perm_path(s, "permissions", argv[0], path, sizeof(path), what,
              sizeof(what));
    snprintf(what, sizeof(what), "permissions of user '%s' in vhost '%s'",
             argv[0], s->vhost);
    rc = call_done(s, "DELETE", path, NULL, what);
    if (rc == WC_EXIT_OK)
        wc_say(s, "permissions of user '%s' in vhost '%s' cleared", argv[0],
               s->vhost);
    return rc;
}

int
wc_cmd_list_permissions(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"user", "user"},
                                            {"configure", "configure"},
                                            {"write", "write"},
                                            {"read", "read"}};
    char v[800], path[900], what[400];

    (void)argv;
    if (argc != 0)
        return wc_usage("list_permissions",
                        "expected: list_permissions [-p VHOST]");
    snprintf(path, sizeof(path), "vhosts/%s/permissions",
             wc_seg(s->vhost, v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, 4);
}

int
wc_cmd_list_user_permissions(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"vhost", "vhost"},
                                            {"configure", "configure"},
                                            {"write", "write"},
                                            {"read", "read"}};
    char u[800], path[900], what[400];

    if (argc != 1)
        return wc_usage("list_user_permissions",
                        "expected: list_user_permissions USER");
    snprintf(path, sizeof(path), "users/%s/permissions",
             wc_seg(argv[0], u, sizeof(u)));
    snprintf(what, sizeof(what), "user '%s'", argv[0]);
    return wc_list(s, path, what, cols, 4);
}

int
wc_cmd_set_topic_permissions(const struct wc_settings *s, int argc, char **argv)
{
    char path[2000], what[800];
    int rc;

    if (argc != 4)
        return wc_usage("set_topic_permissions",
                        "expected: set_topic_permissions [-p VHOST] USER "
                        "EXCHANGE WRITE READ");
    perm_path(s, "topic-permissions", argv[0], path, sizeof(path), what,
              sizeof(what));
    rc = call_done(s, "PUT", path,
                   json_pack("{s:s, s:s, s:s}", "exchange", argv[1], "write",
                             argv[2], "read", argv[3]),
                   what);
    if (rc == WC_EXIT_OK)
        wc_say(s,
               "topic permissions of user '%s' on exchange '%s' in vhost '%s' "
               "set",
               argv[0], argv[1], s->vhost);
    return rc;
}

int
wc_cmd_clear_topic_permissions(const struct wc_settings *s, int argc,
                               char **argv)
{
    char path[2000], what[800], x[800];
    size_t n;
    int rc;

    if (argc != 1 && argc != 2)
        return wc_usage("clear_topic_permissions",
                        "expected: clear_topic_permissions [-p VHOST] USER "
                        "[EXCHANGE]");
    perm_path(s, "topic-permissions", argv[0], path, sizeof(path), what,
              sizeof(what));
    if (argc == 2) {
        n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "?exchange=%s",
                 wc_seg(argv[1], x, sizeof(x)));
    }
    snprintf(what, sizeof(what), "topic permissions of user '%s' in vhost '%s'",
             argv[0], s->vhost);
    rc = call_done(s, "DELETE", path, NULL, what);
    if (rc == WC_EXIT_OK)
        wc_say(s, "topic permissions of user '%s' in vhost '%s' cleared",
               argv[0], s->vhost);
    return rc;
}

/* ---- vhost limits -------------------------------------------------------- */

/* The limits RabbitMQ has; set_vhost_limits replaces them all, as
 * rabbitmqctl's does (a limit its JSON leaves out is cleared). */
static const char *const vhost_limit_names[] = {"max-connections",
                                                "max-queues"};
#define N_VHOST_LIMITS                                                         \
    (sizeof(vhost_limit_names) / sizeof(vhost_limit_names[0]))

/* PUT (value given) or DELETE vhost-limits/VHOST/NAME. */
static int
vhost_limit_call(const struct wc_settings *s, const char *name, json_t *value)
{
    char v[800], n[400], path[1300], what[400];

    snprintf(path, sizeof(path), "vhost-limits/%s/%s",
             wc_seg(s->vhost, v, sizeof(v)), wc_seg(name, n, sizeof(n)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    if (value == NULL)
        return call_done(s, "DELETE", path, NULL, what);
    return call_done(s, "PUT", path, json_pack("{s:O}", "value", value), what);
}

int
wc_cmd_set_vhost_limits(const struct wc_settings *s, int argc, char **argv)
{
    json_t *defn, *v;
    const char *key;
    int rc = WC_EXIT_OK;

    if (argc != 1)
        return wc_usage("set_vhost_limits",
                        "expected: set_vhost_limits [-p VHOST] JSON");
    defn = json_loads(argv[0], JSON_DECODE_ANY, NULL);
    if (!json_is_object(defn)) {
        json_decref(defn);
        return wc_usage("set_vhost_limits",
                        "expected a JSON object such as "
                        "'{\"max-connections\": 10, \"max-queues\": 100}'");
    }
    json_object_foreach(defn, key, v)
    {
        if ((rc = vhost_limit_call(s, key, v)) != WC_EXIT_OK)
            goto out;
    }
    for (size_t i = 0; i < N_VHOST_LIMITS; i++)
        if (json_object_get(defn, vhost_limit_names[i]) == NULL &&
            (rc = vhost_limit_call(s, vhost_limit_names[i], NULL)) !=
                WC_EXIT_OK)
            goto out;
    wc_say(s, "limits of vhost '%s' set", s->vhost);
out:
    json_decref(defn);
    return rc;
}

int
wc_cmd_clear_vhost_limits(const struct wc_settings *s, int argc, char **argv)
{
    int rc;

    (void)argv;
    if (argc != 0)
        return wc_usage("clear_vhost_limits",
                        "expected: clear_vhost_limits [-p VHOST]");
    for (size_t i = 0; i < N_VHOST_LIMITS; i++)
        if ((rc = vhost_limit_call(s, vhost_limit_names[i], NULL)) !=
            WC_EXIT_OK)
            return rc;
    wc_say(s, "limits of vhost '%s' cleared", s->vhost);
    return WC_EXIT_OK;
}

int
wc_cmd_list_vhost_limits(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"vhost", "vhost"},
                                            {"value", "limits"}};
    char v[800], path[900], what[400];

    if (argc == 1 && strcmp(argv[0], "global") == 0) /* main.c: --global */
        return wc_list(s, "vhost-limits", "vhost limits", cols, 2);
    if (argc != 0)
        return wc_usage("list_vhost_limits",
                        "expected: list_vhost_limits [-p VHOST] | --global");
    snprintf(path, sizeof(path), "vhost-limits/%s",
             wc_seg(s->vhost, v, sizeof(v)));
    snprintf(what, sizeof(what), "vhost '%s'", s->vhost);
    return wc_list(s, path, what, cols, 2);
}

/* ---- user limits --------------------------------------------------------- */

static const char *const user_limit_names[] = {"max-channels",
                                               "max-connections"};
#define N_USER_LIMITS (sizeof(user_limit_names) / sizeof(user_limit_names[0]))

/* PUT (value given) or DELETE user-limits/USER/NAME. */
static int
user_limit_call(const struct wc_settings *s, const char *user, const char *name,
                json_t *value)
{
    char u[800], n[400], path[1300], what[400];

    snprintf(path, sizeof(path), "user-limits/%s/%s",
             wc_seg(user, u, sizeof(u)), wc_seg(name, n, sizeof(n)));
    snprintf(what, sizeof(what), "user '%s'", user);
    if (value == NULL)
        return call_done(s, "DELETE", path, NULL, what);
    return call_done(s, "PUT", path, json_pack("{s:O}", "value", value), what);
}

int
wc_cmd_set_user_limits(const struct wc_settings *s, int argc, char **argv)
{
    json_t *defn, *v;
    const char *key;
    int rc = WC_EXIT_OK;

    if (argc != 2)
        return wc_usage("set_user_limits",
                        "expected: set_user_limits USER JSON");
    defn = json_loads(argv[1], JSON_DECODE_ANY, NULL);
    if (!json_is_object(defn)) {
        json_decref(defn);
        return wc_usage("set_user_limits",
                        "expected a JSON object such as "
                        "'{\"max-connections\": 10, \"max-channels\": 100}'");
    }
    json_object_foreach(defn, key, v)
    {
        if ((rc = user_limit_call(s, argv[0], key, v)) != WC_EXIT_OK)
            goto out;
    }
    wc_say(s, "limits of user '%s' set", argv[0]);
out:
    json_decref(defn);
    return rc;
}

int
wc_cmd_clear_user_limits(const struct wc_settings *s, int argc, char **argv)
{
    int rc;

    if (argc != 2)
        return wc_usage("clear_user_limits",
                        "expected: clear_user_limits USER NAME|all");
    for (size_t i = 0; i < N_USER_LIMITS; i++) {
        if (strcmp(argv[1], "all") != 0 &&
            strcmp(argv[1], user_limit_names[i]) != 0)
            continue;
        if ((rc = user_limit_call(s, argv[0], user_limit_names[i], NULL)) !=
            WC_EXIT_OK)
            return rc;
    }
    wc_say(s, "limit%s %s of user '%s' cleared",
           strcmp(argv[1], "all") == 0 ? "s" : "", argv[1], argv[0]);
    return WC_EXIT_OK;
}

int
wc_cmd_list_user_limits(const struct wc_settings *s, int argc, char **argv)
{
    static const struct wc_column cols[] = {{"user", "user"},
                                            {"value", "limits"}};
    char u[800], path[900], what[400];

    /* main.c turns --user and --global into words */
    if (argc == 0 || (argc == 1 && strcmp(argv[0], "global") == 0))
        return wc_list(s, "user-limits", "user limits", cols, 2);
    if (argc != 2 || strcmp(argv[0], "user") != 0)
        return wc_usage("list_user_limits",
                        "expected: list_user_limits [--user USER | --global]");
    snprintf(path, sizeof(path), "user-limits/%s",
             wc_seg(argv[1], u, sizeof(u)));
    snprintf(what, sizeof(what), "user '%s'", argv[1]);
    return wc_list(s, path, what, cols, 2);
}
