/* SPDX-License-Identifier: MIT */
/* The broker suite's definitions test case: the definitions file written
 * and read back, its errors naming the entry, vhost limits. */
#include "cases.h"

static char err[600]; /* what a failed load says */

/* A server with only what definitions need, and an event base for the
 * events a vhost and its queues create (never dispatched). */
static void
mini_server(struct wr_server *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    wr_config_defaults(&s->cfg);
    snprintf(s->cfg.definitions_file, sizeof(s->cfg.definitions_file), "%s",
             path);
    wr_list_init(&s->conns);
    wr_hmap_init(&s->vhosts);
    wr_users_init(&s->users);
    s->base = event_base_new();
    ck_assert_ptr_nonnull(s->base);
}

static void
mini_server_cleanup(struct wr_server *s)
{
    size_t it = 0;
    void *v;

    while (wr_hmap_next(&s->vhosts, &it, NULL, NULL, &v))
        wr_vhost_free(v);
    wr_hmap_cleanup(&s->vhosts);
    wr_users_cleanup(&s->users);
    event_base_free(s->base);
}

START_TEST(defs_roundtrip)
{
    char path[] = "/tmp/check_broker_defsXXXXXX";
    int fd = mkstemp(path);
    struct wr_server a, b;
    struct wr_user *u;
    struct wr_vhost *vh;

    close(fd);
    mini_server(&a, path);
    wr_defs_bootstrap(&a);
    ck_assert_int_eq(wr_server_add_vhost(&a, "v2", "second \"one\"", &vh),
                     WR_OK);
    vh->max_connections = 3;
    vh->max_queues = 0;
    ck_assert_int_eq(wr_server_add_vhost(&a, "v2", NULL, NULL), WR_ERR_EXISTS);
    wr_users_add(&a.users, "ann", "pw", "monitoring,management", &u);
    u->max_channels = 7;
    wr_user_set_perm(&a.users, u, "v2", "^c", "^w", "^r", err, sizeof(err));
    wr_user_set_topic_perm(&a.users, u, "v2", "amq.topic", "^a", "^b", err,
                           sizeof(err));
    ck_assert_int_eq(wr_server_save_definitions(&a), WR_OK);

    mini_server(&b, path);
    ck_assert_int_eq(wr_defs_load(&b, path, err, sizeof(err)), 0);
    ck_assert_uint_eq(b.users.by_name.count, 2);
    ck_assert_uint_eq(b.vhosts.count, 2);
    vh = wr_hmap_get(&b.vhosts, "v2", 2);
    ck_assert_ptr_nonnull(vh);
    ck_assert_str_eq(vh->description, "second \"one\"");
    ck_assert_int_eq(vh->max_connections, 3);
    ck_assert_int_eq(vh->max_queues, 0);
    vh = wr_hmap_get(&b.vhosts, "/", 1);
    ck_assert(vh->max_connections == WR_LIMIT_UNSET);
    ck_assert(vh->max_queues == WR_LIMIT_UNSET);
    u = wr_users_get(&b.users, "ann");
    ck_assert(wr_user_check_password(u, "pw", 2));
    ck_assert_str_eq(u->tags, "monitoring,management");
    ck_assert_int_eq(u->max_channels, 7);
    ck_assert(u->max_connections == WR_LIMIT_UNSET);
    ck_assert(wr_perm_check(u, "v2", WR_PERM_WRITE, "wx", 2));
    ck_assert(!wr_perm_check(u, "v2", WR_PERM_WRITE, "cx", 2));
    ck_assert(!wr_topic_check(u, "v2", "amq.topic", WR_PERM_WRITE, "b", 1));
    u = wr_users_get(&b.users, "guest");
    ck_assert(wr_user_has_tag(u, "administrator"));
    ck_assert(wr_user_check_password(u, "guest", 5));
    ck_assert(wr_perm_check(u, "/", WR_PERM_CONFIGURE, "anything", 8));

    /* deleting a vhost drops its permissions and is written at once */
    ck_assert_int_eq(wr_server_delete_vhost(&b, "v2"), WR_OK);
    ck_assert_int_eq(wr_server_delete_vhost(&b, "v2"), WR_ERR_NOT_FOUND);
    ck_assert_ptr_null(wr_user_perm(wr_users_get(&b.users, "ann"), "v2"));
    ck_assert_int_eq(wr_server_delete_user(&b, "ann"), WR_OK);
    ck_assert_int_eq(wr_server_delete_user(&b, "ann"), WR_ERR_NOT_FOUND);
    mini_server_cleanup(&b);
    mini_server(&b, path);
    ck_assert_int_eq(wr_defs_load(&b, path, err, sizeof(err)), 0);
    ck_assert_uint_eq(b.vhosts.count, 1);
    ck_assert_uint_eq(b.users.by_name.count, 1);
    ck_assert_int_eq(wr_defs_check(path, err, sizeof(err)), 0);
    mini_server_cleanup(&b);
    mini_server_cleanup(&a);
    unlink(path);
    ck_assert_int_eq(wr_defs_check(path, err, sizeof(err)), 1);
}
END_TEST

START_TEST(defs_errors_name_the_entry)
{
    char path[] = "/tmp/check_broker_defsXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char want[128];

    fputs("{\"users\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", f);
    fclose(f);
    ck_assert_int_eq(wr_defs_check(path, err, sizeof(err)), WR_ERR_INVALID);
    snprintf(want, sizeof(want), "%s: users[1]: duplicate name", path);
    ck_assert_str_eq(err, want);
    f = fopen(path, "w");
    fputs("{\n\"users\": [\n}", f);
    fclose(f);
    ck_assert_int_eq(wr_defs_check(path, err, sizeof(err)), WR_ERR_INVALID);
    snprintf(want, sizeof(want), "%s:3:", path);
    ck_assert_int_eq(strncmp(err, want, strlen(want)), 0);
    unlink(path);
}
END_TEST

/* RabbitMQ's vhost-limits validation (rabbit_vhost_limit): two names,
 * integer values, its texts. */
START_TEST(defs_vhost_limit_values)
{
    json_t *v;
    int which = -1;
    int64_t n = 0;

    v = json_integer(-1);
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-queues", v, &which, &n, err, sizeof(err)), 0);
    ck_assert_int_eq(which, 1);
    ck_assert_int_eq(n, -1);
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-connections", v, &which, &n, err, sizeof(err)),
        0);
    ck_assert_int_eq(which, 0);
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-foo", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_str_eq(err, "Validation failed\n\nUnrecognised terms "
                          "[{<<\"max-foo\">>,-1}] in limits\n");
    json_decref(v);
    v = json_real(1.5);
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-queues", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_str_eq(err, "Validation failed\n\nmax-queues should be a "
                          "number, actually was 1.5\n");
    json_decref(v);
    v = json_real(3.0);
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-queues", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "actually was 3.0\n"));
    json_decref(v);
    /* user limits: RabbitMQ words these without "Validation failed" */
    v = json_real(2.5);
    ck_assert_int_eq(
        wr_defs_user_limit("max-channels", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_str_eq(err, "max-channels should be a number, actually was 2.5");
    json_decref(v);
    v = json_integer(4);
    ck_assert_int_eq(
        wr_defs_user_limit("max-connections", v, &which, &n, err, sizeof(err)),
        0);
    ck_assert_int_eq(which, 1);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(
        wr_defs_user_limit("max-queues", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_str_eq(
        err, "Unrecognised terms [{<<\"max-queues\">>,4}] in user-limits");
    json_decref(v);
    v = json_string("10");
    ck_assert_int_eq(
        wr_defs_vhost_limit("max-queues", v, &which, &n, err, sizeof(err)),
        WR_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "actually was <<\"10\">>\n"));
    json_decref(v);
}
END_TEST

START_TEST(defs_vhost_limits_file)
{
    char path[] = "/tmp/check_broker_defsXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char want[200];

    fputs("{\"vhosts\": [{\"name\": \"/\"}], \"parameters\": [{\"vhost\": "
          "\"/\", \"component\": \"vhost-limits\", \"name\": \"limits\", "
          "\"value\": {\"max-queues\": \"x\"}}]}",
          f);
    fclose(f);
    ck_assert_int_eq(wr_defs_check(path, err, sizeof(err)), WR_ERR_INVALID);
    snprintf(want, sizeof(want),
             "%s: parameters[0]: Validation failed: max-queues should be a "
             "number, actually was <<\"x\">>",
             path);
    ck_assert_str_eq(err, want);
    unlink(path);
}
END_TEST

TCase *
broker_definitions_tcase(void)
{
    TCase *tc = tcase_create("definitions");

    tcase_add_test(tc, defs_roundtrip);
    tcase_add_test(tc, defs_errors_name_the_entry);
    tcase_add_test(tc, defs_vhost_limit_values);
    tcase_add_test(tc, defs_vhost_limits_file);
    return tc;
}
